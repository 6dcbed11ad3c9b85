#include "anomaly/anomaly.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "anomaly/nab.h"
#include "core/csv.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/thread_pool.h"
#include "core/time.h"

namespace opspilot::anomaly {

Status ValidateScoreOptions(const ScoreOptions& o) {
  RETURN_IF_ERROR(ValidateDetectorOptions(o.detector_options));
  if (!(o.threshold >= 0 && o.threshold <= 1)) return InvalidArgument("threshold must be in [0, 1]");
  const auto& names = DetectorNames();
  if (std::find(names.begin(), names.end(), o.detector) == names.end()) {
    return InvalidArgument("unknown detector '" + o.detector + "'");
  }
  return Status::Ok();
}

// ---- Saved streams ----

std::string StreamFileName(const std::string& id) {
  if (id.size() <= 100) return "x" + HexEncode(reinterpret_cast<const unsigned char*>(id.data()), id.size());
  return "sha256-" + Sha256Hex(id);
}

std::string SavedStreamPath(const std::string& dir, const std::string& series_id) {
  return dir + "/" + StreamFileName(series_id) + ".state";
}

namespace {
constexpr const char kPending[] = ".next";  // a state written by a run whose output is not yet out

// The pending states in dir (none when dir does not exist).
StatusOr<std::vector<std::filesystem::path>> PendingStreams(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().ends_with(kPending)) out.push_back(it->path());
  }
  if (ec) return Internal("cannot list " + dir + ": " + ec.message());
  return out;
}
}  // namespace

Status CommitSavedStreams(const std::string& dir) {
  ASSIGN_OR_RETURN(auto pending, PendingStreams(dir));
  for (const auto& p : pending) {
    std::error_code ec;
    std::filesystem::path target = p;
    target.replace_extension();  // drops ".next"
    std::filesystem::rename(p, target, ec);
    if (ec) return Internal("cannot rename " + p.string() + ": " + ec.message());
  }
  return pending.empty() ? Status::Ok() : SyncDirectory(dir);
}

Status DiscardPendingStreams(const std::string& dir) {
  ASSIGN_OR_RETURN(auto pending, PendingStreams(dir));
  for (const auto& p : pending) {
    std::error_code ec;
    std::filesystem::remove(p, ec);
    if (ec) return Internal("cannot remove " + p.string() + ": " + ec.message());
  }
  return Status::Ok();
}

std::string SavedStreamBytes(const SavedStream& settings, const Detector& detector, int64_t last_time) {
  const nlohmann::json head = {{"series_id", settings.series_id},
                               {"detector", settings.detector_name},
                               {"probation", settings.probation},
                               {"transform", ValueTransformName(settings.transform)},
                               {"habituate_after", settings.habituate_after},
                               {"last_time", last_time}};
  return head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" + detector.SaveState();
}

Status WriteSavedStream(const std::string& path, const std::string& bytes) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  return WriteFileAtomic(path, bytes);
}

StatusOr<SavedStream> ReadSavedStream(const std::string& path, const std::string& series_id) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound(path + ": no saved stream");
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  const size_t eol = bytes.find('\n');
  const nlohmann::json head = nlohmann::json::parse(bytes.substr(0, eol == std::string::npos ? 0 : eol), nullptr, false);
  auto is_int = [&](const char* key) { return head.contains(key) && head[key].is_number_integer(); };
  if (eol == std::string::npos || !head.is_object() || !head.contains("series_id") || !head["series_id"].is_string() ||
      !head.contains("detector") || !head["detector"].is_string() || !head.contains("transform") ||
      !head["transform"].is_string() || !is_int("probation") || !is_int("habituate_after") || !is_int("last_time")) {
    return InvalidArgument(path + ": not a saved stream (its first line must be the series' settings as JSON)");
  }
  if (head["series_id"].get<std::string>() != series_id) {
    return InvalidArgument(path + ": saved for series '" + head["series_id"].get<std::string>() + "', not '" + series_id + "'");
  }
  SavedStream s;
  auto transform = ParseValueTransform(head["transform"].get<std::string>());
  if (!transform.ok()) return InvalidArgument(path + ": " + transform.status().message());
  auto detector = LoadDetector(std::string_view(bytes).substr(eol + 1));
  if (!detector.ok()) return InvalidArgument(path + ": " + detector.status().message());
  s.series_id = series_id;
  s.detector_name = head["detector"].get<std::string>();
  s.probation = head["probation"].get<int64_t>();
  s.transform = *transform;
  s.habituate_after = head["habituate_after"].get<int>();
  s.last_time = head["last_time"].get<int64_t>();
  s.detector = std::move(detector).value();
  if (s.detector->name() != s.detector_name) {
    return InvalidArgument(path + ": its settings name detector '" + s.detector_name + "' but it holds '" +
                           std::string(s.detector->name()) + "'");
  }
  return s;
}

namespace {
// The detector for one series of `points` points (NAB's probation when asked).
StatusOr<std::unique_ptr<Detector>> MakeSeriesDetector(const ScoreOptions& o, int64_t points) {
  DetectorOptions d = o.detector_options;
  if (o.nab_probation) d.probation = NabProbation(points);
  return MakeDetector(o.detector, d);
}

// The detector a series starts from in file mode: the one saved in
// o.state_dir by an earlier run (with the time of the last point it learnt),
// else a new one (last_time the smallest time).
StatusOr<SavedStream> StartSeries(const ScoreOptions& o, const std::string& id, int64_t points) {
  if (!o.state_dir.empty()) {
    const std::string path = SavedStreamPath(o.state_dir, id);
    auto saved = ReadSavedStream(path, id);
    if (saved.ok()) {
      std::string differs;
      if (saved->detector_name != o.detector) {
        differs = "detector '" + saved->detector_name + "', not '" + o.detector + "'";
      } else if (saved->transform != o.detector_options.transform) {
        differs = "transform " + std::string(ValueTransformName(saved->transform)) + ", not " +
                  std::string(ValueTransformName(o.detector_options.transform));
      } else if (saved->habituate_after != o.detector_options.habituate_after) {
        differs = "habituate-after " + std::to_string(saved->habituate_after) + ", not " +
                  std::to_string(o.detector_options.habituate_after);
      }
      if (!differs.empty()) {
        return InvalidArgument(path + ": series '" + id + "' was saved with " + differs +
                               "; run it with the settings it was saved with, or delete this file to start it afresh");
      }
      return std::move(saved).value();
    }
    if (saved.status().code() != StatusCode::kNotFound) return saved.status();
  }
  SavedStream s;
  ASSIGN_OR_RETURN(s.detector, MakeSeriesDetector(o, points));
  s.series_id = id;
  s.detector_name = o.detector;
  s.probation = o.nab_probation ? NabProbation(points) : o.detector_options.probation;
  s.transform = o.detector_options.transform;
  s.habituate_after = o.detector_options.habituate_after;
  return s;
}

// Feeds p's point to the detector and fills in what it says of it: the
// in-memory and the streaming path score alike.
void ScorePoint(Detector* d, double threshold, Score* p) {
  p->score = d->Update(p->timestamp, p->value);
  p->is_anomaly = p->score >= threshold;
  p->kind = d->kind();
  p->expected = d->expected();
}

}  // namespace

StatusOr<std::vector<Score>> ScoreSeries(const forecast::Series& s, const ScoreOptions& o) {
  RETURN_IF_ERROR(ValidateScoreOptions(o));
  if (s.time.size() != s.y.size()) return InvalidArgument("series '" + s.id + "': time and value lengths differ");
  ASSIGN_OR_RETURN(SavedStream start, StartSeries(o, s.id, static_cast<int64_t>(s.y.size())));
  const int64_t after = start.last_time;  // points up to it were learnt by an earlier run
  std::vector<Score> out;
  out.reserve(s.y.size());
  for (size_t i = 0; i < s.y.size(); ++i) {
    if (i > 0 && s.time[i] < s.time[i - 1]) {
      return InvalidArgument("series '" + s.id + "': timestamps go backwards at " + FormatTimestamp(s.time[i]));
    }
    if (s.time[i] <= after) continue;
    Score& p = out.emplace_back();
    p.timestamp = s.time[i];
    p.value = s.y[i];
    ScorePoint(start.detector.get(), o.threshold, &p);
  }
  if (!o.state_dir.empty() && !out.empty()) {
    RETURN_IF_ERROR(WriteSavedStream(SavedStreamPath(o.state_dir, s.id) + kPending,
                                     SavedStreamBytes(start, *start.detector, out.back().timestamp)));
  }
  return out;
}

namespace {

// The rows of a metrics CSV (ReadMetricCsv's layouts), checked one at a time.
class MetricCsvRows {
 public:
  struct Row {
    std::string_view id;  // valid until the next call
    int64_t time = 0;
    double value = 0;
  };

  static StatusOr<std::unique_ptr<MetricCsvRows>> Open(const std::string& path, const MetricCsvOptions& o) {
    ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
    auto rows = std::unique_ptr<MetricCsvRows>(new MetricCsvRows(path, std::move(src)));
    RETURN_IF_ERROR(rows->ReadHeader(o));
    return rows;
  }

  // False at the end of the file, or on a bad row (status() then says which).
  bool Next(Row* row) {
    if (!status_.ok() || !reader_.Next(&rec_)) return false;
    const std::string where = path_ + ":" + std::to_string(rec_.line);
    if (!rec_.error.empty()) return Fail(where + ": " + rec_.error);
    if (Status st = CheckCsvFieldCount(path_, rec_, fields_); !st.ok()) return Fail(st.message());
    auto t = ParseTimestamp(rec_.field(static_cast<size_t>(ts_col_)));
    if (!t.ok()) return Fail(where + ": field 'timestamp': " + t.status().message());
    const std::string& vs = rec_.fields[static_cast<size_t>(v_col_)];
    char* end = nullptr;
    const double v = std::strtod(vs.c_str(), &end);
    if (vs.empty() || end != vs.c_str() + vs.size() || !std::isfinite(v)) {
      return Fail(where + ": field 'value': expected a number, got '" + vs + "'");
    }
    row->id = id_col_ >= 0 ? rec_.field(static_cast<size_t>(id_col_)) : std::string_view(default_id_);
    row->time = *t;
    row->value = v;
    line_ = rec_.line;
    return true;
  }
  // After Next returned false: Ok at the end of a good file.
  Status status() const { return status_.ok() ? reader_.status() : status_; }
  int64_t line() const { return line_; }  // of the last row returned

 private:
  MetricCsvRows(const std::string& path, std::unique_ptr<ByteSource> src)
      : path_(path), reader_(std::move(src)), default_id_(std::filesystem::path(path).stem().string()) {}

  Status ReadHeader(const MetricCsvOptions& o) {
    if (!reader_.Next(&rec_)) return InvalidArgument(path_ + ": empty file (expected a header row)");
    RETURN_IF_ERROR(CheckCsvHeader(path_, rec_));
    fields_ = rec_.num_fields;
    for (size_t i = 0; i < rec_.num_fields; ++i) {
      const std::string_view n = rec_.field(i);
      const int c = static_cast<int>(i);
      if (o.id_col.empty() ? (n == "series_id" || n == "unique_id" || n == "id") : n == o.id_col) id_col_ = c;
      if (o.timestamp_col.empty() ? (n == "timestamp" || n == "ds" || n == "date" || n == "time") : n == o.timestamp_col) {
        ts_col_ = c;
      }
      if (o.value_col.empty() ? (n == "value" || n == "y") : n == o.value_col) v_col_ = c;
    }
    if (!o.id_col.empty() && id_col_ < 0) return InvalidArgument(path_ + ":1: no column '" + o.id_col + "'");
    if (ts_col_ < 0 || v_col_ < 0) {
      return InvalidArgument(path_ + ":1: expected columns timestamp,value or series_id,timestamp,value" +
                             std::string(o.timestamp_col.empty() && o.value_col.empty() ? "" : " (as named)"));
    }
    return Status::Ok();
  }
  bool Fail(const std::string& message) {
    status_ = InvalidArgument(message);
    return false;
  }

  std::string path_;
  CsvReader reader_;
  CsvRecord rec_;
  std::string default_id_;
  int id_col_ = -1, ts_col_ = -1, v_col_ = -1;
  size_t fields_ = 0;  // the header's
  int64_t line_ = 0;
  Status status_ = Status::Ok();
};

}  // namespace

StatusOr<std::vector<forecast::Series>> ReadMetricCsv(const std::string& path, const MetricCsvOptions& o) {
  ASSIGN_OR_RETURN(auto rows, MetricCsvRows::Open(path, o));
  std::unordered_map<std::string, size_t> index;
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, double>>>> series;
  MetricCsvRows::Row row;
  while (rows->Next(&row)) {
    auto [it, inserted] = index.emplace(std::string(row.id), series.size());
    if (inserted) series.emplace_back(std::string(row.id), std::vector<std::pair<int64_t, double>>{});
    series[it->second].second.emplace_back(row.time, row.value);
  }
  RETURN_IF_ERROR(rows->status());
  if (series.empty()) return InvalidArgument(path + ": no rows after the header");
  std::vector<forecast::Series> out;
  for (auto& [id, points] : series) {
    std::stable_sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    forecast::Series s;
    s.id = id;
    s.time.reserve(points.size());
    s.y.reserve(points.size());
    for (const auto& [t, v] : points) {
      s.time.push_back(t);
      s.y.push_back(v);
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<MetricCsvScan> ScanMetricCsv(const std::string& path, const MetricCsvOptions& o) {
  ASSIGN_OR_RETURN(auto rows, MetricCsvRows::Open(path, o));
  MetricCsvScan scan;
  std::unordered_map<std::string, size_t> index;
  std::vector<int64_t> last;
  MetricCsvRows::Row row;
  size_t current = 0;  // the series of the previous row (consecutive rows usually share one)
  while (rows->Next(&row)) {
    if (scan.series.empty() || row.id != scan.series[current]) {
      auto [it, inserted] = index.emplace(std::string(row.id), scan.series.size());
      if (inserted) {
        scan.series.emplace_back(row.id);
        scan.points.push_back(0);
        last.push_back(row.time);
      }
      current = it->second;
    }
    if (row.time < last[current]) scan.in_time_order = false;
    last[current] = row.time;
    ++scan.points[current];
    ++scan.rows;
  }
  RETURN_IF_ERROR(rows->status());
  if (scan.rows == 0) return InvalidArgument(path + ": no rows after the header");
  return scan;
}

Status StreamMetricCsv(const std::string& path, const MetricCsvOptions& o, const MetricCsvScan& scan,
                       const ScoreOptions& options, const std::function<void(size_t, const Score&)>& on_point,
                       ThreadPool* pool) {
  RETURN_IF_ERROR(ValidateScoreOptions(options));
  if (!scan.in_time_order) return InvalidArgument(path + ": rows are not in time order within each series");
  // Each series' detector; its last_time: points up to it were learnt by an earlier run.
  std::vector<SavedStream> starts(scan.series.size());
  for (size_t k = 0; k < starts.size(); ++k) {
    ASSIGN_OR_RETURN(starts[k], StartSeries(options, scan.series[k], scan.points[k]));
  }
  std::unordered_map<std::string_view, size_t> index;
  for (size_t k = 0; k < scan.series.size(); ++k) index.emplace(scan.series[k], k);
  ASSIGN_OR_RETURN(auto rows, MetricCsvRows::Open(path, o));
  // Rows are scored a batch at a time: the series are split into lanes (one
  // per thread), each lane scores its series' rows of the batch in file
  // order, then the batch is reported in file order. Memory: the batch.
  constexpr size_t kBatch = 1 << 16;
  const int64_t lanes = pool != nullptr ? pool->size() + 1 : 1;
  std::vector<size_t> series_of;
  std::vector<Score> batch;
  series_of.reserve(kBatch);
  batch.reserve(kBatch);
  auto flush = [&] {
    auto score_lanes = [&](int64_t b, int64_t e) {
      for (size_t i = 0; i < batch.size(); ++i) {
        const auto lane = static_cast<int64_t>(series_of[i] % static_cast<size_t>(lanes));
        if (lane < b || lane >= e) continue;
        Score& p = batch[i];
        ScorePoint(starts[series_of[i]].detector.get(), options.threshold, &p);
      }
    };
    if (lanes > 1 && scan.series.size() > 1) {
      pool->ParallelFor(lanes, 1, score_lanes);
    } else {
      score_lanes(0, lanes);
    }
    for (size_t i = 0; i < batch.size(); ++i) on_point(series_of[i], batch[i]);
    batch.clear();
    series_of.clear();
  };
  MetricCsvRows::Row row;
  size_t current = 0;
  int64_t seen = 0;
  std::vector<int64_t> last(scan.series.size(), INT64_MIN);
  while (rows->Next(&row)) {
    if (current >= scan.series.size() || row.id != scan.series[current]) {
      auto it = index.find(row.id);
      if (it == index.end()) {
        return FailedPrecondition(path + ":" + std::to_string(rows->line()) + ": series '" + std::string(row.id) +
                                  "' was not in the file when it was first read (did it change?)");
      }
      current = it->second;
    }
    if (row.time < last[current] || ++seen > scan.rows) {
      return FailedPrecondition(path + ":" + std::to_string(rows->line()) + ": the file changed since it was first read");
    }
    last[current] = row.time;
    if (row.time <= starts[current].last_time) continue;
    Score p;
    p.timestamp = row.time;
    p.value = row.value;
    series_of.push_back(current);
    batch.push_back(p);
    if (batch.size() == kBatch) flush();
  }
  RETURN_IF_ERROR(rows->status());
  if (seen != scan.rows) {
    return FailedPrecondition(path + ": the file changed since it was first read (" + std::to_string(seen) + " rows, " +
                              std::to_string(scan.rows) + " before)");
  }
  flush();
  if (!options.state_dir.empty()) {
    for (size_t k = 0; k < starts.size(); ++k) {
      if (last[k] <= starts[k].last_time) continue;  // no new point: the saved state stands
      RETURN_IF_ERROR(WriteSavedStream(SavedStreamPath(options.state_dir, scan.series[k]) + kPending,
                                       SavedStreamBytes(starts[k], *starts[k].detector, last[k])));
    }
  }
  return Status::Ok();
}

void AppendScoreRow(std::string* out, const std::string& series_id, const Score& p, bool explain) {
  AppendCsvField(out, series_id);
  *out += ',';
  *out += FormatTimestamp(p.timestamp);
  char buf[96];
  std::snprintf(buf, sizeof(buf), explain ? ",%.10g,%.6f,%d," : ",%.10g,%.6f,%d\n", p.value, p.score, p.is_anomaly ? 1 : 0);
  *out += buf;
  if (!explain) return;
  if (!std::isnan(p.expected)) {
    std::snprintf(buf, sizeof(buf), "%.10g", p.expected);
    *out += buf;
  }
  *out += ',';
  if (p.is_anomaly) *out += ChangeKindName(p.kind);  // below the threshold the deciding test is noise
  *out += '\n';
}

std::string ScoresCsv(const std::vector<ScoredSeries>& scored, bool explain) {
  std::string out(explain ? kScoresCsvExplainHeader : kScoresCsvHeader);
  for (const ScoredSeries& s : scored) {
    for (const Score& p : s.scores) AppendScoreRow(&out, s.series_id, p, explain);
  }
  return out;
}

Status WriteScoresCsv(const std::string& path, const std::vector<ScoredSeries>& scored) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return InvalidArgument("cannot open '" + path + "' for writing");
  const std::string text = ScoresCsv(scored);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) return Unavailable("error writing '" + path + "'");
  return Status::Ok();
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "info";
}

Status ValidateAlertOptions(const AlertOptions& o) {
  if (!(o.threshold >= 0 && o.threshold <= 1)) return InvalidArgument("alert threshold must be in [0, 1]");
  if (!(o.warning >= o.threshold && o.critical >= o.warning && o.critical <= 1)) {
    return InvalidArgument("alert levels must satisfy threshold <= warning <= critical <= 1");
  }
  if (o.cooldown_seconds < 0) return InvalidArgument("cooldown_seconds must be >= 0");
  return Status::Ok();
}

std::vector<Alert> MakeAlerts(const std::string& series_id, const std::vector<Score>& scores,
                              const AlertOptions& o) {
  std::vector<Alert> out;
  bool open = false;
  auto take_peak = [](Alert* a, const Score& p) {
    a->peak_score = p.score;
    a->peak_time = p.timestamp;
    a->peak_value = p.value;
    a->expected = p.expected;
    a->kind = p.kind;
  };
  for (const Score& p : scores) {
    if (!(p.score >= o.threshold)) continue;
    if (open && p.timestamp - out.back().end <= o.cooldown_seconds) {
      Alert& a = out.back();
      a.end = p.timestamp;
      ++a.points;
      if (p.score > a.peak_score) take_peak(&a, p);
    } else {
      Alert a;
      a.series_id = series_id;
      a.start = a.end = p.timestamp;
      take_peak(&a, p);
      a.points = 1;
      out.push_back(std::move(a));
      open = true;
    }
  }
  for (Alert& a : out) {
    a.severity = a.peak_score >= o.critical ? Severity::kCritical
                 : a.peak_score >= o.warning ? Severity::kWarning
                                             : Severity::kInfo;
  }
  return out;
}

}  // namespace opspilot::anomaly
