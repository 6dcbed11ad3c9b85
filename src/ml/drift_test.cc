#include "ml/drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ml/tuning.h"

namespace opspilot::ml {
namespace {

// O(n*m) reference for the KS statistic: max |F_a(x) - F_b(x)| over all points.
double BruteKs(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  std::vector<float> pts = a;
  pts.insert(pts.end(), b.begin(), b.end());
  for (float x : pts) {
    double fa = 0, fb = 0;
    for (float v : a) fa += v <= x;
    for (float v : b) fb += v <= x;
    d = std::max(d, std::abs(fa / static_cast<double>(a.size()) - fb / static_cast<double>(b.size())));
  }
  return d;
}

TabularData Table(std::mt19937_64* rng, double shift, double cat_shift, int n) {
  TabularData t;
  t.schema.features = {{"stable", FeatureKind::kNumeric, {}}, {"moved", FeatureKind::kNumeric, {}},
                       {"channel", FeatureKind::kCategorical, {"app", "web", "mini"}}};
  t.rows = n;
  std::normal_distribution<float> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    t.x.push_back(g(*rng));
    t.x.push_back(g(*rng) + static_cast<float>(shift));
    t.x.push_back(u(*rng) < 0.5 + cat_shift ? 0.0f : (u(*rng) < 0.5 ? 1.0f : 2.0f));
  }
  return t;
}

TEST(DriftTest, FindsTheShiftedFeaturesOnly) {
  std::mt19937_64 rng(1);
  TabularData ref = Table(&rng, 0, 0, 5000), cur = Table(&rng, 0.8, 0.35, 5000);
  auto report = DriftReport(ref, cur);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE((*report)[0].drifted);
  EXPECT_LT((*report)[0].psi, 0.05);
  EXPECT_TRUE((*report)[1].drifted);
  EXPECT_GT((*report)[1].psi, 0.25);
  EXPECT_LT((*report)[1].ks_p_value, 1e-10);
  EXPECT_TRUE((*report)[2].drifted);
  EXPECT_TRUE(std::isnan((*report)[2].ks));
}

TEST(DriftTest, KsMatchesBruteForceAndPsiOfIdenticalIsZero) {
  std::mt19937_64 rng(2);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> a, b;
  for (int i = 0; i < 300; ++i) a.push_back(std::round(g(rng) * 4) / 4);  // ties
  for (int i = 0; i < 200; ++i) b.push_back(std::round((g(rng) + 0.3f) * 4) / 4);
  double p = 0;
  EXPECT_NEAR(KsStatistic(a, b, &p), BruteKs(a, b), 1e-12);
  EXPECT_GT(p, 0);
  EXPECT_LT(p, 1);
  EXPECT_NEAR(Psi(a, a), 0, 1e-12);
}

TEST(TuningTest, SearchesFindTheOptimumOfAKnownFunction) {
  Context ctx;
  // Peak at lr = 0.1, depth = 6; the budget adds noise that shrinks as it grows.
  auto f = [](const ParamSet& p, int budget) -> StatusOr<double> {
    const double lr = p.at("lr"), depth = p.at("depth");
    return -std::pow(std::log10(lr) + 1, 2) - std::pow(depth - 6, 2) / 10 - 1.0 / budget;
  };
  std::vector<ParamRange> grid = {{"lr", {0.01, 0.1, 1.0}}, {"depth", {2, 6, 10}}};
  auto g = GridSearch(ctx, grid, f, 10);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->trials.size(), 9u);
  EXPECT_DOUBLE_EQ(g->best.params.at("lr"), 0.1);
  EXPECT_DOUBLE_EQ(g->best.params.at("depth"), 6);
  std::vector<ParamRange> space = {{"lr", {}, 0.001, 1.0, true}, {"depth", {}, 1, 12, false, true}};
  auto r = RandomSearch(ctx, space, f, 10, 60);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(std::log10(r->best.params.at("lr")), -1, 0.4);
  auto sh = SuccessiveHalving(ctx, space, f, 27, 1, 27, 3);
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->best.budget, 27);
  EXPECT_LT(sh->trials.size(), 27u * 4);
  EXPECT_NEAR(sh->best.params.at("depth"), 6, 2);
  EXPECT_FALSE(GridSearch(ctx, space, f, 1).ok());  // grid needs values
}

TEST(TuningTest, PermutationImportanceRanksTheUsedColumn) {
  // Score depends on column 1 only: permuting it costs 0.5, others nothing.
  auto imp = PermutationImportance(3, 1.0, [](int col, uint64_t) { return col == 1 ? 0.5 : 1.0; }, 3, 1);
  EXPECT_EQ(imp, (std::vector<double>{0, 0.5, 0}));
}

}  // namespace
}  // namespace opspilot::ml
