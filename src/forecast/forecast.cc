#include "forecast/forecast.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>

#include <Eigen/Dense>

#include "core/csv.h"
#include "core/time.h"
#include "forecast/internal.h"
#include "ml/metrics.h"

namespace opspilot::forecast {

namespace internal {

void ScoreSum::Add(const std::vector<double>& history, const std::vector<double>& test, const Forecast& f, int m) {
  const int sm = history.size() > static_cast<size_t>(m) ? m : 1;
  smape += ml::Smape(test, f.mean);
  const double mase_v = ml::Mase(history, test, f.mean, sm), rmsse_v = ml::Rmsse(history, test, f.mean, sm);
  mase += std::isnan(mase_v) ? 0 : mase_v;
  rmsse += std::isnan(rmsse_v) ? 0 : rmsse_v;
  covered.resize(f.lo.size(), 0);
  for (size_t l = 0; l < f.lo.size(); ++l) {
    for (size_t k = 0; k < test.size(); ++k) covered[l] += test[k] >= f.lo[l][k] && test[k] <= f.hi[l][k];
  }
  n++;
  points += static_cast<int64_t>(test.size());
}

void ScoreSum::Merge(const ScoreSum& o) {
  smape += o.smape;
  mase += o.mase;
  rmsse += o.rmsse;
  n += o.n;
  points += o.points;
  if (covered.size() < o.covered.size()) covered.resize(o.covered.size(), 0);
  for (size_t l = 0; l < o.covered.size(); ++l) covered[l] += o.covered[l];
}

ModelScore ScoreSum::Finish(const std::string& model, size_t levels) const {
  ModelScore sc;
  sc.model = model;
  sc.coverage.assign(levels, 0);
  sc.forecasts = n;
  if (n == 0) return sc;
  sc.smape = smape / static_cast<double>(n);
  sc.mase = mase / static_cast<double>(n);
  sc.rmsse = rmsse / static_cast<double>(n);
  for (size_t l = 0; l < levels && l < covered.size(); ++l) {
    sc.coverage[l] = covered[l] / static_cast<double>(std::max<int64_t>(points, 1));
  }
  return sc;
}

std::vector<double> CenteredMovingAverage(const std::vector<double>& y, int m) {
  const size_t n = y.size(), mm = static_cast<size_t>(m), half = mm / 2;
  std::vector<double> out(n, std::numeric_limits<double>::quiet_NaN()), pre(n + 1, 0);
  for (size_t t = 0; t < n; ++t) pre[t + 1] = pre[t] + y[t];
  for (size_t t = half; t + half < n; ++t) {
    const double sum = mm % 2 == 0 ? (pre[t + half] - pre[t - half + 1]) + 0.5 * (y[t - half] + y[t + half])
                                   : pre[t + half + 1] - pre[t - half];
    out[t] = sum / static_cast<double>(mm);
  }
  return out;
}

}  // namespace internal

using internal::CenteredMovingAverage;
using internal::Fit;
using internal::GoldenSection;
using internal::NelderMead;

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
  const auto trend = CenteredMovingAverage(y, m);
  for (size_t t = 0; t < n; ++t) {
    const double cma = trend[t];
    if (std::isnan(cma)) continue;
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

// The seasonally adjusted series for Theta-type models: y divided by
// classical multiplicative indices when y is positive and passes the M4
// seasonality test (indices of 1 otherwise), and its OLS line a + b t.
struct ThetaInput {
  std::vector<double> idx, d;
  double a = 0, b = 0;
};

ThetaInput AdjustForTheta(const std::vector<double>& y, int m) {
  ThetaInput in;
  const bool positive = std::all_of(y.begin(), y.end(), [](double v) { return v > 0; });
  in.idx.assign(static_cast<size_t>(std::max(m, 1)), 1.0);
  if (positive && Seasonal(y, m)) in.idx = SeasonalIndices(y, m);
  in.d.resize(y.size());
  for (size_t t = 0; t < y.size(); ++t) in.d[t] = y[t] / in.idx[t % in.idx.size()];
  const double n = static_cast<double>(in.d.size());
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (size_t t = 0; t < in.d.size(); ++t) {
    const double tt = static_cast<double>(t);
    st += tt;
    sy += in.d[t];
    stt += tt * tt;
    sty += tt * in.d[t];
  }
  in.b = n > 1 ? (n * sty - st * sy) / (n * stt - st * st) : 0;
  in.a = (sy - in.b * st) / n;
  return in;
}

// Standard Theta (Assimakopoulos & Nikolopoulos; Hyndman & Billah 2003): SES
// plus half the OLS trend, on seasonally adjusted data when the series is seasonal.
Fit Theta(const std::vector<double>& y, int h, int m) {
  const ThetaInput in = AdjustForTheta(y, m);
  const std::vector<double>& d = in.d;
  const std::vector<double>& idx = in.idx;
  const double n = static_cast<double>(d.size()), b = in.b;
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


std::vector<double> SeasonalProfile(const std::vector<double>& x, int period);

struct EtsSpec {
  char trend = 'N';             // N, A, D (damped)
  bool season = false;
  bool multiplicative = false;  // season multiplies the level (positive data only)
  bool mult_error = false;      // multiplicative errors (positive data only)
};

struct EtsParams {
  double alpha = 0.3, beta = 0, gamma = 0, phi = 1;
  double level_shift = 0, slope_shift = 0;  // added to the heuristic initial level and slope
};

double Logistic(double x) { return 1 / (1 + std::exp(-x)); }

size_t SmoothingDims(const EtsSpec& sp) {
  return 1 + (sp.trend != 'N') + (sp.season ? 1 : 0) + (sp.trend == 'D');
}

// Maps unconstrained x to admissible parameters (0 < beta < alpha, 0 < gamma
// < 1 - alpha, 0.8 <= phi <= 0.98) and initial-state shifts in units of `scale`.
EtsParams ToParams(const EtsSpec& sp, const std::vector<double>& x, double scale) {
  EtsParams p;
  size_t i = 0;
  p.alpha = 0.0001 + 0.9998 * Logistic(x[i++]);
  if (sp.trend != 'N') p.beta = p.alpha * Logistic(x[i++]);
  if (sp.season) p.gamma = (1 - p.alpha) * Logistic(x[i++]);
  if (sp.trend == 'D') p.phi = 0.8 + 0.18 * Logistic(x[i++]);
  p.level_shift = x[i++] * scale;
  if (sp.trend != 'N') p.slope_shift = x[i++] * scale * 0.1;
  return p;
}

struct EtsRun {
  double sse = 0;      // of the errors (additive) or relative errors (multiplicative)
  double sum_log = 0;  // sum log |mu_t| (multiplicative errors)
  double level = 0, slope = 0;
  std::vector<double> season;  // the next m seasonal states, in forecast order
  std::vector<double> errors;  // y - mu (both error types)
  bool valid = true;
  // Twice the negative log-likelihood up to a constant, sigma concentrated out.
  double Nll() const {
    const double n = static_cast<double>(errors.size());
    return n * std::log(std::max(sse, 1e-300) / n) + 2 * sum_log;
  }
};

// Runs the state-space recursions over all of y from initial states at time
// -1 (heuristic from the first two seasons, shifted by the parameters). The
// state updates take the raw error e = y - mu in both error types (for a
// multiplicative error eps, mu * eps = e: Hyndman et al. 2008, table 2.1);
// only the likelihood differs.
EtsRun EtsFilter(const std::vector<double>& y, int m, const EtsSpec& sp, const EtsParams& p) {
  EtsRun r;
  const size_t mm = sp.season ? static_cast<size_t>(m) : 1;
  // Heuristic initial states (as R's ets): seasonal states from a classical
  // decomposition of the whole series, level and slope from a line through the
  // first ten seasonally adjusted points. NM then shifts level and slope.
  std::vector<double> ring(mm, sp.multiplicative ? 1.0 : 0.0);  // ring[t % mm] = s_{t-m}
  if (sp.season) ring = sp.multiplicative ? SeasonalIndices(y, m) : SeasonalProfile(y, m);
  const size_t k0 = std::min<size_t>(10, y.size());
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (size_t t = 0; t < k0; ++t) {
    const double seas = ring[t % mm];
    const double adj = sp.multiplicative ? y[t] / (seas > 1e-9 ? seas : 1e-9) : y[t] - (sp.season ? seas : 0.0);
    const double tt = static_cast<double>(t);
    st += tt;
    sy += adj;
    stt += tt * tt;
    sty += tt * adj;
  }
  const double n0 = static_cast<double>(k0);
  double b = sp.trend != 'N' && k0 > 1 ? (n0 * sty - st * sy) / (n0 * stt - st * st) : 0;
  const double a = (sy - b * st) / n0;  // fitted adjusted value at t = 0
  double l = sp.trend != 'N' ? a - b : a;  // the level at time -1
  l += p.level_shift;
  b += p.slope_shift;
  for (size_t t = 0; t < y.size(); ++t) {
    const double base = l + p.phi * b;
    const double seas = sp.season ? ring[t % mm] : (sp.multiplicative ? 1.0 : 0.0);
    const double mu = sp.multiplicative ? base * seas : base + seas;
    const double e = y[t] - mu;
    if (sp.mult_error) {
      if (!(mu > 0)) {
        r.valid = false;
        return r;
      }
      r.sse += (e / mu) * (e / mu);
      r.sum_log += std::log(mu);
    } else {
      r.sse += e * e;
    }
    r.errors.push_back(e);
    if (sp.multiplicative) {
      const double ds = std::abs(seas) > 1e-9 ? seas : 1e-9;
      const double db = std::abs(base) > 1e-9 ? base : 1e-9;
      l = base + p.alpha * e / ds;
      b = p.phi * b + p.beta * e / ds;
      ring[t % mm] = seas + p.gamma * e / db;
    } else {
      l = base + p.alpha * e;
      b = p.phi * b + p.beta * e;
      if (sp.season) ring[t % mm] = seas + p.gamma * e;
    }
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
  // Scale of the initial-state shifts: the mean absolute one-step change.
  double scale = 0;
  for (size_t t = 1; t < y.size(); ++t) scale += std::abs(y[t] - y[t - 1]) / static_cast<double>(y.size() - 1);
  scale = std::max(scale, 1e-9);
  const size_t dims = SmoothingDims(sp) + 1 + (sp.trend != 'N');
  auto loss = [&](const std::vector<double>& x) {
    const EtsRun r = EtsFilter(y, m, sp, ToParams(sp, x, scale));
    return r.valid ? r.Nll() : INFINITY;
  };
  std::vector<double> x0(dims, 0.0);
  for (size_t i = 0; i < SmoothingDims(sp); ++i) x0[i] = -1.0;
  auto x = NelderMead(loss, x0, 0.5, 100 * static_cast<int>(dims));
  x = NelderMead(loss, x, 0.1, 50 * static_cast<int>(dims));  // restart from the optimum found
  f.params = ToParams(sp, x, scale);
  f.run = EtsFilter(y, m, sp, f.params);
  if (!f.run.valid) return f;
  const double n = static_cast<double>(f.run.errors.size());
  // Parameters: smoothing, initial level and slope, seasonal states (m - 1 free), sigma.
  const double k = static_cast<double>(SmoothingDims(sp)) + 1 + (sp.trend != 'N') + (sp.season ? m - 1 : 0) + 1;
  if (n > k + 1 && f.run.sse > 0) {
    f.aicc = f.run.Nll() + 2 * k + 2 * k * (k + 1) / (n - k - 1);
  }
  return f;
}

// Chooses by AICc among ETS(A,N,N), (A,A,N), (A,Ad,N) and, with a season and
// three full seasons of data, (A,N,A), (A,A,A), (A,Ad,A); for positive data
// also the multiplicative-season forms and every form with multiplicative
// errors (the likelihoods are comparable: the multiplicative one carries the
// Jacobian term 2 sum log mu).
// `form` restricts the candidates in R's notation: error (A, M, Z), trend
// (N, A, Ad, Z), season (N, A, M, Z); Z = any. "ZZZ" selects among all.
struct EtsForm {
  char error = 'Z', trend = 'Z', season = 'Z';  // trend 'D' = damped
};

StatusOr<EtsForm> ParseEtsForm(const std::string& f) {
  EtsForm out;
  const std::string err = "ETS form '" + f + "': expected error A|M|Z, trend N|A|Ad|Z, season N|A|M|Z (e.g. ANN, AAdN, MAM, ZZZ)";
  if (f.size() < 3 || f.size() > 4) return InvalidArgument(err);
  out.error = f[0];
  size_t i = 1;
  out.trend = f[i++];
  if (out.trend == 'A' && f.size() == 4) {
    if (f[i++] != 'd') return InvalidArgument(err);
    out.trend = 'D';
  }
  if (i != f.size() - 1) return InvalidArgument(err);
  out.season = f[i];
  if (std::string("AMZ").find(out.error) == std::string::npos || std::string("NADZ").find(out.trend) == std::string::npos ||
      std::string("NAMZ").find(out.season) == std::string::npos) {
    return InvalidArgument(err);
  }
  return out;
}

Fit Ets(const std::vector<double>& y, int h, int m, const EtsForm& form = {}, std::string* detail = nullptr) {
  const bool positive = std::all_of(y.begin(), y.end(), [](double v) { return v > 0; });
  const bool seasonal = m > 1 && y.size() >= 3 * static_cast<size_t>(m);
  std::vector<EtsSpec> specs;
  for (bool mult_error : {false, true}) {
    if (mult_error && !positive) continue;
    if (form.error != 'Z' && (form.error == 'M') != mult_error) continue;
    for (char trend : {'N', 'A', 'D'}) {
      if (form.trend != 'Z' && form.trend != trend) continue;
      if (form.season == 'Z' || form.season == 'N') specs.push_back({trend, false, false, mult_error});
      if (seasonal && (form.season == 'Z' || form.season == 'A')) specs.push_back({trend, true, false, mult_error});
      if (seasonal && positive && (form.season == 'Z' || form.season == 'M')) specs.push_back({trend, true, true, mult_error});
    }
  }
  EtsFit best;
  for (const auto& sp : specs) {
    if (y.size() < 4) break;
    EtsFit f = FitEts(y, m, sp);
    if (f.aicc < best.aicc) best = std::move(f);
  }
  if (std::isinf(best.aicc)) {
    if (detail) *detail = "naive (no ETS form could be fitted)";
    return Naive(y, h);
  }
  if (detail) {
    const EtsSpec& b = best.spec;
    *detail = std::string("ETS(") + (b.mult_error ? "M" : "A") + "," +
              (b.trend == 'N' ? "N" : b.trend == 'A' ? "A" : "Ad") + "," + (!b.season ? "N" : b.multiplicative ? "M" : "A") + ")";
  }
  Fit out;
  const EtsParams& p = best.params;
  const double n = static_cast<double>(best.run.errors.size());
  // sigma of the errors (additive) or of the relative errors (multiplicative).
  const double sigma = std::sqrt(best.run.sse / n);
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
    // Class-1 variance: sigma^2 (1 + sum_{j<k} c_j^2), c_j = alpha + beta phi_j + gamma [j % m == 0].
    // Approximations: a multiplicative season scales it by the seasonal factor; a multiplicative
    // error makes sigma relative to the mean.
    double sd = sigma * std::sqrt(1 + var_sum);
    if (best.spec.mult_error) {
      sd *= std::abs(mean);
    } else if (best.spec.multiplicative) {
      sd *= std::max(scale, 0.0);
    }
    out.sd.push_back(sd);
    double phi_j = 0;
    for (int i = 1; i <= k; ++i) phi_j += std::pow(p.phi, i);
    const double c = p.alpha + p.beta * (best.spec.trend != 'N' ? phi_j : 0) +
                     (best.spec.season && k % m == 0 ? p.gamma : 0);
    var_sum += c * c;
  }
  return out;
}

// Optimised Theta (Fiorucci et al. 2016): the theta line
// Z = theta d + (1 - theta)(A + B t) is smoothed by SES and recombined as
// (1 - 1/theta)(A + B t) + Z / theta; theta in [1, 5] and alpha minimise the
// one-step in-sample error. theta = 2 is the standard method.
Fit OptimizedTheta(const std::vector<double>& y, int h, int m) {
  const ThetaInput in = AdjustForTheta(y, m);
  const std::vector<double>& d = in.d;
  const std::vector<double>& idx = in.idx;
  const double n = static_cast<double>(d.size()), a = in.a, b = in.b;
  // In-sample one-step SSE of the combination for a given theta (alpha optimised inside).
  auto run = [&](double theta, double* alpha_out, double* level_out, std::vector<double>* errors) {
    std::vector<double> z(d.size());
    for (size_t t = 0; t < d.size(); ++t) z[t] = theta * d[t] + (1 - theta) * (a + b * static_cast<double>(t));
    const double alpha = SesAlpha(z);
    double l = z[0], sse = 0;
    if (errors) errors->clear();
    for (size_t t = 1; t < d.size(); ++t) {
      const double fit = (1 - 1 / theta) * (a + b * static_cast<double>(t)) + l / theta;
      const double e = d[t] - fit;
      sse += e * e;
      if (errors) errors->push_back(e);
      l += alpha * (z[t] - l);
    }
    if (alpha_out) *alpha_out = alpha;
    if (level_out) *level_out = l;
    return sse;
  };
  const double theta = GoldenSection([&](double th) { return run(th, nullptr, nullptr, nullptr); }, 1.0, 5.0, 30);
  double alpha = 0, level = 0;
  std::vector<double> e;
  run(theta, &alpha, &level, &e);
  const double sigma = Rms(e);
  Fit f;
  for (int k = 1; k <= h; ++k) {
    const double t = n - 1 + k;
    const double s = idx[(y.size() + static_cast<size_t>(k) - 1) % idx.size()];
    f.mean.push_back(((1 - 1 / theta) * (a + b * t) + level / theta) * s);
    f.sd.push_back(sigma * std::sqrt(1 + (k - 1) * alpha * alpha) * s);
  }
  return f;
}

// Default seasonal periods for MSTL from the base period: hourly -> 24, 168;
// daily -> 7, 365 (the second only with two years of data).
std::vector<int> DefaultSeasons(int m, size_t n) {
  std::vector<int> out;
  if (m == 24) out = {24, 168};
  else if (m == 7) out = {7, 365};
  else if (m > 1) out = {m};
  std::vector<int> kept;
  for (int p : out) {
    if (n >= 2 * static_cast<size_t>(p)) kept.push_back(p);
  }
  return kept;
}

// Mean per position of a centred-moving-average-detrended series, centred to 0.
std::vector<double> SeasonalProfile(const std::vector<double>& x, int period) {
  const size_t n = x.size(), mm = static_cast<size_t>(period);
  std::vector<double> sum(mm, 0), cnt(mm, 0);
  const auto trend = CenteredMovingAverage(x, period);
  for (size_t t = 0; t < n; ++t) {
    if (std::isnan(trend[t])) continue;
    sum[t % mm] += x[t] - trend[t];
    cnt[t % mm] += 1;
  }
  std::vector<double> prof(mm, 0);
  double mu = 0;
  for (size_t i = 0; i < mm; ++i) {
    prof[i] = cnt[i] > 0 ? sum[i] / cnt[i] : 0;
    mu += prof[i] / static_cast<double>(mm);
  }
  for (double& v : prof) v -= mu;
  return prof;
}

// MSTL-style: additive seasonal profiles for several periods, estimated in
// turn and refined twice (each on the series less the others), then the
// seasonally adjusted series is forecast by non-seasonal ETS and the profiles
// are added back.
Fit Mstl(const std::vector<double>& y, int h, const std::vector<int>& periods, std::string* detail) {
  const size_t n = y.size();
  std::vector<std::vector<double>> prof(periods.size());
  for (size_t i = 0; i < periods.size(); ++i) prof[i].assign(static_cast<size_t>(periods[i]), 0);
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < periods.size(); ++i) {
      std::vector<double> x(y);
      for (size_t j = 0; j < periods.size(); ++j) {
        if (j == i) continue;
        for (size_t t = 0; t < n; ++t) x[t] -= prof[j][t % prof[j].size()];
      }
      prof[i] = SeasonalProfile(x, periods[i]);
    }
  }
  std::vector<double> adj(y);
  for (const auto& p : prof) {
    for (size_t t = 0; t < n; ++t) adj[t] -= p[t % p.size()];
  }
  Fit f = Ets(adj, h, 1);
  for (int k = 1; k <= h; ++k) {
    for (const auto& p : prof) f.mean[static_cast<size_t>(k - 1)] += p[(n + static_cast<size_t>(k) - 1) % p.size()];
  }
  if (detail) {
    *detail = "MSTL(";
    for (size_t i = 0; i < periods.size(); ++i) *detail += (i ? "," : "") + std::to_string(periods[i]);
    *detail += ")+ETS";
  }
  return f;
}

// Calendar and driver features of one time point: trend, day-of-week dummies
// (daily data) or hour-of-day dummies (hourly data), then the drivers.
void Features(int64_t time, double t_scaled, int64_t spacing, const std::vector<double>& drivers,
              std::vector<double>* row) {
  row->clear();
  row->push_back(1);
  row->push_back(t_scaled);
  if (spacing >= 80000 && spacing <= 90000) {
    const int64_t days = DayOf(time);
    const int dow = WeekdayOfDay(days);  // 0 = Monday
    for (int d = 1; d < 7; ++d) row->push_back(dow == d ? 1 : 0);
  } else if (spacing >= 3000 && spacing <= 4000) {
    const int hour = static_cast<int>(SecondOfDay(time) / 3600);
    for (int d = 1; d < 24; ++d) row->push_back(hour == d ? 1 : 0);
  }
  row->insert(row->end(), drivers.begin(), drivers.end());
}

// Dynamic regression: least squares (lightly ridged) on calendar features and
// drivers, with an automatic ARIMA on the residuals.
Fit Regression(const Series& s, const Series* future, int h, std::vector<double>* coefficients, std::string* detail) {
  const size_t n = s.y.size(), nd = s.drivers.size();
  const int64_t gap = Spacing(s);
  std::vector<double> row, drv(nd);
  Features(s.time[0], 0, gap, drv, &row);
  const auto p = static_cast<Eigen::Index>(row.size());
  Eigen::MatrixXd X(static_cast<Eigen::Index>(n), p);
  Eigen::VectorXd Y(static_cast<Eigen::Index>(n));
  const double scale = static_cast<double>(std::max<size_t>(n, 1));
  for (size_t t = 0; t < n; ++t) {
    for (size_t j = 0; j < nd; ++j) drv[j] = s.drivers[j][t];
    Features(s.time[t], static_cast<double>(t) / scale, gap, drv, &row);
    for (Eigen::Index j = 0; j < p; ++j) X(static_cast<Eigen::Index>(t), j) = row[static_cast<size_t>(j)];
    Y(static_cast<Eigen::Index>(t)) = s.y[t];
  }
  Eigen::MatrixXd XtX = X.transpose() * X;
  XtX.diagonal().array() += 1e-6 * (XtX.diagonal().array().abs() + 1);
  const Eigen::VectorXd beta = XtX.ldlt().solve(X.transpose() * Y);
  const Eigen::VectorXd resid = Y - X * beta;
  std::vector<double> r(resid.data(), resid.data() + resid.size());
  std::string order;
  Fit f = internal::AutoArima(r, h, 1, &order);
  for (int k = 1; k <= h; ++k) {
    const int64_t time = StepTime(s.time.back(), k, gap);
    for (size_t j = 0; j < nd; ++j) {
      double v = kNaN;
      if (future != nullptr) {
        // The future row at this time, when given.
        const auto it = std::lower_bound(future->time.begin(), future->time.end(), time);
        if (it != future->time.end() && *it == time) {
          for (size_t fj = 0; fj < future->driver_names.size(); ++fj) {
            if (future->driver_names[fj] == s.driver_names[j]) v = future->drivers[fj][static_cast<size_t>(it - future->time.begin())];
          }
        }
      }
      if (std::isnan(v)) {
        const bool flag = std::all_of(s.drivers[j].begin(), s.drivers[j].end(), [](double x) { return x == 0 || x == 1; });
        v = flag ? 0 : s.drivers[j].back();
      }
      drv[j] = v;
    }
    Features(time, static_cast<double>(n - 1 + static_cast<size_t>(k)) / scale, gap, drv, &row);
    double mean = 0;
    for (Eigen::Index j = 0; j < p; ++j) mean += beta(j) * row[static_cast<size_t>(j)];
    f.mean[static_cast<size_t>(k - 1)] += mean;
  }
  if (coefficients) coefficients->assign(beta.data(), beta.data() + beta.size());
  if (detail) {
    *detail = "regression on trend";
    if (gap >= 80000 && gap <= 90000) *detail += ", day of week";
    if (gap >= 3000 && gap <= 4000) *detail += ", hour of day";
    for (size_t j = 0; j < nd; ++j) {
      *detail += ", " + s.driver_names[j] + " (" + std::to_string(beta(p - static_cast<Eigen::Index>(nd) + static_cast<Eigen::Index>(j))) + ")";
    }
    *detail += " + " + order + " errors";
  }
  return f;
}

double Median3(double a, double b, double c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

struct ModelSpec {
  int m = 1;
  int window = 0;
  std::vector<int> seasons;
  EtsForm ets;
};

Fit FitModel(const std::string& model, const Series& s, const Series* future, int h, const ModelSpec& spec,
             std::string* detail) {
  const auto& y = s.y;
  const int m = spec.m;
  if (model == "ets") return Ets(y, h, m, spec.ets, detail);
  if (model == "arima") return internal::AutoArima(y, h, m, detail);
  if (model == "ses") return Ses(y, h);
  if (model == "theta") return Theta(y, h, m);
  if (model == "otm") return OptimizedTheta(y, h, m);
  if (model == "mstl") {
    auto periods = spec.seasons.empty() ? DefaultSeasons(m, y.size()) : spec.seasons;
    std::erase_if(periods, [&](int p) { return p <= 1 || y.size() < 2 * static_cast<size_t>(p); });
    if (periods.empty()) return Ets(y, h, 1);
    return Mstl(y, h, periods, detail);
  }
  if (model == "regression") return Regression(s, future, h, nullptr, detail);
  if (model == "ensemble") {
    // Median of ETS, ARIMA and optimised Theta per step; sd the median of theirs.
    const Fit a = Ets(y, h, m), b = internal::AutoArima(y, h, m), c = OptimizedTheta(y, h, m);
    Fit f;
    for (int k = 0; k < h; ++k) {
      const auto i = static_cast<size_t>(k);
      f.mean.push_back(Median3(a.mean[i], b.mean[i], c.mean[i]));
      f.sd.push_back(Median3(a.sd[i], b.sd[i], c.sd[i]));
    }
    if (detail) *detail = "median of ets, arima, otm";
    return f;
  }
  if (model == "naive") return Naive(y, h);
  if (model == "snaive") return SeasonalNaive(y, h, m);
  if (model == "drift") return Drift(y, h);
  if (model == "mean") return MeanModel(y, h, spec.window);
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
  // Intermittent demand: the last value (often 0) and trend models are no
  // forecasts of a rate; a short backtest is too noisy to rule them out.
  if (IsIntermittent(y)) return {"croston", "sba", "tsb", "mean", "ses"};
  std::vector<std::string> c = {"naive", "drift", "mean", "ses", "theta", "otm", "ets", "arima"};
  if (m > 1) {
    c.push_back("snaive");
    c.push_back("naive2");
  }
  return c;
}

Series Slice(const Series& s, size_t from, size_t to) {
  Series out;
  out.id = s.id;
  out.time.assign(s.time.begin() + static_cast<long>(from), s.time.begin() + static_cast<long>(to));
  out.y.assign(s.y.begin() + static_cast<long>(from), s.y.begin() + static_cast<long>(to));
  out.driver_names = s.driver_names;
  for (const auto& d : s.drivers) out.drivers.emplace_back(d.begin() + static_cast<long>(from), d.begin() + static_cast<long>(to));
  return out;
}

// The rolling origins of a backtest: training ends `cut`, each followed by h
// test points; the last origin ends at the series end.
std::vector<size_t> Origins(size_t n, int h, int m, int origins, int stride) {
  std::vector<size_t> cuts;
  for (int o = origins - 1; o >= 0; --o) {
    const long cut = static_cast<long>(n) - h - static_cast<long>(o) * stride;
    if (cut < std::max<long>(2L * m, 4)) continue;
    cuts.push_back(static_cast<size_t>(cut));
  }
  return cuts;
}

// Per-series model choice: mean RMSSE over rolling origins of every
// candidate, plus the ensemble (the median of the ets, arima and otm
// forecasts, scored without refitting). Squared error (M5's choice) rather
// than MASE: absolute error rewards forecasting 0 for intermittent demand,
// squared error rewards the mean.
std::string ChooseModel(const Series& s, int h, const ModelSpec& spec, int origins) {
  const auto candidates = Candidates(s.y, spec.m);
  std::vector<double> total(candidates.size() + 1, 0);
  int n = 0;
  for (size_t cut : Origins(s.y.size(), h, spec.m, origins, h)) {
    const Series train = Slice(s, 0, cut), test = Slice(s, cut, cut + static_cast<size_t>(h));
    const int sm = spec.m > 1 && train.y.size() > static_cast<size_t>(spec.m) ? spec.m : 1;
    std::vector<std::vector<double>> members;  // ets, arima, otm forecasts for the ensemble
    for (size_t c = 0; c < candidates.size(); ++c) {
      Fit f = FitModel(candidates[c], train, &test, h, spec, nullptr);
      double score = ml::Rmsse(train.y, test.y, f.mean, sm);
      if (std::isnan(score)) score = ml::Rmse(test.y, f.mean);
      total[c] += score;
      if (candidates[c] == "ets" || candidates[c] == "arima" || candidates[c] == "otm") members.push_back(f.mean);
    }
    std::vector<double> ens(static_cast<size_t>(h), 0);
    for (size_t k = 0; k < ens.size() && members.size() == 3; ++k) ens[k] = Median3(members[0][k], members[1][k], members[2][k]);
    double score = ml::Rmsse(train.y, test.y, ens, sm);
    if (std::isnan(score)) score = ml::Rmse(test.y, ens);
    total.back() += score;
    ++n;
  }
  if (n == 0) return "naive";
  std::string best = "naive";
  double best_score = INFINITY;
  const bool has_ensemble = std::count_if(candidates.begin(), candidates.end(), [](const std::string& c) {
                              return c == "ets" || c == "arima" || c == "otm";
                            }) == 3;
  for (size_t c = 0; c < candidates.size() + (has_ensemble ? 1 : 0); ++c) {
    if (total[c] < best_score) {
      best_score = total[c];
      best = c < candidates.size() ? candidates[c] : "ensemble";
    }
  }
  return best;
}

// Conformal scaling: the model's own intervals are rescaled so that the
// standardised backtest errors |y - mean| / sd at the chosen level are
// covered (split-conformal quantile over origins and steps). Models without
// a per-step sd use the empirical errors, widened by sqrt(step).
void ConformalIntervals(const std::string& model, const Series& s, const Fit& fit, int h, const ModelSpec& spec,
                        const std::vector<int>& levels, Forecast* out) {
  std::vector<double> scores;
  const int origins = 8, stride = std::max(1, h / 2);
  for (size_t cut : Origins(s.y.size(), h, spec.m, origins, stride)) {
    const Series train = Slice(s, 0, cut), test = Slice(s, cut, cut + static_cast<size_t>(h));
    Fit f = FitModel(model, train, &test, h, spec, nullptr);
    for (size_t k = 0; k < test.y.size(); ++k) {
      const double scale = !f.sd.empty() && f.sd[k] > 0 ? f.sd[k] : std::sqrt(static_cast<double>(k + 1));
      scores.push_back(std::abs(test.y[k] - f.mean[k]) / scale);
    }
  }
  out->lo.assign(levels.size(), {});
  out->hi.assign(levels.size(), {});
  std::sort(scores.begin(), scores.end());
  for (size_t l = 0; l < levels.size(); ++l) {
    double q = INFINITY;
    if (!scores.empty()) {
      const auto rank = static_cast<size_t>(std::ceil((static_cast<double>(scores.size()) + 1) * levels[l] / 100.0));
      q = rank >= 1 && rank <= scores.size() ? scores[rank - 1] : scores.back() * 1.5;
    }
    for (size_t k = 0; k < fit.mean.size(); ++k) {
      const double scale = !fit.sd.empty() && fit.sd[k] > 0 ? fit.sd[k] : std::sqrt(static_cast<double>(k + 1));
      double lo = fit.mean[k] - q * scale, hi = fit.mean[k] + q * scale;
      if (fit.non_negative) lo = std::max(0.0, lo);
      out->lo[l].push_back(lo);
      out->hi[l].push_back(hi);
    }
  }
}


}  // namespace

// The time k steps after t: calendar months for monthly, quarterly and yearly
// data (so that forecasts land on the 1st of the month), fixed seconds otherwise.
int64_t StepTime(int64_t t, int k, int64_t gap) {
  int months = 0;
  if (gap >= 27 * 86400 && gap <= 32 * 86400) months = 1;
  else if (gap >= 88 * 86400 && gap <= 93 * 86400) months = 3;
  else if (gap >= 364 * 86400 && gap <= 367 * 86400) months = 12;
  if (months == 0) return t + k * gap;
  const int64_t days = DayOf(t);
  const int64_t secs = t - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const int64_t total = static_cast<int64_t>(m) - 1 + static_cast<int64_t>(months) * k;
  y += total / 12;
  const auto nm = static_cast<unsigned>(total % 12 + 1);
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const unsigned last = kDays[nm - 1] + (nm == 2 && leap ? 1 : 0);
  return DaysFromCivil(y, nm, std::min(d, last)) * 86400 + secs;
}

int DetectPeriod(const std::vector<double>& y, int max_period) {
  if (y.size() < 8) return 1;
  std::vector<double> d(y.size() - 1);
  for (size_t t = 1; t < y.size(); ++t) d[t - 1] = y[t] - y[t - 1];
  const int top = std::min<int>(max_period, static_cast<int>(d.size() / 3));
  if (top < 2) return 1;
  std::vector<double> acf(static_cast<size_t>(top) + 2, 0);
  for (int k = 1; k <= top + 1 && k < static_cast<int>(d.size()); ++k) acf[static_cast<size_t>(k)] = Acf(d, k);
  // Significance at 5% over all the lags tried (Bonferroni), not per lag.
  const double limit = NormalQuantile(1 - 0.025 / top) / std::sqrt(static_cast<double>(d.size()));
  double best = 0;
  for (int k = 2; k <= top; ++k) {
    const double a = acf[static_cast<size_t>(k)];
    if (a > limit && a >= acf[static_cast<size_t>(k - 1)] && a >= acf[static_cast<size_t>(k + 1)]) best = std::max(best, a);
  }
  if (best <= 0) return 1;
  for (int k = 2; k <= top; ++k) {
    const double a = acf[static_cast<size_t>(k)];
    if (a >= 0.9 * best && a >= acf[static_cast<size_t>(k - 1)] && a >= acf[static_cast<size_t>(k + 1)]) return k;
  }
  return 1;
}

int SeasonOf(const Series& s, const ForecastOptions& o) {
  if (o.season > 0) return o.season;
  return o.season == -1 ? DetectPeriod(s.y, 400) : DefaultSeason(Spacing(s));
}

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
      new std::vector<std::string>{"auto", "ensemble", "naive", "snaive", "drift", "mean", "naive2", "ses", "theta",
                                   "otm", "ets", "arima", "mstl", "regression", "croston", "sba", "tsb", "global"};
  return *kNames;
}

Status ValidateForecastOptions(const ForecastOptions& o) {
  if (o.horizon < 1 || o.horizon > 100000) return InvalidArgument("horizon must be 1..100000");
  if (o.season < -1) return InvalidArgument("season must be >= 0 (or -1: detect it)");
  if (std::find(ModelNames().begin(), ModelNames().end(), o.model) == ModelNames().end()) {
    std::string names;
    for (const auto& n : ModelNames()) names += (names.empty() ? "" : ", ") + n;
    return InvalidArgument("unknown model '" + o.model + "' (" + names + ")");
  }
  if (o.intervals != "model" && o.intervals != "conformal") {
    return InvalidArgument("intervals must be 'model' or 'conformal', not '" + o.intervals + "'");
  }
  for (int p : o.seasons) {
    if (p < 2) return InvalidArgument("seasonal periods must be >= 2");
  }
  RETURN_IF_ERROR(ParseEtsForm(o.ets).status());
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

StatusOr<std::vector<Series>> ReadSeriesCsv(const std::string& path, bool require_value) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": empty file (expected a header row)");
  RETURN_IF_ERROR(CheckCsvHeader(path, rec));
  int id_col = -1, ts_col = -1, v_col = -1;
  std::vector<std::string> names;
  for (size_t i = 0; i < rec.num_fields; ++i) {
    const std::string_view n = rec.field(i);
    names.emplace_back(n);
    if (n == "series_id" || n == "unique_id" || n == "id") id_col = static_cast<int>(i);
    if (n == "timestamp" || n == "ds" || n == "date" || n == "time") ts_col = static_cast<int>(i);
    if (n == "value" || n == "y") v_col = static_cast<int>(i);
  }
  if (ts_col < 0 || (v_col < 0 && require_value)) {
    return InvalidArgument(path + ":1: expected columns series_id,timestamp,value (or timestamp,value)");
  }
  // Every other column is a numeric driver.
  std::vector<size_t> driver_cols;
  std::vector<std::string> driver_names;
  for (size_t i = 0; i < names.size(); ++i) {
    if (static_cast<int>(i) == id_col || static_cast<int>(i) == ts_col || static_cast<int>(i) == v_col) continue;
    driver_cols.push_back(i);
    driver_names.push_back(names[i]);
  }
  const std::string default_id = std::filesystem::path(path).stem().string();
  struct Row {
    int64_t t;
    double v;
    std::vector<double> x;
  };
  std::map<std::string, std::vector<Row>> by_id;
  auto number = [](const std::string& vs, double* v) {
    char* end = nullptr;
    *v = std::strtod(vs.c_str(), &end);
    return !vs.empty() && end == vs.c_str() + vs.size() && std::isfinite(*v);
  };
  const size_t need = names.size();
  while (reader.Next(&rec)) {
    const std::string where = path + ":" + std::to_string(rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    RETURN_IF_ERROR(CheckCsvFieldCount(path, rec, need));
    auto t = ParseTimestamp(rec.field(static_cast<size_t>(ts_col)));
    if (!t.ok()) return InvalidArgument(where + ": field '" + names[static_cast<size_t>(ts_col)] + "': " + t.status().message());
    Row row{*t, 0, {}};
    if (v_col >= 0) {
      const std::string& vs = rec.fields[static_cast<size_t>(v_col)];
      if (!number(vs, &row.v)) {
        return InvalidArgument(where + ": field '" + names[static_cast<size_t>(v_col)] + "': expected a number, got '" + vs + "'");
      }
    }
    for (size_t j = 0; j < driver_cols.size(); ++j) {
      const std::string& vs = rec.fields[driver_cols[j]];
      double v = 0;
      if (!number(vs, &v)) {
        return InvalidArgument(where + ": field '" + driver_names[j] + "': expected a number (drivers are numeric), got '" + vs + "'");
      }
      row.x.push_back(v);
    }
    by_id[id_col >= 0 ? std::string(rec.field(static_cast<size_t>(id_col))) : default_id].push_back(std::move(row));
  }
  RETURN_IF_ERROR(reader.status());
  if (by_id.empty()) return InvalidArgument(path + ": no rows after the header");
  std::vector<Series> out;
  for (auto& [id, rows] : by_id) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.t < b.t; });
    Series s;
    s.id = id;
    s.driver_names = driver_names;
    s.drivers.assign(driver_names.size(), {});
    for (const auto& r : rows) {
      if (!s.time.empty() && s.time.back() == r.t) {
        return InvalidArgument(path + ": series '" + id + "' has two values at " + FormatTimestamp(r.t));
      }
      s.time.push_back(r.t);
      s.y.push_back(r.v);
      for (size_t j = 0; j < r.x.size(); ++j) s.drivers[j].push_back(r.x[j]);
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<Forecast> ForecastSeries(const Series& s, const ForecastOptions& o, const Series* future) {
  RETURN_IF_ERROR(ValidateForecastOptions(o));
  if (o.model == "global") {
    return InvalidArgument("the global model forecasts all series together (forecast/global.h), not one by one");
  }
  if (s.y.size() < 2) return InvalidArgument("series '" + s.id + "' needs at least 2 points");
  const int64_t gap = Spacing(s);
  ModelSpec spec;
  spec.m = SeasonOf(s, o);
  spec.window = o.ma_window;
  spec.seasons = o.seasons;
  ASSIGN_OR_RETURN(spec.ets, ParseEtsForm(o.ets));
  std::string model = o.model;
  if (model == "auto") model = ChooseModel(s, o.horizon, spec, o.backtest_origins);
  Forecast out;
  Fit f = FitModel(model, s, future, o.horizon, spec, &out.detail);
  out.series_id = s.id;
  out.model = model;
  out.mean = f.mean;
  for (int k = 1; k <= o.horizon; ++k) out.time.push_back(StepTime(s.time.back(), k, gap));
  if (o.intervals == "conformal") {
    ConformalIntervals(model, s, f, o.horizon, spec, o.levels, &out);
  } else {
    Intervals(f, o.levels, &out);
  }
  return out;
}

StatusOr<DriverEffects> ExplainDrivers(const Series& s) {
  if (s.y.size() < 8) return InvalidArgument("series '" + s.id + "' is too short for a regression");
  DriverEffects out;
  Regression(s, nullptr, 1, &out.coefficients, nullptr);
  out.names = {"intercept", "trend"};
  const int64_t gap = Spacing(s);
  static constexpr const char* kDays[] = {"Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  if (gap >= 80000 && gap <= 90000) {
    for (const char* d : kDays) out.names.push_back(std::string("dow_") + d);
  } else if (gap >= 3000 && gap <= 4000) {
    for (int h = 1; h < 24; ++h) out.names.push_back("hour_" + std::to_string(h));
  }
  for (const auto& n : s.driver_names) out.names.push_back(n);
  return out;
}

StatusOr<std::vector<ModelScore>> Evaluate(const Context& ctx, const std::vector<Series>& series,
                                           const ForecastOptions& o, const std::vector<std::string>& models,
                                           int origins) {
  RETURN_IF_ERROR(ValidateForecastOptions(o));
  if (origins < 1) return InvalidArgument("origins must be >= 1");
  const size_t nm = models.size(), nl = o.levels.size();
  std::vector<std::vector<internal::ScoreSum>> per_series(series.size(), std::vector<internal::ScoreSum>(nm));
  Status failure;
  std::mutex mu;
  ctx.pool().ParallelFor(static_cast<int64_t>(series.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t si = b; si < e; ++si) {
      const Series& s = series[static_cast<size_t>(si)];
      const int m = SeasonOf(s, o);
      for (int origin = origins; origin >= 1; --origin) {
        const auto cut = static_cast<long>(s.y.size()) - static_cast<long>(origin) * o.horizon;
        if (cut < std::max<long>(2L * m, 4)) continue;
        const Series train = Slice(s, 0, static_cast<size_t>(cut));
        const Series future = Slice(s, static_cast<size_t>(cut), static_cast<size_t>(cut + o.horizon));
        for (size_t mi = 0; mi < nm; ++mi) {
          ForecastOptions fo = o;
          fo.model = models[mi];
          fo.season = m;
          auto f = ForecastSeries(train, fo, &future);
          if (!f.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            failure = f.status();
            return;
          }
          per_series[static_cast<size_t>(si)][mi].Add(train.y, future.y, *f, m);
        }
      }
    }
  });
  RETURN_IF_ERROR(failure);
  std::vector<ModelScore> out;
  for (size_t mi = 0; mi < nm; ++mi) {
    internal::ScoreSum total;
    for (const auto& ps : per_series) total.Merge(ps[mi]);
    out.push_back(total.Finish(models[mi], nl));
  }
  return out;
}

}  // namespace opspilot::forecast
