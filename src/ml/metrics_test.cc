#include "ml/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace opspilot::ml {
namespace {

// O(n^2) reference: P(score_pos > score_neg) + 0.5 P(tie).
double BruteAuc(const std::vector<int>& y, const std::vector<double>& s) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t j = 0; j < y.size(); ++j) {
      if (y[i] == 1 && y[j] == 0) {
        den += 1;
        num += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
      }
    }
  }
  return num / den;
}

TEST(MetricsTest, ClassificationByHand) {
  // truth: 0 0 1 1 2 2, pred: 0 1 1 1 2 0
  std::vector<int> t = {0, 0, 1, 1, 2, 2}, p = {0, 1, 1, 1, 2, 0};
  auto r = Classify(t, p, 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6);
  EXPECT_EQ(r.confusion.at(0, 1), 1);
  EXPECT_EQ(r.confusion.at(2, 0), 1);
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 0.5);   // predicted 0 twice, right once
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 1.0);
  EXPECT_DOUBLE_EQ(r.per_class[2].recall, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 0.8);
  EXPECT_DOUBLE_EQ(r.macro.recall, (0.5 + 1 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(r.micro.f1, r.accuracy);
  // A class never predicted has precision 0, not NaN.
  auto r2 = Classify(std::vector<int>{0, 1}, std::vector<int>{0, 0}, 2);
  EXPECT_DOUBLE_EQ(r2.per_class[1].precision, 0);
  EXPECT_TRUE(std::isnan(Classify(std::vector<int>{}, std::vector<int>{}, 2).accuracy));
}

TEST(MetricsTest, AucMatchesBruteForceWithTies) {
  std::mt19937 rng(1);
  std::vector<int> y;
  std::vector<double> s;
  for (int i = 0; i < 500; ++i) {
    y.push_back(static_cast<int>(rng() % 2));
    s.push_back(static_cast<double>(rng() % 20) + y.back() * 3);  // many ties
  }
  EXPECT_NEAR(RocAuc(y, s), BruteAuc(y, s), 1e-12);
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<int>{0, 0, 1, 1}, std::vector<double>{0.1, 0.4, 0.35, 0.8}), 0.75);
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<int>{1, 1}, std::vector<double>{0.1, 0.2})));
}

TEST(MetricsTest, AveragePrecisionByHand) {
  // Ranked: 1 (pos), 0.8 (neg), 0.6 (pos): AP = 0.5*1 + 0.5*(2/3).
  EXPECT_NEAR(PrAuc(std::vector<int>{1, 0, 1}, std::vector<double>{1.0, 0.8, 0.6}), 0.5 + 1.0 / 3, 1e-12);
  EXPECT_TRUE(std::isnan(PrAuc(std::vector<int>{0, 0}, std::vector<double>{0.1, 0.2})));
}

TEST(MetricsTest, ProbabilisticMetrics) {
  std::vector<int> y = {1, 0, 1, 0};
  std::vector<double> p = {0.9, 0.1, 0.6, 0.4};
  EXPECT_NEAR(LogLoss(y, p), -(std::log(0.9) * 2 + std::log(0.6) * 2) / 4, 1e-12);
  EXPECT_NEAR(Brier(y, p), (0.01 + 0.01 + 0.16 + 0.16) / 4, 1e-12);
  EXPECT_NEAR(LogLossMulti(std::vector<int>{0, 2}, std::vector<double>{0.7, 0.2, 0.1, 0.1, 0.1, 0.8}, 3),
              -(std::log(0.7) + std::log(0.8)) / 2, 1e-12);
  double ece = 0;
  auto bins = Reliability(y, p, 2, &ece);
  EXPECT_EQ(bins[0].count, 2);  // 0.1, 0.4
  EXPECT_DOUBLE_EQ(bins[0].fraction_positive, 0);
  EXPECT_DOUBLE_EQ(bins[1].mean_predicted, 0.75);
  EXPECT_NEAR(ece, (2 * 0.25 + 2 * 0.25) / 4, 1e-12);
  EXPECT_DOUBLE_EQ(Lift(std::vector<int>{1, 0, 0, 0}, std::vector<double>{0.9, 0.1, 0.2, 0.3}, 0.25), 4.0);
}

TEST(MetricsTest, RegressionAndScaledErrors) {
  std::vector<double> y = {1, 2, 4}, p = {2, 2, 2};
  EXPECT_DOUBLE_EQ(Mse(y, p), 5.0 / 3);
  EXPECT_DOUBLE_EQ(Mae(y, p), 1.0);
  EXPECT_DOUBLE_EQ(Mape(y, p), 100.0 * (1 + 0 + 0.5) / 3);
  EXPECT_NEAR(Smape(y, p), 100.0 * (2.0 / 3 + 0 + 2.0 * 2 / 6) / 3, 1e-12);
  EXPECT_TRUE(std::isnan(Mape(std::vector<double>{0}, std::vector<double>{1})));
  // History 1,3,5,7 with m=1: naive MAE = 2. Errors |10-9|, |12-9| -> MAE 2 -> MASE 1.
  std::vector<double> h = {1, 3, 5, 7};
  EXPECT_DOUBLE_EQ(Mase(h, std::vector<double>{10, 12}, std::vector<double>{9, 9}, 1), 1.0);
  EXPECT_DOUBLE_EQ(Rmsse(h, std::vector<double>{10, 12}, std::vector<double>{9, 9}, 1), std::sqrt(5.0 / 4));
  EXPECT_TRUE(std::isnan(Mase(std::vector<double>{3, 3}, y, p, 1)));
}

TEST(MetricsTest, RankingByHand) {
  std::vector<int32_t> ranked = {5, 1, 7, 3}, rel = {1, 3, 9};
  EXPECT_DOUBLE_EQ(HitRate(ranked, rel, 1), 0);
  EXPECT_DOUBLE_EQ(HitRate(ranked, rel, 2), 1);
  EXPECT_DOUBLE_EQ(RecallAt(ranked, rel, 4), 2.0 / 3);
  EXPECT_DOUBLE_EQ(PrecisionAt(ranked, rel, 4), 0.5);
  EXPECT_DOUBLE_EQ(MrrAt(ranked, rel, 4), 0.5);
  const double dcg = 1 / std::log2(3) + 1 / std::log2(5);
  const double idcg = 1 + 1 / std::log2(3) + 1 / std::log2(4);
  EXPECT_NEAR(NdcgAt(ranked, rel, 4), dcg / idcg, 1e-12);
  EXPECT_NEAR(ApAt(ranked, rel, 4), (1.0 / 2 + 2.0 / 4) / 3, 1e-12);
  EXPECT_TRUE(std::isnan(RecallAt(ranked, std::vector<int32_t>{}, 4)));
}

}  // namespace
}  // namespace opspilot::ml
