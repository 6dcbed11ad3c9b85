// Hyper-parameter search over any trainer: grid, random and successive
// halving. The objective trains with a parameter set and a budget (epochs,
// rounds) and returns a validation score, higher is better; every trial is
// logged. The caller re-trains the best configuration on all its data.
#ifndef OPSPILOT_ML_TUNING_H_
#define OPSPILOT_ML_TUNING_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/context.h"

namespace opspilot::ml {

using ParamSet = std::map<std::string, double>;

struct ParamRange {
  std::string name;
  std::vector<double> values;  // grid values; random search samples among them
  double low = 0, high = 0;    // random search range when `values` is empty
  bool log_scale = false;      // sample log-uniformly in [low, high]
  bool integer = false;        // round samples
};

struct Trial {
  ParamSet params;
  int budget = 0;
  double score = 0;
};

struct SearchResult {
  std::vector<Trial> trials;  // in the order run
  Trial best;
};

using Objective = std::function<StatusOr<double>(const ParamSet& params, int budget)>;

// Every combination of the ranges' values, at most max_trials of them.
StatusOr<SearchResult> GridSearch(const Context& ctx, const std::vector<ParamRange>& space, const Objective& f,
                                  int budget, int max_trials = 1000);
// `trials` random draws (seeded from the context).
StatusOr<SearchResult> RandomSearch(const Context& ctx, const std::vector<ParamRange>& space, const Objective& f,
                                    int budget, int trials);
// Successive halving: `configs` random draws at min_budget, the best 1/eta
// kept and given eta times the budget, until max_budget.
StatusOr<SearchResult> SuccessiveHalving(const Context& ctx, const std::vector<ParamRange>& space,
                                         const Objective& f, int configs, int min_budget, int max_budget,
                                         int eta = 3);

// Permutation importance for any model: the drop of `score` (higher is
// better) when one feature column is shuffled, averaged over `repeats`.
// `columns` is the number of features; `permuted(col, seed)` must return the
// score with that column shuffled by a generator seeded with `seed`.
std::vector<double> PermutationImportance(int columns, double baseline,
                                          const std::function<double(int col, uint64_t seed)>& permuted,
                                          int repeats, uint64_t seed);

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_TUNING_H_
