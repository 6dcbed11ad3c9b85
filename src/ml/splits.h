// Train/test splits and k-fold cross-validation over row indexes. All random
// choices come from the given seed (own Fisher-Yates over mt19937_64, so the
// same seed gives the same split on every standard library).
#ifndef OPSPILOT_ML_SPLITS_H_
#define OPSPILOT_ML_SPLITS_H_

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"

namespace opspilot::ml {

struct Split {
  std::vector<int64_t> train, test;  // row indexes, ascending
};

// Shuffles v in place, deterministically for a given generator state.
void Shuffle(std::vector<int64_t>* v, std::mt19937_64* rng);

Split RandomSplit(int64_t n, double test_fraction, uint64_t seed);
// Each class keeps its share on both sides (at least one test row per class with >= 2 rows).
Split StratifiedSplit(std::span<const int> labels, double test_fraction, uint64_t seed);
// No group appears on both sides; about test_fraction of the groups go to test.
Split GroupSplit(std::span<const int32_t> groups, double test_fraction, uint64_t seed);
// Train: time < cutoff - gap; test: time >= cutoff. Rows inside the gap are dropped.
Split TimeSplit(std::span<const int64_t> times, int64_t cutoff, int64_t gap = 0);
// The cutoff at the (1 - test_fraction) quantile of time.
Split TimeSplitFraction(std::span<const int64_t> times, double test_fraction, int64_t gap = 0);
// Leakage guard: fails if any training row is at or after the earliest test row.
Status CheckNoFutureLeak(const Split& split, std::span<const int64_t> times);

// k folds; stratified when labels are given, grouped when groups are given
// (not both). Every row is in exactly one test fold.
std::vector<Split> KFold(int64_t n, int k, uint64_t seed, std::span<const int> labels = {},
                         std::span<const int32_t> groups = {});
// Rolling-origin folds for time-ordered data: fold i trains on everything
// before its test window; windows are the last k equal slices of time order.
std::vector<Split> TimeSeriesFolds(std::span<const int64_t> times, int k);

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_SPLITS_H_
