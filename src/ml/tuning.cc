#include "ml/tuning.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace opspilot::ml {
namespace {

std::string Describe(const ParamSet& p) {
  std::string s;
  for (const auto& [k, v] : p) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s%s=%g", s.empty() ? "" : " ", k.c_str(), v);
    s += buf;
  }
  return s;
}

Status RunTrial(const Context& ctx, const Objective& f, ParamSet params, int budget, SearchResult* r) {
  ASSIGN_OR_RETURN(double score, f(params, budget));
  ctx.logger().Info("trial", {{"params", Describe(params)}, {"budget", budget}, {"score", score}});
  Trial t{std::move(params), budget, score};
  if (r->trials.empty() || score > r->best.score || std::isnan(r->best.score)) r->best = t;
  r->trials.push_back(std::move(t));
  return Status::Ok();
}

ParamSet Sample(const std::vector<ParamRange>& space, std::mt19937_64* rng) {
  ParamSet p;
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& r : space) {
    double v;
    if (!r.values.empty()) {
      v = r.values[static_cast<size_t>((*rng)() % r.values.size())];
    } else if (r.log_scale) {
      v = std::exp(std::log(r.low) + u(*rng) * (std::log(r.high) - std::log(r.low)));
    } else {
      v = r.low + u(*rng) * (r.high - r.low);
    }
    if (r.integer) v = std::round(v);
    p[r.name] = v;
  }
  return p;
}

Status CheckSpace(const std::vector<ParamRange>& space, bool grid) {
  if (space.empty()) return InvalidArgument("empty search space");
  for (const auto& r : space) {
    if (grid && r.values.empty()) return InvalidArgument("grid search needs values for '" + r.name + "'");
    if (r.values.empty() && !(r.high > r.low)) return InvalidArgument("bad range for '" + r.name + "'");
    if (r.values.empty() && r.log_scale && r.low <= 0) return InvalidArgument("log range of '" + r.name + "' must be > 0");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<SearchResult> GridSearch(const Context& ctx, const std::vector<ParamRange>& space, const Objective& f,
                                  int budget, int max_trials) {
  RETURN_IF_ERROR(CheckSpace(space, true));
  SearchResult r;
  std::vector<size_t> idx(space.size(), 0);
  for (int n = 0; n < max_trials; ++n) {
    ParamSet p;
    for (size_t i = 0; i < space.size(); ++i) p[space[i].name] = space[i].values[idx[i]];
    RETURN_IF_ERROR(RunTrial(ctx, f, std::move(p), budget, &r));
    size_t i = 0;
    while (i < idx.size() && ++idx[i] == space[i].values.size()) idx[i++] = 0;
    if (i == idx.size()) break;
  }
  return r;
}

StatusOr<SearchResult> RandomSearch(const Context& ctx, const std::vector<ParamRange>& space, const Objective& f,
                                    int budget, int trials) {
  RETURN_IF_ERROR(CheckSpace(space, false));
  std::mt19937_64 rng(ctx.seed());
  SearchResult r;
  for (int n = 0; n < trials; ++n) RETURN_IF_ERROR(RunTrial(ctx, f, Sample(space, &rng), budget, &r));
  return r;
}

StatusOr<SearchResult> SuccessiveHalving(const Context& ctx, const std::vector<ParamRange>& space,
                                         const Objective& f, int configs, int min_budget, int max_budget, int eta) {
  RETURN_IF_ERROR(CheckSpace(space, false));
  if (eta < 2 || min_budget < 1 || max_budget < min_budget || configs < 1) {
    return InvalidArgument("successive halving needs eta >= 2, 1 <= min budget <= max budget, configs >= 1");
  }
  std::mt19937_64 rng(ctx.seed());
  std::vector<ParamSet> alive;
  for (int i = 0; i < configs; ++i) alive.push_back(Sample(space, &rng));
  SearchResult r;
  for (int budget = min_budget;; budget = std::min(max_budget, budget * eta)) {
    std::vector<std::pair<double, size_t>> scores;
    for (size_t i = 0; i < alive.size(); ++i) {
      RETURN_IF_ERROR(RunTrial(ctx, f, alive[i], budget, &r));
      scores.emplace_back(r.trials.back().score, i);
    }
    if (budget >= max_budget || alive.size() == 1) break;
    std::stable_sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const size_t keep = std::max<size_t>(1, alive.size() / static_cast<size_t>(eta));
    std::vector<ParamSet> next;
    for (size_t i = 0; i < keep; ++i) next.push_back(alive[scores[i].second]);
    alive = std::move(next);
  }
  // The best is the best at the largest budget reached.
  int top = 0;
  for (const auto& t : r.trials) top = std::max(top, t.budget);
  bool first = true;
  for (const auto& t : r.trials) {
    if (t.budget == top && (first || t.score > r.best.score)) {
      r.best = t;
      first = false;
    }
  }
  return r;
}

std::vector<double> PermutationImportance(int columns, double baseline,
                                          const std::function<double(int col, uint64_t seed)>& permuted,
                                          int repeats, uint64_t seed) {
  std::vector<double> out(static_cast<size_t>(columns), 0);
  for (int c = 0; c < columns; ++c) {
    for (int k = 0; k < repeats; ++k) {
      out[static_cast<size_t>(c)] += baseline - permuted(c, seed + static_cast<uint64_t>(c * 1000 + k));
    }
    out[static_cast<size_t>(c)] /= std::max(1, repeats);
  }
  return out;
}

}  // namespace opspilot::ml
