#include "anomaly/anomaly.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "anomaly/nab.h"
#include "core/csv.h"
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

StatusOr<std::vector<Score>> ScoreSeries(const forecast::Series& s, const ScoreOptions& o) {
  RETURN_IF_ERROR(ValidateScoreOptions(o));
  if (s.time.size() != s.y.size()) return InvalidArgument("series '" + s.id + "': time and value lengths differ");
  DetectorOptions d = o.detector_options;
  if (o.nab_probation) d.probation = NabProbation(static_cast<int64_t>(s.y.size()));
  ASSIGN_OR_RETURN(auto detector, MakeDetector(o.detector, d));
  std::vector<Score> out(s.y.size());
  for (size_t i = 0; i < s.y.size(); ++i) {
    if (i > 0 && s.time[i] < s.time[i - 1]) {
      return InvalidArgument("series '" + s.id + "': timestamps go backwards at " + FormatTimestamp(s.time[i]));
    }
    out[i].timestamp = s.time[i];
    out[i].value = s.y[i];
    out[i].score = detector->Update(s.time[i], s.y[i]);
    out[i].is_anomaly = out[i].score >= o.threshold;
  }
  return out;
}

StatusOr<std::vector<forecast::Series>> ReadMetricCsv(const std::string& path, const MetricCsvOptions& o) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": empty file (expected a header row)");
  int id_col = -1, ts_col = -1, v_col = -1;
  for (size_t i = 0; i < rec.num_fields; ++i) {
    const std::string_view n = rec.field(i);
    const int c = static_cast<int>(i);
    if (o.id_col.empty() ? (n == "series_id" || n == "unique_id" || n == "id") : n == o.id_col) id_col = c;
    if (o.timestamp_col.empty() ? (n == "timestamp" || n == "ds" || n == "date" || n == "time") : n == o.timestamp_col) {
      ts_col = c;
    }
    if (o.value_col.empty() ? (n == "value" || n == "y") : n == o.value_col) v_col = c;
  }
  if (!o.id_col.empty() && id_col < 0) return InvalidArgument(path + ":1: no column '" + o.id_col + "'");
  if (ts_col < 0 || v_col < 0) {
    return InvalidArgument(path + ":1: expected columns timestamp,value or series_id,timestamp,value" +
                           std::string(o.timestamp_col.empty() && o.value_col.empty() ? "" : " (as named)"));
  }
  const std::string default_id = std::filesystem::path(path).stem().string();
  std::map<std::string, size_t> index;
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, double>>>> series;
  const size_t need = static_cast<size_t>(std::max({id_col, ts_col, v_col}));
  while (reader.Next(&rec)) {
    const std::string where = path + ":" + std::to_string(rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    if (rec.num_fields <= need) return InvalidArgument(where + ": too few fields");
    auto t = ParseTimestamp(rec.field(static_cast<size_t>(ts_col)));
    if (!t.ok()) return InvalidArgument(where + ": field 'timestamp': " + t.status().message());
    const std::string& vs = rec.fields[static_cast<size_t>(v_col)];
    char* end = nullptr;
    const double v = std::strtod(vs.c_str(), &end);
    if (vs.empty() || end != vs.c_str() + vs.size() || !std::isfinite(v)) {
      return InvalidArgument(where + ": field 'value': expected a number, got '" + vs + "'");
    }
    const std::string id = id_col >= 0 ? std::string(rec.field(static_cast<size_t>(id_col))) : default_id;
    auto [it, inserted] = index.emplace(id, series.size());
    if (inserted) series.emplace_back(id, std::vector<std::pair<int64_t, double>>{});
    series[it->second].second.emplace_back(*t, v);
  }
  RETURN_IF_ERROR(reader.status());
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

std::string ScoresCsv(const std::vector<ScoredSeries>& scored) {
  std::string out = "series_id,timestamp,value,score,is_anomaly\n";
  char buf[96];
  for (const ScoredSeries& s : scored) {
    for (const Score& p : s.scores) {
      AppendCsvField(&out, s.series_id);
      out += ',';
      out += FormatTimestamp(p.timestamp);
      std::snprintf(buf, sizeof(buf), ",%.10g,%.6f,%d\n", p.value, p.score, p.is_anomaly ? 1 : 0);
      out += buf;
    }
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
  for (const Score& p : scores) {
    if (!(p.score >= o.threshold)) continue;
    if (open && p.timestamp - out.back().end <= o.cooldown_seconds) {
      Alert& a = out.back();
      a.end = p.timestamp;
      ++a.points;
      if (p.score > a.peak_score) {
        a.peak_score = p.score;
        a.peak_time = p.timestamp;
        a.peak_value = p.value;
      }
    } else {
      Alert a;
      a.series_id = series_id;
      a.start = a.end = a.peak_time = p.timestamp;
      a.peak_score = p.score;
      a.peak_value = p.value;
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
