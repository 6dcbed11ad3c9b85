// Demand forecasting (first part of issue 7): baselines, simple exponential
// smoothing, standard Theta and intermittent-demand models with prediction
// intervals, per-series model selection by rolling-origin backtest, and the
// evaluation report. The full ETS family, ARIMA and the global neural model
// come next behind the same interface.
#ifndef OPSPILOT_FORECAST_FORECAST_H_
#define OPSPILOT_FORECAST_FORECAST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/context.h"

namespace opspilot::forecast {

// One regularly spaced series; times are unix seconds.
struct Series {
  std::string id;
  std::vector<int64_t> time;
  std::vector<double> y;
};

// Reads the long format `series_id,timestamp,value` (or NAB's single-series
// `timestamp,value`, named after the file). Rows may come in any order; each
// series is sorted by time. Errors name file, line and field.
StatusOr<std::vector<Series>> ReadSeriesCsv(const std::string& path);

// The spacing of a series (median gap) and the seasonal period it implies:
// hourly -> 24, daily -> 7, weekly -> 52, monthly -> 12, quarterly -> 4, else 1.
int64_t Spacing(const Series& s);
int DefaultSeason(int64_t spacing_seconds);

struct ForecastOptions {
  int horizon = 14;
  int season = 0;                    // 0 = from the spacing
  std::string model = "auto";  // auto | naive | snaive | drift | mean | naive2 | ses | theta | croston | sba | tsb
  std::vector<int> levels = {80, 95};
  int ma_window = 0;                 // mean model: last k points (0 = all)
  int backtest_origins = 3;          // auto: rolling origins used to pick a model
};

Status ValidateForecastOptions(const ForecastOptions& options);
const std::vector<std::string>& ModelNames();

struct Forecast {
  std::string series_id, model;
  std::vector<int64_t> time;
  std::vector<double> mean;
  std::vector<std::vector<double>> lo, hi;  // [level][step]
};

StatusOr<Forecast> ForecastSeries(const Series& s, const ForecastOptions& options);

// Rolling-origin backtest: `origins` forecasts of `horizon` steps, ending at
// the series end; per model sMAPE, MASE, RMSSE (mean over series and
// origins) and interval coverage per level.
struct ModelScore {
  std::string model;
  double smape = 0, mase = 0, rmsse = 0;
  std::vector<double> coverage;  // per level
  int64_t forecasts = 0;
};
StatusOr<std::vector<ModelScore>> Evaluate(const Context& ctx, const std::vector<Series>& series,
                                           const ForecastOptions& options, const std::vector<std::string>& models,
                                           int origins);

// Inverse of the standard normal CDF (Acklam's rational approximation,
// refined by one Halley step; |error| < 1e-12).
double NormalQuantile(double p);

}  // namespace opspilot::forecast

#endif  // OPSPILOT_FORECAST_FORECAST_H_
