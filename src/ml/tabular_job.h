// File-mode tabular learning (`opspilot tabular train|predict|evaluate`):
// CSV in, model directory or predictions CSV out, no store needed. The
// template for every capability's file mode.
#ifndef OPSPILOT_ML_TABULAR_JOB_H_
#define OPSPILOT_ML_TABULAR_JOB_H_

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "ml/gbm.h"
#include "ml/registry.h"

namespace opspilot::ml {

struct TabularTrainOptions {
  std::string data;               // training CSV
  TabularReadOptions read;        // target, id, task, drop
  GbmOptions gbm;
  double valid_fraction = 0.15;   // held out (stratified for classes) for early stopping and metrics; 0 = none
  bool refit = true;              // re-train on all rows with the best round count
  std::string out;                // model directory to write ("" = none)
  std::string register_task;      // also register in the registry under this task ("" = no)
  int tune_trials = 0;            // > 0: random search of this many GBM configurations on the hold-out first
};

struct TabularTrainResult {
  nlohmann::json metadata;  // what metadata.json holds: metrics, parameters, fingerprint, importance
  std::string model_dir;    // written directory (out, or the registry version's)
  std::string version;      // registry version, when registered
};

// `registry` may be null when register_task is empty.
StatusOr<TabularTrainResult> TrainTabular(const Context& ctx, const TabularTrainOptions& options,
                                          ModelRegistry* registry);

// Writes `id,prediction[,probability]` (+ `reasons` with explain_k > 0):
// binary: the predicted label at 0.5 and P(second class); multi-class: the
// arg-max label and its probability; regression: the value.
Status PredictTabular(const Context& ctx, const std::string& model_dir, const std::string& input,
                      int explain_k, std::ostream& out);

// Drift of `current` against `reference` (two CSVs with the same features),
// per feature: PSI, KS and whether it moved. The reference's schema decides
// the features; `read` names the target and id columns to leave out.
StatusOr<nlohmann::json> TabularDrift(const std::string& reference, const std::string& current,
                                      const TabularReadOptions& read);

// k-fold cross-validation (stratified for classes): per-fold and mean/std metrics.
StatusOr<nlohmann::json> EvaluateTabular(const Context& ctx, const std::string& data,
                                         const TabularReadOptions& read, const GbmOptions& gbm, int folds);

// Validation metrics for predictions of `model` on `data` (which has a target).
nlohmann::json TabularMetrics(const TabularData& data, const std::vector<float>& predictions);

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_TABULAR_JOB_H_
