// Evaluation metrics: classification, probabilistic, regression, ranking.
// Pure functions over spans; each is tested against hand-computed values and
// a brute-force reference. Conventions for edge cases are stated per function
// (NaN where a metric is undefined, never a silent 0).
#ifndef OPSPILOT_ML_METRICS_H_
#define OPSPILOT_ML_METRICS_H_

#include <cstdint>
#include <span>
#include <vector>

namespace opspilot::ml {

// ---- Classification (labels are class indexes 0..k-1) ----

// counts[t * k + p]: examples of true class t predicted as p.
struct ConfusionMatrix {
  int classes = 0;
  std::vector<int64_t> counts;
  int64_t at(int truth, int pred) const { return counts[static_cast<size_t>(truth * classes + pred)]; }
};
ConfusionMatrix Confusion(std::span<const int> truth, std::span<const int> pred, int classes);

struct ClassScores {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};
struct ClassificationReport {
  double accuracy = 0;
  std::vector<ClassScores> per_class;
  ClassScores macro;     // unweighted mean over classes with support or predictions
  ClassScores micro;     // from pooled counts (= accuracy for single-label problems)
  ClassScores weighted;  // support-weighted mean
  ConfusionMatrix confusion;
};
// Precision of a class never predicted is 0 (as scikit-learn's zero_division=0).
ClassificationReport Classify(std::span<const int> truth, std::span<const int> pred, int classes);

// ---- Binary scores (labels 0/1, higher score = more positive) ----

// Area under the ROC curve with ties counted half (Mann-Whitney U). NaN if
// only one class is present.
double RocAuc(std::span<const int> labels, std::span<const double> scores);
// Average precision (area under the step PR curve, as scikit-learn). NaN if no positives.
double PrAuc(std::span<const int> labels, std::span<const double> scores);
// Mean negative log-likelihood; probabilities clipped to [eps, 1-eps].
double LogLoss(std::span<const int> labels, std::span<const double> probs, double eps = 1e-15);
// Multi-class log-loss: probs is n x k row-major.
double LogLossMulti(std::span<const int> labels, std::span<const double> probs, int classes,
                    double eps = 1e-15);
double Brier(std::span<const int> labels, std::span<const double> probs);

struct CalibrationBin {
  double lower = 0, upper = 0;    // probability range [lower, upper)
  double mean_predicted = 0;      // NaN when empty
  double fraction_positive = 0;   // NaN when empty
  int64_t count = 0;
};
// Equal-width reliability bins and the expected calibration error (count-weighted
// |mean_predicted - fraction_positive|).
std::vector<CalibrationBin> Reliability(std::span<const int> labels, std::span<const double> probs,
                                        int bins, double* ece = nullptr);

// Positive rate among the top `fraction` of scores divided by the overall rate.
double Lift(std::span<const int> labels, std::span<const double> scores, double fraction);

// ---- Regression ----
// The median (upper median for even sizes, as nth_element picks it); NaN when empty.
double Median(std::vector<double> values);

double Mse(std::span<const double> y, std::span<const double> pred);
double Rmse(std::span<const double> y, std::span<const double> pred);
double Mae(std::span<const double> y, std::span<const double> pred);
// Mean |e|/|y| in percent over points with y != 0; NaN if none.
double Mape(std::span<const double> y, std::span<const double> pred);
// Mean 200|e|/(|y|+|pred|) in percent; points where both are 0 count as 0.
double Smape(std::span<const double> y, std::span<const double> pred);
// MAE scaled by the in-sample MAE of the seasonal naive forecast on `history`
// with period m (M4 definition). NaN if the scale is 0 or history too short.
double Mase(std::span<const double> history, std::span<const double> y, std::span<const double> pred,
            int m);
// Root mean squared scaled error (M5 definition).
double Rmsse(std::span<const double> history, std::span<const double> y,
             std::span<const double> pred, int m);

// ---- Ranking (one query: a ranked list and the set of relevant items) ----
// `ranked` is best first; `relevant` holds the relevant ids (unordered, unique).
double HitRate(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);
double RecallAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);
double PrecisionAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);
// Binary-relevance NDCG with the ideal DCG of min(|relevant|, k) hits.
double NdcgAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);
// Average precision at k, normalised by min(|relevant|, k).
double ApAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);
// Reciprocal rank of the first relevant item within k, else 0.
double MrrAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_METRICS_H_
