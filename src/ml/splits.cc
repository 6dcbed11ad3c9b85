#include "ml/splits.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/check.h"

namespace opspilot::ml {

void Shuffle(std::vector<int64_t>* v, std::mt19937_64* rng) {
  for (size_t i = v->size(); i > 1; --i) {
    const size_t j = static_cast<size_t>((*rng)() % i);
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

namespace {
std::vector<int64_t> Iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
void Finish(Split* s) {
  std::sort(s->train.begin(), s->train.end());
  std::sort(s->test.begin(), s->test.end());
}
}  // namespace

Split RandomSplit(int64_t n, double test_fraction, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto idx = Iota(n);
  Shuffle(&idx, &rng);
  const auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(n)));
  Split s;
  s.test.assign(idx.begin(), idx.begin() + static_cast<long>(n_test));
  s.train.assign(idx.begin() + static_cast<long>(n_test), idx.end());
  Finish(&s);
  return s;
}

Split StratifiedSplit(std::span<const int> labels, double test_fraction, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<int, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  Split s;
  for (auto& [label, rows] : by_class) {
    Shuffle(&rows, &rng);
    auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(rows.size())));
    if (n_test == 0 && rows.size() >= 2 && test_fraction > 0) n_test = 1;
    s.test.insert(s.test.end(), rows.begin(), rows.begin() + static_cast<long>(n_test));
    s.train.insert(s.train.end(), rows.begin() + static_cast<long>(n_test), rows.end());
  }
  Finish(&s);
  return s;
}

Split GroupSplit(std::span<const int32_t> groups, double test_fraction, uint64_t seed) {
  std::vector<int64_t> ids;
  {
    std::vector<int32_t> g(groups.begin(), groups.end());
    std::sort(g.begin(), g.end());
    g.erase(std::unique(g.begin(), g.end()), g.end());
    ids.assign(g.begin(), g.end());
  }
  std::mt19937_64 rng(seed);
  Shuffle(&ids, &rng);
  const auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(ids.size())));
  std::vector<int32_t> test_groups(ids.begin(), ids.begin() + static_cast<long>(n_test));
  std::sort(test_groups.begin(), test_groups.end());
  Split s;
  for (size_t i = 0; i < groups.size(); ++i) {
    (std::binary_search(test_groups.begin(), test_groups.end(), groups[i]) ? s.test : s.train)
        .push_back(static_cast<int64_t>(i));
  }
  return s;
}

Split TimeSplit(std::span<const int64_t> times, int64_t cutoff, int64_t gap) {
  Split s;
  for (size_t i = 0; i < times.size(); ++i) {
    if (times[i] >= cutoff) {
      s.test.push_back(static_cast<int64_t>(i));
    } else if (times[i] < cutoff - gap) {
      s.train.push_back(static_cast<int64_t>(i));
    }
  }
  return s;
}

Split TimeSplitFraction(std::span<const int64_t> times, double test_fraction, int64_t gap) {
  if (times.empty()) return {};
  std::vector<int64_t> sorted(times.begin(), times.end());
  std::sort(sorted.begin(), sorted.end());
  auto pos = static_cast<size_t>(std::llround((1 - test_fraction) * static_cast<double>(sorted.size())));
  pos = std::min(pos, sorted.size() - 1);
  return TimeSplit(times, sorted[pos], gap);
}

Status CheckNoFutureLeak(const Split& split, std::span<const int64_t> times) {
  if (split.test.empty() || split.train.empty()) return Status::Ok();
  int64_t first_test = INT64_MAX, last_train = INT64_MIN;
  for (int64_t i : split.test) first_test = std::min(first_test, times[static_cast<size_t>(i)]);
  for (int64_t i : split.train) last_train = std::max(last_train, times[static_cast<size_t>(i)]);
  if (last_train >= first_test) {
    return FailedPrecondition("time leak: a training row at t=" + std::to_string(last_train) +
                              " is not before the first test row at t=" + std::to_string(first_test));
  }
  return Status::Ok();
}

std::vector<Split> KFold(int64_t n, int k, uint64_t seed, std::span<const int> labels,
                         std::span<const int32_t> groups) {
  OP_CHECK(k >= 2) << "k-fold needs k >= 2";
  OP_CHECK(labels.empty() || groups.empty()) << "stratified or grouped, not both";
  std::mt19937_64 rng(seed);
  std::vector<int> fold(static_cast<size_t>(n), 0);
  if (!groups.empty()) {
    std::vector<int64_t> ids;
    std::map<int32_t, int> gfold;
    for (int32_t g : groups) gfold[g] = 0;
    for (const auto& [g, f] : gfold) ids.push_back(g);
    Shuffle(&ids, &rng);
    for (size_t i = 0; i < ids.size(); ++i) gfold[static_cast<int32_t>(ids[i])] = static_cast<int>(i % static_cast<size_t>(k));
    for (size_t i = 0; i < groups.size(); ++i) fold[i] = gfold[groups[i]];
  } else if (!labels.empty()) {
    std::map<int, std::vector<int64_t>> by_class;
    for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
    int offset = 0;  // continue the round-robin across classes to balance fold sizes
    for (auto& [label, rows] : by_class) {
      Shuffle(&rows, &rng);
      for (size_t i = 0; i < rows.size(); ++i) fold[static_cast<size_t>(rows[i])] = static_cast<int>((i + static_cast<size_t>(offset)) % static_cast<size_t>(k));
      offset = static_cast<int>((static_cast<size_t>(offset) + rows.size()) % static_cast<size_t>(k));
    }
  } else {
    auto idx = Iota(n);
    Shuffle(&idx, &rng);
    for (size_t i = 0; i < idx.size(); ++i) fold[static_cast<size_t>(idx[i])] = static_cast<int>(i % static_cast<size_t>(k));
  }
  std::vector<Split> out(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    for (int f = 0; f < k; ++f) {
      (fold[static_cast<size_t>(i)] == f ? out[static_cast<size_t>(f)].test : out[static_cast<size_t>(f)].train).push_back(i);
    }
  }
  return out;
}

std::vector<Split> TimeSeriesFolds(std::span<const int64_t> times, int k) {
  OP_CHECK(k >= 1);
  std::vector<int64_t> order = Iota(static_cast<int64_t>(times.size()));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return times[static_cast<size_t>(a)] < times[static_cast<size_t>(b)]; });
  const size_t n = order.size(), window = n / static_cast<size_t>(k + 1);
  std::vector<Split> out;
  for (int f = 0; f < k && window > 0; ++f) {
    const size_t test_begin = n - static_cast<size_t>(k - f) * window;
    const size_t test_end = f == k - 1 ? n : test_begin + window;
    const int64_t cutoff = times[static_cast<size_t>(order[test_begin])];
    Split s;
    for (size_t i = 0; i < test_begin; ++i) {
      if (times[static_cast<size_t>(order[i])] < cutoff) s.train.push_back(order[i]);
    }
    for (size_t i = test_begin; i < test_end; ++i) s.test.push_back(order[i]);
    Finish(&s);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace opspilot::ml
