// Drift between the data a model was trained on and recent data, per
// feature: the population stability index (PSI, on the reference's decile
// bins for numbers, on categories for categorical features) and the
// two-sample Kolmogorov-Smirnov statistic with its asymptotic p-value.
#ifndef OPSPILOT_ML_DRIFT_H_
#define OPSPILOT_ML_DRIFT_H_

#include <span>
#include <string>
#include <vector>

#include "ml/tabular.h"

namespace opspilot::ml {

// PSI over `bins` quantile bins of `reference` (NaN forms its own bin).
// 0.1 is the usual "moderate", 0.25 "major" shift.
double Psi(std::span<const float> reference, std::span<const float> current, int bins = 10);
// PSI over category codes 0..k-1 (NaN its own bin).
double PsiCategorical(std::span<const float> reference, std::span<const float> current, int categories);
// Two-sample KS statistic D (NaN ignored) and its asymptotic p-value.
double KsStatistic(std::span<const float> a, std::span<const float> b, double* p_value = nullptr);

struct FeatureDrift {
  std::string feature;
  double psi = 0;
  double ks = 0;          // NaN for categorical features
  double ks_p_value = 1;  // NaN for categorical features
  bool drifted = false;   // psi >= psi_threshold, or ks p-value < alpha for numeric ones
};

struct DriftOptions {
  double psi_threshold = 0.2;
  double ks_alpha = 0.001;
  int bins = 10;
};

// Features in the order of the reference schema; both tables must share it.
StatusOr<std::vector<FeatureDrift>> DriftReport(const TabularData& reference, const TabularData& current,
                                                const DriftOptions& options = {});

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_DRIFT_H_
