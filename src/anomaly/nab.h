// Labelled series for tests and tuning, and a local scorer that follows the
// Numenta Anomaly Benchmark's rules (NAB v1.1: nab/sweeper.py, labeler.py,
// runner.normalize):
//   * windows: each label gets a window of floor(0.1 * rows / labels) rows
//     centred on it (clipped to the file; overlapping windows merged);
//   * probation: the first min(floor(0.15 * rows), 750) rows are not scored;
//   * a row with score >= threshold is a detection. In a window, the best
//     detection earns tp_weight * S(-(right - i + 1) / width) / S(-1) with
//     S(x) = 2 / (1 + exp(5x)) - 1 (earlier is better); a window without
//     detection costs fn_weight; each detection outside windows costs
//     fp_weight * S(distance past the previous window / (its width - 1)), or
//     fp_weight in full before the first window;
//   * the threshold is the one maximizing the summed score over the corpus,
//     and the score is normalized: 100 * (raw - null) / (perfect - null),
//     null = -fn_weight * windows, perfect = tp_weight * windows.
// The founders' bar is measured with NAB's own scorer on the real corpus;
// this scorer is for generated data (the real corpus is not shipped here).
#ifndef OPSPILOT_ANOMALY_NAB_H_
#define OPSPILOT_ANOMALY_NAB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "forecast/forecast.h"

namespace opspilot::anomaly {

// ---- Generated labelled series ----------------------------------------------

enum class AnomalyKind { kSpike, kLevelShift, kVarianceChange, kSeasonalBreak, kDrift };
std::string_view AnomalyKindName(AnomalyKind kind);
const std::vector<AnomalyKind>& AllAnomalyKinds();

struct GeneratorOptions {
  int64_t length = 4000;            // rows
  int64_t spacing = 300;            // seconds between rows
  int64_t start = 1704067200;       // first timestamp (2024-01-01, UTC midnight)
  double level = 100;               // mean level
  double noise = 1;                 // noise standard deviation; anomaly sizes are in these units
  double daily_amplitude = 4;       // daily sine amplitude (noise units); 0 = none
  double weekly_amplitude = 2;      // weekly amplitude (noise units; weekend dip); 0 = none
  double random_walk = 0;           // sd of a random-walk component per row (noise units)
  int student_t_dof = 0;            // > 0: Student-t noise with this many degrees of freedom (heavy tails)
  // AR(1) coefficient of the noise in (-1, 1): e_t = phi e_{t-1} + sqrt(1 - phi^2) u_t,
  // so its marginal standard deviation stays `noise`. 0 = independent noise.
  double ar_phi = 0;
  int anomalies = 2;                // planted after the probation period, one per segment
  std::vector<AnomalyKind> kinds;   // drawn uniformly from these; empty = all kinds
  double magnitude = 1;             // multiplies every anomaly size
  uint64_t seed = 1;
};

struct LabelledSeries {
  forecast::Series series;
  std::vector<int64_t> labels;      // row of each planted anomaly's onset, ascending
  std::vector<AnomalyKind> kinds;   // kind of each label
};

// Deterministic for a seed (own generator, not std:: distributions).
LabelledSeries GenerateSeries(const GeneratorOptions& options);

// A NAB-like corpus of `files` series: 5-minute and hourly spacing, 2000 to
// 6000 rows, with and without daily/weekly seasons, some random-walk
// levels, 1 to 3 anomalies of every kind (anomalies = false: none).
std::vector<LabelledSeries> GenerateCorpus(int files, uint64_t seed, bool anomalies = true);

// ---- NAB-style scoring --------------------------------------------------------

struct NabProfile {
  std::string name;
  double tp_weight = 1, fp_weight = 0.11, fn_weight = 1;
};
// standard (1, 0.11, 1), reward_low_FP_rate (1, 0.22, 1), reward_low_FN_rate (1, 0.11, 2).
const std::vector<NabProfile>& NabProfiles();

struct NabWindow {
  int64_t begin = 0, end = 0;  // rows, inclusive
};

int64_t NabProbation(int64_t rows);
// Windows for labels (rows, any order) in a file of `rows` rows.
std::vector<NabWindow> NabWindows(int64_t rows, std::vector<int64_t> labels);

struct NabFile {
  std::vector<double> scores;     // one per row
  std::vector<NabWindow> windows; // ascending, disjoint
};

struct NabResult {
  double threshold = 0;   // detections are scores >= threshold
  double raw = 0;         // summed score
  double null_raw = 0, perfect_raw = 0;
  double normalized = 0;  // 100 * (raw - null) / (perfect - null)
  int64_t tp = 0;         // windows with a detection
  int64_t fn = 0;         // windows without
  int64_t fp = 0;         // detections outside windows (after probation)
};

// Scores files at a fixed threshold.
NabResult ScoreNab(const std::vector<NabFile>& files, const NabProfile& profile, double threshold);
// Scores files at the threshold that maximizes the raw score (NAB's optimizer).
NabResult ScoreNabBest(const std::vector<NabFile>& files, const NabProfile& profile);

// NAB's scaled sigmoid S(x) = 2 / (1 + exp(5x)) - 1 (-1 for x > 3).
double NabSigmoid(double relative_position);

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_NAB_H_
