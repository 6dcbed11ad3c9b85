// Full-ranking evaluation and validation-split tuning.
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>

#include "core/logging.h"
#include "recommend/internal.h"
#include "recommend/recommend.h"

namespace opspilot::recommend {

using nlohmann::json;

RankMetrics ScoreRanking(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k) {
  RankMetrics m;
  if (relevant.empty() || k <= 0) return m;
  std::vector<int32_t> rel(relevant.begin(), relevant.end());
  std::sort(rel.begin(), rel.end());
  const size_t n = std::min(ranked.size(), static_cast<size_t>(k));
  double dcg = 0, hits = 0, ap = 0;
  for (size_t r = 0; r < n; ++r) {
    if (!std::binary_search(rel.begin(), rel.end(), ranked[r])) continue;
    hits += 1;
    dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    ap += hits / static_cast<double>(r + 1);
    if (m.rr == 0) m.rr = 1.0 / static_cast<double>(r + 1);
  }
  double idcg = 0;
  const size_t ideal = std::min(rel.size(), static_cast<size_t>(k));
  for (size_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  m.recall = hits / static_cast<double>(rel.size());
  m.ndcg = dcg / idcg;
  m.hit = hits > 0 ? 1 : 0;
  m.precision = hits / static_cast<double>(k);
  m.ap = ap / static_cast<double>(ideal);
  return m;
}

StatusOr<std::map<std::string, double>> Evaluate(const Context& ctx, const Model& model, const Interactions& train,
                                                 const std::vector<std::vector<int32_t>>& held_out,
                                                 const EvalOptions& o) {
  if (o.ks.empty()) return InvalidArgument("evaluate: no cut-offs (K)");
  const int kmax = *std::max_element(o.ks.begin(), o.ks.end());
  const int32_t ni = train.num_items();
  std::vector<int32_t> users;
  int64_t cold = 0;
  for (size_t u = 0; u < held_out.size(); ++u) {
    if (held_out[u].empty()) continue;
    const bool no_history = static_cast<int32_t>(u) >= train.num_users() || train.begin[u] == train.begin[u + 1];
    if (o.skip_cold_users && no_history) {
      ++cold;
      continue;
    }
    users.push_back(static_cast<int32_t>(u));
  }
  if (users.empty()) return InvalidArgument("evaluate: no user has held-out items");
  if (o.max_users > 0 && static_cast<int64_t>(users.size()) > o.max_users) {
    std::vector<int32_t> sample;
    const double step = static_cast<double>(users.size()) / static_cast<double>(o.max_users);
    for (int64_t k = 0; k < o.max_users; ++k) sample.push_back(users[static_cast<size_t>(static_cast<double>(k) * step)]);
    users.swap(sample);
  }
  // Train popularity (distinct users per item) for the popularity-bias metric.
  const UserItems ui = Aggregate(train);
  std::vector<double> pop(static_cast<size_t>(ni), 0.0);
  for (int32_t i : ui.item) pop[static_cast<size_t>(i)] += 1;
  double mean_pop = 0;
  for (double p : pop) mean_pop += p;
  mean_pop = ni > 0 ? mean_pop / ni : 1;

  struct Acc {
    std::vector<RankMetrics> at;  // per k
    double rr = 0, pop_at_k = 0, sampled_hr = 0, sampled_ndcg = 0;
    int64_t sampled_n = 0;
    std::vector<uint8_t> shown;
  };
  const size_t nk = o.ks.size();
  std::mutex mu;
  Acc total;
  total.at.assign(nk, {});
  total.shown.assign(static_cast<size_t>(ni), 0);
  const int sampled_k = 10;
  ctx.pool().ParallelFor(static_cast<int64_t>(users.size()), 16, [&](int64_t lo, int64_t hi) {
    Acc acc;
    acc.at.assign(nk, {});
    acc.shown.assign(static_cast<size_t>(ni), 0);
    std::vector<float> scores(static_cast<size_t>(ni));
    std::mt19937_64 rng(o.seed + static_cast<uint64_t>(lo));
    std::uniform_int_distribution<int32_t> any(0, std::max(0, ni - 1));
    for (int64_t x = lo; x < hi; ++x) {
      const int32_t u = users[static_cast<size_t>(x)];
      const History h = HistoryOf(train, u);
      model.Score(h, scores);
      const float ninf = -std::numeric_limits<float>::infinity();
      for (float& s : scores) {
        if (std::isnan(s)) s = ninf;
      }
      const auto& rel = held_out[static_cast<size_t>(u)];
      // Sampled-negative scores are taken before train items are masked.
      if (o.sampled_negatives > 0) {
        for (int32_t target : rel) {
          const float ts = scores[static_cast<size_t>(target)];
          int better = 0;
          for (int s = 0; s < o.sampled_negatives; ++s) {
            int32_t neg;
            int tries = 0;
            do {
              neg = any(rng);
            } while (++tries < 100 && (std::binary_search(rel.begin(), rel.end(), neg) ||
                                       std::find(h.items.begin(), h.items.end(), neg) != h.items.end()));
            if (internal::Better(scores[static_cast<size_t>(neg)], neg, ts, target)) ++better;
          }
          acc.sampled_hr += better < sampled_k ? 1 : 0;
          acc.sampled_ndcg += better < sampled_k ? 1.0 / std::log2(better + 2.0) : 0;
          ++acc.sampled_n;
        }
      }
      if (o.exclude_train) {
        for (int32_t i : h.items) scores[static_cast<size_t>(i)] = ninf;
      }
      const std::vector<int32_t> top = internal::TopK(scores, static_cast<size_t>(kmax));
      for (size_t k = 0; k < nk; ++k) {
        const RankMetrics m = ScoreRanking(top, rel, o.ks[k]);
        auto& a = acc.at[k];
        a.recall += m.recall, a.ndcg += m.ndcg, a.hit += m.hit, a.precision += m.precision, a.ap += m.ap;
      }
      const size_t k0 = std::min(top.size(), static_cast<size_t>(o.ks[0]));
      double pp = 0;
      for (size_t r = 0; r < k0; ++r) {
        acc.shown[static_cast<size_t>(top[r])] = 1;
        pp += pop[static_cast<size_t>(top[r])];
      }
      acc.pop_at_k += k0 ? pp / static_cast<double>(k0) / std::max(mean_pop, 1e-12) : 0;
      // Reciprocal rank of the best-ranked relevant item over the full ranking.
      int64_t best_rank = INT64_MAX;
      for (int32_t t : rel) {
        const float ts = scores[static_cast<size_t>(t)];
        if (ts == ninf) continue;
        int64_t rank = 1;
        for (int32_t i = 0; i < ni; ++i) {
          if (internal::Better(scores[static_cast<size_t>(i)], i, ts, t)) ++rank;
        }
        best_rank = std::min(best_rank, rank);
      }
      if (best_rank != INT64_MAX) acc.rr += 1.0 / static_cast<double>(best_rank);
    }
    std::lock_guard<std::mutex> lock(mu);
    for (size_t k = 0; k < nk; ++k) {
      auto& t = total.at[k];
      const auto& a = acc.at[k];
      t.recall += a.recall, t.ndcg += a.ndcg, t.hit += a.hit, t.precision += a.precision, t.ap += a.ap;
    }
    total.rr += acc.rr, total.pop_at_k += acc.pop_at_k;
    total.sampled_hr += acc.sampled_hr, total.sampled_ndcg += acc.sampled_ndcg, total.sampled_n += acc.sampled_n;
    for (size_t i = 0; i < acc.shown.size(); ++i) total.shown[i] |= acc.shown[i];
  });
  const double n = static_cast<double>(users.size());
  std::map<std::string, double> out;
  for (size_t k = 0; k < nk; ++k) {
    const std::string s = std::to_string(o.ks[k]);
    const auto& t = total.at[k];
    out["recall@" + s] = t.recall / n;
    out["ndcg@" + s] = t.ndcg / n;
    out["hr@" + s] = t.hit / n;
    out["precision@" + s] = t.precision / n;
    out["map@" + s] = t.ap / n;
  }
  out["mrr"] = total.rr / n;
  int64_t shown = 0;
  for (uint8_t s : total.shown) shown += s;
  out["coverage@" + std::to_string(o.ks[0])] = ni > 0 ? static_cast<double>(shown) / ni : 0;
  out["popularity@" + std::to_string(o.ks[0])] = total.pop_at_k / n;
  out["users"] = n;
  out["cold_users"] = static_cast<double>(cold);
  if (o.sampled_negatives > 0 && total.sampled_n > 0) {
    const std::string pre = "sampled" + std::to_string(o.sampled_negatives) + "_";
    out[pre + "hr@10"] = total.sampled_hr / static_cast<double>(total.sampled_n);
    out[pre + "ndcg@10"] = total.sampled_ndcg / static_cast<double>(total.sampled_n);
  }
  return out;
}

StatusOr<TuneResult> Tune(const Context& ctx, const Interactions& train, const Catalog& catalog, const TuneOptions& o) {
  if (o.models.empty()) return InvalidArgument("tune: no candidate models");
  SplitOptions so = o.split;
  so.validation = false;  // the held-out part of train is the validation set
  ASSIGN_OR_RETURN(Split inner, SplitInteractions(train, so));
  EvalOptions eo = o.eval;
  if (eo.max_users == 0) eo.max_users = 5000;  // an even sample keeps tuning cheap
  json report = json::array();
  std::string best_name;
  json best_params;
  double best = -1;
  for (const auto& name : o.models) {
    json tried = json::array();
    for (const json& p : TuningGrid(name, o.grid_points)) {
      ASSIGN_OR_RETURN(auto model, MakeModel(name, p));
      Status st = model->Fit(ctx, inner.train, catalog);
      if (!st.ok()) {
        tried.push_back({{"params", p}, {"error", st.message()}});
        continue;
      }
      ASSIGN_OR_RETURN(auto metrics, Evaluate(ctx, *model, inner.train, inner.test, eo));
      if (!metrics.count(o.metric)) return InvalidArgument("tune: unknown metric '" + o.metric + "'");
      const double v = metrics[o.metric];
      tried.push_back({{"params", model->params()}, {o.metric, v}});
      const std::string params = model->params().dump();
      ctx.logger().Info("tune", {{"model", name}, {"params", params}, {o.metric, v}});
      if (v > best) best = v, best_name = name, best_params = model->params();
    }
    report.push_back({{"model", name}, {"tried", tried}});
  }
  if (best_name.empty()) return FailedPrecondition("tune: no candidate model could be fitted");
  ASSIGN_OR_RETURN(auto model, MakeModel(best_name, best_params));
  RETURN_IF_ERROR(model->Fit(ctx, train, catalog));
  TuneResult r;
  r.model = std::move(model);
  r.report = {{"selected", best_name}, {"params", best_params}, {"validation_" + o.metric, best}, {"candidates", report}};
  return r;
}

}  // namespace opspilot::recommend
