// A global neural forecaster (libtorch behind this torch-free header): one
// N-BEATS-style MLP trained across all series on windows of their history,
// for catalogues of many short series where a per-series model has too
// little data. Each window is scaled by the mean absolute value of its input,
// so series of any level share what they learn (the shape).
#ifndef OPSPILOT_FORECAST_GLOBAL_H_
#define OPSPILOT_FORECAST_GLOBAL_H_

#include <vector>

#include "core/context.h"
#include "forecast/forecast.h"
#include "ml/neural.h"

namespace opspilot::forecast {

struct GlobalOptions {
  int input_size = 0;                    // 0 = max(2 h, m + h), at most 4 h + m
  std::vector<int64_t> hidden = {256, 256, 256};
  int max_windows_per_series = 64;       // the most recent windows of each series
  ml::TrainerOptions trainer;            // defaults: Adam 1e-3, 60 epochs, early stopping on held-out windows
  GlobalOptions() {
    trainer.epochs = 60;
    trainer.batch_size = 256;
    trainer.early_stopping_patience = 6;
  }
};

// Trains on all series (their last h points held out for early stopping and
// for the interval widths, then retrained on everything with the epochs that
// worked) and forecasts each. Intervals: normal, with a per-step sd from the
// held-out scaled errors times the series' scale. Series shorter than the
// input window are left-padded with their first value.
StatusOr<std::vector<Forecast>> ForecastGlobal(const Context& ctx, const std::vector<Series>& series,
                                               const ForecastOptions& options, const GlobalOptions& global = {});

// Rolling-origin backtest of the global model in the form of Evaluate():
// at each origin one model is trained on every series cut there.
StatusOr<ModelScore> EvaluateGlobal(const Context& ctx, const std::vector<Series>& series,
                                    const ForecastOptions& options, int origins, const GlobalOptions& global = {});

}  // namespace opspilot::forecast

#endif  // OPSPILOT_FORECAST_GLOBAL_H_
