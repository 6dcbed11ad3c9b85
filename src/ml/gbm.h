// Gradient boosting through XGBoost's C API: binary, multi-class and
// regression on TabularData, native categorical features, early stopping on
// a validation set, feature importance, and per-prediction SHAP
// contributions (TreeSHAP, XGBoost's pred_contribs) as the standard
// explanation of a tabular score.
//
// Thread-safety: a trained or loaded model is immutable; its const methods
// may be called from several threads (predictions are serialized inside).
#ifndef OPSPILOT_ML_GBM_H_
#define OPSPILOT_ML_GBM_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/context.h"
#include "ml/tabular.h"

namespace opspilot::ml {

struct GbmOptions {
  int rounds = 1000;               // boosting rounds (upper bound with early stopping)
  double learning_rate = 0.1;      // eta
  int max_depth = 6;
  double min_child_weight = 1;
  double subsample = 0.8;          // row sampling per tree
  double colsample_bytree = 1.0;   // feature sampling per tree (below 1, few-feature tables lose interactions)
  double reg_lambda = 1;           // L2 on leaf weights
  int early_stopping_rounds = 50;  // stop after this many rounds without improvement; 0 = off
  std::string class_weight;        // "" or "balanced" (weights n / (k * n_class))
  int max_bin = 256;               // histogram bins
  // Categorical features with fewer than this many categories split one-hot
  // (one category against the rest); larger ones use XGBoost's native
  // partition splits. 0 = always native.
  int one_hot_max_categories = 4;
};

Status ValidateGbmOptions(const GbmOptions& options);

struct GbmHistory {
  std::string metric;               // logloss | mlogloss | rmse
  std::vector<double> valid_metric; // per round, on the validation set
  int best_round = -1;              // 0-based; the model keeps rounds [0, best_round]
};

struct Contribution {
  std::string feature;
  double value = 0;  // signed contribution to the margin (log-odds, or the value for regression)
};

class GbmModel {
 public:
  GbmModel();
  ~GbmModel();
  GbmModel(GbmModel&&) noexcept;
  GbmModel& operator=(GbmModel&&) noexcept;

  // Trains on `train`; with `valid` (same schema) stops early on its metric
  // and keeps the best round. `history` may be null.
  static StatusOr<GbmModel> Train(const Context& ctx, const TabularData& train,
                                  const TabularData* valid, const GbmOptions& options,
                                  GbmHistory* history);

  // Binary: P(last class) per row. Multi-class: rows x classes probabilities.
  // Regression: the predicted value.
  StatusOr<std::vector<float>> Predict(const TabularData& data) const;
  // SHAP contributions: rows x (features + 1), the last column the bias; for
  // multi-class rows x classes x (features + 1). Sums equal the margin.
  StatusOr<std::vector<float>> Contributions(const TabularData& data) const;
  // The `k` largest |contributions| of one row (for a class, multi-class).
  StatusOr<std::vector<Contribution>> TopReasons(const TabularData& data, int64_t row, int k,
                                                 int cls = -1) const;
  // Total gain per feature, normalised to sum 1, largest first.
  StatusOr<std::vector<std::pair<std::string, double>>> Importance() const;

  // Writes model.json (XGBoost's format) and schema.json into dir.
  Status Save(const std::string& dir) const;
  static StatusOr<GbmModel> Load(const std::string& dir);

  const TabularSchema& schema() const;
  int num_classes() const;  // 1 for binary and regression outputs

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_GBM_H_
