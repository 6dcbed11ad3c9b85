// The built-in recommendation models: popularity, item-kNN, user-kNN, EASE,
// implicit ALS, content-based TF-IDF, and a hybrid blend.
#include <cblas.h>

#include <Eigen/Dense>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <unordered_map>

#include "core/strings.h"
#include "recommend/internal.h"
#include "recommend/recommend.h"

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
}

namespace opspilot::recommend {

using internal::ReadArray;
using internal::ReadJson;
using internal::WriteArray;
using internal::WriteJson;
using nlohmann::json;

namespace internal {

ItemUsers Transpose(const UserItems& ui, int32_t num_items) {
  ItemUsers t;
  t.begin.assign(static_cast<size_t>(num_items) + 1, 0);
  for (int32_t i : ui.item) ++t.begin[static_cast<size_t>(i) + 1];
  for (int32_t i = 0; i < num_items; ++i) t.begin[static_cast<size_t>(i) + 1] += t.begin[static_cast<size_t>(i)];
  t.user.resize(ui.item.size());
  t.weight.resize(ui.item.size());
  std::vector<int64_t> pos(t.begin.begin(), t.begin.end() - 1);
  const auto nu = static_cast<int32_t>(ui.begin.size()) - 1;
  for (int32_t u = 0; u < nu; ++u) {
    for (int64_t k = ui.begin[static_cast<size_t>(u)]; k < ui.begin[static_cast<size_t>(u) + 1]; ++k) {
      const auto p = static_cast<size_t>(pos[static_cast<size_t>(ui.item[static_cast<size_t>(k)])]++);
      t.user[p] = u;
      t.weight[p] = ui.weight[static_cast<size_t>(k)];
    }
  }
  return t;
}

Status WriteJson(const std::string& path, const json& j) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return Internal("cannot write " + path);
  f << j.dump(-1, ' ', false, json::error_handler_t::replace);
  f.close();
  return f ? Status::Ok() : Internal("error writing " + path);
}

StatusOr<json> ReadJson(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot open " + path);
  json j = json::parse(f, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  return j;
}

std::vector<float> ItemPopularity(const Interactions& train, double half_life_days,
                                  const std::vector<std::string>* segment_of_user, const std::string& segment) {
  std::vector<float> pop(static_cast<size_t>(train.num_items()), 0.f);
  const int64_t now = train.time.empty() ? 0 : *std::max_element(train.time.begin(), train.time.end());
  // Sequence numbers instead of times (files without timestamps): no decay.
  const bool decay = half_life_days > 0 && now > 100000000;
  const double rate = decay ? std::log(2.0) / (half_life_days * 86400.0) : 0.0;
  std::unordered_map<int32_t, int64_t> last;
  for (int32_t u = 0; u < train.num_users(); ++u) {
    if (segment_of_user && (static_cast<size_t>(u) >= segment_of_user->size() ||
                            (*segment_of_user)[static_cast<size_t>(u)] != segment)) {
      continue;
    }
    last.clear();
    for (int64_t k = train.begin[static_cast<size_t>(u)]; k < train.begin[static_cast<size_t>(u) + 1]; ++k) {
      last[train.item[static_cast<size_t>(k)]] = train.time[static_cast<size_t>(k)];
    }
    for (auto& [i, t] : last) {
      pop[static_cast<size_t>(i)] += decay ? static_cast<float>(std::exp(-rate * static_cast<double>(now - t))) : 1.f;
    }
  }
  return pop;
}

void MergeRepeats(std::vector<std::pair<int32_t, float>>* pairs) {
  auto& v = *pairs;
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
  size_t w = 0;
  for (size_t k = 0; k < v.size(); ++k) {
    if (w > 0 && v[w - 1].first == v[k].first) {
      v[w - 1].second += v[k].second;
    } else {
      v[w++] = v[k];
    }
  }
  v.resize(w);
}

std::vector<int32_t> TopK(std::span<const float> scores, size_t k) {
  std::vector<int32_t> idx;
  idx.reserve(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] != -std::numeric_limits<float>::infinity() && !std::isnan(scores[i])) {
      idx.push_back(static_cast<int32_t>(i));
    }
  }
  auto cmp = [&](int32_t a, int32_t b) {
    return Better(scores[static_cast<size_t>(a)], a, scores[static_cast<size_t>(b)], b);
  };
  if (idx.size() > k) {
    std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), cmp);
    idx.resize(k);
  }
  std::sort(idx.begin(), idx.end(), cmp);
  return idx;
}

}  // namespace internal

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();


// Distinct items of a history with summed weights.
std::vector<std::pair<int32_t, float>> Distinct(const History& h, int32_t num_items) {
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(h.size());
  for (size_t k = 0; k < h.size(); ++k) {
    if (h.items[k] >= 0 && h.items[k] < num_items) out.emplace_back(h.items[k], h.weights.empty() ? 1.f : h.weights[k]);
  }
  internal::MergeRepeats(&out);
  return out;
}

template <typename T>
T Param(const json& p, const char* key, T fallback) {
  return p.contains(key) ? p[key].get<T>() : fallback;
}

// ---------------------------------------------------------------- popularity

class PopularModel : public Model {
 public:
  explicit PopularModel(const json& p, bool trending)
      : trending_(trending), half_life_days_(Param(p, "half_life_days", trending ? 14.0 : 0.0)) {}
  std::string name() const override { return trending_ ? "trending" : "popular"; }
  json params() const override { return {{"half_life_days", half_life_days_}}; }

  Status Fit(const Context&, const Interactions& train, const Catalog&) override {
    pop_ = internal::ItemPopularity(train, half_life_days_);
    return Status::Ok();
  }
  void Score(const History&, std::span<float> scores) const override {
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = i < pop_.size() ? pop_[i] : 0.f;
  }
  Reason Explain(const History&, int32_t) const override { return {name(), -1, trending_ ? "trending" : "popular"}; }
  Status Save(const std::string& dir) const override { return WriteArray(dir + "/popularity.bin", pop_); }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(pop_, ReadArray<float>(dir + "/popularity.bin"));
    return Status::Ok();
  }

 private:
  bool trending_;
  double half_life_days_;
  std::vector<float> pop_;
};

// ---------------------------------------------------------------- latest

// The newest items first: by the time of each item's first interaction.
class LatestModel : public Model {
 public:
  explicit LatestModel(const json&) {}
  std::string name() const override { return "latest"; }
  json params() const override { return json::object(); }
  Status Fit(const Context&, const Interactions& train, const Catalog&) override {
    first_.assign(static_cast<size_t>(train.num_items()), -std::numeric_limits<float>::infinity());
    std::vector<int64_t> first(static_cast<size_t>(train.num_items()), INT64_MAX);
    for (size_t k = 0; k < train.item.size(); ++k) {
      auto& f = first[static_cast<size_t>(train.item[k])];
      f = std::min(f, train.time[k]);
    }
    const int64_t t0 = train.time.empty() ? 0 : *std::min_element(train.time.begin(), train.time.end());
    for (size_t i = 0; i < first.size(); ++i) {
      // Seconds since the first event, as a float (exact to the second for ~190 days, to minutes for years).
      if (first[i] != INT64_MAX) first_[i] = static_cast<float>(first[i] - t0);
    }
    return Status::Ok();
  }
  void Score(const History&, std::span<float> scores) const override {
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = i < first_.size() ? first_[i] : -std::numeric_limits<float>::infinity();
  }
  Reason Explain(const History&, int32_t) const override { return {"latest", -1, "new"}; }
  Status Save(const std::string& dir) const override { return WriteArray(dir + "/latest.bin", first_); }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(first_, ReadArray<float>(dir + "/latest.bin"));
    return Status::Ok();
  }

 private:
  std::vector<float> first_;
};

// ---------------------------------------------------------------- item-kNN

// Cosine (or BM25-weighted cosine) similarity of items' user vectors; the k
// most similar items are kept per item. Fit costs sum over users of |items|^2
// (histories are capped at `max_per_user` latest items).
class ItemKnnModel : public Model {
 public:
  explicit ItemKnnModel(const json& p)
      : k_(Param(p, "k", 100)),
        shrink_(Param(p, "shrink", 10.0f)),
        alpha_(Param(p, "alpha", 0.5f)),
        weighting_(Param<std::string>(p, "weighting", "bm25")),
        max_per_user_(Param(p, "max_per_user", 500)) {}
  std::string name() const override { return "itemknn"; }
  json params() const override {
    return {{"k", k_}, {"shrink", shrink_}, {"alpha", alpha_}, {"weighting", weighting_}, {"max_per_user", max_per_user_}};
  }

  Status Fit(const Context& ctx, const Interactions& train, const Catalog&) override {
    if (weighting_ != "cosine" && weighting_ != "bm25") {
      return InvalidArgument("itemknn: weighting must be cosine or bm25");
    }
    num_items_ = train.num_items();
    UserItems ui = Aggregate(train, max_per_user_);
    if (weighting_ == "bm25") {
      // BM25 over users as "documents": rare (short) users weigh more.
      const double k1 = 1.2, b = 0.75;
      const auto nu = static_cast<int32_t>(ui.begin.size()) - 1;
      const double avg = nu > 0 ? static_cast<double>(ui.item.size()) / nu : 1.0;
      for (int32_t u = 0; u < nu; ++u) {
        const int64_t s = ui.begin[static_cast<size_t>(u)], e = ui.begin[static_cast<size_t>(u) + 1];
        const double len = static_cast<double>(e - s);
        const double idf = std::log(1.0 + static_cast<double>(num_items_) / std::max(1.0, len));
        for (int64_t q = s; q < e; ++q) {
          const double tf = 1.0;
          ui.weight[static_cast<size_t>(q)] = static_cast<float>(tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg)) * idf);
        }
      }
    } else {
      std::fill(ui.weight.begin(), ui.weight.end(), 1.f);
    }
    const internal::ItemUsers iu = internal::Transpose(ui, num_items_);
    std::vector<float> norm(static_cast<size_t>(num_items_), 0.f);
    for (int32_t i = 0; i < num_items_; ++i) {
      double s = 0;
      for (int64_t q = iu.begin[static_cast<size_t>(i)]; q < iu.begin[static_cast<size_t>(i) + 1]; ++q) {
        s += static_cast<double>(iu.weight[static_cast<size_t>(q)]) * iu.weight[static_cast<size_t>(q)];
      }
      norm[static_cast<size_t>(i)] = static_cast<float>(std::sqrt(s));
    }
    std::vector<std::vector<std::pair<int32_t, float>>> rows(static_cast<size_t>(num_items_));
    ctx.pool().ParallelFor(num_items_, 16, [&](int64_t lo, int64_t hi) {
      std::vector<float> acc(static_cast<size_t>(num_items_), 0.f);
      std::vector<int32_t> touched;
      for (int64_t i = lo; i < hi; ++i) {
        touched.clear();
        for (int64_t q = iu.begin[static_cast<size_t>(i)]; q < iu.begin[static_cast<size_t>(i) + 1]; ++q) {
          const int32_t u = iu.user[static_cast<size_t>(q)];
          const float wi = iu.weight[static_cast<size_t>(q)];
          for (int64_t r = ui.begin[static_cast<size_t>(u)]; r < ui.begin[static_cast<size_t>(u) + 1]; ++r) {
            const int32_t j = ui.item[static_cast<size_t>(r)];
            if (j == i) continue;
            if (acc[static_cast<size_t>(j)] == 0.f) touched.push_back(j);
            acc[static_cast<size_t>(j)] += wi * ui.weight[static_cast<size_t>(r)];
          }
        }
        auto& row = rows[static_cast<size_t>(i)];
        const float ni = norm[static_cast<size_t>(i)];
        for (int32_t j : touched) {
          const float nj = norm[static_cast<size_t>(j)];
          const float denom = std::pow(ni, alpha_) * std::pow(nj, 1 - alpha_) + shrink_;
          row.emplace_back(j, acc[static_cast<size_t>(j)] / denom);
          acc[static_cast<size_t>(j)] = 0.f;
        }
        if (row.size() > static_cast<size_t>(k_)) {
          std::nth_element(row.begin(), row.begin() + k_, row.end(),
                           [](auto& a, auto& b) { return internal::Better(a.second, a.first, b.second, b.first); });
          row.resize(static_cast<size_t>(k_));
        }
        std::sort(row.begin(), row.end(), [](auto& a, auto& b) { return a.first < b.first; });
      }
    });
    begin_.assign(1, 0);
    item_.clear();
    sim_.clear();
    for (auto& row : rows) {
      for (auto& [j, s] : row) {
        item_.push_back(j);
        sim_.push_back(s);
      }
      begin_.push_back(static_cast<int64_t>(item_.size()));
    }
    BuildReverse();
    return Status::Ok();
  }

  // The reverse lists: for each item i, the items j that have i among their
  // k neighbours. A candidate j then scores the sum of its similarities to
  // the history items among its own k neighbours (Deshpande & Karypis), so a
  // popular item that is everyone's neighbour gains no extra weight.
  void BuildReverse() {
    rbegin_.assign(static_cast<size_t>(num_items_) + 1, 0);
    for (int32_t i : item_) ++rbegin_[static_cast<size_t>(i) + 1];
    for (int32_t i = 0; i < num_items_; ++i) rbegin_[static_cast<size_t>(i) + 1] += rbegin_[static_cast<size_t>(i)];
    ritem_.resize(item_.size());
    rsim_.resize(item_.size());
    std::vector<int64_t> pos(rbegin_.begin(), rbegin_.end() - 1);
    for (int32_t j = 0; j < num_items_; ++j) {
      for (int64_t q = begin_[static_cast<size_t>(j)]; q < begin_[static_cast<size_t>(j) + 1]; ++q) {
        const auto p = static_cast<size_t>(pos[static_cast<size_t>(item_[static_cast<size_t>(q)])]++);
        ritem_[p] = j;
        rsim_[p] = sim_[static_cast<size_t>(q)];
      }
    }
  }

  void Score(const History& h, std::span<float> scores) const override {
    std::fill(scores.begin(), scores.end(), 0.f);
    for (auto& [i, w] : Distinct(h, num_items_)) {
      for (int64_t q = rbegin_[static_cast<size_t>(i)]; q < rbegin_[static_cast<size_t>(i) + 1]; ++q) {
        scores[static_cast<size_t>(ritem_[static_cast<size_t>(q)])] += rsim_[static_cast<size_t>(q)];
      }
    }
  }

  // sim(j, i) when i is among j's neighbours, else 0.
  float Sim(int32_t j, int32_t i) const {
    auto b = item_.begin() + begin_[static_cast<size_t>(i)], e = item_.begin() + begin_[static_cast<size_t>(i) + 1];
    auto it = std::lower_bound(b, e, j);
    return it != e && *it == j ? sim_[static_cast<size_t>(it - item_.begin())] : 0.f;
  }

  Reason Explain(const History& h, int32_t item) const override {
    Reason r{"itemknn", -1, "bought_together"};
    float best = 0;
    for (auto& [i, w] : Distinct(h, num_items_)) {
      const float s = Sim(item, i);
      if (s > best) best = s, r.because = i;
    }
    return r;
  }

  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(WriteArray(dir + "/knn_begin.bin", begin_));
    RETURN_IF_ERROR(WriteArray(dir + "/knn_item.bin", item_));
    return WriteArray(dir + "/knn_sim.bin", sim_);
  }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(begin_, ReadArray<int64_t>(dir + "/knn_begin.bin"));
    ASSIGN_OR_RETURN(item_, ReadArray<int32_t>(dir + "/knn_item.bin"));
    ASSIGN_OR_RETURN(sim_, ReadArray<float>(dir + "/knn_sim.bin"));
    num_items_ = static_cast<int32_t>(begin_.size()) - 1;
    BuildReverse();
    return Status::Ok();
  }

 private:
  int k_;
  float shrink_, alpha_;
  std::string weighting_;
  int max_per_user_;
  int32_t num_items_ = 0;
  std::vector<int64_t> begin_;  // item j -> its k neighbours i (sorted), sim(j, i)
  std::vector<int32_t> item_;
  std::vector<float> sim_;
  std::vector<int64_t> rbegin_;  // item i -> the items j with i among their neighbours
  std::vector<int32_t> ritem_;
  std::vector<float> rsim_;
};

// ---------------------------------------------------------------- user-kNN

// At request time: the users sharing most items with the history (cosine on
// item sets, shrunk), then their items weighted by similarity. Holds the
// training user x item sets and their transpose.
class UserKnnModel : public Model {
 public:
  explicit UserKnnModel(const json& p) : k_(Param(p, "k", 50)), shrink_(Param(p, "shrink", 10.0f)) {}
  std::string name() const override { return "userknn"; }
  json params() const override { return {{"k", k_}, {"shrink", shrink_}}; }

  Status Fit(const Context&, const Interactions& train, const Catalog&) override {
    num_items_ = train.num_items();
    ui_ = Aggregate(train);
    iu_ = internal::Transpose(ui_, num_items_);
    return Status::Ok();
  }

  std::vector<std::pair<int32_t, float>> Neighbours(const History& h) const {
    const auto mine = Distinct(h, num_items_);
    const auto nu = static_cast<int32_t>(ui_.begin.size()) - 1;
    std::vector<float> overlap(static_cast<size_t>(nu), 0.f);
    for (auto& [i, w] : mine) {
      for (int64_t q = iu_.begin[static_cast<size_t>(i)]; q < iu_.begin[static_cast<size_t>(i) + 1]; ++q) {
        overlap[static_cast<size_t>(iu_.user[static_cast<size_t>(q)])] += 1.f;
      }
    }
    const float n_h = static_cast<float>(mine.size());
    for (int32_t v = 0; v < nu; ++v) {
      auto& o = overlap[static_cast<size_t>(v)];
      if (o == 0) {
        o = kNegInf;
        continue;
      }
      const float n_v = static_cast<float>(ui_.begin[static_cast<size_t>(v) + 1] - ui_.begin[static_cast<size_t>(v)]);
      // A user identical to the history (the user themself) still counts:
      // held-out items are never in their stored history.
      o = o / (std::sqrt(n_h * n_v) + shrink_);
    }
    std::vector<std::pair<int32_t, float>> out;
    for (int32_t v : internal::TopK(overlap, static_cast<size_t>(k_))) out.emplace_back(v, overlap[static_cast<size_t>(v)]);
    return out;
  }

  void Score(const History& h, std::span<float> scores) const override {
    std::fill(scores.begin(), scores.end(), 0.f);
    for (auto& [v, s] : Neighbours(h)) {
      for (int64_t q = ui_.begin[static_cast<size_t>(v)]; q < ui_.begin[static_cast<size_t>(v) + 1]; ++q) {
        scores[static_cast<size_t>(ui_.item[static_cast<size_t>(q)])] += s;
      }
    }
  }
  Reason Explain(const History&, int32_t) const override { return {"userknn", -1, "similar_users"}; }
  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(WriteArray(dir + "/uknn_begin.bin", ui_.begin));
    RETURN_IF_ERROR(WriteArray(dir + "/uknn_item.bin", ui_.item));
    return WriteJson(dir + "/uknn.json", {{"num_items", num_items_}});
  }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(ui_.begin, ReadArray<int64_t>(dir + "/uknn_begin.bin"));
    ASSIGN_OR_RETURN(ui_.item, ReadArray<int32_t>(dir + "/uknn_item.bin"));
    ui_.weight.assign(ui_.item.size(), 1.f);
    ASSIGN_OR_RETURN(json meta, ReadJson(dir + "/uknn.json"));
    num_items_ = meta.at("num_items").get<int32_t>();
    iu_ = internal::Transpose(ui_, num_items_);
    return Status::Ok();
  }

 private:
  int k_;
  float shrink_;
  int32_t num_items_ = 0;
  UserItems ui_;
  internal::ItemUsers iu_;
};

// ---------------------------------------------------------------- EASE

// Steck 2019: B = I - P diagMat(1 / diag(P)), P = (X'X + lambda I)^-1, with a
// zero diagonal. Dense items x items: the Gram matrix in doubles (8 n^2 bytes)
// and B in floats (4 n^2 bytes), and an O(n^3) Cholesky inverse in LAPACK, so
// the catalog is capped at `max_items` (20,000 items: 4.8 GB, about a minute
// on 2 cores). Larger catalogs use ALS or item-kNN.
class EaseModel : public Model {
 public:
  explicit EaseModel(const json& p)
      : lambda_(Param(p, "lambda", 500.0)), max_items_(Param(p, "max_items", 20000)) {}
  std::string name() const override { return "ease"; }
  json params() const override { return {{"lambda", lambda_}, {"max_items", max_items_}}; }

  Status Fit(const Context& ctx, const Interactions& train, const Catalog&) override {
    n_ = train.num_items();
    if (n_ > max_items_) {
      return ResourceExhausted("ease: " + std::to_string(n_) + " items exceed max_items " + std::to_string(max_items_) +
                               " (EASE keeps dense items x items matrices: " +
                               std::to_string(12.0 * n_ * n_ / 1e9).substr(0, 5) +
                               " GB here); use als or itemknn, or raise max_items");
    }
    const UserItems ui = Aggregate(train);
    const internal::ItemUsers iu = internal::Transpose(ui, n_);
    const auto n = static_cast<size_t>(n_);
    std::vector<double> g(n * n, 0.0);
    ctx.pool().ParallelFor(n_, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        double* row = g.data() + static_cast<size_t>(i) * n;
        for (int64_t q = iu.begin[static_cast<size_t>(i)]; q < iu.begin[static_cast<size_t>(i) + 1]; ++q) {
          const int32_t u = iu.user[static_cast<size_t>(q)];
          for (int64_t r = ui.begin[static_cast<size_t>(u)]; r < ui.begin[static_cast<size_t>(u) + 1]; ++r) {
            row[ui.item[static_cast<size_t>(r)]] += 1.0;
          }
        }
        row[i] += lambda_;
      }
    });
    openblas_set_num_threads(ctx.threads());
    int info = 0;
    const int nn = n_;
    dpotrf_("L", &nn, g.data(), &nn, &info);
    if (info != 0) return Internal("ease: Cholesky failed (info " + std::to_string(info) + "); raise lambda");
    dpotri_("L", &nn, g.data(), &nn, &info);
    if (info != 0) return Internal("ease: inverse failed (info " + std::to_string(info) + ")");
    // Column-major lower triangle == row-major upper: mirror it.
    for (size_t r = 0; r < n; ++r) {
      for (size_t c = 0; c < r; ++c) g[r * n + c] = g[c * n + r];
    }
    b_.assign(n * n, 0.f);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        if (i != j) b_[i * n + j] = static_cast<float>(-g[i * n + j] / g[j * n + j]);
      }
    }
    const double nd = static_cast<double>(n_);
    flops_ = nd * nd * nd / 3.0 + 2.0 * nd * nd * nd / 3.0;  // potrf + potri
    return Status::Ok();
  }
  void Score(const History& h, std::span<float> scores) const override {
    std::fill(scores.begin(), scores.end(), 0.f);
    const auto n = static_cast<size_t>(n_);
    for (auto& [i, w] : Distinct(h, n_)) {
      const float* row = b_.data() + static_cast<size_t>(i) * n;
      for (size_t j = 0; j < n; ++j) scores[j] += row[j];
    }
  }
  Reason Explain(const History& h, int32_t item) const override {
    Reason r{"ease", -1, "also_liked"};
    float best = 0;
    for (auto& [i, w] : Distinct(h, n_)) {
      const float s = b_[static_cast<size_t>(i) * static_cast<size_t>(n_) + static_cast<size_t>(item)];
      if (s > best) best = s, r.because = i;
    }
    return r;
  }
  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(WriteJson(dir + "/ease.json", {{"num_items", n_}}));
    return WriteArray(dir + "/ease_b.bin", b_);
  }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(json meta, ReadJson(dir + "/ease.json"));
    n_ = meta.at("num_items").get<int32_t>();
    ASSIGN_OR_RETURN(b_, ReadArray<float>(dir + "/ease_b.bin"));
    if (b_.size() != static_cast<size_t>(n_) * static_cast<size_t>(n_)) return InvalidArgument(dir + ": ease_b.bin has the wrong size");
    return Status::Ok();
  }
  double fit_flops() const override { return flops_; }

 private:
  double lambda_;
  int max_items_;
  int32_t n_ = 0;
  std::vector<float> b_;
  double flops_ = 0;
};

// ---------------------------------------------------------------- implicit ALS

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Hu, Koren & Volinsky 2008 with the conjugate-gradient solver of Takacs et
// al. 2011: confidence 1 + alpha * weight on observed pairs, weight
// `unobserved` on all others (through the Gram matrix, never a users x items
// matrix), L2 `reg`. Each half-step is parallel over users (or items); the
// Gram matrix Y'Y is one BLAS syrk. At request time the user is folded in
// exactly (a k x k solve), so new events count without a retrain.
class AlsModel : public Model {
 public:
  explicit AlsModel(const json& p)
      : factors_(Param(p, "factors", 64)),
        reg_(Param(p, "reg", 10.0f)),
        alpha_(Param(p, "alpha", 2.0f)),
        unobserved_(Param(p, "unobserved", 1.0f)),
        iterations_(Param(p, "iterations", 15)),
        cg_steps_(Param(p, "cg_steps", 3)) {}
  std::string name() const override { return "als"; }
  json params() const override {
    return {{"factors", factors_}, {"reg", reg_}, {"alpha", alpha_}, {"unobserved", unobserved_},
            {"iterations", iterations_}, {"cg_steps", cg_steps_}};
  }

  // Y'Y (k x k) with one syrk.
  static Eigen::MatrixXf Gram(const RowMatrix& y) {
    const int k = static_cast<int>(y.cols()), n = static_cast<int>(y.rows());
    Eigen::MatrixXf g = Eigen::MatrixXf::Zero(k, k);
    if (n > 0) {
      // Row-major Y (n x k) is column-major Y' (k x n): G = Y'Y = (Y')(Y')'.
      cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, k, n, 1.f, y.data(), k, 0.f, g.data(), k);
    }
    return g.selfadjointView<Eigen::Upper>();
  }

  // One half-step: solves every row of `x` against fixed `y`.
  void HalfStep(const Context& ctx, const std::vector<int64_t>& begin, const std::vector<int32_t>& other,
                const std::vector<float>& weight, const RowMatrix& y, RowMatrix& x, std::atomic<int64_t>& nnz_seen) {
    const int k = factors_;
    const Eigen::MatrixXf gram = unobserved_ * Gram(y) + reg_ * Eigen::MatrixXf::Identity(k, k);
    const auto rows = static_cast<int64_t>(x.rows());
    ctx.pool().ParallelFor(rows, 64, [&](int64_t lo, int64_t hi) {
      Eigen::VectorXf r(k), p(k), ap(k), xv(k);
      int64_t seen = 0;
      for (int64_t u = lo; u < hi; ++u) {
        const int64_t b = begin[static_cast<size_t>(u)], e = begin[static_cast<size_t>(u) + 1];
        xv = x.row(u).transpose();
        auto apply = [&](const Eigen::VectorXf& v, Eigen::VectorXf& out) {
          out.noalias() = gram * v;
          for (int64_t q = b; q < e; ++q) {
            const auto yi = y.row(other[static_cast<size_t>(q)]);
            const float c = 1.f + alpha_ * weight[static_cast<size_t>(q)];
            out.noalias() += ((c - unobserved_) * yi.dot(v.transpose())) * yi.transpose();
          }
        };
        // r = b - A x, b = sum c * y_i
        apply(xv, ap);
        r = -ap;
        for (int64_t q = b; q < e; ++q) {
          r.noalias() += (1.f + alpha_ * weight[static_cast<size_t>(q)]) * y.row(other[static_cast<size_t>(q)]).transpose();
        }
        p = r;
        float rs = r.squaredNorm();
        for (int s = 0; s < cg_steps_ && rs > 1e-10f; ++s) {
          apply(p, ap);
          const float a = rs / p.dot(ap);
          xv.noalias() += a * p;
          r.noalias() -= a * ap;
          const float rs_new = r.squaredNorm();
          p = r + (rs_new / rs) * p;
          rs = rs_new;
        }
        x.row(u) = xv.transpose();
        seen += e - b;
      }
      nnz_seen += seen;
    });
  }

  Status Fit(const Context& ctx, const Interactions& train, const Catalog&) override {
    if (factors_ < 1 || iterations_ < 1 || cg_steps_ < 1 || reg_ < 0 || alpha_ < 0 || unobserved_ <= 0) {
      return InvalidArgument("als: factors, iterations and cg_steps must be >= 1; reg, alpha >= 0; unobserved > 0");
    }
    const UserItems ui = Aggregate(train);
    const int32_t ni = train.num_items();
    const internal::ItemUsers iu = internal::Transpose(ui, ni);
    const int32_t nu = train.num_users();
    std::mt19937_64 rng(ctx.seed());
    std::normal_distribution<float> init(0.f, 0.01f);
    users_ = RowMatrix(nu, factors_);
    items_ = RowMatrix(ni, factors_);
    for (int64_t i = 0; i < items_.size(); ++i) items_.data()[i] = init(rng);
    users_.setZero();
    openblas_set_num_threads(1);  // the syrk is small; the threads are ours
    std::atomic<int64_t> seen{0};
    for (int it = 0; it < iterations_; ++it) {
      HalfStep(ctx, ui.begin, ui.item, ui.weight, items_, users_, seen);
      HalfStep(ctx, iu.begin, iu.user, iu.weight, users_, items_, seen);
    }
    const double k = factors_, nnz = static_cast<double>(ui.item.size());
    // Per half-step: Gram 2 n k^2 (syrk counts half), per row (steps + 1) * 2k^2,
    // per nonzero (steps + 1) * 4k + 2k.
    const double per_iter = 2 * (nu + ni) * k * k * 0.5 + (nu + ni) * (cg_steps_ + 1) * 2 * k * k +
                            2 * nnz * ((cg_steps_ + 1) * 4 * k + 2 * k);
    flops_ = per_iter * iterations_;
    gram_ = Gram(items_);
    return Status::Ok();
  }

  bool UserEmbedding(const History& h, std::vector<float>* out) const override {
    const auto mine = Distinct(h, static_cast<int32_t>(items_.rows()));
    if (mine.empty()) return false;
    const int k = factors_;
    Eigen::MatrixXf a = unobserved_ * gram_ + reg_ * Eigen::MatrixXf::Identity(k, k);
    Eigen::VectorXf b = Eigen::VectorXf::Zero(k);
    for (auto& [i, w] : mine) {
      const auto yi = items_.row(i);
      const float c = 1.f + alpha_ * w;
      a.noalias() += (c - unobserved_) * yi.transpose() * yi;
      b.noalias() += c * yi.transpose();
    }
    Eigen::VectorXf x = a.ldlt().solve(b);
    out->assign(x.data(), x.data() + k);
    return true;
  }

  void Score(const History& h, std::span<float> scores) const override {
    std::vector<float> x;
    if (!UserEmbedding(h, &x)) {
      std::fill(scores.begin(), scores.end(), 0.f);
      return;
    }
    Eigen::Map<const Eigen::VectorXf> xv(x.data(), factors_);
    const auto n = std::min<Eigen::Index>(items_.rows(), static_cast<Eigen::Index>(scores.size()));
    Eigen::Map<Eigen::VectorXf> out(scores.data(), n);
    out.noalias() = items_.topRows(n) * xv;
    std::fill(scores.begin() + n, scores.end(), 0.f);
  }

  Reason Explain(const History& h, int32_t item) const override {
    Reason r{"als", -1, "also_liked"};
    float best = -2;
    const auto target = items_.row(item);
    const float tn = target.norm() + 1e-12f;
    for (auto& [i, w] : Distinct(h, static_cast<int32_t>(items_.rows()))) {
      const auto yi = items_.row(i);
      const float c = yi.dot(target) / (yi.norm() * tn + 1e-12f);
      if (c > best) best = c, r.because = i;
    }
    return r;
  }

  const float* ItemEmbeddings(int* dim) const override {
    *dim = factors_;
    return items_.data();
  }

  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(WriteJson(dir + "/als.json", {{"users", users_.rows()}, {"items", items_.rows()}}));
    RETURN_IF_ERROR(WriteArray(dir + "/als_items.bin", std::span<const float>(items_.data(), static_cast<size_t>(items_.size()))));
    return WriteArray(dir + "/als_users.bin", std::span<const float>(users_.data(), static_cast<size_t>(users_.size())));
  }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(json meta, ReadJson(dir + "/als.json"));
    ASSIGN_OR_RETURN(auto iv, ReadArray<float>(dir + "/als_items.bin"));
    ASSIGN_OR_RETURN(auto uv, ReadArray<float>(dir + "/als_users.bin"));
    const auto ni = meta.at("items").get<int64_t>(), nu = meta.at("users").get<int64_t>();
    if (static_cast<int64_t>(iv.size()) != ni * factors_ || static_cast<int64_t>(uv.size()) != nu * factors_) {
      return InvalidArgument(dir + ": ALS factor files do not match als.json");
    }
    items_ = Eigen::Map<RowMatrix>(iv.data(), ni, factors_);
    users_ = Eigen::Map<RowMatrix>(uv.data(), nu, factors_);
    gram_ = Gram(items_);
    return Status::Ok();
  }
  double fit_flops() const override { return flops_; }

 private:
  int factors_;
  float reg_, alpha_, unobserved_;
  int iterations_, cg_steps_;
  RowMatrix users_, items_;
  Eigen::MatrixXf gram_;
  double flops_ = 0;
};

// ---------------------------------------------------------------- content

// Words of a text: lower-cased ASCII letters/digits runs, and for CJK text
// each character and each pair of neighbouring characters.
void Words(std::string_view text, std::vector<std::string>* out) {
  std::string word;
  std::string prev_cjk;
  size_t i = 0;
  auto flush = [&] {
    if (word.size() >= 2) out->push_back(word);
    word.clear();
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isalnum(c) || c == '=' || c == '_') {
        word.push_back(static_cast<char>(std::tolower(c)));
      } else {
        flush();
      }
      prev_cjk.clear();
      ++i;
      continue;
    }
    flush();
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    const std::string ch(text.substr(i, len));
    i += len;
    if (len == 3) {  // the BMP: CJK ideographs and kana
      out->push_back(ch);
      if (!prev_cjk.empty()) out->push_back(prev_cjk + ch);
      prev_cjk = ch;
    } else {
      prev_cjk.clear();
    }
  }
  flush();
}

class ContentModel : public Model {
 public:
  explicit ContentModel(const json& p) : recent_(Param(p, "recent", 50)), terms_(Param(p, "terms", 64)) {}
  std::string name() const override { return "content"; }
  json params() const override { return {{"recent", recent_}, {"terms", terms_}}; }

  Status Fit(const Context&, const Interactions& train, const Catalog& catalog) override {
    num_items_ = train.num_items();
    std::unordered_map<std::string, int32_t> vocab;
    std::vector<std::vector<std::pair<int32_t, float>>> docs(static_cast<size_t>(num_items_));
    std::vector<int32_t> df;
    std::vector<std::string> words;
    for (int32_t i = 0; i < num_items_ && static_cast<size_t>(i) < catalog.title.size(); ++i) {
      words.clear();
      const auto s = static_cast<size_t>(i);
      Words(catalog.title[s], &words);
      Words(catalog.text[s], &words);
      if (!catalog.category[s].empty()) {
        words.push_back("category:" + ToLower(catalog.category[s]));
        words.push_back("category:" + ToLower(catalog.category[s]));
      }
      std::unordered_map<int32_t, float> tf;
      for (const auto& w : words) {
        auto [it, fresh] = vocab.emplace(w, static_cast<int32_t>(vocab.size()));
        if (fresh) df.push_back(0);
        tf[it->second] += 1.f;
      }
      for (auto& [t, c] : tf) {
        ++df[static_cast<size_t>(t)];
        docs[s].emplace_back(t, c);
      }
    }
    if (vocab.empty()) {
      return FailedPrecondition("content: the catalog has no titles, categories or text (pass --items)");
    }
    const double n = num_items_;
    begin_.assign(1, 0);
    term_.clear();
    weight_.clear();
    for (auto& d : docs) {
      double norm = 0;
      for (auto& [t, c] : d) {
        c = static_cast<float>((1 + std::log(c)) * (std::log((n + 1) / (df[static_cast<size_t>(t)] + 1)) + 1));
        norm += static_cast<double>(c) * c;
      }
      std::sort(d.begin(), d.end());
      for (auto& [t, c] : d) {
        term_.push_back(t);
        weight_.push_back(static_cast<float>(c / std::sqrt(std::max(norm, 1e-12))));
      }
      begin_.push_back(static_cast<int64_t>(term_.size()));
    }
    num_terms_ = static_cast<int32_t>(vocab.size());
    BuildPostings();
    return Status::Ok();
  }

  void BuildPostings() {
    post_begin_.assign(static_cast<size_t>(num_terms_) + 1, 0);
    for (int32_t t : term_) ++post_begin_[static_cast<size_t>(t) + 1];
    for (int32_t t = 0; t < num_terms_; ++t) post_begin_[static_cast<size_t>(t) + 1] += post_begin_[static_cast<size_t>(t)];
    post_item_.resize(term_.size());
    post_weight_.resize(term_.size());
    std::vector<int64_t> pos(post_begin_.begin(), post_begin_.end() - 1);
    for (int32_t i = 0; i < num_items_; ++i) {
      for (int64_t q = begin_[static_cast<size_t>(i)]; q < begin_[static_cast<size_t>(i) + 1]; ++q) {
        const auto p = static_cast<size_t>(pos[static_cast<size_t>(term_[static_cast<size_t>(q)])]++);
        post_item_[p] = i;
        post_weight_[p] = weight_[static_cast<size_t>(q)];
      }
    }
  }

  // The user's profile: recent items' vectors, newer ones weighing more.
  std::vector<std::pair<int32_t, float>> Profile(const History& h) const {
    std::unordered_map<int32_t, float> prof;
    int taken = 0;
    for (size_t k = h.size(); k-- > 0 && taken < recent_;) {
      const int32_t i = h.items[k];
      if (i < 0 || i >= num_items_) continue;
      const float w = std::pow(0.97f, static_cast<float>(taken++));
      for (int64_t q = begin_[static_cast<size_t>(i)]; q < begin_[static_cast<size_t>(i) + 1]; ++q) {
        prof[term_[static_cast<size_t>(q)]] += w * weight_[static_cast<size_t>(q)];
      }
    }
    std::vector<std::pair<int32_t, float>> out(prof.begin(), prof.end());
    auto cmp = [](auto& a, auto& b) { return internal::Better(a.second, a.first, b.second, b.first); };
    if (out.size() > static_cast<size_t>(terms_)) {
      std::nth_element(out.begin(), out.begin() + terms_, out.end(), cmp);
      out.resize(static_cast<size_t>(terms_));
    }
    return out;
  }

  void Score(const History& h, std::span<float> scores) const override {
    std::fill(scores.begin(), scores.end(), 0.f);
    for (auto& [t, w] : Profile(h)) {
      for (int64_t q = post_begin_[static_cast<size_t>(t)]; q < post_begin_[static_cast<size_t>(t) + 1]; ++q) {
        scores[static_cast<size_t>(post_item_[static_cast<size_t>(q)])] += w * post_weight_[static_cast<size_t>(q)];
      }
    }
  }

  float Cosine(int32_t a, int32_t b) const {
    int64_t p = begin_[static_cast<size_t>(a)], pe = begin_[static_cast<size_t>(a) + 1];
    int64_t q = begin_[static_cast<size_t>(b)], qe = begin_[static_cast<size_t>(b) + 1];
    float s = 0;
    while (p < pe && q < qe) {
      const int32_t tp = term_[static_cast<size_t>(p)], tq = term_[static_cast<size_t>(q)];
      if (tp == tq) s += weight_[static_cast<size_t>(p++)] * weight_[static_cast<size_t>(q++)];
      else if (tp < tq) ++p;
      else ++q;
    }
    return s;
  }

  Reason Explain(const History& h, int32_t item) const override {
    Reason r{"content", -1, "similar_content"};
    float best = 0;
    for (auto& [i, w] : Distinct(h, num_items_)) {
      const float c = Cosine(i, item);
      if (c > best) best = c, r.because = i;
    }
    return r;
  }

  Status Save(const std::string& dir) const override {
    RETURN_IF_ERROR(WriteJson(dir + "/content.json", {{"num_items", num_items_}, {"num_terms", num_terms_}}));
    RETURN_IF_ERROR(WriteArray(dir + "/content_begin.bin", begin_));
    RETURN_IF_ERROR(WriteArray(dir + "/content_term.bin", term_));
    return WriteArray(dir + "/content_weight.bin", weight_);
  }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(json meta, ReadJson(dir + "/content.json"));
    num_items_ = meta.at("num_items").get<int32_t>();
    num_terms_ = meta.at("num_terms").get<int32_t>();
    ASSIGN_OR_RETURN(begin_, ReadArray<int64_t>(dir + "/content_begin.bin"));
    ASSIGN_OR_RETURN(term_, ReadArray<int32_t>(dir + "/content_term.bin"));
    ASSIGN_OR_RETURN(weight_, ReadArray<float>(dir + "/content_weight.bin"));
    BuildPostings();
    return Status::Ok();
  }

 private:
  int recent_, terms_;
  int32_t num_items_ = 0, num_terms_ = 0;
  std::vector<int64_t> begin_;  // item -> (term, tf-idf) rows, L2-normalised
  std::vector<int32_t> term_;
  std::vector<float> weight_;
  std::vector<int64_t> post_begin_;  // term -> (item, weight)
  std::vector<int32_t> post_item_;
  std::vector<float> post_weight_;
};

// ---------------------------------------------------------------- hybrid

// A weighted sum of the components' per-request standardised scores. Items
// the collaborative models cannot score (new items) still get the content
// and popularity terms, which is how cold-start items surface.
class HybridModel : public Model {
 public:
  explicit HybridModel(json p) : params_(std::move(p)) {
    if (!params_.contains("components")) {
      params_["components"] = json::array({{{"model", "ease"}, {"weight", 1.0}},
                                           {{"model", "content"}, {"weight", 0.1}},
                                           {{"model", "trending"}, {"weight", 0.05}}});
    }
  }
  std::string name() const override { return "hybrid"; }
  json params() const override { return params_; }

  Status Build() {
    parts_.clear();
    weights_.clear();
    for (const auto& c : params_["components"]) {
      if (!c.contains("model")) return InvalidArgument("hybrid: each component needs a \"model\"");
      const std::string m = c["model"].get<std::string>();
      if (m == "hybrid") return InvalidArgument("hybrid: components cannot be hybrid");
      ASSIGN_OR_RETURN(auto model, MakeModel(m, c.value("params", json::object())));
      parts_.push_back(std::move(model));
      weights_.push_back(c.value("weight", 1.0f));
    }
    if (parts_.empty()) return InvalidArgument("hybrid: no components");
    return Status::Ok();
  }

  Status Fit(const Context& ctx, const Interactions& train, const Catalog& catalog) override {
    RETURN_IF_ERROR(Build());
    num_items_ = train.num_items();
    for (size_t m = 0; m < parts_.size(); ++m) {
      Status st = parts_[m]->Fit(ctx, train, catalog);
      // EASE past its item cap falls back to ALS rather than failing the blend.
      if (!st.ok() && st.code() == StatusCode::kResourceExhausted && parts_[m]->name() == "ease") {
        ASSIGN_OR_RETURN(parts_[m], MakeModel("als", json::object()));
        params_["components"][m] = {{"model", "als"}, {"weight", weights_[m]}};
        st = parts_[m]->Fit(ctx, train, catalog);
      }
      if (!st.ok() && parts_[m]->name() == "content" && st.code() == StatusCode::kFailedPrecondition) {
        weights_[m] = 0;  // no catalog text: the blend goes on without content
        continue;
      }
      RETURN_IF_ERROR(st);
    }
    return Status::Ok();
  }

  // Standardised component scores, scaled by their weights: parts x items.
  std::vector<std::vector<float>> Components(const History& h) const {
    std::vector<std::vector<float>> out(parts_.size());
    for (size_t m = 0; m < parts_.size(); ++m) {
      if (weights_[m] == 0) continue;
      auto& s = out[m];
      s.assign(static_cast<size_t>(num_items_), 0.f);
      parts_[m]->Score(h, s);
      double sum = 0, sq = 0;
      int64_t n = 0;
      for (float v : s) {
        if (!std::isfinite(v)) continue;
        sum += v, sq += static_cast<double>(v) * v, ++n;
      }
      const double mean = n ? sum / n : 0, sd = n ? std::sqrt(std::max(sq / n - mean * mean, 0.0)) : 0;
      const float inv = sd > 1e-12 ? static_cast<float>(weights_[m] / sd) : 0.f;
      for (float& v : s) v = std::isfinite(v) ? static_cast<float>(v - mean) * inv : 0.f;
    }
    return out;
  }

  void Score(const History& h, std::span<float> scores) const override {
    std::fill(scores.begin(), scores.end(), 0.f);
    for (const auto& s : Components(h)) {
      for (size_t i = 0; i < s.size() && i < scores.size(); ++i) scores[i] += s[i];
    }
  }

  Reason Explain(const History& h, int32_t item) const override { return ExplainMany(h, {&item, 1})[0]; }

  // Each item is explained by the component that contributes most to its score.
  std::vector<Reason> ExplainMany(const History& h, std::span<const int32_t> items) const override {
    const auto comps = Components(h);
    std::vector<Reason> out;
    for (int32_t item : items) {
      size_t best = 0;
      float top = -std::numeric_limits<float>::infinity();
      for (size_t m = 0; m < comps.size(); ++m) {
        if (comps[m].empty()) continue;
        if (comps[m][static_cast<size_t>(item)] > top) top = comps[m][static_cast<size_t>(item)], best = m;
      }
      out.push_back(parts_[best]->Explain(h, item));
    }
    return out;
  }

  Status Save(const std::string& dir) const override {
    for (size_t m = 0; m < parts_.size(); ++m) {
      const std::string sub = dir + "/part" + std::to_string(m);
      std::filesystem::create_directories(sub);
      RETURN_IF_ERROR(parts_[m]->Save(sub));
    }
    json p = params_;
    for (size_t m = 0; m < parts_.size(); ++m) {
      p["components"][m]["weight"] = weights_[m];
      p["components"][m]["params"] = parts_[m]->params();
    }
    return WriteJson(dir + "/hybrid.json", {{"num_items", num_items_}, {"params", p}});
  }
  Status Load(const std::string& dir) override {
    ASSIGN_OR_RETURN(json meta, ReadJson(dir + "/hybrid.json"));
    num_items_ = meta.at("num_items").get<int32_t>();
    params_ = meta.at("params");
    RETURN_IF_ERROR(Build());
    for (size_t m = 0; m < parts_.size(); ++m) RETURN_IF_ERROR(parts_[m]->Load(dir + "/part" + std::to_string(m)));
    return Status::Ok();
  }

 private:
  json params_;
  int32_t num_items_ = 0;
  std::vector<std::unique_ptr<Model>> parts_;
  std::vector<float> weights_;
};

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, ModelFactory>& Factories() {
  static std::map<std::string, ModelFactory> f = [] {
    std::map<std::string, ModelFactory> m;
    m["popular"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new PopularModel(p, false)); };
    m["latest"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new LatestModel(p)); };
    m["trending"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new PopularModel(p, true)); };
    m["itemknn"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new ItemKnnModel(p)); };
    m["userknn"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new UserKnnModel(p)); };
    m["ease"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new EaseModel(p)); };
    m["als"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new AlsModel(p)); };
    m["content"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new ContentModel(p)); };
    m["hybrid"] = [](const json& p) -> StatusOr<std::unique_ptr<Model>> { return std::unique_ptr<Model>(new HybridModel(p)); };
    return m;
  }();
  return f;
}

}  // namespace

Reason Model::Explain(const History&, int32_t) const { return {name(), -1, ""}; }

std::vector<Reason> Model::ExplainMany(const History& history, std::span<const int32_t> items) const {
  std::vector<Reason> out;
  out.reserve(items.size());
  for (int32_t i : items) out.push_back(Explain(history, i));
  return out;
}

std::vector<int32_t> TopItems(const Model& model, const History& history, int32_t num_items, size_t k) {
  std::vector<float> scores(static_cast<size_t>(num_items));
  model.Score(history, scores);
  for (int32_t i : history.items) {
    if (i >= 0 && i < num_items) scores[static_cast<size_t>(i)] = kNegInf;
  }
  return internal::TopK(scores, k);
}

StatusOr<std::unique_ptr<Model>> MakeModel(const std::string& name, const json& params) {
  ModelFactory f;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto it = Factories().find(name);
    if (it == Factories().end()) {
      std::string known;
      for (auto& [n, _] : Factories()) known += (known.empty() ? "" : ", ") + n;
      const bool torch = name == "sasrec" || name == "mlp";
      return InvalidArgument("unknown model '" + name + "' (known: " + known + ")" +
                             (torch ? "; it needs the libtorch build, opspilot-nn" : ""));
    }
    f = it->second;
  }
  const json p = params.is_null() ? json::object() : params;
  if (!p.is_object()) return InvalidArgument("model parameters must be a JSON object");
  try {
    return f(p);
  } catch (const json::exception& e) {
    return InvalidArgument("parameters of model '" + name + "': " + e.what());
  }
}

void RegisterModel(const std::string& name, ModelFactory factory) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Factories()[name] = std::move(factory);
}

std::vector<std::string> ModelNames() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::vector<std::string> out;
  for (auto& [n, _] : Factories()) out.push_back(n);
  return out;
}

std::vector<json> TuningGrid(const std::string& name, int max_points) {
  std::vector<json> g;
  if (name == "ease") {
    for (double l : {100.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0}) g.push_back({{"lambda", l}});
  } else if (name == "als") {
    for (auto [f, reg, alpha] : {std::tuple{16, 10.f, 2.f}, {32, 10.f, 2.f}, {64, 10.f, 2.f}, {64, 50.f, 2.f},
                                 {128, 10.f, 2.f}, {128, 50.f, 5.f}}) {
      g.push_back({{"factors", f}, {"reg", reg}, {"alpha", alpha}});
    }
  } else if (name == "itemknn") {
    for (int k : {20, 50, 200}) {
      for (const char* w : {"bm25", "cosine"}) g.push_back({{"k", k}, {"weighting", w}});
    }
  } else if (name == "userknn") {
    for (int k : {20, 50, 100}) g.push_back({{"k", k}});
  } else if (name == "sasrec") {
    for (int dim : {32, 64}) {
      for (double dropout : {0.2, 0.5}) g.push_back({{"dim", dim}, {"dropout", dropout}});
    }
  } else if (name == "trending") {
    for (double h : {3.0, 14.0, 60.0}) g.push_back({{"half_life_days", h}});
  } else if (name == "hybrid") {
    for (double wc : {0.0, 0.05, 0.2}) {
      for (double wp : {0.0, 0.05}) {
        g.push_back({{"components", json::array({{{"model", "ease"}, {"weight", 1.0}},
                                                 {{"model", "content"}, {"weight", wc}},
                                                 {{"model", "trending"}, {"weight", wp}}})}});
      }
    }
  } else {
    g.push_back(json::object());
  }
  if (max_points > 0 && g.size() > static_cast<size_t>(max_points)) {
    // An even subsample keeps both ends of the grid.
    std::vector<json> sub;
    for (int k = 0; k < max_points; ++k) {
      sub.push_back(g[static_cast<size_t>(k) * (g.size() - 1) / static_cast<size_t>(std::max(1, max_points - 1))]);
    }
    g.swap(sub);
  }
  return g;
}

}  // namespace opspilot::recommend
