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

#include "anomaly/nab.h"
#include "core/csv.h"
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

namespace {
// The detector for one series of `points` points (NAB's probation when asked).
StatusOr<std::unique_ptr<Detector>> MakeSeriesDetector(const ScoreOptions& o, int64_t points) {
  DetectorOptions d = o.detector_options;
  if (o.nab_probation) d.probation = NabProbation(points);
  return MakeDetector(o.detector, d);
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
  ASSIGN_OR_RETURN(auto detector, MakeSeriesDetector(o, static_cast<int64_t>(s.y.size())));
  std::vector<Score> out(s.y.size());
  for (size_t i = 0; i < s.y.size(); ++i) {
    if (i > 0 && s.time[i] < s.time[i - 1]) {
      return InvalidArgument("series '" + s.id + "': timestamps go backwards at " + FormatTimestamp(s.time[i]));
    }
    out[i].timestamp = s.time[i];
    out[i].value = s.y[i];
    ScorePoint(detector.get(), o.threshold, &out[i]);
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
  std::vector<std::unique_ptr<Detector>> detectors(scan.series.size());
  for (size_t k = 0; k < detectors.size(); ++k) {
    ASSIGN_OR_RETURN(detectors[k], MakeSeriesDetector(options, scan.points[k]));
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
        ScorePoint(detectors[series_of[i]].get(), options.threshold, &p);
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
