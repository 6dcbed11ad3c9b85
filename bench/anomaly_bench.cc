// Anomaly detectors: streaming speed per core and the local NAB-style score
// on a generated labelled corpus (nab.h), per detector and profile.
//   build/bench_anomaly [files=60] [seed=7] [detectors=all, comma-separated]
// Speed is single-threaded points per second over a 2M-point 5-minute series
// with daily and weekly seasons (best of 3 runs; one run when it takes over 5 s).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "anomaly/anomaly.h"
#include "anomaly/detectors.h"
#include "anomaly/nab.h"

using namespace opspilot;
using namespace opspilot::anomaly;

namespace {

double PointsPerSecond(const std::string& name, const forecast::Series& s) {
  double best = 1e30;
  double sink = 0;
  for (int run = 0; run < 3; ++run) {
    DetectorOptions o;
    o.spacing = 300;
    auto d = MakeDetector(name, o);
    if (!d.ok()) {
      std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
      std::exit(1);
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < s.y.size(); ++i) sink += (*d)->Update(s.time[i], s.y[i]);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (best > 5) break;  // a slow detector (forecast: ~40 s per run) is timed once
  }
  if (sink < 0) std::printf("impossible\n");
  return static_cast<double>(s.y.size()) / best;
}

}  // namespace

int main(int argc, char** argv) {
  const int files = argc > 1 ? std::atoi(argv[1]) : 60;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 7;
  std::vector<std::string> names;
  if (argc > 3) {
    std::string list = argv[3];
    for (size_t b = 0; b <= list.size();) {
      const size_t e = std::min(list.find(',', b), list.size());
      if (e > b) names.push_back(list.substr(b, e - b));
      b = e + 1;
    }
  } else {
    names = DetectorNames();
  }

  GeneratorOptions g;
  g.length = 2000000;
  g.anomalies = 0;
  g.seed = 3;
  const forecast::Series big = GenerateSeries(g).series;
  std::printf("streaming speed (1 core, %zu points, 5-minute data, daily+weekly seasons)\n", big.y.size());
  for (const std::string& name : names) {
    const double pps = PointsPerSecond(name, big);
    std::printf("  %-12s %8.2f M points/s  (%.0f ns/point)\n", name.c_str(), pps / 1e6, 1e9 / pps);
  }

  const std::vector<LabelledSeries> corpus = GenerateCorpus(files, seed);
  int64_t rows = 0, labels = 0;
  std::map<std::string, int> kinds;
  for (const auto& f : corpus) {
    rows += static_cast<int64_t>(f.series.y.size());
    labels += static_cast<int64_t>(f.labels.size());
    for (AnomalyKind k : f.kinds) ++kinds[std::string(AnomalyKindName(k))];
  }
  std::printf("\nlocal NAB-style score: %d generated files, %lld rows, %lld labels (", files,
              static_cast<long long>(rows), static_cast<long long>(labels));
  for (const auto& [k, c] : kinds) std::printf(" %s=%d", k.c_str(), c);
  std::printf(" ), seed %llu\n", static_cast<unsigned long long>(seed));
  std::printf("  %-12s %26s %26s %26s\n", "detector", "standard", "reward_low_FP_rate", "reward_low_FN_rate");
  for (const std::string& name : names) {
    std::vector<NabFile> nab;
    for (const auto& f : corpus) {
      ScoreOptions so;
      so.detector = name;
      auto scores = ScoreSeries(f.series, so);
      if (!scores.ok()) {
        std::fprintf(stderr, "%s\n", scores.status().ToString().c_str());
        return 1;
      }
      NabFile nf;
      for (const Score& s : *scores) nf.scores.push_back(s.score);
      nf.windows = NabWindows(static_cast<int64_t>(f.series.y.size()), f.labels);
      nab.push_back(std::move(nf));
    }
    std::printf("  %-12s", name.c_str());
    double standard_threshold = 0.5;
    for (const NabProfile& p : NabProfiles()) {
      const NabResult r = ScoreNabBest(nab, p);
      if (p.name == "standard") standard_threshold = r.threshold;
      std::printf("  %6.1f (t=%.3f %3lld/%-3lld fp=%-3lld)", r.normalized, r.threshold, static_cast<long long>(r.tp),
                  static_cast<long long>(r.tp + r.fn), static_cast<long long>(r.fp));
    }
    std::printf("\n");
    if (name == "ensemble") {
      // Recall per anomaly kind at the standard profile's best threshold.
      std::map<std::string, std::pair<int, int>> per_kind;
      int64_t fp = 0;
      for (size_t fi = 0; fi < corpus.size(); ++fi) {
        const auto& f = corpus[fi];
        const auto wins = NabWindows(static_cast<int64_t>(f.series.y.size()), f.labels);
        for (size_t j = 0; j < f.labels.size(); ++j) {
          bool hit = false;
          for (const auto& w : wins) {
            if (w.begin <= f.labels[j] && f.labels[j] <= w.end) {
              for (int64_t i = w.begin; i <= w.end; ++i) hit = hit || nab[fi].scores[static_cast<size_t>(i)] >= standard_threshold;
            }
          }
          auto& pk = per_kind[std::string(AnomalyKindName(f.kinds[j]))];
          pk.first += hit;
          ++pk.second;
        }
        size_t w = 0;
        for (size_t i = 0; i < nab[fi].scores.size(); ++i) {
          while (w < wins.size() && wins[w].end < static_cast<int64_t>(i)) ++w;
          const bool inside = w < wins.size() && wins[w].begin <= static_cast<int64_t>(i);
          if (!inside && nab[fi].scores[i] >= standard_threshold) ++fp;
        }
      }
      std::printf("  ensemble at score >= %.3f: recall per kind", standard_threshold);
      for (const auto& [k, c] : per_kind) std::printf(" %s %d/%d", k.c_str(), c.first, c.second);
      std::printf("; detections outside windows %lld\n", static_cast<long long>(fp));
    }
  }
  return 0;
}
