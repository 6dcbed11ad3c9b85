#include "ml/sparse_linear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace opspilot::ml {
namespace {

// Rows of `classes` planted classes over 100 features: class k owns
// features 10k .. 10k+9 and each row has two of them plus four noise
// features from 60 .. 99 shared by all classes.
void Planted(int rows, int classes, uint64_t seed, SparseRows* x, std::vector<int32_t>* y) {
  std::mt19937_64 rng(seed);
  for (int r = 0; r < rows; ++r) {
    const auto c = static_cast<int32_t>(rng() % static_cast<uint64_t>(classes));
    std::vector<std::pair<int32_t, float>> f;
    for (int k = 0; k < 2; ++k) f.emplace_back(10 * c + static_cast<int32_t>(rng() % 10), 1.f);
    for (int k = 0; k < 4; ++k) f.emplace_back(60 + static_cast<int32_t>(rng() % 40), 1.f);
    std::sort(f.begin(), f.end());
    f.erase(std::unique(f.begin(), f.end(), [](const auto& a, const auto& b) { return a.first == b.first; }), f.end());
    x->Add(f);
    y->push_back(c);
  }
}

int32_t Argmax(const LinearWeights& w, const SparseRows& x, size_t r) {
  std::vector<float> s(static_cast<size_t>(w.classes));
  const size_t at = x.starts[r], n = x.starts[r + 1] - at;
  w.Scores(&x.index[at], &x.value[at], n, s.data());
  return static_cast<int32_t>(std::max_element(s.begin(), s.end()) - s.begin());
}

TEST(SparseLinear, SeparatesPlantedClassesOnNewRows) {
  SparseRows x, test;
  std::vector<int32_t> y, test_y;
  Planted(300, 4, 1, &x, &y);
  Planted(200, 4, 2, &test, &test_y);
  // A fifth class without rows: never predicted.
  auto w = TrainSparseLinear(x, 100, y, 5, {});
  ASSERT_TRUE(w.ok()) << w.status().message();
  int right = 0;
  for (size_t r = 0; r < test.size(); ++r) right += Argmax(*w, test, r) == test_y[r];
  EXPECT_GE(right, 196);
  EXPECT_FLOAT_EQ(w->bias[4], -10.f);
  for (int32_t f = 0; f < 100; ++f) EXPECT_EQ(w->w[static_cast<size_t>(f) * 5 + 4], 0.f);
  // Class 2's own features weigh for it, another class's against it.
  EXPECT_GT(w->w[25 * 5 + 2], 0.3f);
  EXPECT_LT(w->w[5 * 5 + 2], 0.f);
  // Scores are the bias plus the dot product.
  std::vector<float> s(5);
  const int32_t index[] = {21, 77};
  const float value[] = {0.5f, 2.f};
  w->Scores(index, value, 2, s.data());
  for (size_t k = 0; k < 5; ++k) EXPECT_FLOAT_EQ(s[k], w->bias[k] + 0.5f * w->w[21 * 5 + k] + 2.f * w->w[77 * 5 + k]);
  // The same seed gives the same weights.
  auto again = TrainSparseLinear(x, 100, y, 5, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->w, w->w);
}

TEST(SparseLinear, TwoClassesAreOneMirroredScorerAndLogisticLossWorksToo) {
  SparseRows x, test;
  std::vector<int32_t> y, test_y;
  Planted(200, 2, 3, &x, &y);
  Planted(100, 2, 4, &test, &test_y);
  for (LinearLoss loss : {LinearLoss::kSvm, LinearLoss::kLogistic}) {
    SparseLinearOptions o;
    o.loss = loss;
    auto w = TrainSparseLinear(x, 100, y, 2, o);
    ASSERT_TRUE(w.ok()) << w.status().message();
    for (int32_t f = 0; f < 100; ++f) EXPECT_FLOAT_EQ(w->w[static_cast<size_t>(f) * 2], -w->w[static_cast<size_t>(f) * 2 + 1]);
    EXPECT_FLOAT_EQ(w->bias[0], -w->bias[1]);
    int right = 0;
    for (size_t r = 0; r < test.size(); ++r) right += Argmax(*w, test, r) == test_y[r];
    EXPECT_GE(right, 98);
  }
}

TEST(SparseLinear, RefusesInconsistentInput) {
  SparseRows x;
  std::vector<int32_t> y;
  Planted(20, 2, 5, &x, &y);
  EXPECT_FALSE(TrainSparseLinear(x, 100, {0, 1}, 2, {}).ok());            // rows and classes differ
  EXPECT_FALSE(TrainSparseLinear(x, 50, y, 2, {}).ok());                  // a feature index past the count
  std::vector<int32_t> bad = y;
  bad[3] = 7;
  EXPECT_FALSE(TrainSparseLinear(x, 100, bad, 2, {}).ok());               // a class out of range
  EXPECT_FALSE(TrainSparseLinear(x, 100, std::vector<int32_t>(y.size(), 1), 2, {}).ok());  // one class only
  SparseLinearOptions o;
  o.c = 0;
  EXPECT_FALSE(TrainSparseLinear(x, 100, y, 2, o).ok());
}

}  // namespace
}  // namespace opspilot::ml
