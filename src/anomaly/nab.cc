#include "anomaly/nab.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/time.h"

namespace opspilot::anomaly {
namespace {

// splitmix64: small, portable, and the same numbers on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  double Sign() { return (Next() & 1) ? 1.0 : -1.0; }
  double Normal() {
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }
  // Student-t scaled to unit variance.
  double StudentT(int dof) {
    double chi2 = 0;
    for (int i = 0; i < dof; ++i) {
      const double g = Normal();
      chi2 += g * g;
    }
    const double t = Normal() / std::sqrt(chi2 / dof);
    return dof > 2 ? t * std::sqrt((dof - 2.0) / dof) : t;
  }

 private:
  uint64_t state_;
};

}  // namespace

std::string_view AnomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kSpike: return "spike";
    case AnomalyKind::kLevelShift: return "level_shift";
    case AnomalyKind::kVarianceChange: return "variance_change";
    case AnomalyKind::kSeasonalBreak: return "seasonal_break";
    case AnomalyKind::kDrift: return "drift";
  }
  return "unknown";
}

const std::vector<AnomalyKind>& AllAnomalyKinds() {
  static const std::vector<AnomalyKind> kinds = {AnomalyKind::kSpike, AnomalyKind::kLevelShift,
                                                 AnomalyKind::kVarianceChange, AnomalyKind::kSeasonalBreak,
                                                 AnomalyKind::kDrift};
  return kinds;
}

LabelledSeries GenerateSeries(const GeneratorOptions& o) {
  Rng rng(o.seed);
  const int64_t n = std::max<int64_t>(o.length, 10);
  LabelledSeries out;
  out.series.id = "generated_" + std::to_string(o.seed);
  const std::vector<AnomalyKind>& kinds = o.kinds.empty() ? AllAnomalyKinds() : o.kinds;

  // Where the anomalies go: one per segment of the scored part of the file.
  const int64_t first = NabProbation(n) + n / 20, last = n - n / 20;
  const int k = std::max(0, o.anomalies);
  const double segment = k > 0 ? static_cast<double>(last - first) / k : 0;
  for (int j = 0; j < k; ++j) {
    out.labels.push_back(first + static_cast<int64_t>(segment * (j + rng.Uniform(0.2, 0.8))));
    out.kinds.push_back(kinds[static_cast<size_t>(rng.Below(static_cast<int64_t>(kinds.size())))]);
  }

  // Per-row effects of the anomalies.
  std::vector<double> add(static_cast<size_t>(n), 0.0), noise_mult(static_cast<size_t>(n), 1.0);
  std::vector<double> daily_amp(static_cast<size_t>(n), o.daily_amplitude);
  std::vector<double> daily_phase(static_cast<size_t>(n), 0.0);
  const double m = o.magnitude;
  for (int j = 0; j < k; ++j) {
    const int64_t a = out.labels[static_cast<size_t>(j)];
    const double sign = rng.Sign();
    switch (out.kinds[static_cast<size_t>(j)]) {
      case AnomalyKind::kSpike:
        add[static_cast<size_t>(a)] += sign * rng.Uniform(6, 10) * m;
        break;
      case AnomalyKind::kLevelShift: {
        const double size = sign * rng.Uniform(3, 5) * m;
        for (int64_t i = a; i < n; ++i) add[static_cast<size_t>(i)] += size;
        break;
      }
      case AnomalyKind::kVarianceChange: {
        const double factor = 1 + rng.Uniform(2, 3) * m;
        const int64_t end = std::min(n, a + static_cast<int64_t>(rng.Uniform(150, 400)));
        for (int64_t i = a; i < end; ++i) noise_mult[static_cast<size_t>(i)] *= factor;
        break;
      }
      case AnomalyKind::kSeasonalBreak: {
        // The daily pattern as it is at the break (earlier breaks included):
        // a flat stretch gains one; a seasonal one loses it or shifts it by
        // 8 hours. (Each break changes something: a second break on a
        // once-flat series used to re-gain the same pattern, a no-op.)
        const bool drop = rng.Uniform() < 0.5;
        const double now = daily_amp[static_cast<size_t>(a)];
        const double gained = o.daily_amplitude > 0 ? o.daily_amplitude : 4 * m;
        for (int64_t i = a; i < n; ++i) {
          if (now <= 0) {
            daily_amp[static_cast<size_t>(i)] = gained;
          } else if (drop) {
            daily_amp[static_cast<size_t>(i)] = now * std::max(0.0, 1 - m);
          } else {
            daily_phase[static_cast<size_t>(i)] += 2 * std::numbers::pi / 3 * std::min(1.0, m);
          }
        }
        break;
      }
      case AnomalyKind::kDrift: {
        const double total = sign * rng.Uniform(6, 10) * m;
        const int64_t len = static_cast<int64_t>(rng.Uniform(100, 300));
        for (int64_t i = a; i < n; ++i) {
          add[static_cast<size_t>(i)] += total * std::min(1.0, static_cast<double>(i - a + 1) / len);
        }
        break;
      }
    }
  }

  double walk = 0, ar = 0;
  const double phi = std::clamp(o.ar_phi, -0.99, 0.99);
  out.series.time.resize(static_cast<size_t>(n));
  out.series.y.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const size_t u = static_cast<size_t>(i);
    const int64_t t = o.start + i * o.spacing;
    const double day = 2 * std::numbers::pi * static_cast<double>(SecondOfDay(t)) / 86400.0;
    const int64_t weekday = WeekdayOfDay(DayOf(t));  // 0 = Monday
    const double weekly = weekday >= 5 ? -o.weekly_amplitude : o.weekly_amplitude * 2 / 5;
    const double daily = daily_amp[u] * std::sin(day - 2.0 + daily_phase[u]);
    if (o.random_walk > 0) walk += o.random_walk * rng.Normal();
    const double u0 = o.student_t_dof > 0 ? rng.StudentT(o.student_t_dof) : rng.Normal();
    ar = phi * ar + std::sqrt(1 - phi * phi) * u0;  // exactly u0 when phi = 0
    const double e = ar;
    out.series.time[u] = t;
    out.series.y[u] = o.level + o.noise * (daily + weekly + walk + add[u] + e * noise_mult[u]);
  }
  return out;
}

std::vector<LabelledSeries> GenerateCorpus(int files, uint64_t seed, bool anomalies) {
  std::vector<LabelledSeries> out;
  Rng rng(seed ^ 0xA5A5A5A5ULL);
  for (int f = 0; f < files; ++f) {
    GeneratorOptions o;
    o.seed = seed * 1000003ULL + static_cast<uint64_t>(f);
    o.length = 2000 + rng.Below(4001);
    o.spacing = rng.Uniform() < 0.7 ? 300 : 3600;
    o.noise = std::exp(rng.Uniform(std::log(0.1), std::log(50.0)));
    o.level = o.noise * rng.Uniform(5, 100);
    const bool seasonal = rng.Uniform() < 0.6;
    o.daily_amplitude = seasonal ? rng.Uniform(2, 8) : 0;
    o.weekly_amplitude = seasonal && rng.Uniform() < 0.5 ? rng.Uniform(1, 3) : 0;
    o.random_walk = rng.Uniform() < 0.25 ? rng.Uniform(0.05, 0.3) : 0;
    o.student_t_dof = rng.Uniform() < 0.3 ? 4 : 0;
    o.anomalies = anomalies ? 1 + static_cast<int>(rng.Below(3)) : 0;
    LabelledSeries s = GenerateSeries(o);
    s.series.id = "corpus_" + std::to_string(seed) + "_" + std::to_string(f);
    out.push_back(std::move(s));
  }
  return out;
}

// ---- Scoring ----------------------------------------------------------------

const std::vector<NabProfile>& NabProfiles() {
  static const std::vector<NabProfile> profiles = {
      {"standard", 1.0, 0.11, 1.0},
      {"reward_low_FP_rate", 1.0, 0.22, 1.0},
      {"reward_low_FN_rate", 1.0, 0.11, 2.0},
  };
  return profiles;
}

double NabSigmoid(double x) {
  if (x > 3.0) return -1.0;  // as NAB's sweeper (> 3); at 3 itself the formula gives -0.9999994
  return 2.0 / (1.0 + std::exp(5.0 * x)) - 1.0;
}

int64_t NabProbation(int64_t rows) {
  return static_cast<int64_t>(std::min(std::floor(0.15 * static_cast<double>(rows)), 0.15 * 5000));
}

std::vector<NabWindow> NabWindows(int64_t rows, std::vector<int64_t> labels) {
  std::vector<NabWindow> out;
  if (labels.empty() || rows <= 0) return out;
  std::sort(labels.begin(), labels.end());
  const int64_t length = static_cast<int64_t>(0.1 * static_cast<double>(rows) / static_cast<double>(labels.size()));
  for (int64_t a : labels) {
    NabWindow w{std::max<int64_t>(a - length / 2, 0), std::min(a + length / 2, rows - 1)};
    if (!out.empty() && w.begin <= out.back().end) {
      out.back().end = std::max(out.back().end, w.end);
    } else {
      out.push_back(w);
    }
  }
  return out;
}

namespace {

// One scorable row: its sweep value and window (-1 outside windows).
struct Row {
  double score;
  double sweep;
  int64_t window;  // index into a corpus-wide window list, or -1
};

// Rows after probation with NAB's sweep values; `window_base` offsets the
// file's window ids. Adds the file's scorable windows to *scorable.
void SweepFile(const NabFile& f, const NabProfile& p, int64_t window_base, std::vector<Row>* rows,
               std::vector<uint8_t>* scorable) {
  const int64_t n = static_cast<int64_t>(f.scores.size());
  const int64_t probation = NabProbation(n);
  const double max_tp = NabSigmoid(-1.0);
  size_t w = 0;  // next window not yet passed
  for (size_t j = 0; j < f.windows.size(); ++j) scorable->push_back(f.windows[j].end >= probation ? 1 : 0);
  for (int64_t i = probation; i < n; ++i) {
    while (w < f.windows.size() && f.windows[w].end < i) ++w;
    Row r{f.scores[static_cast<size_t>(i)], 0, -1};
    if (w < f.windows.size() && f.windows[w].begin <= i) {
      const NabWindow& win = f.windows[w];
      const double width = static_cast<double>(win.end - win.begin + 1);
      r.sweep = NabSigmoid(-static_cast<double>(win.end - i + 1) / width) * p.tp_weight / max_tp;
      r.window = window_base + static_cast<int64_t>(w);
    } else if (w == 0) {
      r.sweep = -p.fp_weight;  // before any window: a full false positive
    } else {
      const NabWindow& prev = f.windows[w - 1];
      const int64_t width = prev.end - prev.begin + 1;
      // A one-row window has no width to scale by (NAB divides by zero): far past it, a full false positive.
      const double pos = width > 1 ? static_cast<double>(i - prev.end) / static_cast<double>(width - 1) : 4.0;
      r.sweep = NabSigmoid(pos) * p.fp_weight;
    }
    rows->push_back(r);
  }
}

struct Corpus {
  std::vector<Row> rows;
  std::vector<uint8_t> scorable;  // per window
  double null_raw = 0, perfect_raw = 0;
};

Corpus Sweep(const std::vector<NabFile>& files, const NabProfile& p) {
  Corpus c;
  for (const NabFile& f : files) SweepFile(f, p, static_cast<int64_t>(c.scorable.size()), &c.rows, &c.scorable);
  int64_t scorable = 0;
  for (uint8_t s : c.scorable) scorable += s;
  c.null_raw = -p.fn_weight * static_cast<double>(scorable);
  c.perfect_raw = p.tp_weight * static_cast<double>(c.scorable.size());
  return c;
}

void Finish(const Corpus& c, NabResult* r) {
  r->null_raw = c.null_raw;
  r->perfect_raw = c.perfect_raw;
  const double span = c.perfect_raw - c.null_raw;
  r->normalized = span > 0 ? 100 * (r->raw - c.null_raw) / span : 0;
}

}  // namespace

NabResult ScoreNab(const std::vector<NabFile>& files, const NabProfile& p, double threshold) {
  const Corpus c = Sweep(files, p);
  std::vector<double> best(c.scorable.size(), -p.fn_weight);
  std::vector<uint8_t> hit(c.scorable.size(), 0);
  NabResult r;
  r.threshold = threshold;
  double fp = 0;
  for (const Row& row : c.rows) {
    if (!(row.score >= threshold)) continue;
    if (row.window >= 0) {
      best[static_cast<size_t>(row.window)] = std::max(best[static_cast<size_t>(row.window)], row.sweep);
      hit[static_cast<size_t>(row.window)] = 1;
    } else {
      fp += row.sweep;
      ++r.fp;
    }
  }
  r.raw = fp;
  for (size_t w = 0; w < best.size(); ++w) {
    if (!c.scorable[w]) continue;
    r.raw += best[w];
    (hit[w] ? r.tp : r.fn)++;
  }
  Finish(c, &r);
  return r;
}

NabResult ScoreNabBest(const std::vector<NabFile>& files, const NabProfile& p) {
  Corpus c = Sweep(files, p);
  std::sort(c.rows.begin(), c.rows.end(), [](const Row& a, const Row& b) { return a.score > b.score; });
  std::vector<double> best(c.scorable.size(), -p.fn_weight);
  std::vector<uint8_t> hit(c.scorable.size(), 0);
  int64_t windows = 0;
  for (uint8_t s : c.scorable) windows += s;
  // Walk thresholds from high to low; the total changes only at distinct scores.
  double window_sum = -p.fn_weight * static_cast<double>(windows), fp_sum = 0;
  int64_t tp = 0, fp = 0;
  NabResult r;
  r.threshold = 1.1;  // above every score: no detections
  r.raw = window_sum;
  r.fn = windows;
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const Row& row = c.rows[i];
    if (row.window >= 0) {
      double& b = best[static_cast<size_t>(row.window)];
      if (!hit[static_cast<size_t>(row.window)]) {
        hit[static_cast<size_t>(row.window)] = 1;
        ++tp;
      }
      if (row.sweep > b) {
        window_sum += row.sweep - b;
        b = row.sweep;
      }
    } else {
      fp_sum += row.sweep;
      ++fp;
    }
    const bool last_of_score = i + 1 == c.rows.size() || c.rows[i + 1].score != row.score;
    if (last_of_score && window_sum + fp_sum > r.raw) {
      r.raw = window_sum + fp_sum;
      r.threshold = row.score;
      r.tp = tp;
      r.fn = windows - tp;
      r.fp = fp;
    }
  }
  Finish(c, &r);
  return r;
}

}  // namespace opspilot::anomaly
