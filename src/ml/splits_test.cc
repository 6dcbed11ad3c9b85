#include "ml/splits.h"

#include <gtest/gtest.h>

#include <set>

namespace opspilot::ml {
namespace {

TEST(SplitsTest, RandomIsDeterministicAndDisjoint) {
  auto a = RandomSplit(1000, 0.2, 7), b = RandomSplit(1000, 0.2, 7), c = RandomSplit(1000, 0.2, 8);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.test, c.test);
  EXPECT_EQ(a.test.size(), 200u);
  std::set<int64_t> all(a.train.begin(), a.train.end());
  for (int64_t i : a.test) EXPECT_TRUE(all.insert(i).second);
  EXPECT_EQ(all.size(), 1000u);
}

TEST(SplitsTest, StratifiedKeepsClassShares) {
  std::vector<int> y(1000, 0);
  for (int i = 0; i < 50; ++i) y[static_cast<size_t>(i * 20)] = 1;  // 5% minority
  auto s = StratifiedSplit(y, 0.2, 1);
  int pos = 0;
  for (int64_t i : s.test) pos += y[static_cast<size_t>(i)];
  EXPECT_EQ(pos, 10);
  EXPECT_EQ(s.test.size(), 200u);
}

TEST(SplitsTest, GroupsNeverStraddle) {
  std::vector<int32_t> g;
  for (int i = 0; i < 1000; ++i) g.push_back(i % 37);
  auto s = GroupSplit(g, 0.3, 2);
  std::set<int32_t> train_groups;
  for (int64_t i : s.train) train_groups.insert(g[static_cast<size_t>(i)]);
  for (int64_t i : s.test) EXPECT_EQ(train_groups.count(g[static_cast<size_t>(i)]), 0u);
  EXPECT_FALSE(s.test.empty());
}

TEST(SplitsTest, TimeSplitHasNoFutureLeakAndTheGuardCatchesOne) {
  std::vector<int64_t> t;
  for (int i = 0; i < 100; ++i) t.push_back((i * 7919) % 100);
  auto s = TimeSplitFraction(t, 0.2, 5);
  EXPECT_TRUE(CheckNoFutureLeak(s, t).ok());
  EXPECT_EQ(s.test.size(), 20u);
  EXPECT_EQ(s.train.size(), 75u);  // 5 rows fall in the gap
  auto leaky = RandomSplit(100, 0.2, 3);
  EXPECT_EQ(CheckNoFutureLeak(leaky, t).code(), StatusCode::kFailedPrecondition);
}

TEST(SplitsTest, KFoldCoversEveryRowOnceInAllModes) {
  std::vector<int> y;
  std::vector<int32_t> g;
  for (int i = 0; i < 103; ++i) {
    y.push_back(i % 4 == 0);
    g.push_back(i / 5);
  }
  for (int mode = 0; mode < 3; ++mode) {
    auto folds = mode == 0 ? KFold(103, 5, 1) : mode == 1 ? KFold(103, 5, 1, y) : KFold(103, 5, 1, {}, g);
    ASSERT_EQ(folds.size(), 5u);
    std::vector<int> seen(103, 0);
    for (const auto& f : folds) {
      for (int64_t i : f.test) seen[static_cast<size_t>(i)]++;
      EXPECT_EQ(f.train.size() + f.test.size(), 103u);
      if (mode == 1) {
        int pos = 0;
        for (int64_t i : f.test) pos += y[static_cast<size_t>(i)];
        EXPECT_NEAR(pos, 26.0 / 5, 1.0);
      }
      if (mode == 2) {
        std::set<int32_t> tg;
        for (int64_t i : f.train) tg.insert(g[static_cast<size_t>(i)]);
        for (int64_t i : f.test) EXPECT_EQ(tg.count(g[static_cast<size_t>(i)]), 0u);
      }
    }
    for (int c : seen) EXPECT_EQ(c, 1);
  }
  std::vector<int64_t> t;
  for (int i = 0; i < 60; ++i) t.push_back(1000 - i);
  for (const auto& f : TimeSeriesFolds(t, 3)) EXPECT_TRUE(CheckNoFutureLeak(f, t).ok());
}

}  // namespace
}  // namespace opspilot::ml
