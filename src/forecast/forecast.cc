#include "forecast/forecast.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>

#include "core/csv.h"
#include "core/time.h"
#include "ml/metrics.h"

namespace opspilot::forecast {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Mean(const std::vector<double>& v, size_t from = 0) {
  if (v.size() <= from) return kNaN;
  return std::accumulate(v.begin() + static_cast<long>(from), v.end(), 0.0) / static_cast<double>(v.size() - from);
}

double Rms(const std::vector<double>& e) {
  if (e.empty()) return 0;
  double s = 0;
  for (double x : e) s += x * x;
  return std::sqrt(s / static_cast<double>(e.size()));
}

// A point forecast with a scale per step for normal intervals, or explicit
// residual quantiles (intermittent models).
struct Fit {
  std::vector<double> mean;
  std::vector<double> sd;              // per step; empty when `residuals` is used
  std::vector<double> residuals;       // one-step in-sample errors for empirical intervals
  bool non_negative = false;
};

Fit Naive(const std::vector<double>& y, int h) {
  Fit f;
  std::vector<double> e;
  for (size_t t = 1; t < y.size(); ++t) e.push_back(y[t] - y[t - 1]);
  const double s = Rms(e);
  for (int k = 1; k <= h; ++k) {
    f.mean.push_back(y.back());
    f.sd.push_back(s * std::sqrt(static_cast<double>(k)));
  }
  return f;
}

Fit SeasonalNaive(const std::vector<double>& y, int h, int m) {
  if (m <= 1 || y.size() < static_cast<size_t>(m)) return Naive(y, h);
  Fit f;
  std::vector<double> e;
  for (size_t t = static_cast<size_t>(m); t < y.size(); ++t) e.push_back(y[t] - y[t - static_cast<size_t>(m)]);
  const double s = Rms(e);
  const size_t T = y.size();
  for (int k = 1; k <= h; ++k) {
    f.mean.push_back(y[T - static_cast<size_t>(m) + static_cast<size_t>((k - 1) % m)]);
    f.sd.push_back(s * std::sqrt(static_cast<double>((k - 1) / m + 1)));
  }
  return f;
}

Fit Drift(const std::vector<double>& y, int h) {
  if (y.size() < 2) return Naive(y, h);
  Fit f;
  const double T = static_cast<double>(y.size());
  const double b = (y.back() - y.front()) / (T - 1);
  std::vector<double> e;
  for (size_t t = 1; t < y.size(); ++t) e.push_back(y[t] - y[t - 1] - b);
  const double s = Rms(e);
  for (int k = 1; k <= h; ++k) {
    f.mean.push_back(y.back() + k * b);
    f.sd.push_back(s * std::sqrt(k * (1 + k / (T - 1))));
  }
  return f;
}

Fit MeanModel(const std::vector<double>& y, int h, int window) {
  Fit f;
  const size_t from = window > 0 && static_cast<size_t>(window) < y.size() ? y.size() - static_cast<size_t>(window) : 0;
  const double mu = Mean(y, from);
  std::vector<double> e;
  for (size_t t = from; t < y.size(); ++t) e.push_back(y[t] - mu);
  const double n = static_cast<double>(y.size() - from);
  const double s = Rms(e) * std::sqrt(n / std::max(1.0, n - 1));
  for (int k = 1; k <= h; ++k) {
    f.mean.push_back(mu);
    f.sd.push_back(s * std::sqrt(1 + 1 / n));
  }
  return f;
}

double Acf(const std::vector<double>& y, int lag) {
  const double mu = Mean(y);
  double num = 0, den = 0;
  for (size_t t = 0; t < y.size(); ++t) {
    den += (y[t] - mu) * (y[t] - mu);
    if (t >= static_cast<size_t>(lag)) num += (y[t] - mu) * (y[t - static_cast<size_t>(lag)] - mu);
  }
  return den > 0 ? num / den : 0;
}

// M4's seasonality test: ACF at lag m beyond 90% limits (Bartlett's formula).
bool Seasonal(const std::vector<double>& y, int m) {
  if (m <= 1 || y.size() < 3 * static_cast<size_t>(m)) return false;
  double s = 0;
  for (int k = 1; k < m; ++k) s += Acf(y, k) * Acf(y, k);
  const double limit = 1.645 * std::sqrt((1 + 2 * s) / static_cast<double>(y.size()));
  return std::abs(Acf(y, m)) > limit;
}

// Classical multiplicative decomposition: one index per season position (mean 1).
std::vector<double> SeasonalIndices(const std::vector<double>& y, int m) {
  const size_t n = y.size(), mm = static_cast<size_t>(m);
  std::vector<double> ratio_sum(mm, 0), ratio_n(mm, 0);
  const size_t half = mm / 2;
  for (size_t t = half; t + half < n; ++t) {
    // Centred moving average: m points for odd m, 2 x m (half weights at the ends) for even m.
    double cma = 0;
    if (mm % 2 == 0) {
      cma = 0.5 * y[t - half] + 0.5 * y[t + half];
      for (size_t j = t - half + 1; j < t + half; ++j) cma += y[j];
    } else {
      for (size_t j = t - half; j <= t + half; ++j) cma += y[j];
    }
    cma /= static_cast<double>(mm);
    if (cma <= 0) continue;
    ratio_sum[t % mm] += y[t] / cma;
    ratio_n[t % mm] += 1;
  }
  std::vector<double> idx(mm, 1);
  double total = 0;
  for (size_t i = 0; i < mm; ++i) {
    idx[i] = ratio_n[i] > 0 ? ratio_sum[i] / ratio_n[i] : 1;
    total += idx[i];
  }
  for (double& v : idx) v *= static_cast<double>(mm) / total;
  return idx;
}

Fit Naive2(const std::vector<double>& y, int h, int m) {
  bool positive = std::all_of(y.begin(), y.end(), [](double v) { return v > 0; });
  if (!positive || !Seasonal(y, m)) return Naive(y, h);
  const auto idx = SeasonalIndices(y, m);
  std::vector<double> d(y.size());
  for (size_t t = 0; t < y.size(); ++t) d[t] = y[t] / idx[t % static_cast<size_t>(m)];
  Fit f = Naive(d, h);
  for (int k = 1; k <= h; ++k) {
    const double s = idx[(y.size() + static_cast<size_t>(k) - 1) % static_cast<size_t>(m)];
    f.mean[static_cast<size_t>(k - 1)] *= s;
    f.sd[static_cast<size_t>(k - 1)] *= s;
  }
  return f;
}

// Croston (and the SBA correction): SES of the non-zero sizes and of the
// intervals between them; TSB: SES of the size and of the occurrence probability.
Fit Intermittent(const std::vector<double>& y, int h, const std::string& kind, double alpha = 0.1) {
  Fit f;
  f.non_negative = true;
  double z = kNaN, p = kNaN, prob = kNaN;
  int since = 1;
  std::vector<double> one_step;
  for (double v : y) {
    double forecast = 0;
    if (!std::isnan(z)) forecast = kind == "tsb" ? prob * z : (kind == "sba" ? 1 - alpha / 2 : 1.0) * z / p;
    if (!std::isnan(z)) one_step.push_back(v - forecast);
    if (kind == "tsb") {
      prob = std::isnan(prob) ? (v > 0 ? 1.0 : 0.0) : prob + alpha * ((v > 0 ? 1.0 : 0.0) - prob);
      if (v > 0) z = std::isnan(z) ? v : z + alpha * (v - z);
      if (std::isnan(z) && v <= 0) continue;
      if (std::isnan(p)) p = 1;
    } else if (v > 0) {
      if (std::isnan(z)) {
        z = v;
        p = since;
      } else {
        z += alpha * (v - z);
        p += alpha * (since - p);
      }
      since = 1;
    } else {
      ++since;
    }
  }
  double mean = 0;
  if (!std::isnan(z)) mean = kind == "tsb" ? prob * z : (kind == "sba" ? 1 - alpha / 2 : 1.0) * z / p;
  f.mean.assign(static_cast<size_t>(h), mean);
  f.residuals = one_step;
  return f;
}

// Minimizes f on [lo, hi] by golden-section search (f unimodal enough there).
template <typename F>
double GoldenSection(const F& f, double lo, double hi, int iters = 60) {
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = lo, b = hi, c = b - g * (b - a), d = a + g * (b - a);
  double fc = f(c), fd = f(d);
  for (int i = 0; i < iters; ++i) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

// Simple exponential smoothing with level initialised at y[0]: one-step
// errors and the final level.
double SesSse(const std::vector<double>& y, double alpha, double* level, std::vector<double>* errors) {
  double l = y[0], sse = 0;
  if (errors) errors->clear();
  for (size_t t = 1; t < y.size(); ++t) {
    const double e = y[t] - l;
    sse += e * e;
    if (errors) errors->push_back(e);
    l += alpha * e;
  }
  if (level) *level = l;
  return sse;
}

double SesAlpha(const std::vector<double>& y) {
  return GoldenSection([&](double a) { return SesSse(y, a, nullptr, nullptr); }, 0.0001, 0.9999);
}

// ETS(A,N,N): flat forecast, variance sigma^2 (1 + (h - 1) alpha^2).
Fit Ses(const std::vector<double>& y, int h, double* alpha_out = nullptr) {
  Fit f;
  const double alpha = SesAlpha(y);
  double level = 0;
  std::vector<double> e;
  SesSse(y, alpha, &level, &e);
  const double s = Rms(e);
  for (int k = 1; k <= h; ++k) {
    f.mean.push_back(level);
    f.sd.push_back(s * std::sqrt(1 + (k - 1) * alpha * alpha));
  }
  if (alpha_out) *alpha_out = alpha;
  return f;
}

// Standard Theta (Assimakopoulos & Nikolopoulos; Hyndman & Billah 2003): SES
// plus half the OLS trend, on seasonally adjusted data when the series is seasonal.
Fit Theta(const std::vector<double>& y, int h, int m) {
  const bool positive = std::all_of(y.begin(), y.end(), [](double v) { return v > 0; });
  const bool seasonal = positive && Seasonal(y, m);
  std::vector<double> idx(static_cast<size_t>(std::max(m, 1)), 1.0);
  if (seasonal) idx = SeasonalIndices(y, m);
  std::vector<double> d(y.size());
  for (size_t t = 0; t < y.size(); ++t) d[t] = y[t] / idx[t % idx.size()];
  // OLS slope of d on t.
  const double n = static_cast<double>(d.size());
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (size_t t = 0; t < d.size(); ++t) {
    st += static_cast<double>(t);
    sy += d[t];
    stt += static_cast<double>(t) * static_cast<double>(t);
    sty += static_cast<double>(t) * d[t];
  }
  const double b = n > 1 ? (n * sty - st * sy) / (n * stt - st * st) : 0;
  double alpha = 0;
  Fit f = Ses(d, h, &alpha);
  for (int k = 1; k <= h; ++k) {
    const double drift = b / 2 * ((k - 1) + 1 / alpha - std::pow(1 - alpha, n) / alpha);
    const double s = idx[(y.size() + static_cast<size_t>(k) - 1) % idx.size()];
    f.mean[static_cast<size_t>(k - 1)] = (f.mean[static_cast<size_t>(k - 1)] + drift) * s;
    f.sd[static_cast<size_t>(k - 1)] *= s;
  }
  return f;
}

// ---- ETS with additive errors: trend none / additive / damped, season none / additive ----

// Nelder-Mead minimisation of f over x (the caller maps x into its bounds).
template <typename F>
std::vector<double> NelderMead(const F& f, std::vector<double> x0, double step = 0.1, int iters = 300) {
  const size_t n = x0.size();
  std::vector<std::vector<double>> pts(n + 1, x0);
  for (size_t i = 0; i < n; ++i) pts[i + 1][i] += step;
  std::vector<double> val(n + 1);
  for (size_t i = 0; i <= n; ++i) val[i] = f(pts[i]);
  for (int it = 0; it < iters; ++it) {
    std::vector<size_t> order(n + 1);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return val[a] < val[b]; });
    const size_t best = order[0], worst = order[n], second = order[n - 1];
    if (std::abs(val[worst] - val[best]) < 1e-10 * (std::abs(val[best]) + 1e-10)) break;
    std::vector<double> c(n, 0);
    for (size_t i = 0; i <= n; ++i) {
      if (i == worst) continue;
      for (size_t j = 0; j < n; ++j) c[j] += pts[i][j] / static_cast<double>(n);
    }
    auto along = [&](double t) {
      std::vector<double> p(n);
      for (size_t j = 0; j < n; ++j) p[j] = c[j] + t * (pts[worst][j] - c[j]);
      return p;
    };
    auto r = along(-1);
    const double fr = f(r);
    if (fr < val[best]) {
      auto e = along(-2);
      const double fe = f(e);
      if (fe < fr) {
        pts[worst] = e;
        val[worst] = fe;
      } else {
        pts[worst] = r;
        val[worst] = fr;
      }
    } else if (fr < val[second]) {
      pts[worst] = r;
      val[worst] = fr;
    } else {
      auto k = along(0.5);
      const double fk = f(k);
      if (fk < val[worst]) {
        pts[worst] = k;
        val[worst] = fk;
      } else {
        for (size_t i = 0; i <= n; ++i) {
          if (i == best) continue;
          for (size_t j = 0; j < n; ++j) pts[i][j] = pts[best][j] + 0.5 * (pts[i][j] - pts[best][j]);
          val[i] = f(pts[i]);
        }
      }
    }
  }
  size_t b = 0;
  for (size_t i = 1; i <= n; ++i) {
    if (val[i] < val[b]) b = i;
  }
  return pts[b];
}

struct EtsSpec {
  char trend = 'N';  // N, A, D (damped)
  bool season = false;
  bool multiplicative = false;  // season multiplies the level (positive data only)
};

struct EtsParams {
  double alpha = 0.3, beta = 0, gamma = 0, phi = 1;
};

double Logistic(double x) { return 1 / (1 + std::exp(-x)); }

// Maps unconstrained x to admissible parameters (0 < beta < alpha, 0 < gamma < 1 - alpha, 0.8 <= phi <= 0.98).
EtsParams ToParams(const EtsSpec& sp, const std::vector<double>& x) {
  EtsParams p;
  size_t i = 0;
  p.alpha = 0.0001 + 0.9998 * Logistic(x[i++]);
  if (sp.trend != 'N') p.beta = p.alpha * Logistic(x[i++]);
  if (sp.season) p.gamma = (1 - p.alpha) * Logistic(x[i++]);
  if (sp.trend == 'D') p.phi = 0.8 + 0.18 * Logistic(x[i++]);
  return p;
}

struct EtsRun {
  double sse = 0;
  double level = 0, slope = 0;
  std::vector<double> season;  // the last m seasonal states, oldest first
  std::vector<double> errors;
};

EtsRun EtsFilter(const std::vector<double>& y, int m, const EtsSpec& sp, const EtsParams& p) {
  EtsRun r;
  const size_t mm = sp.season ? static_cast<size_t>(m) : 1;
  // Heuristic initial states from the first two seasons (or two points).
  double l = y[0], b = 0;
  std::vector<double> s(mm, 0);
  if (sp.season) {
    double first = 0, second = 0;
    for (size_t i = 0; i < mm; ++i) {
      first += y[i] / static_cast<double>(mm);
      second += y[i + mm] / static_cast<double>(mm);
    }
    l = first;
    if (sp.trend != 'N') b = (second - first) / static_cast<double>(mm);
    for (size_t i = 0; i < mm; ++i) {
      const double base = first + b * (static_cast<double>(i) - (static_cast<double>(mm) - 1) / 2);
      s[i] = sp.multiplicative ? (base > 0 ? y[i] / base : 1.0) : y[i] - base;
    }
  } else if (sp.trend != 'N' && y.size() > 1) {
    b = y[1] - y[0];
  }
  if (sp.season) {
    // Start one season in: states describe time mm - 1.
    l = l + b * (static_cast<double>(mm) - 1) / 2;
  }
  const size_t start = sp.season ? mm : 1;
  std::vector<double> ring = s;  // ring[t % mm] = s_{t-m} for the next t
  for (size_t t = start; t < y.size(); ++t) {
    const double base = l + p.phi * b;
    if (sp.multiplicative) {
      // ETS(A,*,M): additive error on a seasonally multiplied level.
      const double seas = ring[t % mm];
      const double e = y[t] - base * seas;
      r.sse += e * e;
      r.errors.push_back(e);
      const double ds = std::abs(seas) > 1e-9 ? seas : 1e-9;
      const double db = std::abs(base) > 1e-9 ? base : 1e-9;
      l = base + p.alpha * e / ds;
      b = p.phi * b + p.beta * e / ds;
      ring[t % mm] = seas + p.gamma * e / db;
      continue;
    }
    const double seas = sp.season ? ring[t % mm] : 0;
    const double e = y[t] - (base + seas);
    r.sse += e * e;
    r.errors.push_back(e);
    const double nl = base + p.alpha * e;
    b = p.phi * b + p.beta * e;
    if (sp.season) ring[t % mm] = seas + p.gamma * e;
    l = nl;
  }
  r.level = l;
  r.slope = b;
  if (sp.season) {
    for (size_t k = 0; k < mm; ++k) r.season.push_back(ring[(y.size() + k) % mm]);
  }
  return r;
}

struct EtsFit {
  EtsSpec spec;
  EtsParams params;
  EtsRun run;
  double aicc = INFINITY;
};

EtsFit FitEts(const std::vector<double>& y, int m, const EtsSpec& sp) {
  EtsFit f;
  f.spec = sp;
  const size_t dims = 1 + (sp.trend != 'N') + (sp.season ? 1 : 0) + (sp.trend == 'D');
  auto loss = [&](const std::vector<double>& x) { return EtsFilter(y, m, sp, ToParams(sp, x)).sse; };
  const auto x = NelderMead(loss, std::vector<double>(dims, -1.0), 0.5);
  f.params = ToParams(sp, x);
  f.run = EtsFilter(y, m, sp, f.params);
  const double n = static_cast<double>(f.run.errors.size());
  const double k = static_cast<double>(dims) + 1 + (sp.trend != 'N') + (sp.season ? m - 1 : 0) + 1;  // params, states, sigma
  if (n > k + 1 && f.run.sse > 0) {
    const double aic = n * std::log(f.run.sse / n) + 2 * k;
    f.aicc = aic + 2 * k * (k + 1) / (n - k - 1);
  }
  return f;
}

// Chooses among ETS(A,N,N), (A,A,N), (A,Ad,N) and, with a season and three
// full seasons of data, (A,N,A), (A,A,A), (A,Ad,A) and for positive data
// (A,N,M), (A,A,M), (A,Ad,M) by AICc.
Fit Ets(const std::vector<double>& y, int h, int m) {
  std::vector<EtsSpec> specs = {{'N', false}, {'A', false}, {'D', false}};
  if (m > 1 && y.size() >= 3 * static_cast<size_t>(m)) {
    specs.push_back({'N', true});
    specs.push_back({'A', true});
    specs.push_back({'D', true});
    if (std::all_of(y.begin(), y.end(), [](double v) { return v > 0; })) {
      specs.push_back({'N', true, true});
      specs.push_back({'A', true, true});
      specs.push_back({'D', true, true});
    }
  }
  EtsFit best;
  for (const auto& sp : specs) {
    if (y.size() < 4) break;
    EtsFit f = FitEts(y, m, sp);
    if (f.aicc < best.aicc || std::isinf(best.aicc)) best = std::move(f);
  }
  if (std::isinf(best.aicc) && best.run.errors.empty()) return Naive(y, h);
  Fit out;
  const EtsParams& p = best.params;
  const double sigma = Rms(best.run.errors);
  double phi_sum = 0, var_sum = 0;
  for (int k = 1; k <= h; ++k) {
    phi_sum += std::pow(p.phi, k);
    double mean = best.run.level + (best.spec.trend != 'N' ? phi_sum * best.run.slope : 0);
    double scale = 1;
    if (best.spec.season) {
      const double seas = best.run.season[static_cast<size_t>((k - 1) % m)];
      if (best.spec.multiplicative) {
        mean *= seas;
        scale = seas;
      } else {
        mean += seas;
      }
    }
    out.mean.push_back(mean);
    // Class-1 variance: sigma^2 (1 + sum_{j<k} c_j^2), c_j = alpha + beta phi_j + gamma [j % m == 0];
    // for a multiplicative season, the same scaled by the seasonal factor (an approximation).
    out.sd.push_back(sigma * std::sqrt(1 + var_sum) * (best.spec.multiplicative ? std::max(scale, 0.0) : 1.0));
    double phi_j = 0;
    for (int i = 1; i <= k; ++i) phi_j += std::pow(p.phi, i);
    const double c = p.alpha + p.beta * (best.spec.trend != 'N' ? phi_j : 0) +
                     (best.spec.season && k % m == 0 ? p.gamma : 0);
    var_sum += c * c;
  }
  return out;
}

Fit FitModel(const std::string& model, const std::vector<double>& y, int h, int m, int window) {
  if (model == "ets") return Ets(y, h, m);
  if (model == "ses") return Ses(y, h);
  if (model == "theta") return Theta(y, h, m);
  if (model == "naive") return Naive(y, h);
  if (model == "snaive") return SeasonalNaive(y, h, m);
  if (model == "drift") return Drift(y, h);
  if (model == "mean") return MeanModel(y, h, window);
  if (model == "naive2") return Naive2(y, h, m);
  return Intermittent(y, h, model);
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// Intervals for each level from the fit.
void Intervals(const Fit& f, const std::vector<int>& levels, Forecast* out) {
  out->lo.assign(levels.size(), {});
  out->hi.assign(levels.size(), {});
  for (size_t l = 0; l < levels.size(); ++l) {
    const double a = (100.0 - levels[l]) / 200.0;
    const double z = NormalQuantile(1 - a);
    for (size_t k = 0; k < f.mean.size(); ++k) {
      double lo, hi;
      if (!f.sd.empty()) {
        lo = f.mean[k] - z * f.sd[k];
        hi = f.mean[k] + z * f.sd[k];
      } else {
        // Empirical one-step error quantiles, widened by sqrt(step).
        const double w = std::sqrt(static_cast<double>(k + 1));
        lo = f.mean[k] + w * Quantile(f.residuals, a);
        hi = f.mean[k] + w * Quantile(f.residuals, 1 - a);
      }
      if (f.non_negative) lo = std::max(0.0, lo);
      out->lo[l].push_back(lo);
      out->hi[l].push_back(hi);
    }
  }
}

bool IsIntermittent(const std::vector<double>& y) {
  const auto zeros = std::count(y.begin(), y.end(), 0.0);
  return static_cast<double>(zeros) > 0.3 * static_cast<double>(y.size());
}

std::vector<std::string> Candidates(const std::vector<double>& y, int m) {
  std::vector<std::string> c = {"naive", "drift", "mean", "ses", "theta", "ets"};
  if (m > 1) {
    c.push_back("snaive");
    c.push_back("naive2");
  }
  if (IsIntermittent(y)) {
    c.push_back("croston");
    c.push_back("sba");
    c.push_back("tsb");
  }
  return c;
}

// Mean RMSSE of `model` over rolling origins at the end of y. Squared error
// (M5's choice) rather than MASE: absolute error rewards forecasting 0 for
// intermittent demand, squared error rewards the mean.
double BacktestRmsse(const std::string& model, const std::vector<double>& y, int h, int m, int window, int origins) {
  double total = 0;
  int n = 0;
  for (int o = origins; o >= 1; --o) {
    const auto cut = static_cast<long>(y.size()) - static_cast<long>(o) * h;
    if (cut < std::max<long>(2L * m, 4)) continue;
    std::vector<double> train(y.begin(), y.begin() + cut), test(y.begin() + cut, y.begin() + cut + h);
    Fit f = FitModel(model, train, h, m, window);
    double score = ml::Rmsse(train, test, f.mean, m > 1 && train.size() > static_cast<size_t>(m) ? m : 1);
    if (std::isnan(score)) score = ml::Rmse(test, f.mean);
    total += score;
    ++n;
  }
  return n ? total / n : kNaN;
}

}  // namespace

double NormalQuantile(double p) {
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley refinement step.
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

const std::vector<std::string>& ModelNames() {
  static const auto* const kNames =
      new std::vector<std::string>{"auto", "naive", "snaive",  "drift", "mean", "naive2",
                                   "ses",  "theta", "ets", "croston", "sba",   "tsb"};
  return *kNames;
}

Status ValidateForecastOptions(const ForecastOptions& o) {
  if (o.horizon < 1 || o.horizon > 100000) return InvalidArgument("horizon must be 1..100000");
  if (o.season < 0) return InvalidArgument("season must be >= 0");
  if (std::find(ModelNames().begin(), ModelNames().end(), o.model) == ModelNames().end()) {
    return InvalidArgument("unknown model '" + o.model +
                           "' (auto, naive, snaive, drift, mean, naive2, ses, theta, ets, croston, sba, tsb)");
  }
  for (int l : o.levels) {
    if (l <= 0 || l >= 100) return InvalidArgument("levels must be between 0 and 100 (exclusive)");
  }
  return Status::Ok();
}

int64_t Spacing(const Series& s) {
  if (s.time.size() < 2) return 86400;
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < s.time.size(); ++i) gaps.push_back(s.time[i] - s.time[i - 1]);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
  return std::max<int64_t>(1, gaps[gaps.size() / 2]);
}

int DefaultSeason(int64_t g) {
  if (g >= 3000 && g <= 4000) return 24;                      // hourly
  if (g >= 80000 && g <= 90000) return 7;                     // daily
  if (g >= 6 * 86400 && g <= 8 * 86400) return 52;            // weekly
  if (g >= 27 * 86400 && g <= 32 * 86400) return 12;          // monthly
  if (g >= 88 * 86400 && g <= 93 * 86400) return 4;           // quarterly
  return 1;
}

StatusOr<std::vector<Series>> ReadSeriesCsv(const std::string& path) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": empty file (expected a header row)");
  int id_col = -1, ts_col = -1, v_col = -1;
  for (size_t i = 0; i < rec.num_fields; ++i) {
    const std::string_view n = rec.field(i);
    if (n == "series_id" || n == "unique_id" || n == "id") id_col = static_cast<int>(i);
    if (n == "timestamp" || n == "ds" || n == "date" || n == "time") ts_col = static_cast<int>(i);
    if (n == "value" || n == "y") v_col = static_cast<int>(i);
  }
  if (ts_col < 0 || v_col < 0) {
    return InvalidArgument(path + ":1: expected columns series_id,timestamp,value (or timestamp,value)");
  }
  const std::string default_id = std::filesystem::path(path).stem().string();
  std::map<std::string, std::vector<std::pair<int64_t, double>>> by_id;
  while (reader.Next(&rec)) {
    const std::string where = path + ":" + std::to_string(rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    if (rec.num_fields <= static_cast<size_t>(std::max({id_col, ts_col, v_col}))) {
      return InvalidArgument(where + ": too few fields");
    }
    auto t = ParseTimestamp(rec.field(static_cast<size_t>(ts_col)));
    if (!t.ok()) return InvalidArgument(where + ": field 'timestamp': " + t.status().message());
    const std::string& vs = rec.fields[static_cast<size_t>(v_col)];
    char* end = nullptr;
    const double v = std::strtod(vs.c_str(), &end);
    if (vs.empty() || end != vs.c_str() + vs.size() || !std::isfinite(v)) {
      return InvalidArgument(where + ": field 'value': expected a number, got '" + vs + "'");
    }
    by_id[id_col >= 0 ? std::string(rec.field(static_cast<size_t>(id_col))) : default_id].emplace_back(*t, v);
  }
  RETURN_IF_ERROR(reader.status());
  std::vector<Series> out;
  for (auto& [id, points] : by_id) {
    std::stable_sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Series s;
    s.id = id;
    for (const auto& [t, v] : points) {
      if (!s.time.empty() && s.time.back() == t) {
        return InvalidArgument(path + ": series '" + id + "' has two values at " + FormatTimestamp(t));
      }
      s.time.push_back(t);
      s.y.push_back(v);
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<Forecast> ForecastSeries(const Series& s, const ForecastOptions& o) {
  RETURN_IF_ERROR(ValidateForecastOptions(o));
  if (s.y.size() < 2) return InvalidArgument("series '" + s.id + "' needs at least 2 points");
  const int64_t gap = Spacing(s);
  const int m = o.season > 0 ? o.season : DefaultSeason(gap);
  std::string model = o.model;
  if (model == "auto") {
    double best = INFINITY;
    model = "naive";
    for (const auto& c : Candidates(s.y, m)) {
      const double score = BacktestRmsse(c, s.y, o.horizon, m, o.ma_window, o.backtest_origins);
      if (score < best) {
        best = score;
        model = c;
      }
    }
  }
  Fit f = FitModel(model, s.y, o.horizon, m, o.ma_window);
  Forecast out;
  out.series_id = s.id;
  out.model = model;
  out.mean = f.mean;
  for (int k = 1; k <= o.horizon; ++k) out.time.push_back(s.time.back() + k * gap);
  Intervals(f, o.levels, &out);
  return out;
}

StatusOr<std::vector<ModelScore>> Evaluate(const Context& ctx, const std::vector<Series>& series,
                                           const ForecastOptions& o, const std::vector<std::string>& models,
                                           int origins) {
  RETURN_IF_ERROR(ValidateForecastOptions(o));
  if (origins < 1) return InvalidArgument("origins must be >= 1");
  const size_t nm = models.size(), nl = o.levels.size();
  struct Acc {
    double smape = 0, mase = 0, rmsse = 0;
    std::vector<double> covered;
    int64_t n = 0, points = 0;
  };
  std::vector<std::vector<Acc>> per_series(series.size(), std::vector<Acc>(nm));
  Status failure;
  std::mutex mu;
  ctx.pool().ParallelFor(static_cast<int64_t>(series.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t si = b; si < e; ++si) {
      const Series& s = series[static_cast<size_t>(si)];
      const int m = o.season > 0 ? o.season : DefaultSeason(Spacing(s));
      for (int origin = origins; origin >= 1; --origin) {
        const auto cut = static_cast<long>(s.y.size()) - static_cast<long>(origin) * o.horizon;
        if (cut < std::max<long>(2L * m, 4)) continue;
        Series train{s.id, std::vector<int64_t>(s.time.begin(), s.time.begin() + cut),
                     std::vector<double>(s.y.begin(), s.y.begin() + cut)};
        std::vector<double> test(s.y.begin() + cut, s.y.begin() + cut + o.horizon);
        for (size_t mi = 0; mi < nm; ++mi) {
          ForecastOptions fo = o;
          fo.model = models[mi];
          fo.season = m;
          auto f = ForecastSeries(train, fo);
          if (!f.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            failure = f.status();
            return;
          }
          Acc& a = per_series[static_cast<size_t>(si)][mi];
          const int sm = train.y.size() > static_cast<size_t>(m) ? m : 1;
          a.smape += ml::Smape(test, f->mean);
          const double mase = ml::Mase(train.y, test, f->mean, sm), rmsse = ml::Rmsse(train.y, test, f->mean, sm);
          a.mase += std::isnan(mase) ? 0 : mase;
          a.rmsse += std::isnan(rmsse) ? 0 : rmsse;
          a.covered.resize(nl, 0);
          for (size_t l = 0; l < nl; ++l) {
            for (size_t k = 0; k < test.size(); ++k) a.covered[l] += test[k] >= f->lo[l][k] && test[k] <= f->hi[l][k];
          }
          a.n++;
          a.points += static_cast<int64_t>(test.size());
        }
      }
    }
  });
  RETURN_IF_ERROR(failure);
  std::vector<ModelScore> out;
  for (size_t mi = 0; mi < nm; ++mi) {
    ModelScore sc;
    sc.model = models[mi];
    sc.coverage.assign(nl, 0);
    int64_t points = 0;
    for (const auto& ps : per_series) {
      const Acc& a = ps[mi];
      sc.smape += a.smape;
      sc.mase += a.mase;
      sc.rmsse += a.rmsse;
      sc.forecasts += a.n;
      points += a.points;
      for (size_t l = 0; l < a.covered.size(); ++l) sc.coverage[l] += a.covered[l];
    }
    if (sc.forecasts > 0) {
      sc.smape /= static_cast<double>(sc.forecasts);
      sc.mase /= static_cast<double>(sc.forecasts);
      sc.rmsse /= static_cast<double>(sc.forecasts);
      for (double& c : sc.coverage) c /= static_cast<double>(std::max<int64_t>(points, 1));
    }
    out.push_back(std::move(sc));
  }
  return out;
}

}  // namespace opspilot::forecast
