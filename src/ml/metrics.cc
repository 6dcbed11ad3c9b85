#include "ml/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "core/check.h"

namespace opspilot::ml {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ClassScores Scores(int64_t tp, int64_t fp, int64_t fn) {
  ClassScores s;
  s.precision = tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0.0;
  s.recall = tp + fn > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0.0;
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
  s.support = tp + fn;
  return s;
}

// Indexes of scores sorted descending.
std::vector<size_t> OrderDesc(std::span<const double> scores) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return idx;
}
}  // namespace

ConfusionMatrix Confusion(std::span<const int> truth, std::span<const int> pred, int classes) {
  OP_CHECK_EQ(truth.size(), pred.size());
  ConfusionMatrix m;
  m.classes = classes;
  m.counts.assign(static_cast<size_t>(classes * classes), 0);
  for (size_t i = 0; i < truth.size(); ++i) {
    OP_CHECK(truth[i] >= 0 && truth[i] < classes && pred[i] >= 0 && pred[i] < classes);
    m.counts[static_cast<size_t>(truth[i] * classes + pred[i])]++;
  }
  return m;
}

ClassificationReport Classify(std::span<const int> truth, std::span<const int> pred, int classes) {
  ClassificationReport r;
  r.confusion = Confusion(truth, pred, classes);
  int64_t correct = 0, total = static_cast<int64_t>(truth.size());
  int64_t tp_all = 0, fp_all = 0, fn_all = 0;
  int counted = 0;
  for (int c = 0; c < classes; ++c) {
    int64_t tp = r.confusion.at(c, c), fp = 0, fn = 0;
    for (int o = 0; o < classes; ++o) {
      if (o == c) continue;
      fp += r.confusion.at(o, c);
      fn += r.confusion.at(c, o);
    }
    correct += tp;
    tp_all += tp;
    fp_all += fp;
    fn_all += fn;
    ClassScores s = Scores(tp, fp, fn);
    r.per_class.push_back(s);
    if (tp + fp + fn > 0) {
      ++counted;
      r.macro.precision += s.precision;
      r.macro.recall += s.recall;
      r.macro.f1 += s.f1;
    }
    if (total > 0) {
      const double w = static_cast<double>(s.support) / static_cast<double>(total);
      r.weighted.precision += w * s.precision;
      r.weighted.recall += w * s.recall;
      r.weighted.f1 += w * s.f1;
    }
  }
  if (counted > 0) {
    r.macro.precision /= counted;
    r.macro.recall /= counted;
    r.macro.f1 /= counted;
  }
  r.macro.support = r.weighted.support = total;
  r.micro = Scores(tp_all, fp_all, fn_all);
  r.accuracy = total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : kNaN;
  return r;
}

double RocAuc(std::span<const int> labels, std::span<const double> scores) {
  OP_CHECK_EQ(labels.size(), scores.size());
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of positive ranks with average ranks for ties.
  double rank_sum = 0;
  int64_t pos = 0, neg = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2.0;  // 1-based
    for (size_t k = i; k < j; ++k) {
      if (labels[idx[k]]) {
        rank_sum += avg_rank;
        ++pos;
      } else {
        ++neg;
      }
    }
    i = j;
  }
  if (pos == 0 || neg == 0) return kNaN;
  const double p = static_cast<double>(pos), n = static_cast<double>(neg);
  return (rank_sum - p * (p + 1) / 2) / (p * n);
}

double PrAuc(std::span<const int> labels, std::span<const double> scores) {
  OP_CHECK_EQ(labels.size(), scores.size());
  const auto idx = OrderDesc(scores);
  int64_t total_pos = 0;
  for (int l : labels) total_pos += l != 0;
  if (total_pos == 0) return kNaN;
  // Step through distinct thresholds: AP = sum (R_n - R_{n-1}) P_n.
  double ap = 0, prev_recall = 0;
  int64_t tp = 0, seen = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) {
      tp += labels[idx[j]] != 0;
      ++seen;
      ++j;
    }
    const double recall = static_cast<double>(tp) / static_cast<double>(total_pos);
    const double precision = static_cast<double>(tp) / static_cast<double>(seen);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
    i = j;
  }
  return ap;
}

double LogLoss(std::span<const int> labels, std::span<const double> probs, double eps) {
  OP_CHECK_EQ(labels.size(), probs.size());
  if (labels.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double p = std::clamp(probs[i], eps, 1 - eps);
    s -= labels[i] ? std::log(p) : std::log(1 - p);
  }
  return s / static_cast<double>(labels.size());
}

double LogLossMulti(std::span<const int> labels, std::span<const double> probs, int classes, double eps) {
  OP_CHECK_EQ(labels.size() * static_cast<size_t>(classes), probs.size());
  if (labels.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    s -= std::log(std::clamp(probs[i * static_cast<size_t>(classes) + static_cast<size_t>(labels[i])], eps, 1 - eps));
  }
  return s / static_cast<double>(labels.size());
}

double Brier(std::span<const int> labels, std::span<const double> probs) {
  OP_CHECK_EQ(labels.size(), probs.size());
  if (labels.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < labels.size(); ++i) s += (probs[i] - labels[i]) * (probs[i] - labels[i]);
  return s / static_cast<double>(labels.size());
}

std::vector<CalibrationBin> Reliability(std::span<const int> labels, std::span<const double> probs,
                                        int bins, double* ece) {
  OP_CHECK_EQ(labels.size(), probs.size());
  OP_CHECK(bins > 0);
  std::vector<CalibrationBin> out(static_cast<size_t>(bins));
  std::vector<double> sum_p(static_cast<size_t>(bins), 0), sum_y(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < probs.size(); ++i) {
    int b = static_cast<int>(probs[i] * bins);
    b = std::clamp(b, 0, bins - 1);
    sum_p[static_cast<size_t>(b)] += probs[i];
    sum_y[static_cast<size_t>(b)] += labels[i] != 0;
    out[static_cast<size_t>(b)].count++;
  }
  double e = 0;
  for (int b = 0; b < bins; ++b) {
    auto& bin = out[static_cast<size_t>(b)];
    bin.lower = static_cast<double>(b) / bins;
    bin.upper = static_cast<double>(b + 1) / bins;
    if (bin.count == 0) {
      bin.mean_predicted = bin.fraction_positive = kNaN;
      continue;
    }
    bin.mean_predicted = sum_p[static_cast<size_t>(b)] / static_cast<double>(bin.count);
    bin.fraction_positive = sum_y[static_cast<size_t>(b)] / static_cast<double>(bin.count);
    e += static_cast<double>(bin.count) * std::abs(bin.mean_predicted - bin.fraction_positive);
  }
  if (ece) *ece = probs.empty() ? kNaN : e / static_cast<double>(probs.size());
  return out;
}

double Lift(std::span<const int> labels, std::span<const double> scores, double fraction) {
  OP_CHECK_EQ(labels.size(), scores.size());
  if (labels.empty() || fraction <= 0) return kNaN;
  const auto idx = OrderDesc(scores);
  const size_t top = std::max<size_t>(1, static_cast<size_t>(std::ceil(fraction * static_cast<double>(idx.size()))));
  double top_pos = 0, all_pos = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    all_pos += labels[idx[i]] != 0;
    if (i < top) top_pos += labels[idx[i]] != 0;
  }
  if (all_pos == 0) return kNaN;
  return (top_pos / static_cast<double>(top)) / (all_pos / static_cast<double>(idx.size()));
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto mid = v.begin() + static_cast<long>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double Mse(std::span<const double> y, std::span<const double> p) {
  OP_CHECK_EQ(y.size(), p.size());
  if (y.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += (y[i] - p[i]) * (y[i] - p[i]);
  return s / static_cast<double>(y.size());
}

double Rmse(std::span<const double> y, std::span<const double> p) { return std::sqrt(Mse(y, p)); }

double Mae(std::span<const double> y, std::span<const double> p) {
  OP_CHECK_EQ(y.size(), p.size());
  if (y.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += std::abs(y[i] - p[i]);
  return s / static_cast<double>(y.size());
}

double Mape(std::span<const double> y, std::span<const double> p) {
  OP_CHECK_EQ(y.size(), p.size());
  double s = 0;
  int64_t n = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0) continue;
    s += std::abs((y[i] - p[i]) / y[i]);
    ++n;
  }
  return n ? 100.0 * s / static_cast<double>(n) : kNaN;
}

double Smape(std::span<const double> y, std::span<const double> p) {
  OP_CHECK_EQ(y.size(), p.size());
  if (y.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = std::abs(y[i]) + std::abs(p[i]);
    if (d > 0) s += 2 * std::abs(y[i] - p[i]) / d;
  }
  return 100.0 * s / static_cast<double>(y.size());
}

namespace {
double NaiveScale(std::span<const double> h, int m, bool squared) {
  if (m < 1 || h.size() <= static_cast<size_t>(m)) return kNaN;
  double s = 0;
  for (size_t t = static_cast<size_t>(m); t < h.size(); ++t) {
    const double d = h[t] - h[t - static_cast<size_t>(m)];
    s += squared ? d * d : std::abs(d);
  }
  return s / static_cast<double>(h.size() - static_cast<size_t>(m));
}
}  // namespace

double Mase(std::span<const double> h, std::span<const double> y, std::span<const double> p, int m) {
  const double scale = NaiveScale(h, m, false);
  if (!(scale > 0)) return kNaN;
  return Mae(y, p) / scale;
}

double Rmsse(std::span<const double> h, std::span<const double> y, std::span<const double> p, int m) {
  const double scale = NaiveScale(h, m, true);
  if (!(scale > 0)) return kNaN;
  return std::sqrt(Mse(y, p) / scale);
}

namespace {
struct Relevant {
  explicit Relevant(std::span<const int32_t> r) : set(r.begin(), r.end()) {}
  bool has(int32_t x) const { return set.count(x) > 0; }
  std::unordered_set<int32_t> set;
};
size_t Cut(std::span<const int32_t> ranked, int k) { return std::min(ranked.size(), static_cast<size_t>(std::max(k, 0))); }
}  // namespace

double HitRate(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  Relevant rel(relevant);
  for (size_t i = 0; i < Cut(ranked, k); ++i) {
    if (rel.has(ranked[i])) return 1;
  }
  return 0;
}

double RecallAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  if (relevant.empty()) return kNaN;
  Relevant rel(relevant);
  double hits = 0;
  for (size_t i = 0; i < Cut(ranked, k); ++i) hits += rel.has(ranked[i]);
  return hits / static_cast<double>(relevant.size());
}

double PrecisionAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  if (k <= 0) return kNaN;
  Relevant rel(relevant);
  double hits = 0;
  for (size_t i = 0; i < Cut(ranked, k); ++i) hits += rel.has(ranked[i]);
  return hits / k;
}

double NdcgAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  if (relevant.empty()) return kNaN;
  Relevant rel(relevant);
  double dcg = 0, idcg = 0;
  for (size_t i = 0; i < Cut(ranked, k); ++i) {
    if (rel.has(ranked[i])) dcg += 1.0 / std::log2(static_cast<double>(i) + 2);
  }
  const size_t ideal = std::min(relevant.size(), static_cast<size_t>(std::max(k, 0)));
  for (size_t i = 0; i < ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

double ApAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  if (relevant.empty()) return kNaN;
  Relevant rel(relevant);
  double hits = 0, s = 0;
  for (size_t i = 0; i < Cut(ranked, k); ++i) {
    if (rel.has(ranked[i])) {
      hits += 1;
      s += hits / static_cast<double>(i + 1);
    }
  }
  return s / static_cast<double>(std::min(relevant.size(), static_cast<size_t>(std::max(k, 1))));
}

double MrrAt(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  Relevant rel(relevant);
  for (size_t i = 0; i < Cut(ranked, k); ++i) {
    if (rel.has(ranked[i])) return 1.0 / static_cast<double>(i + 1);
  }
  return 0;
}

}  // namespace opspilot::ml
