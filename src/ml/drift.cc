#include "ml/drift.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace opspilot::ml {
namespace {

double PsiFromCounts(const std::vector<double>& ref, const std::vector<double>& cur) {
  double nr = 0, nc = 0;
  for (double v : ref) nr += v;
  for (double v : cur) nc += v;
  if (nr == 0 || nc == 0) return std::numeric_limits<double>::quiet_NaN();
  constexpr double kEps = 1e-4;  // empty bins: avoid log(0)
  double psi = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double p = std::max(ref[i] / nr, kEps), q = std::max(cur[i] / nc, kEps);
    psi += (q - p) * std::log(q / p);
  }
  return psi;
}

std::vector<float> Finite(std::span<const float> v) {
  std::vector<float> out;
  for (float x : v) {
    if (!std::isnan(x)) out.push_back(x);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

double Psi(std::span<const float> reference, std::span<const float> current, int bins) {
  const std::vector<float> ref = Finite(reference);
  // Interior cut points at the reference's quantiles (duplicates merged).
  std::vector<float> cuts;
  for (int b = 1; b < bins && !ref.empty(); ++b) {
    const float q = ref[std::min(ref.size() - 1, ref.size() * static_cast<size_t>(b) / static_cast<size_t>(bins))];
    if (cuts.empty() || q > cuts.back()) cuts.push_back(q);
  }
  auto count = [&](std::span<const float> v) {
    std::vector<double> c(cuts.size() + 2, 0);  // last bin: NaN
    for (float x : v) {
      if (std::isnan(x)) {
        c.back() += 1;
      } else {
        c[static_cast<size_t>(std::upper_bound(cuts.begin(), cuts.end(), x) - cuts.begin())] += 1;
      }
    }
    return c;
  };
  return PsiFromCounts(count(reference), count(current));
}

double PsiCategorical(std::span<const float> reference, std::span<const float> current, int categories) {
  auto count = [&](std::span<const float> v) {
    std::vector<double> c(static_cast<size_t>(categories) + 1, 0);
    for (float x : v) {
      const bool ok = !std::isnan(x) && x >= 0 && x < static_cast<float>(categories);
      c[ok ? static_cast<size_t>(x) : static_cast<size_t>(categories)] += 1;
    }
    return c;
  };
  return PsiFromCounts(count(reference), count(current));
}

double KsStatistic(std::span<const float> a_in, std::span<const float> b_in, double* p_value) {
  const std::vector<float> a = Finite(a_in), b = Finite(b_in);
  if (a.empty() || b.empty()) {
    if (p_value) *p_value = std::numeric_limits<double>::quiet_NaN();
    return std::numeric_limits<double>::quiet_NaN();
  }
  size_t i = 0, j = 0;
  double d = 0;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  while (i < a.size() && j < b.size()) {
    const float x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] == x) ++i;
    while (j < b.size() && b[j] == x) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / na - static_cast<double>(j) / nb));
  }
  if (p_value) {
    // Asymptotic Kolmogorov distribution (Numerical Recipes' probks).
    const double ne = na * nb / (na + nb);
    const double lambda = (std::sqrt(ne) + 0.12 + 0.11 / std::sqrt(ne)) * d;
    double sum = 0, sign = 1, prev = 0;
    for (int k = 1; k <= 100; ++k) {
      const double term = sign * 2 * std::exp(-2 * lambda * lambda * k * k);
      sum += term;
      if (std::abs(term) <= 1e-10 * std::abs(sum) || std::abs(term) <= 1e-8 * prev) break;
      prev = std::abs(term);
      sign = -sign;
    }
    *p_value = lambda < 1e-3 ? 1.0 : std::clamp(sum, 0.0, 1.0);
  }
  return d;
}

StatusOr<std::vector<FeatureDrift>> DriftReport(const TabularData& reference, const TabularData& current,
                                                const DriftOptions& o) {
  if (reference.cols() != current.cols()) return InvalidArgument("drift: the two tables have different features");
  std::vector<FeatureDrift> out;
  const auto nf = static_cast<size_t>(reference.cols());
  for (size_t f = 0; f < nf; ++f) {
    std::vector<float> a(static_cast<size_t>(reference.rows)), b(static_cast<size_t>(current.rows));
    for (size_t r = 0; r < a.size(); ++r) a[r] = reference.x[r * nf + f];
    for (size_t r = 0; r < b.size(); ++r) b[r] = current.x[r * nf + f];
    const Feature& feat = reference.schema.features[f];
    FeatureDrift d;
    d.feature = feat.name;
    if (feat.kind == FeatureKind::kCategorical) {
      d.psi = PsiCategorical(a, b, static_cast<int>(feat.categories.size()));
      d.ks = d.ks_p_value = std::numeric_limits<double>::quiet_NaN();
      d.drifted = d.psi >= o.psi_threshold;
    } else {
      d.psi = Psi(a, b, o.bins);
      d.ks = KsStatistic(a, b, &d.ks_p_value);
      d.drifted = d.psi >= o.psi_threshold || d.ks_p_value < o.ks_alpha;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace opspilot::ml
