#include "anomaly/anomaly.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <tuple>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "anomaly/detectors.h"
#include "anomaly/nab.h"
#include "anomaly/nab_corpus.h"
#include "anomaly/risk.h"
#include "anomaly/rootcause.h"
#include "core/csv.h"
#include "core/file.h"
#include "core/thread_pool.h"
#include "core/time.h"
#include "testing/context.h"
#include "testing/state_fuzz.h"
#include "testing/temp_dir.h"

namespace opspilot::anomaly {
namespace {

std::vector<double> Scores(const std::vector<Score>& s) {
  std::vector<double> out;
  for (const Score& p : s) out.push_back(p.score);
  return out;
}

// ---- NAB scorer ---------------------------------------------------------------

TEST(NabTest, ProbationAndWindowsFollowNabRules) {
  EXPECT_EQ(NabProbation(1000), 150);
  EXPECT_EQ(NabProbation(4032), 604);
  EXPECT_EQ(NabProbation(10000), 750);  // capped at 15% of 5000 rows
  // 0.1 * 1000 / 2 labels = 50 rows per window, centred: [275, 325] and [295, 345] overlap.
  auto w = NabWindows(1000, {320, 300});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].begin, 275);
  EXPECT_EQ(w[0].end, 345);
  w = NabWindows(1000, {990, 100});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].begin, 75);
  EXPECT_EQ(w[0].end, 125);
  EXPECT_EQ(w[1].begin, 965);
  EXPECT_EQ(w[1].end, 999);  // clipped to the file
  EXPECT_NEAR(NabSigmoid(-1), 0.98661, 1e-5);
  EXPECT_NEAR(NabSigmoid(0), 0.0, 1e-12);
  EXPECT_NEAR(NabSigmoid(3), 2.0 / (1.0 + std::exp(15.0)) - 1.0, 1e-15);  // NAB cuts to -1 only past 3
  EXPECT_EQ(NabSigmoid(3.0001), -1.0);
}

TEST(NabTest, HandComputedTinyFile) {
  // 20 rows: probation 3 rows; one label at row 10 -> window length 2 -> [9, 11].
  NabFile f;
  f.scores.assign(20, 0.0);
  f.windows = NabWindows(20, {10});
  ASSERT_EQ(f.windows.size(), 1u);
  ASSERT_EQ(f.windows[0].begin, 9);
  ASSERT_EQ(f.windows[0].end, 11);
  f.scores[1] = 0.95;  // in probation: ignored
  f.scores[5] = 0.6;   // before any window: a full false positive, -0.11
  f.scores[9] = 0.8;   // first row of the window: position -1 -> exactly tp_weight
  f.scores[11] = 0.9;  // later in the same window: only the best detection counts
  f.scores[15] = 0.7;  // 4 rows after the window of width 3: position 4 / 2 = 2
  const NabProfile& standard = NabProfiles()[0];
  ASSERT_EQ(standard.name, "standard");
  const double fp_after = (2.0 / (1.0 + std::exp(10.0)) - 1.0) * 0.11;  // S(2) * fp_weight
  NabResult r = ScoreNab({f}, standard, 0.5);
  EXPECT_NEAR(r.raw, 1.0 - 0.11 + fp_after, 1e-9);
  EXPECT_EQ(r.tp, 1);
  EXPECT_EQ(r.fn, 0);
  EXPECT_EQ(r.fp, 2);
  EXPECT_NEAR(r.null_raw, -1.0, 1e-12);
  EXPECT_NEAR(r.perfect_raw, 1.0, 1e-12);
  EXPECT_NEAR(r.normalized, 100 * (r.raw + 1) / 2, 1e-9);

  // Only the late detection in the window: position -(11 - 11 + 1) / 3.
  r = ScoreNab({f}, standard, 0.85);
  const double late = (2.0 / (1.0 + std::exp(-5.0 / 3.0)) - 1.0) / (2.0 / (1.0 + std::exp(-5.0)) - 1.0);
  EXPECT_NEAR(r.raw, late, 1e-9);

  // Low-FN profile: a missed window costs 2.
  r = ScoreNab({f}, NabProfiles()[2], 0.99);
  EXPECT_NEAR(r.raw, -2.0, 1e-12);
  EXPECT_NEAR(r.normalized, 0.0, 1e-9);

  // The optimizer picks 0.8: both window detections and no false positive.
  r = ScoreNabBest({f}, standard);
  EXPECT_DOUBLE_EQ(r.threshold, 0.8);
  EXPECT_NEAR(r.raw, 1.0, 1e-9);
  EXPECT_NEAR(r.normalized, 100.0, 1e-9);
}

TEST(NabTest, BestThresholdAgreesWithFixedThresholdScoring) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<NabFile> files;
  for (int k = 0; k < 5; ++k) {
    NabFile f;
    const int64_t n = 500 + 100 * k;
    for (int64_t i = 0; i < n; ++i) f.scores.push_back(std::floor(u(rng) * 50) / 50);
    f.windows = NabWindows(n, {n / 2, n - 50});
    files.push_back(std::move(f));
  }
  for (const NabProfile& p : NabProfiles()) {
    const NabResult best = ScoreNabBest(files, p);
    const NabResult fixed = ScoreNab(files, p, best.threshold);
    EXPECT_NEAR(best.raw, fixed.raw, 1e-9) << p.name;
    EXPECT_EQ(best.fp, fixed.fp);
    EXPECT_EQ(best.tp, fixed.tp);
    for (double t = 0; t <= 1.0001; t += 0.02) {
      EXPECT_LE(ScoreNab(files, p, t).raw, best.raw + 1e-9);
    }
  }
}

// ---- Generator ---------------------------------------------------------------

TEST(GeneratorTest, DeterministicLabelsAfterProbation) {
  GeneratorOptions o;
  o.anomalies = 3;
  o.seed = 9;
  const LabelledSeries a = GenerateSeries(o), b = GenerateSeries(o);
  EXPECT_EQ(a.series.y, b.series.y);
  ASSERT_EQ(a.labels.size(), 3u);
  for (int64_t l : a.labels) EXPECT_GT(l, NabProbation(o.length));
  EXPECT_TRUE(std::is_sorted(a.labels.begin(), a.labels.end()));
  o.seed = 10;
  EXPECT_NE(GenerateSeries(o).series.y, a.series.y);
  // A spike of at least 6 noise units stands out of its neighbours.
  o.kinds = {AnomalyKind::kSpike};
  o.daily_amplitude = o.weekly_amplitude = 0;
  o.anomalies = 1;
  const LabelledSeries s = GenerateSeries(o);
  const size_t at = static_cast<size_t>(s.labels[0]);
  EXPECT_GT(std::fabs(s.series.y[at] - s.series.y[at - 1]), 3.0);
}

// ---- Detectors -------------------------------------------------------------------

TEST(DetectorTest, OptionsAreValidated) {
  DetectorOptions o;
  EXPECT_TRUE(ValidateDetectorOptions(o).ok());
  o.level_alpha = 0;
  EXPECT_FALSE(ValidateDetectorOptions(o).ok());
  EXPECT_FALSE(MakeDetector("ensemble", o).ok());
  EXPECT_FALSE(MakeDetector("nope", DetectorOptions{}).ok());
  for (const std::string& name : DetectorNames()) {
    EXPECT_TRUE(MakeDetector(name, DetectorOptions{}).ok()) << name;
  }
  EXPECT_DOUBLE_EQ(ScoreFromP(1), 0);
  EXPECT_DOUBLE_EQ(ScoreFromP(1e-7), 1);
  EXPECT_NEAR(ScoreFromP(std::pow(10, -3.5)), 0.5, 1e-12);
}

TEST(DetectorTest, StreamingEqualsBatchAndNeverLooksAhead) {
  GeneratorOptions g;
  g.length = 3000;
  g.seed = 4;
  const forecast::Series full = GenerateSeries(g).series;
  forecast::Series prefix = full;
  prefix.time.resize(1700);
  prefix.y.resize(1700);
  for (const std::string& name : DetectorNames()) {
    ScoreOptions so;
    so.detector = name;
    so.nab_probation = false;
    auto batch = ScoreSeries(full, so);
    auto head = ScoreSeries(prefix, so);
    ASSERT_TRUE(batch.ok() && head.ok());
    auto d = MakeDetector(name, so.detector_options);
    ASSERT_TRUE(d.ok());
    std::unique_ptr<Detector> copy;
    for (size_t i = 0; i < full.y.size(); ++i) {
      const double s = (*d)->Update(full.time[i], full.y[i]);
      ASSERT_EQ(s, (*batch)[i].score) << name << " at " << i;
      if (i < prefix.y.size()) {
        ASSERT_EQ((*head)[i].score, (*batch)[i].score) << name << " at " << i;
      }
      if (i == 2000) copy = (*d)->Clone();
      ASSERT_GE(s, 0.0);
      ASSERT_LE(s, 1.0);
    }
    // A clone taken mid-stream continues exactly like the original.
    auto again = MakeDetector(name, so.detector_options);
    for (size_t i = 0; i <= 2000; ++i) (*again)->Update(full.time[i], full.y[i]);
    for (size_t i = 2001; i < full.y.size(); ++i) {
      ASSERT_EQ(copy->Update(full.time[i], full.y[i]), (*again)->Update(full.time[i], full.y[i])) << name << " at " << i;
    }
  }
}

TEST(DetectorTest, ProbationScoresZeroAndBackwardsTimeIsAnError) {
  GeneratorOptions g;
  g.length = 2000;
  g.kinds = {AnomalyKind::kSpike};
  g.anomalies = 1;
  forecast::Series s = GenerateSeries(g).series;
  s.y[100] += 1000;  // a huge spike inside NAB's probation (300 rows here)
  ScoreOptions so;
  auto scores = ScoreSeries(s, so);
  ASSERT_TRUE(scores.ok());
  for (int i = 0; i < NabProbation(2000); ++i) {
    EXPECT_EQ((*scores)[static_cast<size_t>(i)].score, 0.0);
  }
  std::swap(s.time[500], s.time[501]);
  EXPECT_FALSE(ScoreSeries(s, so).ok());
}

// Alerts (default AlertOptions, and critical ones) after the first week: before a series has
// shown one week, its first weekend step is a change nothing could predict.
std::pair<int64_t, int64_t> CleanRunAlerts(const GeneratorOptions& g) {
  const forecast::Series s = GenerateSeries(g).series;
  auto scores = ScoreSeries(s, ScoreOptions{});
  EXPECT_TRUE(scores.ok());
  if (!scores.ok()) return {-1, -1};
  int64_t alerts = 0, critical = 0;
  for (const Alert& a : MakeAlerts(s.id, *scores, AlertOptions{})) {
    if (a.start < s.time.front() + 7 * 86400) continue;
    ++alerts;
    critical += a.severity == Severity::kCritical;
  }
  return {alerts, critical};
}

// Scores of a 5-minute series of n points from `start`, value(i, t) plus
// N(0, 1) noise seeded by `seed`.
std::vector<double> ScoresOfFiveMinuteSeries(int64_t start, int n, uint64_t seed,
                                             const std::function<double(int, int64_t)>& value) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  forecast::Series s;
  s.id = "five_minute";
  for (int i = 0; i < n; ++i) {
    const int64_t t = start + int64_t{300} * i;
    s.time.push_back(t);
    s.y.push_back(value(i, t) + noise(rng));
  }
  auto scores = ScoreSeries(s, ScoreOptions{});
  EXPECT_TRUE(scores.ok());
  std::vector<double> out;
  if (scores.ok()) {
    for (const auto& p : *scores) out.push_back(p.score);
  }
  return out;
}

TEST(DetectorTest, NoWeeklyEchoOfTheFirstDaysMisfit) {
  // A strong daily cycle (amplitude 15 noise units), nothing else, ten weeks,
  // starting at four different times of the week. Before the daily profile
  // has seen a whole day, the day's shape is misfit; a week profile that
  // learnt that misfit kept it, and series scored >= 0.5 again and again at
  // the hour of the week they started. Before ResidualModel's seasons waited
  // for their shorter ones: 9 points >= 0.5 on these four series, 8 of them
  // in the first two hours of a week's phase (one series: 7, in weeks 3 to
  // 10); after: 3, at other hours, none twice.
  int64_t flagged = 0, echoes = 0;
  const int64_t starts[] = {1735516800, 1735689600 + 13 * 3600 + 20 * 60, 1736061300, 1735776000};  // Mon, Wed, Sat, Thu
  for (size_t j = 0; j < 4; ++j) {
    const std::vector<double> scores = ScoresOfFiveMinuteSeries(starts[j], 288 * 70, 100 + j, [j](int i, int64_t) {
      return 100 + 15 * std::sin((i + 37 * static_cast<int>(j)) * 6.283185307179586 / 288);
    });
    for (size_t i = 0; i < scores.size(); ++i) {
      if (scores[i] < 0.5) continue;
      ++flagged;
      echoes += i >= 2016 && i % 2016 < 24;  // weeks 2 and later, the first two hours of the start's phase
    }
  }
  EXPECT_EQ(echoes, 0);
  EXPECT_LE(flagged, 3);
}

TEST(DetectorTest, NoShiftAlarmAtAWeekendStepOnAFlatDay) {
  // Six weeks at 5 minutes: a flat day (no daily shape), level 10 on five
  // days and 15 on two (5 noise units; Friday and Saturday, UTC), Gaussian
  // noise, four seeds and start times. On such a series a level model
  // without seasons often has the lowest running error, and its level test
  // and CUSUM fired at every weekly step the seasonal models predicted.
  // Counted from week 3 on (the week profile starts learning a day in, so
  // week 2 can still be its first sight of a Friday), points >= 0.5 on the
  // four series and the peak: 19 and 1.0 before the seasonal twin check and
  // the time-of-week memory; 4 and 0.56 with the twin check alone, 2 and
  // 0.52 with the memory alone, 3 and 0.56 with both, all at a step (the
  // day and week profiles share each residual, so the daily profile still
  // swings a little with the weekend).
  int64_t flagged = 0;
  double peak = 0;
  const int64_t starts[] = {1735725000, 1735516800 + 7 * 3600, 1736061300, 1735776000 + 18 * 3600};
  for (size_t j = 0; j < 4; ++j) {
    const std::vector<double> scores = ScoresOfFiveMinuteSeries(starts[j], 288 * 42, 300 + j, [](int, int64_t t) {
      const int64_t weekday = (t / 86400 + 4) % 7;  // 0 = Sunday (1970-01-01 was a Thursday)
      return weekday == 5 || weekday == 6 ? 15.0 : 10.0;
    });
    for (size_t i = 2 * 2016; i < scores.size(); ++i) {
      flagged += scores[i] >= 0.5;
      peak = std::max(peak, scores[i]);
    }
  }
  EXPECT_LE(flagged, 6);
  EXPECT_LT(peak, AlertOptions{}.threshold);  // no alert
}

TEST(DetectorTest, NoAlertOnLongCleanGaussianSeasonalSeries) {
  // 50k points (about six months at 5 minutes) with daily and weekly seasons
  // (a weekend step of 4.2 noise units at Saturday and Monday midnight),
  // nothing planted. Alerts after the first week (CleanRunAlerts), seeds
  // 21..24:
  //   Gaussian noise 0 0 0 0 (3 4 2 2 with the variance CUSUM's optimistic
  //   tail exponent, 31 36 32 36 before the hour-of-week profile);
  //   AR(1) noise with phi 0.5: 0 0 0 0 since the seasonal twin check and
  //   the time-of-week memory (1 in all before them: the CUSUM of a fast
  //   non-seasonal model or a Monday step; earlier 0 1 1 0, and 16 4 13 8
  //   before the hour-of-week profile). The issue's bar is 0. In week 1,
  //   seed 21's first Saturday step alerts with both noises (0.62, 0.73):
  //   nothing yet to know the week by. (Until the week profile waited for
  //   the day profile's first day, its learnt misfit inflated the
  //   false-alarm calibrators and hid that step in Gaussian noise, at the
  //   cost of weekly echoes; see NoWeeklyEchoOfTheFirstDaysMisfit.)
  GeneratorOptions g;
  g.length = 50000;
  g.anomalies = 0;
  g.daily_amplitude = 6;
  g.weekly_amplitude = 3;
  int64_t autocorrelated = 0, autocorrelated_critical = 0;
  for (uint64_t seed = 21; seed < 25; ++seed) {
    g.seed = seed;
    g.ar_phi = 0;
    auto [alerts, critical] = CleanRunAlerts(g);
    EXPECT_EQ(alerts, 0) << "Gaussian, seed " << seed;
    g.ar_phi = 0.5;
    std::tie(alerts, critical) = CleanRunAlerts(g);
    EXPECT_LE(alerts, 1) << "AR(1), seed " << seed;
    autocorrelated += alerts;
    autocorrelated_critical += critical;
  }
  RecordProperty("alerts_ar1", std::to_string(autocorrelated));
  EXPECT_EQ(autocorrelated, 0);
  EXPECT_EQ(autocorrelated_critical, 0);
  // Daily season only: no alert at the critical level either.
  g.seed = 21;
  g.ar_phi = 0;
  g.weekly_amplitude = 0;
  auto scores = ScoreSeries(GenerateSeries(g).series, ScoreOptions{});
  ASSERT_TRUE(scores.ok());
  AlertOptions critical_only;
  critical_only.threshold = critical_only.warning = critical_only.critical;
  EXPECT_EQ(MakeAlerts("daily", *scores, critical_only).size(), 0u);
}

TEST(DetectorTest, CusumTailAccountsForAutocorrelatedResiduals) {
  // AR(1) residuals with unit variance: the running lag-1 estimate finds
  // phi, and runs of p < 1e-4 are as rare at phi 0.5 as at phi 0. Measured:
  // 3 and 2 per 200k points with the variance CUSUM's exact exponent (170
  // and 165 with the Brownian one; 723 at phi 0.5 without the long-run
  // variance correction).
  for (double phi : {0.0, 0.5}) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal;
    Cusum cusum(0.5, 1.0);
    double e = 0;
    int64_t alarms = 0;  // runs of p < 1e-4
    bool below = false;
    const int64_t n = 200000;
    for (int64_t i = 0; i < n; ++i) {
      e = phi * e + std::sqrt(1 - phi * phi) * normal(rng);
      const bool now = cusum.Step(e) < 1e-4;
      alarms += now && !below;
      below = now;
    }
    EXPECT_NEAR(cusum.rho(), phi, 0.1) << phi;
    EXPECT_LE(alarms, 10) << phi;
  }
}

// The pieces of the level test's bursty-series tail: the window statistic
// is the standardized sum of the last 12 residuals (checked against a sum
// computed here), and the exceedance rate that gates the tail stays near
// the normal 0.0124 on normal window sums and rises well past 3x that when
// a tenth of the sums come from bursts.
TEST(DetectorTest, LevelStatisticAndExceedanceRateSeparateBurstySums) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  WindowMeanTest w;
  std::vector<double> z;
  for (int i = 0; i < 40; ++i) {
    z.push_back(normal(rng));
    w.Step(z.back(), 1.0, 0.0);
    EXPECT_EQ(w.ready(), i >= WindowMeanTest::kWindow);
  }
  double sum = 0;
  for (size_t i = z.size() - WindowMeanTest::kWindow; i < z.size(); ++i) sum += std::clamp(z[i], -4.0, 4.0);
  // The learnt spread is 1 or more (its floor), so the statistic is at most the raw one.
  const double raw = sum / std::sqrt(static_cast<double>(WindowMeanTest::kWindow));
  EXPECT_LE(std::fabs(w.statistic()), std::fabs(raw) + 1e-12);
  EXPECT_NEAR(w.statistic() * std::sqrt(w.long_run_variance() > 1 ? w.long_run_variance() : 1.0), raw, 1e-9);
  ExcessTail calm(0.001), bursty(0.001);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 20000; ++i) {
    calm.Step(normal(rng));
    bursty.Step(u(rng) < 0.1 ? 10 + 5 * normal(rng) : normal(rng));
  }
  EXPECT_NEAR(calm.exceedance_rate(), ExcessTail::kNormalRate, 0.008);
  EXPECT_GT(bursty.exceedance_rate(), 3 * ExcessTail::kNormalRate);
  // Once bursty, a sum of 12 is a 1-in-hundreds event there, not 1e-33.
  EXPECT_GT(bursty.Step(12), 1e-3);
  EXPECT_LT(calm.Step(12), 1e-6);
}

// Recall (windows with an alert) and precision (alerts inside a window) of
// the default alerts on planted anomalies of the given kinds.
struct PrecisionRecall {
  double precision = 0, recall = 0;
  int64_t alerts = 0, windows = 0;
};

PrecisionRecall Measure(const std::vector<AnomalyKind>& kinds, int files, uint64_t seed) {
  int64_t hit_windows = 0, windows = 0, good_alerts = 0, alerts = 0;
  for (int f = 0; f < files; ++f) {
    GeneratorOptions g;
    g.seed = seed + static_cast<uint64_t>(f);
    g.kinds = kinds;
    g.anomalies = 2;
    g.length = 4000;
    g.daily_amplitude = f % 2 ? 5 : 0;
    g.weekly_amplitude = f % 4 == 1 ? 2 : 0;
    g.noise = 0.5 + f;
    g.level = 20 * g.noise;
    const LabelledSeries ls = GenerateSeries(g);
    auto scores = ScoreSeries(ls.series, ScoreOptions{});
    EXPECT_TRUE(scores.ok());
    const auto wins = NabWindows(static_cast<int64_t>(ls.series.y.size()), ls.labels);
    const int64_t t0 = ls.series.time[0], step = g.spacing;
    std::vector<bool> hit(wins.size(), false);
    for (const Alert& a : MakeAlerts(ls.series.id, *scores, AlertOptions{})) {
      ++alerts;
      const int64_t row = (a.start - t0) / step;
      bool inside = false;
      for (size_t w = 0; w < wins.size(); ++w) {
        if (wins[w].begin <= row && row <= wins[w].end) {
          inside = true;
          hit[w] = true;
        }
      }
      good_alerts += inside;
    }
    windows += static_cast<int64_t>(wins.size());
    hit_windows += std::count(hit.begin(), hit.end(), true);
  }
  PrecisionRecall pr;
  pr.alerts = alerts;
  pr.windows = windows;
  pr.recall = windows ? static_cast<double>(hit_windows) / static_cast<double>(windows) : 0;
  pr.precision = alerts ? static_cast<double>(good_alerts) / static_cast<double>(alerts) : 0;
  return pr;
}

TEST(DetectorTest, FindsPlantedSpikesShiftsAndVarianceChanges) {
  // Measured: recall 0.875 (28 of 32 windows), precision 0.93 at the default
  // alert threshold (0.84 and 0.90 with the ensemble's slow level rate at
  // 0.02 instead of 0.0075; 0.81 and 0.78 before the exact variance-CUSUM exponent
  // and the window-mean and period-difference level tests; 0.88 and 0.68
  // before the clean-run fixes).
  const PrecisionRecall pr =
      Measure({AnomalyKind::kSpike, AnomalyKind::kLevelShift, AnomalyKind::kVarianceChange}, 16, 100);
  RecordProperty("precision", std::to_string(pr.precision));
  RecordProperty("recall", std::to_string(pr.recall));
  EXPECT_GE(pr.recall, 0.8) << pr.alerts << " alerts for " << pr.windows << " windows";
  EXPECT_GE(pr.precision, 0.6) << pr.alerts << " alerts for " << pr.windows << " windows";
}

TEST(DetectorTest, SeasonalBreaksAndDriftsAreHarder) {
  // Point-level: a window counts as found when any of its points is flagged
  // (score >= 0.5). Measured: 15 of 32 windows (14 with the slow level rate
  // at 0.02, 13 before the level tests,
  // 16 before the clean-run fixes); a known weakness.
  int64_t found = 0, windows = 0;
  for (int f = 0; f < 16; ++f) {
    GeneratorOptions g;
    g.seed = 300 + static_cast<uint64_t>(f);
    g.kinds = {AnomalyKind::kSeasonalBreak, AnomalyKind::kDrift};
    g.anomalies = 2;
    g.daily_amplitude = f % 2 ? 5 : 0;
    const LabelledSeries ls = GenerateSeries(g);
    auto scores = ScoreSeries(ls.series, ScoreOptions{});
    ASSERT_TRUE(scores.ok());
    for (const NabWindow& w : NabWindows(static_cast<int64_t>(ls.series.y.size()), ls.labels)) {
      ++windows;
      bool hit = false;
      for (int64_t i = w.begin; i <= w.end; ++i) hit = hit || (*scores)[static_cast<size_t>(i)].is_anomaly;
      found += hit;
    }
  }
  RecordProperty("recall", std::to_string(static_cast<double>(found) / static_cast<double>(windows)));
  EXPECT_GE(5 * found, 2 * windows) << found << " of " << windows;
}

TEST(DetectorTest, EnsembleBeatsItsPartsOnGeneratedCorpus) {
  const std::vector<LabelledSeries> corpus = GenerateCorpus(30, 77);
  std::map<std::string, double> standard;
  for (const std::string& name : DetectorNames()) {
    std::vector<NabFile> files;
    for (const LabelledSeries& ls : corpus) {
      ScoreOptions so;
      so.detector = name;
      auto scores = ScoreSeries(ls.series, so);
      ASSERT_TRUE(scores.ok());
      files.push_back({Scores(*scores), NabWindows(static_cast<int64_t>(ls.series.y.size()), ls.labels)});
    }
    standard[name] = ScoreNabBest(files, NabProfiles()[0]).normalized;
    RecordProperty(name, std::to_string(standard[name]));
  }
  for (const std::string name : {"seasonal", "changepoint", "surprise"}) {
    EXPECT_GT(standard["ensemble"], standard[name] + 5) << name;
  }
  EXPECT_GT(standard["ensemble"], 55);
}

// Scores of `name` over x (5-minute spacing, probation 300 points).
// Scores of x as 5-minute points from t = 0 by detector `name` with options o
// (their spacing set to 300 s).
std::vector<double> RunDetectorWith(const std::string& name, const std::vector<double>& x, DetectorOptions o) {
  o.spacing = 300;
  auto d = MakeDetector(name, o);
  EXPECT_TRUE(d.ok());
  std::vector<double> out;
  if (!d.ok()) return out;
  for (size_t i = 0; i < x.size(); ++i) out.push_back((*d)->Update(static_cast<int64_t>(i) * 300, x[i]));
  return out;
}

std::vector<double> RunDetector(const std::string& name, const std::vector<double>& x,
                                std::vector<int64_t> periods = {}) {
  DetectorOptions o;
  o.periods = std::move(periods);
  return RunDetectorWith(name, x, o);
}

double MaxScore(const std::vector<double>& s, size_t begin, size_t end) {
  double m = 0;
  for (size_t i = begin; i < end && i < s.size(); ++i) m = std::max(m, s[i]);
  return m;
}

TEST(BocpdTest, FlagsLevelShiftAndVarianceChangeWithinAFewPoints) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  // A level shift of 3 sd at 1500, then a variance change (sd x 3) at 3000.
  // Measured: the shift first scores >= 0.5 at +5 points (peak 0.504, a
  // narrow margin: a 3-sd shift is about the smallest bocpd flags within a
  // few points), the variance change at +1 (peak 0.87); max before the shift 0.13.
  std::vector<double> x;
  for (int i = 0; i < 4500; ++i) {
    const double sd = i >= 3000 ? 3.0 : 1.0;
    x.push_back(10 + (i >= 1500 && i < 3000 ? 3.0 : 0.0) + sd * normal(rng));
  }
  const std::vector<double> s = RunDetector("bocpd", x);
  EXPECT_LT(MaxScore(s, 300, 1500), 0.5);
  size_t first = 0;
  for (size_t i = 1500; i < 1600 && first == 0; ++i) first = s[i] >= 0.5 ? i : 0;
  EXPECT_GE(first, 1500u);
  EXPECT_LE(first, 1510u) << "level shift flagged " << first - 1500 << " points late";
  first = 0;
  for (size_t i = 3000; i < 3100 && first == 0; ++i) first = s[i] >= 0.5 ? i : 0;
  EXPECT_GE(first, 3000u);
  EXPECT_LE(first, 3010u) << "variance change flagged " << first - 3000 << " points late";
  RecordProperty("max_before_shift", std::to_string(MaxScore(s, 300, 1500)));
}

TEST(BocpdTest, QuietOnLongCleanGaussianSeries) {
  std::mt19937_64 rng(12);
  std::normal_distribution<double> normal;
  std::vector<double> x;
  for (int i = 0; i < 20000; ++i) x.push_back(5 + normal(rng));
  const std::vector<double> s = RunDetector("bocpd", x);
  const double m = MaxScore(s, 0, s.size());  // measured 0.26
  RecordProperty("max_clean", std::to_string(m));
  EXPECT_LT(m, 0.6);
}

TEST(BocpdTest, RunLengthPosteriorMovesToShortRunsAfterAShift) {
  BocpdModel b;
  std::mt19937_64 rng(13);
  std::normal_distribution<double> normal;
  for (int i = 0; i < 1000; ++i) b.Step(normal(rng));
  EXPECT_LT(b.short_mass(), 0.2);
  double p = 1;
  for (int i = 0; i < 5; ++i) p = b.Step(4 + normal(rng));
  EXPECT_GT(b.short_mass(), 0.95);  // measured 0.997
  EXPECT_LT(p, 1e-3);               // measured 4.6e-4
  for (int i = 0; i < 30; ++i) p = b.Step(4 + normal(rng));
  EXPECT_LT(b.short_mass(), 0.1);  // the change is no longer recent
  EXPECT_GT(p, 0.1);
}

TEST(ForecastDetectorTest, FlagsPlantedSpikeOnSeasonalDataAndNotCleanDays) {
  // Daily season (288 points of 5 minutes), amplitude 10, noise sd 1; 10 days.
  std::mt19937_64 rng(14);
  std::normal_distribution<double> normal;
  const double kPi = 3.14159265358979323846;
  std::vector<double> x;
  for (int i = 0; i < 2880; ++i) x.push_back(50 + 10 * std::sin(2 * kPi * i / 288.0) + normal(rng));
  const std::vector<double> clean = RunDetector("forecast", x, {86400});
  const double clean_max = MaxScore(clean, 1152, clean.size());
  RecordProperty("clean_max", std::to_string(clean_max));
  EXPECT_LT(clean_max, 0.5);  // measured 0.44 (0.62 before z was rescaled by its running mean square)
  x[2500] += 8;
  const std::vector<double> spiked = RunDetector("forecast", x, {86400});
  EXPECT_GE(spiked[2500], 0.5);
  for (size_t i = 0; i < 2500; ++i) ASSERT_EQ(spiked[i], clean[i]) << i;  // no look-ahead
  EXPECT_LT(MaxScore(spiked, 2501, spiked.size()), 0.5);  // the spike does not teach the next fit
}

// A nightly job's spike (NAB's ec2_cpu_utilization_24ae8d has one at about
// 03:20 every night) is the series' normal behaviour after a night or two;
// the same spike at an unusual hour, or three times its usual size, is not.
constexpr int kDay = 288;  // 5-minute points

// `days` of 5-minute points: base + amplitude * sin(time of day) + N(0, 1).
std::vector<double> DailySine(int days, double base, double amplitude, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  const double kPi = 3.14159265358979323846;
  std::vector<double> x;
  for (int i = 0; i < days * kDay; ++i) x.push_back(base + amplitude * std::sin(2 * kPi * i / kDay) + normal(rng));
  return x;
}

TEST(EnsembleTest, ANightlySpikeStopsAlarmingWhileALargerOneStillDoes) {
  std::mt19937_64 rng(21);
  std::vector<double> x = DailySine(12, 20, 3, rng);
  const int jitter[] = {-2, 1, 0, 2, -1, 1, -2, 0, 2, -1, 0, 1};  // +-10 minutes
  std::vector<size_t> nightly;
  for (int day = 1; day < 12; ++day) {
    const auto i = static_cast<size_t>(day * kDay + 39 + jitter[day]);  // 03:15
    x[i] += day == 10 ? 90 : 30;
    nightly.push_back(i);
  }
  const auto odd_hour = static_cast<size_t>(9 * kDay + 168);  // 14:00 on day 9
  x[odd_hour] += 30;
  const std::vector<double> s = RunDetector("ensemble", x, {86400});
  // Nights 1 and 2 may alarm (nothing recurs yet); from night 3 on, the job is known.
  double nightly_max = 0;
  for (size_t k = 2; k < nightly.size(); ++k) {
    if (k + 1 != 10) nightly_max = std::max(nightly_max, s[nightly[k]]);
  }
  RecordProperty("nightly_max", std::to_string(nightly_max));
  EXPECT_LT(nightly_max, 0.5);
  EXPECT_GE(s[odd_hour], 0.9);
  EXPECT_GE(s[nightly[9]], 0.9);  // night 10: three times the usual spike
}

// A nightly backup makes the metric noisy for half an hour: a variance change
// to the CUSUMs every night, which no profile of the mean learns. After a
// few nights it is the series' behaviour; the same noise in the afternoon
// is still an incident.
TEST(EnsembleTest, ANightlyNoisyHalfHourStopsAlarmingAndAnAfternoonOneDoesNot) {
  std::mt19937_64 rng(23);
  std::normal_distribution<double> normal;
  std::vector<double> x = DailySine(10, 50, 10, rng);
  for (int day = 0; day < 10; ++day) {
    for (int k = 36; k < 42; ++k) x[static_cast<size_t>(day * kDay + k)] += 6 * normal(rng);  // 03:00 to 03:30
  }
  const size_t afternoon = 8 * kDay + 180;  // 15:00 on day 8
  for (size_t i = afternoon; i < afternoon + 6; ++i) x[i] += 6 * normal(rng);
  const std::vector<double> s = RunDetector("ensemble", x, {86400});
  double nights = 0;
  for (int day = 4; day < 10; ++day) nights = std::max(nights, MaxScore(s, day * kDay + 36, day * kDay + 48));
  RecordProperty("nights_max", std::to_string(nights));
  EXPECT_LT(nights, 0.5);  // measured 0.40 (0.78 without the memory of the evidence)
  EXPECT_GE(MaxScore(s, afternoon, afternoon + 12), 0.6);  // measured 0.70: six noisy points are weak evidence
}

// RecordTest against the formula computed from the whole sorted history,
// with the default floor on the tail scale and the 20% the ensemble uses
// for point-to-point changes.
TEST(EnsembleTest, RecordTestIsTheTailFitOfTheWholeHistorysExtremes) {
  for (const double spread_floor : {RecordTest::kSpreadFloor, 0.2}) {
    SCOPED_TRACE(spread_floor);
    std::mt19937_64 rng(31);
    std::normal_distribution<double> normal;
    std::exponential_distribution<double> expo(1.0);
    constexpr int kK = 25;
    RecordTest test(kK, spread_floor);
    std::vector<double> history;
    int beyond = 0;
    for (int i = 0; i < 6000; ++i) {
      // Drifting, heavy-tailed, with plateaus (repeats) now and then.
      const double x = i % 97 == 0 ? 7.0 : 0.001 * i + normal(rng) + (i % 13 == 0 ? 3 * expo(rng) : 0);
      double want = 1;
      if (history.size() >= 2 * kK) {
        std::vector<double> s = history;
        std::sort(s.begin(), s.end());
        const double n = static_cast<double>(s.size()), hi_k = s[s.size() - kK], lo_k = s[kK - 1];
        const double floor = spread_floor * (hi_k - lo_k);
        double up = 0, down = 0;
        for (int j = 1; j < kK; ++j) {
          up += s[s.size() - kK + static_cast<size_t>(j)] - hi_k;
          down += lo_k - s[kK - 1 - static_cast<size_t>(j)];
        }
        up = std::max(up / (kK - 1), floor), down = std::max(down / (kK - 1), floor);
        if (x > hi_k) want = 2 * kK / n * std::exp(-(x - hi_k) / up);
        if (x < lo_k) want = 2 * kK / n * std::exp(-(lo_k - x) / down);
        want = std::min(1.0, want);
      }
      const double got = test.Step(x);
      beyond += want < 1;
      ASSERT_NEAR(got, want, 1e-12 + 1e-9 * want) << "point " << i << " x " << x;
      history.push_back(x);
    }
    EXPECT_GT(beyond, 20);  // the drift keeps making records
  }
}

// A CPU-like metric that jumps by a few points every hour (the hourly
// jumps make every residual model's scale wide) reaches a value it never
// reached in two weeks: only the record test sees it (grok_asg_anomaly in
// NAB's AWS files looks like this).
TEST(EnsembleTest, ANewMaximumHiddenByNoisyResidualsIsFlagged) {
  std::mt19937_64 rng(33);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x;
  for (int i = 0; i < 14 * kDay; ++i) {
    double v = 33.4 + 0.1 * normal(rng);
    if (i % 12 == 0 || u(rng) < 0.03) v += u(rng) < 0.5 ? 2.5 + 3 * u(rng) : -2.5 - 2 * u(rng);  // hourly jobs and stray jumps
    x.push_back(v);
  }
  const size_t at = 12 * kDay + 100;
  const double before = *std::max_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(at));
  x[at] = before + 4;  // about twice the jumps' spread above the top
  DetectorOptions o;
  o.periods = {};
  std::vector<double> with, without;
  for (int record_k : {25, 0}) {
    o.record_k = record_k;
    auto& out = record_k > 0 ? with : without;
    out = RunDetectorWith("ensemble", x, o);
    ASSERT_EQ(out.size(), x.size());
  }
  RecordProperty("score_with", std::to_string(with[at]));
  RecordProperty("score_without", std::to_string(without[at]));
  EXPECT_GE(with[at], 0.6) << "without the record test " << without[at];
  EXPECT_LT(without[at], 0.5);
  // Elsewhere the record test changes nothing that alerts.
  int extra = 0;
  for (size_t i = 0; i < x.size(); ++i) extra += i != at && with[i] >= 0.5 && without[i] < 0.5;
  EXPECT_EQ(extra, 0);
}

// An outage is an incident when it happens, not again a day later: the
// seasonal difference against the day before would see it a second time.
TEST(EnsembleTest, AnOutageIsFlaggedOnceAndDoesNotEchoADayLater) {
  std::mt19937_64 rng(22);
  std::normal_distribution<double> normal;
  std::vector<double> x = DailySine(10, 50, 10, rng);
  const size_t begin = 6 * kDay + 96, end = 6 * kDay + 168;  // day 6, 08:00 to 14:00
  for (size_t i = begin; i < end; ++i) x[i] = 0.5 + 0.1 * normal(rng);
  const std::vector<double> s = RunDetector("ensemble", x, {86400});
  EXPECT_GE(MaxScore(s, begin, begin + 12), 0.9);
  const double echo = MaxScore(s, begin + kDay, end + kDay + 24);
  RecordProperty("echo_max", std::to_string(echo));
  EXPECT_LT(echo, 0.5);
}

// Habituation against the rule written out: events of two points at 1e-7
// every 100 points; the k-th (from 0) is bounded once k >= after, by
// (k - after + 1) / points seen, at both of its points (the open event does
// not count itself); a kind of event a decade stronger counts only its own.
TEST(EnsembleTest, HabituationBoundsEvidenceTheSeriesHasShownOften) {
  constexpr int kAfter = 20;
  Habituation h(kAfter), off(0);
  int64_t n = 0;
  for (int k = 0; k < 40; ++k) {
    for (int j = 0; j < 100; ++j) {
      const double p = j < 2 ? 1e-7 : 0.5;
      ++n;
      const double got = h.Step(p);
      EXPECT_EQ(off.Step(p), p);
      const double want = j < 2 && k >= kAfter ? std::max(p, (k - kAfter + 1) / static_cast<double>(n)) : p;
      ASSERT_DOUBLE_EQ(got, want) << "event " << k << " point " << j;
    }
  }
  EXPECT_DOUBLE_EQ(h.Step(1e-9), 1e-9);  // evidence 9: no earlier event peaked at 8 or more
  ++n;
  // 6.5 counts the 40 events at 7 (5.5 and up), not the open one at 9.
  EXPECT_DOUBLE_EQ(h.Step(std::pow(10.0, -6.5)), (40 - kAfter + 1) / static_cast<double>(n + 1));
}

// The same spike (+20 on a flat line at 0) every 100 points, a period no
// profile has, as in NAB's art_increase_spike_density: the spike alarmed
// there forty times, every other one (the rest within the cooldown) before
// habituation. After twenty it becomes the series' behaviour, and ten times
// the spike still alarms.
TEST(EnsembleTest, ASpikeSeenTwentyTimesStopsAlarmingAndALargerOneStillDoes) {
  std::vector<double> x(7200, 0.0);
  std::vector<size_t> spikes;
  for (size_t i = 1000; i < 7000; i += 100) {
    x[i] = 20;
    spikes.push_back(i);
  }
  const size_t big = 7050;
  x[big] = 200;
  for (const int after : {20, 0}) {
    SCOPED_TRACE(after);
    DetectorOptions o;
    o.periods = {};
    o.habituate_after = after;
    const std::vector<double> s = RunDetectorWith("ensemble", x, o);
    ASSERT_EQ(s.size(), x.size());
    // From the 35th spike on (the bound ramps up with the count of earlier
    // ones), at the spike or the two points after it.
    int late_alarms = 0;
    double late_max = 0;
    for (size_t k = 34; k < spikes.size(); ++k) {
      const double m = MaxScore(s, spikes[k], spikes[k] + 3);
      late_alarms += m >= 0.5;
      late_max = std::max(late_max, m);
    }
    RecordProperty(after > 0 ? "late_max" : "late_alarms_off", std::to_string(after > 0 ? late_max : late_alarms));
    if (after > 0) {
      EXPECT_LT(late_max, 0.5);  // measured 0.48 (0.52 at the 32nd)
    } else {
      EXPECT_GE(late_alarms, 10);  // measured 13 of 26: the behaviour habituation removes
    }
    EXPECT_GE(s[big], 0.9);
  }
}

// Habituation must not hide an outage on a bursty count series: forty
// half-hour bursts (5x the Poisson rate of a daily cycle around 100 an
// interval) teach the series its bursts, and a drop to 0 for two hours is
// evidence of another kind and strength.
TEST(EnsembleTest, HabituatedBurstsDoNotHideAnOutage) {
  std::mt19937_64 rng(41);
  forecast::Series s;
  s.id = "tweets";
  std::vector<bool> burst(288 * 40, false);
  std::uniform_int_distribution<int> jitter(0, 50);
  for (int b = 0; b < 40; ++b) {
    const int start = 1000 + 250 * b + jitter(rng);
    for (int j = 0; j < 6; ++j) burst[static_cast<size_t>(start + j)] = true;
  }
  constexpr int kOutage = 11000;
  for (int i = 0; i < 288 * 40; ++i) {
    double rate = 100 * (1 + 0.5 * std::sin(2 * M_PI * i / 288)) * (burst[static_cast<size_t>(i)] ? 5 : 1);
    if (i >= kOutage && i < kOutage + 24) rate = 0;
    s.time.push_back(1700000000 + int64_t{300} * i);
    s.y.push_back(rate > 0 ? static_cast<double>(std::poisson_distribution<int>(rate)(rng)) : 0.0);
  }
  int alarms[2] = {0, 0};  // points >= 0.5 between the 20th burst and the outage, on and off
  for (const int after : {20, 0}) {
    SCOPED_TRACE(after);
    ScoreOptions o;
    o.detector_options.habituate_after = after;
    auto scores = ScoreSeries(s, o);
    ASSERT_TRUE(scores.ok());
    double outage = 0;
    for (int i = kOutage; i < kOutage + 24; ++i) outage = std::max(outage, (*scores)[static_cast<size_t>(i)].score);
    RecordProperty(after > 0 ? "outage_on" : "outage_off", std::to_string(outage));
    // Off, a burst reported just before puts the outage's first points in
    // its cool-down (measured 0.83); on, that burst is habituated (1.0).
    EXPECT_GE(outage, after > 0 ? 0.9 : 0.6);
    for (int i = 6000; i < kOutage; ++i) alarms[after > 0 ? 0 : 1] += (*scores)[static_cast<size_t>(i)].score >= 0.5;
  }
  RecordProperty("burst_alarms_on", std::to_string(alarms[0]));
  RecordProperty("burst_alarms_off", std::to_string(alarms[1]));
  EXPECT_LT(alarms[0], alarms[1]);
}

// One event is reported once: what follows a reported point is damped for
// the cooldown unless it is much stronger (by escalate_by) or first reaches
// the alert level (escalate_at) from below it.
TEST(EnsembleTest, EventReporterReportsAClimbOnceUnlessItEscalates) {
  DetectorOptions o;
  o.cooldown = 10;
  EventReporter r(o);
  const double damp = o.suppress_factor;
  EXPECT_DOUBLE_EQ(r.Step(0.2), 0.2);    // below suppress_above: nothing starts
  EXPECT_DOUBLE_EQ(r.Step(0.55), 0.55);  // reported: the peak
  EXPECT_DOUBLE_EQ(r.Step(0.58), 0.58 * damp);  // the same event
  EXPECT_DOUBLE_EQ(r.Step(0.62), 0.62);  // reaches the alert level from below it: reported
  EXPECT_DOUBLE_EQ(r.Step(0.8), 0.8 * damp);    // climbs less than 0.3 above 0.62
  EXPECT_DOUBLE_EQ(r.Step(0.95), 0.95);  // 0.33 above: reported
  for (int k = 0; k < 10; ++k) r.Step(0);  // the cooldown runs out
  EXPECT_DOUBLE_EQ(r.Step(0.7), 0.7);    // a new event
  // With the old margin of 0.1 and no alert level, each step of a climb counts.
  o.escalate_by = 0.1;
  o.escalate_at = 1;
  EventReporter old(o);
  int reported = 0;
  for (double s : {0.55, 0.68, 0.8, 0.95}) reported += old.Step(s) == s;
  EXPECT_EQ(reported, 4);
  EventReporter now(DetectorOptions{});
  reported = 0;
  for (double s : {0.55, 0.68, 0.8, 0.95}) reported += now.Step(s) == s;
  EXPECT_EQ(reported, 2);  // 0.55 and 0.68 (the alert level); 0.8 and 0.95 are within 0.3 of 0.68
}

// Tweet-like counts: a daily cycle from about 15 to 240 an interval,
// multiplicative bursts (a lognormal factor on the rate) and Poisson counts.
std::vector<double> DailyCounts(int days, std::mt19937_64& rng) {
  std::normal_distribution<double> burst(0, 0.35);
  const double kPi = 3.14159265358979323846;
  std::vector<double> x;
  for (int i = 0; i < days * kDay; ++i) {
    const double rate = std::exp(std::log(60.0) + 1.4 * std::sin(2 * kPi * i / kDay) + burst(rng));
    x.push_back(static_cast<double>(std::poisson_distribution<int>(rate)(rng)));
  }
  return x;
}

std::vector<double> RunTransform(const std::vector<double>& x, ValueTransform transform) {
  DetectorOptions o;
  o.periods = {86400};
  o.transform = transform;
  return RunDetectorWith("ensemble", x, o);
}

// On the raw scale a count series' busy hours are noisy and its quiet hours
// calm: the level and variance tests cry wolf. On a square-root scale the
// noise is nearly even. auto takes the root for whole numbers >= 0 with a
// median of at least 5 over the first 9 points, and the raw scale for
// anything else.
TEST(EnsembleTest, CountSeriesAreScoredOnASquareRootScale) {
  std::mt19937_64 rng(29);
  std::vector<double> x = DailyCounts(20, rng);
  const size_t surge = 16 * kDay + 120;  // 10:00 on day 16: two hours at four times the rate
  for (size_t i = surge; i < surge + 24; ++i) x[i] = std::round(4 * x[i]);
  const std::vector<double> raw = RunTransform(x, ValueTransform::kNone);
  const std::vector<double> root = RunTransform(x, ValueTransform::kSqrt);
  EXPECT_EQ(RunTransform(x, ValueTransform::kAuto), root);
  auto false_alarms = [&](const std::vector<double>& s) {
    int n = 0;
    for (size_t i = 0; i < s.size(); ++i) n += s[i] >= 0.5 && (i < surge || i >= surge + 48);
    return n;
  };
  RecordProperty("false_alarms_raw", std::to_string(false_alarms(raw)));
  RecordProperty("false_alarms_root", std::to_string(false_alarms(root)));
  RecordProperty("false_alarms_log", std::to_string(false_alarms(RunTransform(x, ValueTransform::kLog))));
  EXPECT_GE(false_alarms(raw), 5);  // measured 15 on the raw scale
  EXPECT_LE(2 * false_alarms(root), false_alarms(raw));  // measured 5 (1 with the log: these bursts are multiplicative)
  EXPECT_GE(MaxScore(root, surge, surge + 24), 0.6);
  // Not counts: a fractional value, a negative one, or a median below 5.
  for (double shift : {0.5, -80.0}) {
    std::vector<double> y = x;
    for (double& v : y) v += shift;
    EXPECT_EQ(RunTransform(y, ValueTransform::kAuto), RunTransform(y, ValueTransform::kNone)) << shift;
  }
  std::vector<double> small(3 * kDay, 3.0);
  for (size_t i = 0; i < small.size(); i += 7) small[i] = 4;
  EXPECT_EQ(RunTransform(small, ValueTransform::kAuto), RunTransform(small, ValueTransform::kNone));
  EXPECT_EQ(*ParseValueTransform("log"), ValueTransform::kLog);
  EXPECT_EQ(*ParseValueTransform("sqrt"), ValueTransform::kSqrt);
  EXPECT_FALSE(ParseValueTransform("boxcox").ok());
}

// ---- File mode -----------------------------------------------------------------

// ---- Saved state ---------------------------------------------------------------

// Runs `saved` and a detector loaded from its state at `cut` side by side
// over the rest of the stream: every score, expected value and kind equal.
void ExpectLoadedStateContinuesExactly(const std::string& name, const DetectorOptions& o, const std::vector<int64_t>& t,
                                       const std::vector<double>& x, size_t cut, size_t* state_bytes = nullptr) {
  SCOPED_TRACE(name + " saved after " + std::to_string(cut) + " points");
  auto made = MakeDetector(name, o);
  ASSERT_TRUE(made.ok());
  std::unique_ptr<Detector> saved = std::move(made).value();
  for (size_t i = 0; i < cut; ++i) saved->Update(t[i], x[i]);
  const std::string state = saved->SaveState();
  if (state_bytes) *state_bytes = state.size();
  auto loaded = LoadDetector(state);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->name(), name);
  EXPECT_EQ((*loaded)->SaveState(), state);  // nothing lost or added on the way through
  int scored = 0;
  for (size_t i = cut; i < x.size(); ++i) {
    const double a = saved->Update(t[i], x[i]), b = (*loaded)->Update(t[i], x[i]);
    ASSERT_EQ(a, b) << "at " << i;
    const double ea = saved->expected(), eb = (*loaded)->expected();
    ASSERT_TRUE((std::isnan(ea) && std::isnan(eb)) || ea == eb) << "expected at " << i << ": " << ea << " vs " << eb;
    ASSERT_EQ(saved->kind(), (*loaded)->kind()) << "at " << i;
    scored += a > 0;
  }
  // The stream after the cut was really scored (not all zero), so equality says something.
  if (cut + 400 < x.size()) {
    EXPECT_GT(scored, 0);
  }
}

TEST(DetectorTest, ASavedStateContinuesTheStreamExactly) {
  // Two weeks of 5-minute points with a daily and a weekly shape, planted
  // anomalies of every kind and a gap of an hour, so that every part of the
  // ensemble (seasonal profiles, both time-of-day memories, the seasonal
  // differences against a day and a week, records, habituation, the
  // reporter's cool-down) holds state at the cut.
  GeneratorOptions g;
  g.length = 4200;
  g.anomalies = 4;
  g.seed = 12;
  forecast::Series s = GenerateSeries(g).series;
  s.time.erase(s.time.begin() + 3000, s.time.begin() + 3012);
  s.y.erase(s.y.begin() + 3000, s.y.begin() + 3012);
  // Options far from the defaults: a loaded detector must run with the saved ones.
  DetectorOptions o;
  o.probation = 100;
  o.habituate_after = 5;
  o.cooldown = 30;
  o.record_k = 10;
  for (const std::string& name : DetectorNames()) {
    // Inside the spacing warm-up, at its end, and warmed up (before and after the week is learnt).
    std::vector<size_t> cuts = {0, 4, 9, 1500, 3500};
    if (name == "forecast") cuts = {0, 9, 3500};  // its refits make each run slow; 3500 holds a fitted state
    // Right after the points that scored, and two points later: inside a
    // cool-down, an open habituation event, a run of seasonal-difference
    // evidence (state that is back at its default a few points on).
    auto d = MakeDetector(name, o);
    ASSERT_TRUE(d.ok());
    for (size_t i = 0; i < s.y.size() && cuts.size() < 17 && name != "forecast"; ++i) {
      if ((*d)->Update(s.time[i], s.y[i]) > 0.3 && i + 3 < s.y.size()) {
        cuts.push_back(i + 1);
        cuts.push_back(i + 3);
      }
    }
    for (size_t cut : cuts) ExpectLoadedStateContinuesExactly(name, o, s.time, s.y, cut);
  }
  // A count series on the square-root scale (the transform chosen from the first points is saved too).
  std::mt19937_64 rng(31);
  const std::vector<double> counts = DailyCounts(9, rng);
  std::vector<int64_t> t(counts.size());
  for (size_t i = 0; i < t.size(); ++i) t[i] = 1704067200 + 300 * static_cast<int64_t>(i);
  size_t bytes = 0;
  ExpectLoadedStateContinuesExactly("ensemble", DetectorOptions{}, t, counts, 2000, &bytes);
  // The ensemble's state is its fixed-size tables: small enough to write after every request.
  EXPECT_LT(bytes, 512u * 1024u);
}

TEST(DetectorTest, CorruptOrForeignStatesAreRefused) {
  GeneratorOptions g;
  g.length = 1000;
  const forecast::Series s = GenerateSeries(g).series;
  auto d = MakeDetector("ensemble", DetectorOptions{});
  ASSERT_TRUE(d.ok());
  for (size_t i = 0; i < s.y.size(); ++i) (*d)->Update(s.time[i], s.y[i]);
  const std::string state = (*d)->SaveState();
  EXPECT_TRUE(LoadDetector(state).ok());
  auto refused = [](std::string_view bytes) {
    auto r = LoadDetector(bytes);
    return !r.ok() && r.status().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("not a state at all"));
  EXPECT_TRUE(refused(state.substr(0, state.size() / 2)));
  EXPECT_TRUE(refused(state.substr(0, state.size() - 1)));
  EXPECT_TRUE(refused(state + "x"));  // trailing bytes
  std::string other_version = state;
  other_version[8 + std::string_view("opspilot anomaly detector state").size()] ^= 0x7f;  // after the magic's length and text
  auto r = LoadDetector(other_version);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("version"), std::string::npos) << r.status().message();
  // A length that runs past the end is caught before anything is allocated for it.
  std::string huge = state;
  const size_t name_length_at = 8 + std::string_view("opspilot anomaly detector state").size() + 4;
  huge[name_length_at + 7] = 0x40;  // the detector name's length, most significant byte
  EXPECT_TRUE(refused(huge));
  // Field values overwritten with extremes, all along the state: either the
  // state is refused, or the detector it makes keeps scoring in [0, 1]
  // (no index, size or time that it trusts leads it out of its arrays).
  for (const char* name : {"ensemble", "seasonal", "robust", "bocpd"}) {
    testing::StateFuzzOptions fuzz;
    fuzz.first = 40;  // past the magic and the version
    const testing::StateFuzzResult fuzzed = testing::FuzzDetectorState(name, s, fuzz);
    EXPECT_EQ(fuzzed.failure, "") << name;
    EXPECT_GT(fuzzed.tried - fuzzed.loaded, 0) << name;  // some were refused: the checks are not all vacuous
  }
}

TEST(FileModeTest, ReadsNabLayoutAndLongFormatAndWritesScores) {
  testing::TempDir dir;
  const std::string nab = dir.Write("machine_temp.csv",
                                    "timestamp,value\n2014-04-01 00:00:00,1.5\n2014-04-01 00:05:00,2\n"
                                    "2014-04-01 00:10:00,2.5\n");
  auto s = ReadMetricCsv(nab);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].id, "machine_temp");
  EXPECT_EQ((*s)[0].y, (std::vector<double>{1.5, 2, 2.5}));
  EXPECT_EQ((*s)[0].time[1] - (*s)[0].time[0], 300);

  const std::string lng = dir.Write("long.csv", "series_id,timestamp,value\nb,2025-01-01T00:00:00Z,1\n"
                                                "a,2025-01-01T00:00:00Z,5\nb,2024-12-31T23:00:00Z,0\n");
  s = ReadMetricCsv(lng);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].id, "b");  // order of first appearance
  EXPECT_EQ((*s)[0].y, (std::vector<double>{0, 1}));  // sorted by time

  const std::string named = dir.Write("named.csv", "ts,reading\n1700000000,3\n1700000060,4\n");
  EXPECT_FALSE(ReadMetricCsv(named).ok());
  MetricCsvOptions mo;
  mo.timestamp_col = "ts";
  mo.value_col = "reading";
  s = ReadMetricCsv(named, mo);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].y.size(), 2u);

  const std::string bad = dir.Write("bad.csv", "timestamp,value\n2025-01-01,1\n2025-01-02,x\n");
  auto r = ReadMetricCsv(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(":3:"), std::string::npos) << r.status().message();

  ScoredSeries out{"a,b", {{1735689600, 1.5, 0.25, false}, {1735689900, 9, 0.75, true}}};
  EXPECT_EQ(ScoresCsv({out}),
            "series_id,timestamp,value,score,is_anomaly\n"
            "\"a,b\",2025-01-01T00:00:00Z,1.5,0.250000,0\n"
            "\"a,b\",2025-01-01T00:05:00Z,9,0.750000,1\n");
  ASSERT_TRUE(WriteScoresCsv(dir.file("scores.csv"), {out}).ok());
  EXPECT_EQ(testing::ReadFile(dir.file("scores.csv")), ScoresCsv({out}));
  // --explain: the forecast (empty while there is none) and the kind of change.
  out.scores[1].expected = 2.5;
  out.scores[1].kind = ChangeKind::kLevelShift;
  EXPECT_EQ(ScoresCsv({out}, /*explain=*/true),
            "series_id,timestamp,value,score,is_anomaly,expected,kind\n"
            "\"a,b\",2025-01-01T00:00:00Z,1.5,0.250000,0,,\n"
            "\"a,b\",2025-01-01T00:05:00Z,9,0.750000,1,2.5,level_shift\n");
}

TEST(FileModeTest, StreamingScoresEqualTheInMemoryScores) {
  // Three interleaved series of different lengths, each with a planted
  // spike; every row in time order per series.
  testing::TempDir dir;
  std::string csv = "region,ts,v\n";
  std::map<std::string, std::vector<std::pair<int64_t, double>>> planted;
  const std::vector<std::string> ids = {"east", "west", "a,b"};
  for (int i = 0; i < 30000; ++i) {  // 75,000 rows: more than one of the stream's 64k-row batches
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k == 2 && i % 2 == 1) continue;  // "a,b" has half the rows
      const int64_t t = 1735689600 + int64_t{300} * i;
      double v = 100 + 20 * std::sin(i * 6.283185307179586 / 288) + ((i * 7919 + static_cast<int>(k) * 31) % 17) / 4.0;
      if (i == 2000 + 100 * static_cast<int>(k)) v += 80;
      csv += CsvLine({ids[k], std::to_string(t), std::to_string(v)});
      csv += "\n";
      planted[ids[k]].emplace_back(t, v);
    }
  }
  const std::string path = dir.Write("metrics.csv", csv);
  MetricCsvOptions mo;
  mo.id_col = "region";
  mo.timestamp_col = "ts";
  mo.value_col = "v";
  auto scan = ScanMetricCsv(path, mo);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_TRUE(scan->in_time_order);
  EXPECT_EQ(scan->series, ids);
  EXPECT_EQ(scan->points, (std::vector<int64_t>{30000, 30000, 15000}));
  EXPECT_EQ(scan->rows, 75000);

  ScoreOptions so;  // the ensemble, NAB probation per series
  std::vector<std::vector<Score>> streamed(ids.size());
  ASSERT_TRUE(StreamMetricCsv(path, mo, *scan, so, [&](size_t k, const Score& p) { streamed[k].push_back(p); }).ok());
  // With a pool (series scored in parallel lanes; 2 lanes for 3 series, so
  // one lane serves two) and without, the same scores in the same order.
  ThreadPool pool(1);
  std::vector<std::pair<size_t, Score>> serial, parallel;
  ASSERT_TRUE(StreamMetricCsv(path, mo, *scan, so, [&](size_t k, const Score& p) { serial.emplace_back(k, p); }).ok());
  ASSERT_TRUE(StreamMetricCsv(path, mo, *scan, so, [&](size_t k, const Score& p) { parallel.emplace_back(k, p); }, &pool).ok());
  ASSERT_EQ(serial.size(), 75000u);
  ASSERT_EQ(parallel.size(), serial.size());
  for (size_t i = 0; i < serial.size(); ++i) {
    ASSERT_EQ(parallel[i].first, serial[i].first) << i;
    ASSERT_EQ(parallel[i].second.timestamp, serial[i].second.timestamp) << i;
    ASSERT_EQ(parallel[i].second.score, serial[i].second.score) << i;
  }
  auto series = ReadMetricCsv(path, mo);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    auto whole = ScoreSeries((*series)[k], so);
    ASSERT_TRUE(whole.ok());
    ASSERT_EQ(streamed[k].size(), whole->size()) << ids[k];
    for (size_t i = 0; i < whole->size(); ++i) {
      ASSERT_EQ(streamed[k][i].timestamp, (*whole)[i].timestamp);
      ASSERT_EQ(streamed[k][i].value, (*whole)[i].value);
      ASSERT_EQ(streamed[k][i].score, (*whole)[i].score) << ids[k] << " point " << i;
      ASSERT_EQ(streamed[k][i].kind, (*whole)[i].kind) << ids[k] << " point " << i;
      const double e = streamed[k][i].expected, we = (*whole)[i].expected;
      ASSERT_TRUE(e == we || (std::isnan(e) && std::isnan(we))) << ids[k] << " point " << i;
    }
    // After the warm-up every point has the ensemble's forecast, and the spike a kind.
    EXPECT_FALSE(std::isnan(streamed[k].back().expected)) << ids[k];
    // The planted spike is there to be found, after the series' own probation.
    const size_t spike = k == 2 ? (2000 + 100 * k) / 2 : 2000 + 100 * k;
    EXPECT_GE(streamed[k][spike].score, 0.5) << ids[k];
    EXPECT_NE(streamed[k][spike].kind, ChangeKind::kNone) << ids[k];
    for (size_t i = 0; i < static_cast<size_t>(NabProbation(scan->points[k])); ++i) ASSERT_EQ(streamed[k][i].score, 0);
  }
  std::string rows = kScoresCsvHeader;
  AppendScoreRow(&rows, "a,b", streamed[2][0]);
  EXPECT_EQ(rows, ScoresCsv({{"a,b", {streamed[2][0]}}}));

  // A series out of time order is noticed (the in-memory path sorts it); streaming refuses it.
  const std::string unsorted = dir.Write("unsorted.csv", "series_id,timestamp,value\nx,1700000600,1\ny,1700000000,2\n"
                                                         "x,1700000000,3\n");
  auto us = ScanMetricCsv(unsorted);
  ASSERT_TRUE(us.ok());
  EXPECT_FALSE(us->in_time_order);
  EXPECT_FALSE(StreamMetricCsv(unsorted, {}, *us, so, [](size_t, const Score&) {}).ok());
  // Bad rows are reported by the scan with file, line and field, like ReadMetricCsv.
  const std::string bad = dir.Write("bad.csv", "timestamp,value\n2025-01-01,1\n2025-01-02,x\n");
  auto b = ScanMetricCsv(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("bad.csv:3: field 'value'"), std::string::npos) << b.status().message();
  // A file that changed between the passes is refused, not half-scored silently.
  MetricCsvScan stale = *scan;
  stale.rows = 10;
  EXPECT_EQ(StreamMetricCsv(path, mo, stale, so, [](size_t, const Score&) {}).code(), StatusCode::kFailedPrecondition);
  stale.rows = scan->rows + 1;  // the file shrank
  int64_t reported = 0;
  EXPECT_EQ(StreamMetricCsv(path, mo, stale, so, [&](size_t, const Score&) { ++reported; }).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(reported, 65536);  // the full batches before the end; the last one is withheld
}

// Each alert carries what the detector expected at its peak and the kind of
// change its deciding test saw. Planted spikes, level shifts and variance
// changes (one per series, 16 series each) must be told apart: the kind of
// the first alert after each onset matches the planted kind for at least
// two thirds of them (measured: spikes 12 of 13, level shifts 8 of 10 as a
// level shift or drift, variance changes 12 of 16), and at a spike the
// expected value is the series' level just before it, not the spike.
TEST(FileModeTest, ARunWithStateScoresOnlyWhatIsNewAndContinuesExactly) {
  // Two interleaved series, the file growing between runs (as a cron job sees an export).
  testing::TempDir dir;
  const std::vector<std::string> ids = {"east", "west"};
  std::map<std::string, forecast::Series> whole;
  auto file = [&](int rows, const std::string& name) {
    std::string csv = "series_id,timestamp,value\n";
    for (int i = 0; i < rows; ++i) {
      for (size_t k = 0; k < ids.size(); ++k) {
        const int64_t t = 1735689600 + int64_t{300} * i;
        double v = 100 + 20 * std::sin(i * 6.283185307179586 / 288) + ((i * 7919 + static_cast<int>(k) * 31) % 17) / 4.0;
        if (i == 2600 + 50 * static_cast<int>(k)) v -= 70;
        csv += ids[k] + "," + std::to_string(t) + "," + std::to_string(v) + "\n";
        if (rows == 3000) {
          whole[ids[k]].id = ids[k];
          whole[ids[k]].time.push_back(t);
          whole[ids[k]].y.push_back(std::stod(std::to_string(v)));
        }
      }
    }
    return dir.Write(name, csv);
  };
  const std::string part = file(2000, "part.csv"), full = file(3000, "full.csv");
  ScoreOptions so;
  so.nab_probation = false;  // the same probation (300) whatever a run's length
  // The reference: each whole series through one detector, no state.
  std::map<std::string, std::vector<Score>> reference;
  for (const auto& [id, s] : whole) reference[id] = ScoreSeries(s, so).value();

  for (const bool streamed : {true, false}) {
    SCOPED_TRACE(streamed ? "streamed" : "in memory");
    so.state_dir = dir.file(streamed ? "state-streamed" : "state-memory");
    std::map<std::string, std::vector<Score>> got;
    auto run = [&](const std::string& path) -> Status {
      if (streamed) {
        ASSIGN_OR_RETURN(auto scan, ScanMetricCsv(path));
        return StreamMetricCsv(path, {}, scan, so, [&](size_t k, const Score& p) { got[scan.series[k]].push_back(p); });
      }
      ASSIGN_OR_RETURN(auto series, ReadMetricCsv(path));
      for (const auto& s : series) {
        ASSIGN_OR_RETURN(auto scores, ScoreSeries(s, so));
        for (const Score& p : scores) got[s.id].push_back(p);
      }
      return Status::Ok();
    };
    ASSERT_TRUE(run(part).ok());
    // A run's states are pending until its output is out: the caller puts them in place.
    EXPECT_FALSE(std::filesystem::exists(SavedStreamPath(so.state_dir, "east")));
    ASSERT_TRUE(CommitSavedStreams(so.state_dir).ok());
    for (const auto& id : ids) EXPECT_EQ(got[id].size(), 2000u) << id;
    const std::string east_state = SavedStreamPath(so.state_dir, "east");
    ASSERT_TRUE(std::filesystem::exists(east_state));
    // The grown file: only its last 1000 rows per series are scored, each exactly as one detector over the whole series.
    ASSERT_TRUE(run(full).ok());
    ASSERT_TRUE(CommitSavedStreams(so.state_dir).ok());
    for (const auto& id : ids) {
      ASSERT_EQ(got[id].size(), 3000u) << id;
      for (size_t i = 0; i < 3000; ++i) {
        const Score &a = got[id][i], &b = reference[id][i];
        ASSERT_EQ(a.timestamp, b.timestamp) << id << " " << i;
        ASSERT_EQ(a.score, b.score) << id << " " << i;
        ASSERT_EQ(a.kind, b.kind) << id << " " << i;
        ASSERT_TRUE((std::isnan(a.expected) && std::isnan(b.expected)) || a.expected == b.expected) << id << " " << i;
      }
      EXPECT_TRUE(got[id][2600 + (id == "west" ? 50 : 0)].is_anomaly) << id;  // the drop, found after the restart
    }
    // Nothing new: nothing scored, the state untouched.
    const auto written = std::filesystem::last_write_time(east_state);
    const std::string before = ReadFile(east_state).value();
    ASSERT_TRUE(run(full).ok());
    ASSERT_TRUE(CommitSavedStreams(so.state_dir).ok());
    for (const auto& id : ids) EXPECT_EQ(got[id].size(), 3000u) << id;
    EXPECT_EQ(ReadFile(east_state).value(), before);
    EXPECT_EQ(std::filesystem::last_write_time(east_state), written);
    // Other settings than the saved ones are refused, naming the state file.
    ScoreOptions other = so;
    other.detector = "seasonal";
    Status refused;
    if (streamed) {
      auto scan = ScanMetricCsv(full).value();
      refused = StreamMetricCsv(full, {}, scan, other, [](size_t, const Score&) {});
    } else {
      refused = ScoreSeries(whole["east"], other).status();
    }
    EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.message().find(".state: series 'east' was saved with detector 'ensemble', not 'seasonal'"), std::string::npos)
        << refused.message();
    // A state file that is not one is an error naming it, not a silent fresh start.
    std::ofstream(east_state, std::ios::trunc) << "garbage";
    auto broken = ReadSavedStream(east_state, "east");
    EXPECT_EQ(broken.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(broken.status().message().find(east_state), std::string::npos);
  }
}

TEST(AlertTest, AlertsSayWhatWasExpectedAndWhatKindOfChangeItWas) {
  struct Case {
    AnomalyKind planted;
    std::vector<ChangeKind> accept;  // what counts as telling it right
  };
  const std::vector<Case> cases = {{AnomalyKind::kSpike, {ChangeKind::kSpike}},
                                   {AnomalyKind::kLevelShift, {ChangeKind::kLevelShift, ChangeKind::kDrift}},
                                   {AnomalyKind::kVarianceChange, {ChangeKind::kVarianceChange}}};
  AlertOptions ao;
  ao.threshold = 0.5;
  std::map<std::string, int> seen;
  for (const Case& c : cases) {
    int found = 0, right = 0, spikes_near = 0;
    for (uint64_t seed = 1; seed <= 16; ++seed) {
      GeneratorOptions g;
      g.length = 3000;
      g.anomalies = 1;
      g.kinds = {c.planted};
      g.seed = 900 + seed;
      const LabelledSeries ls = GenerateSeries(g);
      const auto scores = ScoreSeries(ls.series, ScoreOptions());
      ASSERT_TRUE(scores.ok());
      const int64_t label = ls.labels[0];
      const int64_t t_label = ls.series.time[static_cast<size_t>(label)];
      for (const Alert& a : MakeAlerts("s", *scores, ao)) {
        if (a.start < t_label || a.start > t_label + 100 * 300) continue;
        ++found;
        ++seen[std::string(AnomalyKindName(c.planted)) + ">" + std::string(ChangeKindName(a.kind))];
        right += std::find(c.accept.begin(), c.accept.end(), a.kind) != c.accept.end();
        EXPECT_FALSE(std::isnan(a.expected));
        if (c.planted == AnomalyKind::kSpike && a.peak_time == t_label) {
          // The level just before the spike (three points; noise 1, daily amplitude 4).
          const auto l = static_cast<size_t>(label);
          const double before = (ls.series.y[l - 1] + ls.series.y[l - 2] + ls.series.y[l - 3]) / 3;
          EXPECT_LT(std::fabs(a.expected - before), 3.0) << "seed " << seed;
          EXPECT_GT(std::fabs(a.peak_value - a.expected), 3.0) << "seed " << seed;
          ++spikes_near;
        }
        break;
      }
    }
    EXPECT_GE(found, 10) << AnomalyKindName(c.planted);  // detection itself is tested elsewhere
    std::string told;
    for (const auto& [k, n] : seen) told += " " + k + "=" + std::to_string(n);
    EXPECT_GE(right, found * 2 / 3) << AnomalyKindName(c.planted) << ": " << right << " of " << found << ";" << told;
    if (c.planted == AnomalyKind::kSpike) {
      EXPECT_GE(spikes_near, 10);
    }
  }
}

// The forecast is reported on the series' own scale, whatever scale the
// models see: a count series scored on the square-root (or log) scale
// expects about its own level, not its root.
TEST(AlertTest, ExpectedIsOnTheSeriesOwnScale) {
  forecast::Series s;
  s.id = "orders";
  std::mt19937 rng(4);
  std::poisson_distribution<int> pois(400);
  for (int i = 0; i < 3000; ++i) {
    s.time.push_back(1704067200 + 300 * i);
    s.y.push_back(pois(rng));
  }
  for (ValueTransform tr : {ValueTransform::kAuto, ValueTransform::kNone, ValueTransform::kSqrt, ValueTransform::kLog}) {
    ScoreOptions so;
    so.detector_options.transform = tr;
    const auto scores = ScoreSeries(s, so);
    ASSERT_TRUE(scores.ok());
    double sum = 0;
    for (size_t i = 1000; i < scores->size(); ++i) sum += (*scores)[i].expected;
    EXPECT_NEAR(sum / static_cast<double>(scores->size() - 1000), 400, 8) << static_cast<int>(tr);
  }
}

TEST(AlertTest, MergesBurstsRespectsCooldownAndGradesSeverity) {
  std::vector<Score> s;
  for (int i = 0; i < 100; ++i) s.push_back({1000 + 60 * i, 0, 0.1, false});
  s[10].score = 0.55;  // burst 1: 10, 12 (2 minutes apart), peak 0.95 -> critical
  s[12].score = 0.95;
  s[50].score = 0.75;  // burst 2: 40 minutes later -> warning
  s[95].score = 0.6;   // burst 3 -> info
  AlertOptions o;
  o.threshold = 0.5;
  o.warning = 0.7;
  o.critical = 0.9;
  o.cooldown_seconds = 600;
  ASSERT_TRUE(ValidateAlertOptions(o).ok());
  auto alerts = MakeAlerts("m", s, o);
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0].points, 2);
  EXPECT_EQ(alerts[0].start, 1000 + 600);
  EXPECT_EQ(alerts[0].peak_time, 1000 + 720);
  EXPECT_EQ(alerts[0].severity, Severity::kCritical);
  EXPECT_EQ(alerts[1].severity, Severity::kWarning);
  EXPECT_EQ(alerts[2].severity, Severity::kInfo);
  o.cooldown_seconds = 2500;  // now bursts 1 and 2 (38 minutes apart) are one alert, 3 (45) is not
  alerts = MakeAlerts("m", s, o);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].points, 3);
  o.warning = 0.4;
  EXPECT_FALSE(ValidateAlertOptions(o).ok());
}

// ---- Root cause -------------------------------------------------------------------

std::vector<MetricRow> ShopRows(double east_app_rate_after, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  const std::vector<std::string> regions = {"north", "south", "east", "west"};
  const std::vector<std::string> channels = {"web", "app", "email"};
  std::vector<MetricRow> rows;
  for (int window = 0; window < 2; ++window) {
    for (size_t r = 0; r < regions.size(); ++r) {
      for (size_t c = 0; c < channels.size(); ++c) {
        const double sessions = 1000 * (1 + static_cast<double>(r)) * (c == 1 ? 2 : 1) * jitter(rng);
        double rate = 0.04 + 0.01 * static_cast<double>(c);
        if (window == 1 && regions[r] == "east" && channels[c] == "app") rate = east_app_rate_after;
        rows.push_back({{regions[r], channels[c]}, sessions * rate * jitter(rng), sessions, window == 1});
      }
    }
  }
  return rows;
}

TEST(RootCauseTest, RecoversPlantedSegmentOfAConversionDrop) {
  auto d = ExplainChange({"region", "channel"}, ShopRows(0.005, 3), DrillDownOptions{});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_LT(d->change, 0);
  ASSERT_FALSE(d->ranked.empty());
  // The summary names the planted cell, the more specific explanation.
  EXPECT_NE(d->summary.find("region = east, channel = app"), std::string::npos) << d->summary;
  // Among single values, east explains most of the drop.
  const Explanation* best_single = nullptr;
  for (const Explanation& e : d->ranked) {
    if (e.segment.size() == 1) {
      best_single = &e;
      break;
    }
  }
  ASSERT_NE(best_single, nullptr);
  EXPECT_EQ(best_single->segment[0], (std::pair<std::string, std::string>{"region", "east"}));
  EXPECT_GT(best_single->share, 0.6);
}

TEST(RootCauseTest, SharesOfOneDimensionSumToTheChange) {
  DrillDownOptions o;
  o.min_share = -1e9;  // keep every segment, negative shares too
  o.max_results = 1000;
  o.pairs = false;
  auto d = ExplainChange({"region", "channel"}, ShopRows(0.01, 4), o);
  ASSERT_TRUE(d.ok());
  std::map<std::string, double> sum;
  for (const Explanation& e : d->ranked) sum[e.segment[0].first] += e.share;
  EXPECT_NEAR(sum["region"], 1.0, 1e-9);
  EXPECT_NEAR(sum["channel"], 1.0, 1e-9);

  // Additive metric: revenue change by region.
  std::vector<MetricRow> rows = {{{"east"}, 100, 1, false}, {{"west"}, 100, 1, false},
                                 {{"east"}, 40, 1, true},   {{"west"}, 110, 1, true}};
  DrillDownOptions add;
  add.ratio = false;
  add.pairs = false;
  add.min_share = -1e9;
  d = ExplainChange({"region"}, rows, add);
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->change, -50);
  ASSERT_EQ(d->ranked.size(), 2u);
  EXPECT_EQ(d->ranked[0].segment[0].second, "east");
  EXPECT_DOUBLE_EQ(d->ranked[0].share, 60.0 / 50.0);
  EXPECT_DOUBLE_EQ(d->ranked[1].share, -10.0 / 50.0);
  EXPECT_FALSE(ExplainChange({"region", "x"}, rows, add).ok());
}

TEST(RootCauseTest, TrafficShiftBetweenEqualRatesExplainsNothing) {
  // Two segments with the same rate; traffic moves from one to the other and
  // a third segment's rate drops: the drop is all the third's.
  std::vector<MetricRow> rows = {{{"a"}, 50, 1000, false}, {{"b"}, 50, 1000, false}, {{"c"}, 50, 1000, false},
                                 {{"a"}, 25, 500, true},   {{"b"}, 75, 1500, true},   {{"c"}, 20, 1000, true}};
  DrillDownOptions o;
  o.pairs = false;
  o.min_share = -1e9;
  auto d = ExplainChange({"segment"}, rows, o);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->ranked[0].segment[0].second, "c");
  EXPECT_NEAR(d->ranked[0].share, 1.0, 1e-9);
}

// ---- Risk ----------------------------------------------------------------------------

double Auc(const std::vector<double>& score, const std::vector<int>& label) {
  double pos = 0, neg = 0, wins = 0;
  for (size_t i = 0; i < score.size(); ++i) {
    if (!label[i]) continue;
    ++pos;
    for (size_t j = 0; j < score.size(); ++j) {
      if (label[j]) continue;
      wins += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
    }
  }
  for (int l : label) neg += l == 0;
  return wins / (pos * neg);
}

// Orders: amount, items, account age, hour; outliers have a huge amount or
// many items at a brand-new account.
ml::TabularData Orders(int normal, int outliers, uint64_t seed, std::vector<int>* label, bool with_target) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0, 1);
  ml::TabularData d;
  for (const char* name : {"amount", "items", "account_age_days", "hour"}) d.schema.features.push_back({name, ml::FeatureKind::kNumeric, {}});
  d.rows = normal + outliers;
  for (int r = 0; r < d.rows; ++r) {
    const bool bad = r >= normal;
    double amount = std::exp(3.5 + 0.5 * n01(rng)), items = 1 + std::fabs(std::round(1.5 * n01(rng)));
    double age = 200 + 80 * n01(rng), hour = 14 + 4 * n01(rng);
    if (bad) {
      if (r % 2) {
        amount *= 12;
      } else {
        items += 12;
        age = 1;
      }
    }
    for (double v : {amount, items, age, hour}) d.x.push_back(static_cast<float>(v));
    d.ids.push_back("o" + std::to_string(r));
    label->push_back(bad);
    if (with_target) d.y.push_back(bad ? 1.f : 0.f);
  }
  if (with_target) {
    d.schema.target = "fraud";
    d.schema.task = ml::TaskKind::kBinary;
    d.schema.classes = {"0", "1"};
  }
  return d;
}

TEST(RiskTest, IsolationForestSeparatesPlantedOutliersWithReasons) {
  std::vector<int> label;
  const ml::TabularData d = Orders(2000, 40, 8, &label, false);
  auto forest = IsolationForest::Fit(d, IsolationForestOptions{});
  ASSERT_TRUE(forest.ok()) << forest.status().ToString();
  auto s = forest->Score(d);
  ASSERT_TRUE(s.ok());
  const double auc = Auc(*s, label);
  RecordProperty("auc", std::to_string(auc));
  EXPECT_GT(auc, 0.9);
  // Reasons name what was planted: amount for odd outliers, items or account age for even ones.
  int right = 0;
  for (int r = 2000; r < 2040; ++r) {
    auto why = forest->Explain(d, r, 2);
    ASSERT_TRUE(why.ok());
    ASSERT_EQ(why->size(), 2u);
    const std::string& top = (*why)[0].feature;
    right += r % 2 ? top == "amount" : (top == "items" || top == "account_age_days");
  }
  EXPECT_GE(right, 32) << right << " of 40";
  // A missing value does not break scoring.
  ml::TabularData m = d.Take(std::vector<int64_t>{0, 1});
  m.x[0] = NAN;
  EXPECT_TRUE(forest->Score(m).ok());
  IsolationForestOptions bad;
  bad.features = {"nope"};
  EXPECT_FALSE(IsolationForest::Fit(d, bad).ok());
}

TEST(RiskTest, VelocityAndBlocklistRulesCombineWithTheModel) {
  RuleInput in;
  in.time = {0, 100, 200, 300, 5000, 5100, 400, 500};
  in.columns["card"] = {"c1", "c1", "c1", "c1", "c1", "c2", "c1", "c3"};
  in.columns["email"] = {"a@x", "a@x", "a@x", "a@x", "a@x", "bad@y", "a@x", "ok@z"};
  VelocityRule v{"card_velocity", "card", 3600, 4, 0.7};
  BlocklistRule b{"email_blocklist", "email", {"bad@y"}, 1.0};
  auto hits = ApplyRules(8, in, {v}, {b});
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  // c1 at t = 0, 100, 200, 300, 400 (row 6): the 5th within an hour is a hit;
  // t = 5000 has only itself in its hour.
  for (size_t r = 0; r < 8; ++r) {
    const bool velocity = r == 6, blocked = r == 5;
    EXPECT_EQ((*hits)[r].size(), static_cast<size_t>(velocity + blocked)) << r;
  }
  in.columns["card"].pop_back();
  EXPECT_FALSE(ApplyRules(8, in, {v}, {b}).ok());
}

// Blocklists from a file (comments, blanks, an optional score, a path with a
// colon) and from JSON, with errors that name what is wrong.
TEST(RiskTest, BlocklistsReadFromFilesAndJson) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("a:b"));
  const std::string path = dir.Write("a:b/cards.txt", "\xEF\xBB\xBF" "c9\n# stolen cards\n\n  c12  \n#c13\n");  // a BOM first
  auto rule = ReadBlocklist("card:" + path);
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_EQ(rule->column, "card");
  EXPECT_EQ(rule->name, "card_blocklist");
  EXPECT_EQ(rule->values, (std::set<std::string>{"c9", "c12"}));
  EXPECT_EQ(rule->score, 1.0);
  rule = ReadBlocklist("card:" + path + ":0.65");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_EQ(rule->score, 0.65);
  EXPECT_EQ(rule->values.size(), 2u);
  EXPECT_FALSE(ReadBlocklist("card:" + path + ":1.5").ok());
  EXPECT_FALSE(ReadBlocklist("card").ok());
  EXPECT_FALSE(ReadBlocklist(":" + path).ok());
  const auto missing = ReadBlocklist("card:" + dir.file("none.txt"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("none.txt"), std::string::npos);

  auto j = BlocklistFromJson(nlohmann::json::parse(R"({"column": "email", "values": ["bad@y"], "score": 0.8})"), "b[0]");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->name, "email_blocklist");
  EXPECT_EQ(j->score, 0.8);
  EXPECT_EQ(j->values.count("bad@y"), 1u);
  const auto bad = BlocklistFromJson(nlohmann::json::parse(R"({"column": "email", "values": [1]})"), "b[1]");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("b[1]: field 'values'", 0), 0u) << bad.status().message();
  EXPECT_FALSE(BlocklistFromJson(nlohmann::json::parse(R"({"values": []})"), "b[2]").ok());
  EXPECT_FALSE(BlocklistFromJson(nlohmann::json::parse(R"({"column": "e", "values": [], "score": 2})"), "b[3]").ok());
}

TEST(RiskTest, VelocityRulesParseFromSpecsAndJson) {
  auto v = ParseVelocityRule("card:3600:10");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->name, "card_velocity");
  EXPECT_EQ(v->key, "card");
  EXPECT_EQ(v->window_seconds, 3600);
  EXPECT_EQ(v->max_count, 10);
  for (const char* bad : {"card", "card:3600", ":3600:10", "card:x:10", "card:3600:0", "card:0:10", "card:3600:10:1", "card:36s:10"}) {
    EXPECT_FALSE(ParseVelocityRule(bad).ok()) << bad;
  }
  auto j = VelocityFromJson(nlohmann::json::parse(R"({"key": "user_id", "window_seconds": 600, "max_count": 3, "score": 0.9})"), "v[0]");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->name, "user_id_velocity");
  EXPECT_EQ(j->max_count, 3);
  EXPECT_EQ(j->score, 0.9);
  const auto bad = VelocityFromJson(nlohmann::json::parse(R"({"key": "user_id", "window_seconds": 600})"), "v[1]");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("v[1]: ", 0), 0u);
  EXPECT_FALSE(VelocityFromJson(nlohmann::json::parse(R"({"key": "u", "window_seconds": 1, "max_count": 1, "score": 3})"), "v").ok());
}

TEST(RiskTest, SupervisedScoresAreOutOfFoldWithShapReasonsAndRulesAdd) {
  Context ctx(testing::QuietOptions());
  std::vector<int> label;
  const ml::TabularData d = Orders(600, 60, 12, &label, true);
  RuleInput in;
  in.columns["email"].assign(static_cast<size_t>(d.rows), "someone@x");
  in.columns["email"][3] = "fraudster@y";
  RiskOptions o;
  o.gbm.rounds = 40;
  o.blocklists.push_back({"email_blocklist", "email", {"fraudster@y"}, 0.9});
  auto res = ScoreRisk(ctx, d, in, o);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  std::vector<double> sup, iso;
  for (const RiskResult& r : *res) {
    ASSERT_GE(r.supervised, 0.0);
    sup.push_back(r.supervised);
    iso.push_back(r.isolation);
  }
  EXPECT_GT(Auc(sup, label), 0.9);
  EXPECT_GT(Auc(iso, label), 0.9);
  int flagged_with_reasons = 0, flagged = 0;
  for (const RiskResult& r : *res) {
    if (!r.flagged) continue;
    ++flagged;
    flagged_with_reasons += !r.reasons.empty();
  }
  EXPECT_GT(flagged, 30);
  EXPECT_EQ(flagged_with_reasons, flagged);
  // The blocklisted normal order is flagged by the rule on top of a low model score.
  const RiskResult& r3 = (*res)[3];
  ASSERT_EQ(r3.rules.size(), 1u);
  EXPECT_NEAR(r3.score, 1 - (1 - r3.model) * 0.1, 1e-12);
  EXPECT_TRUE(r3.flagged);
}


// ---- A NAB checkout: read, scored, written in NAB's results layout --------------

std::string NabTimeForTest(int64_t t) {
  std::string s = FormatTimestamp(t);  // 2024-01-01T00:00:00Z
  s.pop_back();
  s[10] = ' ';
  return s;
}

// A small NAB tree: two categories, four generated files with planted
// anomalies and one clean file; windows as NAB's labeler makes them.
struct FakeNab {
  testing::TempDir dir;
  std::vector<LabelledSeries> files;
  std::vector<std::string> names;
  FakeNab() {
    files = GenerateCorpus(4, 11);
    files.push_back(GenerateCorpus(1, 12, /*anomalies=*/false)[0]);
    names = {"artificialWithAnomaly/a0.csv", "artificialWithAnomaly/a1.csv", "realFake/r2.csv", "realFake/r3.csv",
             "realFake/clean.csv"};
    std::filesystem::create_directories(dir.file("data/artificialWithAnomaly"));
    std::filesystem::create_directories(dir.file("data/realFake"));
    std::filesystem::create_directories(dir.file("labels"));
    nlohmann::json windows = {{"realFake/not_in_this_checkout.csv", nlohmann::json::array()}};
    for (size_t k = 0; k < files.size(); ++k) {
      std::string csv = "timestamp,value\n";
      const auto& s = files[k].series;
      for (size_t i = 0; i < s.y.size(); ++i) csv += NabTimeForTest(s.time[i]) + "," + std::to_string(s.y[i]) + "\n";
      dir.Write("data/" + names[k], csv);
      nlohmann::json spans = nlohmann::json::array();
      for (const NabWindow& w : NabWindows(static_cast<int64_t>(s.y.size()), files[k].labels)) {
        spans.push_back({NabTimeForTest(s.time[static_cast<size_t>(w.begin)]) + ".000000",
                         NabTimeForTest(s.time[static_cast<size_t>(w.end)]) + ".000000"});
      }
      windows[names[k]] = spans;
    }
    dir.Write("labels/combined_windows.json", windows.dump(4));
  }
};

TEST(NabCorpusTest, WindowsFromTimesAreInclusiveMergedAndDropEmptySpans) {
  const std::vector<int64_t> t = {0, 10, 20, 30, 40, 50, 60};
  const auto w = WindowsFromTimes(t, {{35, 45}, {10, 20}, {19, 31}, {61, 99}, {-5, -1}, {52, 58}, {50, 60}});
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].begin, 1);  // [10, 20] and [19, 31] overlap: rows 1..3
  EXPECT_EQ(w[0].end, 3);
  EXPECT_EQ(w[1].begin, 4);  // [35, 45] holds row 4 only: touching is not overlapping
  EXPECT_EQ(w[1].end, 4);
  EXPECT_EQ(w[2].begin, 5);  // [50, 60], ends inclusive; [52, 58] and [61, 99] hold no row
  EXPECT_EQ(w[2].end, 6);
}

TEST(NabCorpusTest, ReadsACheckoutScoresItAsTheScorerDoesAndWritesNabResults) {
  FakeNab nab;
  auto corpus = ReadNabCorpus(nab.dir.path());
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  ASSERT_EQ(corpus->size(), 5u);
  // Sorted by name; windows back in rows exactly as the labeler made them.
  std::vector<std::string> sorted = nab.names;
  std::sort(sorted.begin(), sorted.end());
  std::vector<NabFile> direct;
  for (size_t k = 0; k < corpus->size(); ++k) {
    const NabCorpusFile& f = (*corpus)[k];
    EXPECT_EQ(f.name, sorted[k]);
    const size_t src = static_cast<size_t>(std::find(nab.names.begin(), nab.names.end(), f.name) - nab.names.begin());
    const auto& g = nab.files[src];
    ASSERT_EQ(f.series.y.size(), g.series.y.size());
    const auto expect = NabWindows(static_cast<int64_t>(g.series.y.size()), g.labels);
    ASSERT_EQ(f.windows.size(), expect.size()) << f.name;
    for (size_t j = 0; j < expect.size(); ++j) {
      EXPECT_EQ(f.windows[j].begin, expect[j].begin);
      EXPECT_EQ(f.windows[j].end, expect[j].end);
    }
    // The same detector run by hand on the parsed series.
    auto scores = ScoreSeries(f.series, ScoreOptions());
    ASSERT_TRUE(scores.ok());
    NabFile nf;
    for (const Score& s : *scores) nf.scores.push_back(s.score);
    nf.windows = expect;
    direct.push_back(std::move(nf));
  }
  Context ctx(testing::QuietOptions());
  NabRunOptions ro;
  ro.results_dir = nab.dir.file("results");
  auto run = RunNabCorpus(ctx, *corpus, ro);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->profiles.size(), NabProfiles().size());
  for (size_t p = 0; p < NabProfiles().size(); ++p) {
    const NabResult want = ScoreNabBest(direct, NabProfiles()[p]);
    EXPECT_DOUBLE_EQ(run->profiles[p].normalized, want.normalized);
    EXPECT_DOUBLE_EQ(run->profiles[p].threshold, want.threshold);
    EXPECT_EQ(run->profiles[p].tp, want.tp);
  }
  // The planted anomalies are found: better than the null detector.
  EXPECT_GT(run->profiles[0].normalized, 30);
  ASSERT_EQ(run->categories.size(), 2u);
  EXPECT_EQ(run->categories[0].name, "artificialWithAnomaly");
  EXPECT_EQ(run->categories[1].files, 3);
  EXPECT_EQ(run->categories[0].detected + run->categories[1].detected, run->profiles[0].tp);
  EXPECT_EQ(run->categories[0].false_positives + run->categories[1].false_positives, run->profiles[0].fp);

  // NAB's layout: results/opspilot/realFake/opspilot_r2.csv, one row per data row.
  const std::string text = testing::ReadFile(nab.dir.file("results/opspilot/realFake/opspilot_r2.csv"));
  ASSERT_FALSE(text.empty());
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "timestamp,value,anomaly_score,label");
  const NabCorpusFile& r2 = (*corpus)[3];
  ASSERT_EQ(r2.name, "realFake/r2.csv");
  int64_t rows = 0, labelled = 0, expect_labelled = 0;
  for (const NabWindow& w : r2.windows) expect_labelled += w.end - w.begin + 1;
  while (std::getline(in, line)) {
    const auto fields = [&] {
      std::vector<std::string> v;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) v.push_back(x);
      return v;
    }();
    ASSERT_EQ(fields.size(), 4u) << line;
    const size_t i = static_cast<size_t>(rows);
    EXPECT_EQ(fields[0], NabTimeForTest(r2.series.time[i]));
    EXPECT_EQ(std::stod(fields[2]), direct[3].scores[i]);  // full precision: NAB's sweep sees our ties, no more
    labelled += fields[3] == "1";
    ++rows;
  }
  EXPECT_EQ(rows, static_cast<int64_t>(r2.series.y.size()));
  EXPECT_EQ(labelled, expect_labelled);
  EXPECT_GT(labelled, 0);
  EXPECT_FALSE(std::filesystem::exists(nab.dir.file("results/opspilot/realFake/opspilot_r2.csv.tmp")));

  // NAB's runner.normalize files a detector under the text before its first
  // '_' (opspilot_ensemble as "opspilot"): such a name is refused, saying why.
  ro.detector_name = "opspilot_ensemble";
  auto underscored = RunNabCorpus(ctx, *corpus, ro);
  ASSERT_FALSE(underscored.ok());
  EXPECT_NE(underscored.status().message().find("camelCase"), std::string::npos) << underscored.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(nab.dir.file("results/opspilot_ensemble")));
}

TEST(NabCorpusTest, ADataFileWithoutWindowsAndABadWindowAreNamed) {
  FakeNab nab;
  nab.dir.Write("data/realFake/typo.csv", "timestamp,value\n2024-01-01 00:00:00,1\n");
  auto r = ReadNabCorpus(nab.dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("realFake/typo.csv"), std::string::npos) << r.status().ToString();
  std::filesystem::remove(nab.dir.file("data/realFake/typo.csv"));
  const std::string bad = nab.dir.Write("bad.json", R"({"artificialWithAnomaly/a0.csv": [["2024-01-02 00:00:00", "2024-01-01 00:00:00"]]})");
  r = ReadNabCorpus(nab.dir.path(), bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("a0.csv"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("ends before it starts"), std::string::npos) << r.status().ToString();
  const std::string junk = nab.dir.Write("junk.json", "{not json");
  r = ReadNabCorpus(nab.dir.path(), junk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("junk.json"), std::string::npos);
}

}  // namespace
}  // namespace opspilot::anomaly
