// Metric anomalies, file mode (issue 8): score whole series with a streaming
// detector (points strictly in time order, no look-ahead), read NAB's CSV
// layout or the long format, write the architecture's
// `series_id,timestamp,value,score,is_anomaly`, and turn scores into alerts
// with de-duplication, cool-down and severity.
#ifndef OPSPILOT_ANOMALY_ANOMALY_H_
#define OPSPILOT_ANOMALY_ANOMALY_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "anomaly/detectors.h"
#include "core/status.h"
#include "forecast/forecast.h"

namespace opspilot {
class ThreadPool;
}  // namespace opspilot

namespace opspilot::anomaly {

struct Score {
  int64_t timestamp = 0;  // unix seconds
  double value = 0;
  double score = 0;       // [0, 1], see detectors.h for the calibration
  bool is_anomaly = false;
  ChangeKind kind = ChangeKind::kNone;  // what the score says changed (Detector::kind)
  double expected = std::numeric_limits<double>::quiet_NaN();  // the detector's forecast (Detector::expected)
};

struct ScoreOptions {
  std::string detector = "ensemble";  // a name from DetectorNames()
  DetectorOptions detector_options;   // probation is replaced when nab_probation is set
  // Probation of min(floor(15% of the rows), 750) points, as NAB scores it.
  bool nab_probation = true;
  double threshold = 0.5;  // is_anomaly = score >= threshold (0.5: p <= 10^-3.5)
  // File mode's --state: each series continues from the detector saved in
  // this directory by an earlier run (its points up to the saved last time
  // are skipped: already learnt, already scored), and its detector is saved
  // there again after the run. "" = every run starts afresh.
  std::string state_dir;
};
Status ValidateScoreOptions(const ScoreOptions& options);

// ---- Saved streams (file mode's --state, the HTTP streaming door) --------------

// A series' streaming detector and the settings it was made with.
struct SavedStream {
  std::string series_id;
  std::string detector_name;
  int64_t probation = 0;
  ValueTransform transform = ValueTransform::kAuto;
  int habituate_after = 0;
  int64_t last_time = std::numeric_limits<int64_t>::min();  // the last point it learnt
  std::unique_ptr<Detector> detector;
};
// An id as a file name: "x" and the hex of its bytes, or "sha256-" and the
// hex SHA-256 of an id over 100 bytes (file names end at 255 bytes).
std::string StreamFileName(const std::string& id);
// DIR/<StreamFileName(series_id)>.state
std::string SavedStreamPath(const std::string& dir, const std::string& series_id);
// A line of JSON with `settings`' series id, detector name, probation,
// transform, habituate_after and `last_time`, then detector.SaveState().
std::string SavedStreamBytes(const SavedStream& settings, const Detector& detector, int64_t last_time);
// Writes the bytes to `path` (its directory created) through a temporary
// name, fsynced and renamed.
Status WriteSavedStream(const std::string& path, const std::string& bytes);
// NotFound when there is no file; InvalidArgument naming the file when it
// is not a saved stream of `series_id`.
StatusOr<SavedStream> ReadSavedStream(const std::string& path, const std::string& series_id);
// File mode (ScoreOptions::state_dir) writes each series' new state beside
// its saved one, as `<path>.next`: the run's output may still fail. The
// caller renames them into place once the output is written
// (CommitSavedStreams), or removes them (DiscardPendingStreams: a failed run,
// or before a run, what a run that died left). One run at a time per directory.
Status CommitSavedStreams(const std::string& dir);
Status DiscardPendingStreams(const std::string& dir);

// Scores the series point by point in time order (the order of s.time;
// REQUIRES-checked: non-decreasing, else InvalidArgument). The result has one
// Score per point, equal to feeding the same detector one point at a time.
// With options.state_dir: one Score per point after the saved last time, from
// the saved detector (InvalidArgument naming the state file when its settings
// differ from options'), and the detector's new state written as pending
// (CommitSavedStreams puts it in place).
StatusOr<std::vector<Score>> ScoreSeries(const forecast::Series& s, const ScoreOptions& options);

struct MetricCsvOptions {
  std::string timestamp_col;  // "" = timestamp | ds | date | time
  std::string value_col;      // "" = value | y
  std::string id_col;         // "" = series_id | unique_id | id if present; else one series
};
// Reads NAB's `timestamp,value` (the series is named after the file) or the
// long format `series_id,timestamp,value`. Rows are stably sorted by time per
// series (repeated timestamps are kept); series come in order of first
// appearance. Errors name file, line and field.
StatusOr<std::vector<forecast::Series>> ReadMetricCsv(const std::string& path, const MetricCsvOptions& options = {});

// Streaming file mode: the same scores without holding the file in memory.
// ScanMetricCsv reads the file once, checks every row (errors as
// ReadMetricCsv's: file, line, field) and counts each series' points (NAB's
// probation needs the count). When every series' rows are already in time
// order, as exports usually are, StreamMetricCsv reads it again and scores
// the rows in file order with one detector per series: memory O(series),
// not O(rows). (A file out of order goes through ReadMetricCsv, which sorts.)
struct MetricCsvScan {
  std::vector<std::string> series;  // in order of first appearance
  std::vector<int64_t> points;      // rows per series
  int64_t rows = 0;
  bool in_time_order = true;        // no series' timestamp goes backwards in file order
};
StatusOr<MetricCsvScan> ScanMetricCsv(const std::string& path, const MetricCsvOptions& options = {});
// Calls on_point(index into scan.series, score) for every row, in file order
// (from the calling thread); each score equals ScoreSeries's on the series
// ReadMetricCsv returns. With a pool, the series of each batch of rows are
// scored in parallel (memory: the batch, 64k rows). With score.state_dir,
// as ScoreSeries: rows up to a series' saved last time are skipped (not
// reported), and the detectors' new states are written as pending at the end. REQUIRES scan =
// ScanMetricCsv(path, options) with in_time_order (else InvalidArgument);
// FailedPrecondition if the file changed in between.
Status StreamMetricCsv(const std::string& path, const MetricCsvOptions& options, const MetricCsvScan& scan,
                       const ScoreOptions& score, const std::function<void(size_t, const Score&)>& on_point,
                       ThreadPool* pool = nullptr);

inline constexpr const char* kScoresCsvHeader = "series_id,timestamp,value,score,is_anomaly\n";
// With `explain`, two more columns: the detector's forecast (empty while it
// has none) and, at anomalous points, the kind of change (empty for none):
// `anomaly score --explain`.
inline constexpr const char* kScoresCsvExplainHeader = "series_id,timestamp,value,score,is_anomaly,expected,kind\n";
// Appends one row of ScoresCsv's format.
void AppendScoreRow(std::string* out, const std::string& series_id, const Score& p, bool explain = false);

struct ScoredSeries {
  std::string series_id;
  std::vector<Score> scores;
};
// The CSV text `series_id,timestamp,value,score,is_anomaly` (ISO-8601 UTC
// timestamps, scores with 6 decimals, is_anomaly 0/1), header included.
std::string ScoresCsv(const std::vector<ScoredSeries>& scored, bool explain = false);
Status WriteScoresCsv(const std::string& path, const std::vector<ScoredSeries>& scored);

// ---- Alerts -------------------------------------------------------------------

enum class Severity { kInfo, kWarning, kCritical };
std::string_view SeverityName(Severity s);  // "info" | "warning" | "critical"

struct AlertOptions {
  // Alerts are for people: stricter than is_anomaly (0.5 is where the NAB
  // trade-off of generated data peaks; 0.6 is p ~ 6e-5 per point).
  double threshold = 0.6;         // a point opens or extends an alert at score >= threshold
  double warning = 0.75;          // peak score for severity warning
  double critical = 0.9;          // peak score for severity critical
  int64_t cooldown_seconds = 3600;  // anomalous points closer than this to the last one join its alert
};
Status ValidateAlertOptions(const AlertOptions& options);

struct Alert {
  std::string series_id;
  int64_t start = 0, end = 0;  // first and last anomalous timestamps
  int64_t peak_time = 0;
  double peak_score = 0, peak_value = 0;
  // At the peak: the value the detector expected there (NaN if it had no
  // forecast) and the kind of change it saw ("spike", "level_shift", ...).
  double expected = std::numeric_limits<double>::quiet_NaN();
  ChangeKind kind = ChangeKind::kNone;
  int64_t points = 0;          // anomalous points merged into this alert
  Severity severity = Severity::kInfo;
};

// One alert per burst of anomalous points; a burst ends after
// cooldown_seconds without one. Severity follows the burst's peak score.
std::vector<Alert> MakeAlerts(const std::string& series_id, const std::vector<Score>& scores,
                              const AlertOptions& options);

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_ANOMALY_H_
