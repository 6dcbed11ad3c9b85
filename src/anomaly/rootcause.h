// Root-cause drill-down (issue 8): when a top-level metric changes between a
// baseline window and an anomaly window, rank the dimension values (and
// pairs of values) by the share of the change they explain, in the spirit of
// Adtributor (Bhagwan et al., NSDI 2014), with an exact additive
// decomposition so that the shares of one dimension's values sum to 100%.
//
// Additive metric (sum of numerators, e.g. revenue): segment s contributes
//   c_s = N1_s - scale * N0_s,   scale = baseline_scale (window lengths).
// Ratio metric (sum of numerators / sum of denominators, e.g. conversions /
// sessions), with traffic weights w_s = D_s / D and rates r_s = N_s / D_s:
//   c_s = w1_s (r1_s - r0_s) + (w1_s - w0_s) (r0_s - R0)
// (a rate effect plus a mix effect, the latter zero for segments at the
// average rate); sum_s c_s = R1 - R0 exactly. A segment absent from the
// baseline counts as having had the baseline's overall rate.
// share_s = c_s / (R1 - R0): 0.84 reads "84% of the change is explained".
#ifndef OPSPILOT_ANOMALY_ROOTCAUSE_H_
#define OPSPILOT_ANOMALY_ROOTCAUSE_H_

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace opspilot::anomaly {

// One row of pre-aggregated or raw data (rows with equal dimensions add up).
struct MetricRow {
  std::vector<std::string> dims;  // one value per dimension name
  double numerator = 0;           // e.g. conversions, revenue
  double denominator = 1;         // e.g. sessions; ignored for additive metrics
  bool anomaly_window = false;    // false = baseline window
};

struct DrillDownOptions {
  bool ratio = true;           // numerator / denominator; false = sum of numerators
  double baseline_scale = 1;   // additive: anomaly-window length / baseline-window length
  bool pairs = true;           // also rank pairs of values of two dimensions
  double min_share = 0.05;     // drop explanations below this share (negative: keep those moving against the change)
  int max_results = 10;
  // The summary prefers a pair inside the best single value when the pair
  // explains at least this fraction of what the single value explains.
  double specific_fraction = 0.8;
};
Status ValidateDrillDownOptions(const DrillDownOptions& options);

struct Explanation {
  std::vector<std::pair<std::string, std::string>> segment;  // (dimension, value), 1 or 2 entries
  double share = 0;         // of the top-level change
  double contribution = 0;  // c_s, in metric units
  double baseline = 0;      // segment's metric in the baseline (rate, or scaled sum)
  double current = 0;       // segment's metric in the anomaly window
  double traffic_share = 0; // segment's share of the anomaly window's denominator (numerator if additive)
};

struct DrillDown {
  double baseline = 0, current = 0, change = 0;  // top-level metric
  std::vector<Explanation> ranked;               // by share, largest first
  std::string summary;  // e.g. "drop of 3.1% (0.0520 -> 0.0504) is 84% explained by region = east, channel = app"
};

// InvalidArgument when rows disagree with dimension_names, a denominator is
// negative, or a window has no data. A change of 0 gives an empty ranking.
StatusOr<DrillDown> ExplainChange(const std::vector<std::string>& dimension_names, const std::vector<MetricRow>& rows,
                                  const DrillDownOptions& options);

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_ROOTCAUSE_H_
