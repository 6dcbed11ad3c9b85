// Demand forecasting: baselines, exponential smoothing (ETS), ARIMA with
// automatic order selection, standard and optimised Theta, intermittent-demand
// models, multiple seasonalities (MSTL), dynamic regression on calendar and
// driver columns, and an ensemble; prediction intervals from each model or
// conformally calibrated; per-series model selection by rolling-origin
// backtest, and the evaluation report.
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
  // Optional drivers (price, promotion flag, holiday...): extra numeric
  // columns of the input, one vector per name, aligned with `time`.
  std::vector<std::string> driver_names;
  std::vector<std::vector<double>> drivers;
};

// Reads the long format `series_id,timestamp,value` (or NAB's single-series
// `timestamp,value`, named after the file). Rows may come in any order; each
// series is sorted by time. Other numeric columns become drivers. Errors name
// file, line and field. With `require_value` false the value column may be
// absent (future driver values for regression).
StatusOr<std::vector<Series>> ReadSeriesCsv(const std::string& path, bool require_value = true);

// The spacing of a series (median gap) and the seasonal period it implies:
// hourly -> 24, daily -> 7, weekly -> 52, monthly -> 12, quarterly -> 4, else 1.
int64_t Spacing(const Series& s);
int DefaultSeason(int64_t spacing_seconds);
// The seasonal period found in the data: the smallest lag in [2, max_period]
// whose autocorrelation of the first differences is a local peak, significant
// at 5% over all lags tried (Bonferroni), within 90% of the highest one; 1
// when there is none.
// ForecastOptions::season = -1 uses it.
int DetectPeriod(const std::vector<double>& y, int max_period);

// The time k steps after t: calendar months for monthly, quarterly and yearly
// spacing (forecasts land on the same day of the month), fixed seconds otherwise.
int64_t StepTime(int64_t t, int k, int64_t spacing_seconds);

struct ForecastOptions {
  int horizon = 14;
  int season = 0;                    // 0 = from the spacing, -1 = detected from the data (DetectPeriod)
  // auto | ensemble | naive | snaive | drift | mean | naive2 | ses | theta | otm | ets | arima | mstl |
  // regression | croston | sba | tsb | global (all series together: forecast/global.h)
  std::string model = "auto";
  std::string ets = "ZZZ";           // ets: the form in R's notation (error A|M|Z, trend N|A|Ad|Z, season N|A|M|Z)
  std::vector<int> seasons;          // mstl: the periods (empty = from the spacing, e.g. 24,168 for hourly)
  std::vector<int> levels = {80, 95};
  std::string intervals = "model";   // model | conformal (scaled by backtest errors)
  int ma_window = 0;                 // mean model: last k points (0 = all)
  int backtest_origins = 3;          // auto: rolling origins used to pick a model
};

Status ValidateForecastOptions(const ForecastOptions& options);

// The seasonal period `options.season` asks for on s: the value itself when
// > 0, DetectPeriod when -1, DefaultSeason of the spacing when 0.
int SeasonOf(const Series& s, const ForecastOptions& options);
const std::vector<std::string>& ModelNames();

struct Forecast {
  std::string series_id, model;
  std::string detail;  // e.g. the chosen ARIMA order or ETS form
  std::vector<int64_t> time;
  std::vector<double> mean;
  std::vector<std::vector<double>> lo, hi;  // [level][step]
};

// `future` (optional) holds the drivers over the horizon for `regression`;
// where it is missing, 0/1 flags are taken as 0 and other drivers as their
// last observed value.
StatusOr<Forecast> ForecastSeries(const Series& s, const ForecastOptions& options, const Series* future = nullptr);

// The dynamic regression's coefficients (the `regression` model): intercept,
// trend (per series length), calendar dummies (dow_Tue..dow_Sun for daily
// data, hour_1..hour_23 for hourly data) and one per driver, in the driver's units.
struct DriverEffects {
  std::vector<std::string> names;
  std::vector<double> coefficients;
};
StatusOr<DriverEffects> ExplainDrivers(const Series& s);

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
