// Internal to the forecast module: the fit every model returns and the
// optimisers the models share. Not part of the public API.
#ifndef OPSPILOT_FORECAST_INTERNAL_H_
#define OPSPILOT_FORECAST_INTERNAL_H_

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "forecast/forecast.h"

namespace opspilot::forecast::internal {

// Error sums of a rolling-origin backtest (Evaluate, EvaluateGlobal): add one
// forecast at a time, merge partial sums, then Finish() gives the means per
// forecast and the coverage per level over all points.
struct ScoreSum {
  double smape = 0, mase = 0, rmsse = 0;
  std::vector<double> covered;  // per level
  int64_t n = 0, points = 0;
  // `history` is the training part; MASE and RMSSE scale by its seasonal naive with period m.
  void Add(const std::vector<double>& history, const std::vector<double>& test, const Forecast& f, int m);
  void Merge(const ScoreSum& other);
  ModelScore Finish(const std::string& model, size_t levels) const;
};

// A point forecast with a scale per step for normal intervals, or explicit
// residual quantiles (intermittent models).
struct Fit {
  std::vector<double> mean;
  std::vector<double> sd;              // per step; empty when `residuals` is used
  std::vector<double> residuals;       // one-step in-sample errors for empirical intervals
  bool non_negative = false;
};

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

// Centred moving average of order m (2 x m with half weights at the ends for
// even m), NaN where the window does not fit; O(n) by prefix sums.
std::vector<double> CenteredMovingAverage(const std::vector<double>& y, int m);

// ARIMA with Hyndman-Khandakar order selection (arima.cc). `order` (when not
// null) receives "ARIMA(p,d,q)(P,D,Q)[m]" and the constant.
Fit AutoArima(const std::vector<double>& y, int h, int m, std::string* order = nullptr);

}  // namespace opspilot::forecast::internal

#endif  // OPSPILOT_FORECAST_INTERNAL_H_
