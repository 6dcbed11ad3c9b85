// The global neural forecaster: on many short series that share a shape,
// one model across them must beat per-series models that see 30 points each.
#include "forecast/global.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/time.h"
#include "testing/context.h"

namespace opspilot::forecast {
namespace {

// 300 monthly series of 30 points: levels from 10 to 1000, one shared yearly
// shape and trend, 5% multiplicative noise. 30 points are too few for a
// seasonal ETS (it needs three seasons) and leave seasonal naive one noisy copy.
std::vector<Series> ShortSeries() {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> e(0, 0.05);
  std::uniform_real_distribution<double> level(10, 1000);
  const double shape[] = {0.7, 0.75, 0.9, 1.0, 1.1, 1.3, 1.4, 1.3, 1.1, 0.95, 0.8, 0.7};
  std::vector<Series> out;
  for (int i = 0; i < 300; ++i) {
    Series s;
    s.id = std::to_string(i);  // ("s" + std::to_string(i) trips GCC 12's -Wstringop-overflow false positive)
    const double base = level(rng);
    const int offset = i % 12;  // series start in different months
    for (int t = 0; t < 30; ++t) {
      const int month = (offset + t) % 12;
      s.time.push_back(DaysFromCivil(2020 + (offset + t) / 12, static_cast<unsigned>(month + 1), 1) * 86400);
      s.y.push_back(base * (1 + 0.01 * t) * shape[month] * (1 + e(rng)));
    }
    out.push_back(std::move(s));
  }
  return out;
}

TEST(GlobalForecastTest, BeatsPerSeriesModelsOnManyShortSeries) {
  Context ctx(testing::QuietOptions());
  const auto series = ShortSeries();
  ForecastOptions o;
  o.horizon = 6;
  o.season = 12;
  auto local = Evaluate(ctx, series, o, {"snaive", "ets"}, 1);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  GlobalOptions g;
  g.trainer.epochs = 40;
  auto global = EvaluateGlobal(ctx, series, o, 1, g);
  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->forecasts, 300);
  const double snaive = (*local)[0].smape, ets = (*local)[1].smape;
  EXPECT_LT(global->smape, 0.85 * snaive) << "global " << global->smape << " snaive " << snaive << " ets " << ets;
  EXPECT_LT(global->smape, 0.85 * ets) << "global " << global->smape << " ets " << ets;
  // The held-out errors set the interval widths: coverage near the level.
  EXPECT_NEAR(global->coverage[1], 0.95, 0.07);
  // Forecasts land on the next months, as the per-series models' do.
  auto f = ForecastGlobal(ctx, series, o, g);
  ASSERT_TRUE(f.ok());
  int64_t y;
  unsigned mo, d;
  CivilFromDays((*f)[0].time[0] / 86400, &y, &mo, &d);
  EXPECT_EQ(d, 1u);
  EXPECT_EQ((*f)[0].model, "global");
  o.model = "global";
  EXPECT_FALSE(ForecastSeries(series[0], o).ok());  // one series at a time is refused
}

}  // namespace
}  // namespace opspilot::forecast
