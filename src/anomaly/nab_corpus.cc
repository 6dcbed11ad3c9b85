#include "anomaly/nab_corpus.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/time.h"

namespace opspilot::anomaly {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// NAB's own timestamp layout: "2014-04-01 00:00:00".
std::string NabTime(int64_t t) {
  std::string s = FormatTimestamp(t);  // 2014-04-01T00:00:00Z
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  std::replace(s.begin(), s.end(), 'T', ' ');
  return s;
}

std::string Category(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? std::string(".") : name.substr(0, slash);
}

StatusOr<std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>> ReadWindows(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open NAB windows file '" + path + "'");
  std::stringstream buf;
  buf << f.rdbuf();
  json j;
  try {
    j = json::parse(buf.str());
  } catch (const json::parse_error& e) {
    return InvalidArgument(path + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object()) return InvalidArgument(path + ": expected an object of \"<category>/<file>.csv\": [[start, end], ...]");
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> out;
  for (const auto& [name, spans] : j.items()) {
    auto bad = [&](const std::string& why) { return InvalidArgument(path + ": entry \"" + name + "\": " + why); };
    if (!spans.is_array()) return bad("expected a list of [start, end] pairs");
    auto& list = out[name];
    for (size_t k = 0; k < spans.size(); ++k) {
      const json& w = spans[k];
      if (!w.is_array() || w.size() != 2 || !w[0].is_string() || !w[1].is_string()) {
        return bad("window " + std::to_string(k + 1) + " is not a pair of timestamp strings");
      }
      auto a = ParseTimestamp(w[0].get<std::string>());
      auto b = ParseTimestamp(w[1].get<std::string>());
      if (!a.ok()) return bad("window " + std::to_string(k + 1) + " start: " + a.status().message());
      if (!b.ok()) return bad("window " + std::to_string(k + 1) + " end: " + b.status().message());
      if (*b < *a) return bad("window " + std::to_string(k + 1) + " ends before it starts");
      list.emplace_back(*a, *b);
    }
  }
  return out;
}

Status WriteResults(const std::string& dir, const std::string& detector, const NabCorpusFile& f,
                    const std::vector<Score>& scores) {
  const fs::path rel(f.name);
  const fs::path target = fs::path(dir) / detector / rel.parent_path() / (detector + "_" + rel.filename().string());
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return Unavailable("cannot create '" + target.parent_path().string() + "': " + ec.message());
  std::string text = "timestamp,value,anomaly_score,label\n";
  size_t w = 0;
  char buf[96];
  for (size_t i = 0; i < scores.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    while (w < f.windows.size() && f.windows[w].end < row) ++w;
    const bool inside = w < f.windows.size() && f.windows[w].begin <= row;
    text += NabTime(scores[i].timestamp);
    // Scores at full precision: rounded to 6 decimals, hundreds of rows of a run
    // printed as 1.000000, and NAB's threshold sweep would see ties ours does not.
    std::snprintf(buf, sizeof buf, ",%.10g,%.17g,%d\n", scores[i].value, scores[i].score, inside ? 1 : 0);
    text += buf;
  }
  return WriteFileAtomic(target.string(), text);
}

}  // namespace

std::vector<NabWindow> WindowsFromTimes(const std::vector<int64_t>& time, std::vector<std::pair<int64_t, int64_t>> spans) {
  std::sort(spans.begin(), spans.end());
  std::vector<NabWindow> out;
  for (const auto& [start, end] : spans) {
    const auto b = std::lower_bound(time.begin(), time.end(), start);
    const auto e = std::upper_bound(time.begin(), time.end(), end);
    if (b >= e) continue;  // no row inside
    NabWindow w{b - time.begin(), (e - time.begin()) - 1};
    if (!out.empty() && w.begin <= out.back().end) {
      out.back().end = std::max(out.back().end, w.end);
    } else {
      out.push_back(w);
    }
  }
  return out;
}

StatusOr<std::vector<NabCorpusFile>> ReadNabCorpus(const std::string& root, const std::string& windows_path) {
  const fs::path data = fs::path(root) / "data";
  std::error_code ec;
  if (!fs::is_directory(data, ec)) return NotFound("'" + data.string() + "' is not a directory (expected a NAB checkout)");
  const std::string wpath = windows_path.empty() ? (fs::path(root) / "labels" / "combined_windows.json").string() : windows_path;
  ASSIGN_OR_RETURN(auto windows, ReadWindows(wpath));
  std::vector<std::string> names;
  for (auto it = fs::recursive_directory_iterator(data, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".csv") {
      names.push_back(fs::relative(it->path(), data).generic_string());
    }
  }
  if (ec) return Unavailable("cannot list '" + data.string() + "': " + ec.message());
  if (names.empty()) return NotFound("no .csv files under '" + data.string() + "'");
  std::sort(names.begin(), names.end());
  std::vector<NabCorpusFile> out;
  out.reserve(names.size());
  for (const std::string& name : names) {
    const auto w = windows.find(name);
    if (w == windows.end()) {
      return InvalidArgument((data / name).string() + ": no entry \"" + name + "\" in " + wpath);
    }
    ASSIGN_OR_RETURN(auto series, ReadMetricCsv((data / name).string()));
    if (series.size() != 1) return InvalidArgument((data / name).string() + ": expected one series (timestamp,value)");
    NabCorpusFile f;
    f.name = name;
    f.series = std::move(series[0]);
    f.windows = WindowsFromTimes(f.series.time, w->second);
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<NabRun> RunNabCorpus(const Context& ctx, const std::vector<NabCorpusFile>& corpus, const NabRunOptions& options) {
  ScoreOptions so = options.score;
  so.nab_probation = true;
  RETURN_IF_ERROR(ValidateScoreOptions(so));
  if (options.detector_name.empty() || options.detector_name.find_first_of("/\\") != std::string::npos) {
    return InvalidArgument("detector name '" + options.detector_name + "' must be a plain name");
  }
  if (options.detector_name.find('_') != std::string::npos) {
    // runner.normalize files a detector under the text before its first '_'
    // and replaces that entry on each run: opspilot_a and opspilot_b would
    // both land, one over the other, under "opspilot".
    return InvalidArgument("detector name '" + options.detector_name +
                           "' has a '_': NAB's scorer takes a name to end at its first '_' (use camelCase, e.g. opspilotEnsemble)");
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<Score>> scores(corpus.size());
  std::vector<Status> errors(corpus.size());
  ctx.pool().ParallelFor(static_cast<int64_t>(corpus.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const auto k = static_cast<size_t>(i);
      auto r = ScoreSeries(corpus[k].series, so);
      if (!r.ok()) {
        errors[k] = r.status().WithContext(corpus[k].name);
        continue;
      }
      scores[k] = std::move(r).value();
      if (!options.results_dir.empty()) errors[k] = WriteResults(options.results_dir, options.detector_name, corpus[k], scores[k]);
    }
  });
  for (const Status& st : errors) RETURN_IF_ERROR(st);
  NabRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<NabFile> files(corpus.size());
  for (size_t k = 0; k < corpus.size(); ++k) {
    files[k].windows = corpus[k].windows;
    files[k].scores.reserve(scores[k].size());
    for (const Score& s : scores[k]) files[k].scores.push_back(s.score);
    run.rows += static_cast<int64_t>(scores[k].size());
    run.windows += static_cast<int64_t>(corpus[k].windows.size());
  }
  run.files = static_cast<int64_t>(corpus.size());
  for (const NabProfile& p : NabProfiles()) run.profiles.push_back(ScoreNabBest(files, p));
  // Per category at the standard profile's threshold: windows with a
  // detection after probation, detections outside windows.
  const double threshold = run.profiles.front().threshold;
  std::map<std::string, NabRun::Category> cats;
  for (size_t k = 0; k < corpus.size(); ++k) {
    NabRun::Category& c = cats[Category(corpus[k].name)];
    ++c.files;
    const auto n = static_cast<int64_t>(files[k].scores.size());
    const int64_t probation = NabProbation(n);
    size_t w = 0;
    std::vector<uint8_t> hit(files[k].windows.size(), 0);
    for (int64_t i = probation; i < n; ++i) {
      while (w < files[k].windows.size() && files[k].windows[w].end < i) ++w;
      if (!(files[k].scores[static_cast<size_t>(i)] >= threshold)) continue;
      if (w < files[k].windows.size() && files[k].windows[w].begin <= i) {
        hit[w] = 1;
      } else {
        ++c.false_positives;
      }
    }
    for (size_t j = 0; j < hit.size(); ++j) {
      if (files[k].windows[j].end < probation) continue;  // not scorable, as in the scorer
      ++c.windows;
      c.detected += hit[j];
    }
  }
  for (auto& [name, c] : cats) {
    c.name = name;
    run.categories.push_back(c);
  }
  return run;
}

}  // namespace opspilot::anomaly
