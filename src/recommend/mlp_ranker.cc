// "mlp": the propensity-to-buy ranker of a classic shop. Documented in
// recommend/sasrec.h (the torch-free header of the libtorch recommenders).
//
// The first layer of the MLP is a sum of blocks (user side, item side,
// user x item product, category and price shares), so serving folds the
// user into it once: the item side is cached after fit/load, the product
// block becomes one [items, dim] x [dim, hidden] product, and only the layers
// after the first non-linearity run per (user, item) pair.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include "ml/nn.h"
#include "recommend/torch_common.h"
#include "recommend/recommend.h"
#include "recommend/sasrec.h"

namespace opspilot::recommend {

namespace {

constexpr char kParamsFile[] = "mlp_params.json";
constexpr char kWeightsFile[] = "mlp_weights.pt";
// Validation users: 10% of those with three or more items, at least this many
// (where there are twice as many), as sasrec does. Each holds out up to
// kValidItems latest items (at most half of theirs): one item per user made
// the stopping signal too noisy to pick an epoch by on ML-1M-sized data.
constexpr int64_t kMinValidUsers = 100;
constexpr size_t kValidItems = 5;
// The most frequent categories keep a code of their own; rarer ones share code 0 with "none".
constexpr int kMaxCategories = 1000;
constexpr int64_t kCategoryDim = 8;  // learned category embedding
constexpr int64_t kPriceDim = 4;     // learned price-bucket embedding
// log1p(history length) / kLengthScale is about 1 at a thousand items.
constexpr double kLengthScale = 7;
// Negatives proportional to count^kSamplingPower (word2vec's smoothing).
constexpr double kSamplingPower = 0.75;
constexpr int kRejectTries = 8;      // resamples of a negative the user already has
constexpr double kInitStd = 0.1;     // entry standard deviation of the initial item embeddings
constexpr int kPowerIterations = 4;  // of the randomised SVD behind init "svd"

struct MlpRankerOptions {
  int recent = 50;        // latest history items the user vector reads
  double half_life = 25;  // recency weight 0.5^(age / half_life), age in items; 0 = equal
  int dim = 32;           // item embedding size
  std::vector<int> hidden = {128, 32};  // MLP layer widths
  double dropout = 0.2;
  int epochs = 30;    // maximum passes over the training targets
  int batch = 256;    // targets (each with its negatives) per optimizer step
  double lr = 1e-3;   // Adam learning rate
  double l2 = 0;      // Adam weight decay
  int targets = 20;   // latest items per user used as targets, the items before as history
  int negatives = 4;  // sampled negatives per target
  std::string sampling = "uniform";  // uniform | popularity (count^0.75)
  int patience = 5;          // epochs without a validation gain before stopping; 0 = no hold-out
  int price_buckets = 10;    // quantile buckets of finite catalog prices; 0 = prices unused
  std::string init = "svd";  // initial item embeddings: svd (of the interactions) | random
};

constexpr const char* kKeys[] = {
    "recent", "half_life", "dim",       "hidden",   "dropout",  "epochs",        "batch", "lr",
    "l2",     "targets",   "negatives", "sampling", "patience", "price_buckets", "init"};

Status Validate(const MlpRankerOptions& o) {
  if (o.recent < 1 || o.recent > 10000) return InvalidArgument("mlp: recent must be 1..10000");
  if (!(o.half_life >= 0)) return InvalidArgument("mlp: half_life must be >= 0");
  if (o.dim < 1 || o.dim > 4096) return InvalidArgument("mlp: dim must be 1..4096");
  if (o.hidden.empty() || o.hidden.size() > 8)
    return InvalidArgument("mlp: hidden must list 1..8 layer widths");
  for (int h : o.hidden) {
    if (h < 1 || h > 4096) return InvalidArgument("mlp: hidden widths must be 1..4096");
  }
  if (!(o.dropout >= 0 && o.dropout < 1)) return InvalidArgument("mlp: dropout must be in [0, 1)");
  if (o.epochs < 1 || o.epochs > 100000) return InvalidArgument("mlp: epochs must be 1..100000");
  if (o.batch < 1) return InvalidArgument("mlp: batch must be >= 1");
  if (!(o.lr > 0)) return InvalidArgument("mlp: lr must be > 0");
  if (!(o.l2 >= 0)) return InvalidArgument("mlp: l2 must be >= 0");
  if (o.targets < 1) return InvalidArgument("mlp: targets must be >= 1");
  if (o.negatives < 1 || o.negatives > 1000)
    return InvalidArgument("mlp: negatives must be 1..1000");
  if (o.sampling != "popularity" && o.sampling != "uniform")
    return InvalidArgument("mlp: sampling must be 'popularity' or 'uniform'");
  if (o.patience < 0) return InvalidArgument("mlp: patience must be >= 0");
  if (o.price_buckets < 0 || o.price_buckets > 1000)
    return InvalidArgument("mlp: price_buckets must be 0..1000");
  if (o.init != "svd" && o.init != "random")
    return InvalidArgument("mlp: init must be 'svd' or 'random'");
  return Status::Ok();
}

StatusOr<MlpRankerOptions> ParseOptions(const nlohmann::json& p) {
  MlpRankerOptions o;
  RETURN_IF_ERROR(torch_common::CheckParamKeys(p, kKeys, "mlp"));
  if (p.is_null()) return o;
  try {
    o.recent = p.value("recent", o.recent);
    o.half_life = p.value("half_life", o.half_life);
    o.dim = p.value("dim", o.dim);
    o.hidden = p.value("hidden", o.hidden);
    o.dropout = p.value("dropout", o.dropout);
    o.epochs = p.value("epochs", o.epochs);
    o.batch = p.value("batch", o.batch);
    o.lr = p.value("lr", o.lr);
    o.l2 = p.value("l2", o.l2);
    o.targets = p.value("targets", o.targets);
    o.negatives = p.value("negatives", o.negatives);
    o.sampling = p.value("sampling", o.sampling);
    o.patience = p.value("patience", o.patience);
    o.price_buckets = p.value("price_buckets", o.price_buckets);
    o.init = p.value("init", o.init);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("mlp: bad params: ") + e.what());
  }
  RETURN_IF_ERROR(Validate(o));
  return o;
}

nlohmann::json ToJson(const MlpRankerOptions& o) {
  return {{"recent", o.recent},
          {"half_life", o.half_life},
          {"dim", o.dim},
          {"hidden", o.hidden},
          {"dropout", o.dropout},
          {"epochs", o.epochs},
          {"batch", o.batch},
          {"lr", o.lr},
          {"l2", o.l2},
          {"targets", o.targets},
          {"negatives", o.negatives},
          {"sampling", o.sampling},
          {"patience", o.patience},
          {"price_buckets", o.price_buckets},
          {"init", o.init}};
}

// What the network reads of a history: its latest `recent` usable items with
// weights (event weight x recency, summing to 1) and the scaled log length.
struct Window {
  std::vector<int32_t> items;
  std::vector<float> weights;
  float length = 0;
};

// Items outside [0, num_items) (added since the fit) and events of weight <= 0 are skipped.
Window MakeWindow(std::span<const int32_t> items, std::span<const float> weights,
                  const MlpRankerOptions& o, int32_t num_items) {
  Window w;
  int64_t usable = 0;
  double total = 0;
  const bool weighted = weights.size() == items.size();
  for (size_t k = items.size(); k-- > 0;) {
    const int32_t item = items[k];
    const float ev = weighted ? weights[k] : 1.f;
    if (item < 0 || item >= num_items || !(ev > 0) || !std::isfinite(ev)) continue;
    ++usable;
    if (w.items.size() >= static_cast<size_t>(o.recent)) continue;
    const double age = static_cast<double>(w.items.size());
    const double x = ev * (o.half_life > 0 ? std::exp2(-age / o.half_life) : 1.0);
    w.items.push_back(item);
    w.weights.push_back(static_cast<float>(x));
    total += x;
  }
  for (float& x : w.weights) x = static_cast<float>(x / total);
  w.length = static_cast<float>(std::log1p(static_cast<double>(usable)) / kLengthScale);
  return w;
}

// Windows as padded tensors: items [R, L] (padding item 0 with weight 0),
// weights [R, L], lengths [R].
struct UserBatch {
  torch::Tensor items, weights, lengths;
};

UserBatch ToBatch(const std::vector<Window>& ws, int L) {
  const auto r = static_cast<int64_t>(ws.size());
  std::vector<int64_t> items(static_cast<size_t>(r * L), 0);
  std::vector<float> weights(static_cast<size_t>(r * L), 0), lengths;
  for (size_t i = 0; i < ws.size(); ++i) {
    std::copy(ws[i].items.begin(), ws[i].items.end(),
              items.begin() + static_cast<ptrdiff_t>(i * L));
    std::copy(ws[i].weights.begin(), ws[i].weights.end(),
              weights.begin() + static_cast<ptrdiff_t>(i * L));
    lengths.push_back(ws[i].length);
  }
  return {torch::tensor(items, torch::kLong).view({r, L}),
          torch::tensor(weights, torch::kFloat).view({r, L}),
          torch::tensor(lengths, torch::kFloat)};
}

// The user side of the first layer for R users.
struct UserSide {
  torch::Tensor emb;         // [R, dim] weighted mean of the window's item embeddings
  torch::Tensor categories;  // [R, C] weighted category distribution of the window
  torch::Tensor prices;      // [R, P] weighted price-bucket distribution of the window
  torch::Tensor part;        // [R, hidden0] the user block of the first layer, with its bias
};

class MlpRankerNetImpl : public torch::nn::Module {
 public:
  // categories and prices count codes, 0 included (no category / no price).
  MlpRankerNetImpl(const MlpRankerOptions& o, int64_t num_items, int64_t categories,
                   int64_t prices) {
    namespace tnn = torch::nn;
    const int64_t h = o.hidden[0];
    items_ = register_module("items", tnn::Embedding(num_items, o.dim));
    category_ = register_module("category", tnn::Embedding(categories, kCategoryDim));
    price_ = register_module("price", tnn::Embedding(prices, kPriceDim));
    user_in_ = register_module("user_in", tnn::Linear(o.dim + categories + prices + 1, h));
    item_in_ = register_module(
        "item_in",
        tnn::Linear(tnn::LinearOptions(o.dim + kCategoryDim + kPriceDim + 1, h).bias(false)));
    cross_in_ = register_module("cross_in", tnn::Linear(tnn::LinearOptions(o.dim, h).bias(false)));
    share_in_ = register_module("share_in", tnn::Linear(tnn::LinearOptions(2, h).bias(false)));
    dropout_ = register_module("dropout", tnn::Dropout(o.dropout));
    ml::nn::MlpOptions m;
    m.in = h;
    m.out = 1;
    m.hidden.assign(o.hidden.begin() + 1, o.hidden.end());
    m.dropout = o.dropout;
    head_ = register_module("head", ml::nn::Mlp(m));
    item_category_ = register_buffer("item_category", torch::zeros({num_items}, torch::kLong));
    item_price_ = register_buffer("item_price", torch::zeros({num_items}, torch::kLong));
    item_popularity_ = register_buffer("item_popularity", torch::zeros({num_items}));
    // Small embeddings: Adam's steps are then large relative to them from the start.
    torch::NoGradGuard ng;
    items_->weight.normal_(0, kInitStd);
    category_->weight.normal_(0, 0.1);
    price_->weight.normal_(0, 0.1);
  }

  // keep_categories [R] (optional) scales each row's category distribution (Explain's ablation).
  UserSide User(const UserBatch& b, const torch::Tensor& keep_categories = {}) {
    const int64_t r = b.items.size(0), l = b.items.size(1);
    const auto flat = b.items.reshape({-1});
    UserSide u;
    // A weighted bag: no [R, L, dim] gather to allocate and page in per step.
    u.emb = torch::nn::functional::embedding_bag(b.items, items_->weight,
                                                 torch::nn::functional::EmbeddingBagFuncOptions()
                                                     .mode(torch::kSum)
                                                     .per_sample_weights(b.weights));
    u.categories =
        torch::zeros({r, category_->weight.size(0)}, b.weights.options())
            .scatter_add_(1, item_category_.index_select(0, flat).view({r, l}), b.weights);
    if (keep_categories.defined()) u.categories = u.categories * keep_categories.unsqueeze(1);
    u.prices = torch::zeros({r, price_->weight.size(0)}, b.weights.options())
                   .scatter_add_(1, item_price_.index_select(0, flat).view({r, l}), b.weights);
    u.part = user_in_(torch::cat({u.emb, u.categories, u.prices, b.lengths.unsqueeze(1)}, 1));
    return u;
  }

  // The item block of the first layer for all items, [num_items, hidden0].
  torch::Tensor ItemPart() {
    return item_in_(torch::cat({items_->weight, category_(item_category_), price_(item_price_),
                                item_popularity_.unsqueeze(1)},
                               1));
  }

  // Logits of (user row, item) pairs: rows and items are [M] int64.
  torch::Tensor Logits(const UserSide& u, const torch::Tensor& rows, const torch::Tensor& items) {
    const auto cats = item_category_.index_select(0, items);
    const auto prices = item_price_.index_select(0, items);
    const auto e = items_(items);
    const auto item_part = item_in_(torch::cat(
        {e, category_(cats), price_(prices), item_popularity_.index_select(0, items).unsqueeze(1)},
        1));
    const auto shares =
        torch::stack({u.categories.index({rows, cats}), u.prices.index({rows, prices})}, 1);
    const auto h = u.part.index_select(0, rows) + item_part +
                   cross_in_(u.emb.index_select(0, rows) * e) + share_in_(shares);
    return head_(dropout_(torch::relu(h))).squeeze(1);
  }

  // Logits of user `row` against every item, [num_items]; item_part from
  // ItemPart(). REQUIRES: eval mode (no dropout here).
  torch::Tensor ScoreAll(const UserSide& u, int64_t row, const torch::Tensor& item_part) {
    // One product for every user-dependent block: (u * e) W^T = e (W * u)^T
    // folds the user into the product block, the shares are two more input
    // columns and the user block a constant one; the item block is the addend.
    const auto& e = items_->weight;
    const auto x = torch::cat({e, u.categories[row].index_select(0, item_category_).unsqueeze(1),
                               u.prices[row].index_select(0, item_price_).unsqueeze(1),
                               torch::ones({e.size(0), 1}, e.options())},
                              1);  // [num_items, dim + 3]
    const auto w = torch::cat(
        {cross_in_->weight * u.emb[row].unsqueeze(0), share_in_->weight, u.part[row].unsqueeze(1)},
        1);  // [hidden0, dim + 3]
    return head_(torch::addmm(item_part, x, w.t()).relu_()).view({-1});
  }

  torch::Tensor& item_embeddings() { return items_->weight; }
  torch::Tensor& item_category() { return item_category_; }
  torch::Tensor& item_price() { return item_price_; }
  torch::Tensor& item_popularity() { return item_popularity_; }
  int64_t categories() const { return category_->weight.size(0); }
  int64_t prices() const { return price_->weight.size(0); }

 private:
  torch::nn::Embedding items_{nullptr}, category_{nullptr}, price_{nullptr};
  torch::nn::Linear user_in_{nullptr}, item_in_{nullptr}, cross_in_{nullptr}, share_in_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  ml::nn::Mlp head_{nullptr};
  torch::Tensor item_category_, item_price_, item_popularity_;
};
TORCH_MODULE(MlpRankerNet);

// Category codes by item: the kMaxCategories most frequent non-empty
// categories get 1.. (by count, then name); the rest and "" get 0.
std::vector<int64_t> CategoryCodes(const Catalog& catalog, int32_t num_items, int64_t* count) {
  std::vector<int64_t> code(static_cast<size_t>(num_items), 0);
  const size_t n = std::min(catalog.category.size(), static_cast<size_t>(num_items));
  std::map<std::string, int64_t> items_in;
  for (size_t i = 0; i < n; ++i) {
    if (!catalog.category[i].empty()) ++items_in[catalog.category[i]];
  }
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [name, c] : items_in) order.emplace_back(-c, name);
  std::sort(order.begin(), order.end());
  if (order.size() > static_cast<size_t>(kMaxCategories)) order.resize(kMaxCategories);
  std::map<std::string, int64_t> codes;
  for (size_t k = 0; k < order.size(); ++k) codes[order[k].second] = static_cast<int64_t>(k) + 1;
  for (size_t i = 0; i < n; ++i) {
    auto it = codes.find(catalog.category[i]);
    if (it != codes.end()) code[i] = it->second;
  }
  *count = static_cast<int64_t>(codes.size()) + 1;
  return code;
}

// Price codes by item: 1..buckets by quantile of the finite catalog prices, 0 without a price.
std::vector<int64_t> PriceCodes(const Catalog& catalog, int32_t num_items, int buckets,
                                int64_t* count) {
  std::vector<int64_t> code(static_cast<size_t>(num_items), 0);
  const size_t n = std::min(catalog.price.size(), static_cast<size_t>(num_items));
  std::vector<float> finite;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(catalog.price[i])) finite.push_back(catalog.price[i]);
  }
  *count = 1;
  if (buckets < 1 || finite.empty()) return code;
  std::sort(finite.begin(), finite.end());
  std::vector<float> edges;  // upper bounds of buckets 1..buckets-1
  for (int b = 1; b < buckets; ++b) {
    edges.push_back(finite[finite.size() * static_cast<size_t>(b) / static_cast<size_t>(buckets)]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(catalog.price[i])) continue;
    code[i] = 1 + (std::upper_bound(edges.begin(), edges.end(), catalog.price[i]) - edges.begin());
  }
  *count = buckets + 1;
  return code;
}

// Item embeddings to start from: the top `dim` right singular vectors of the
// normalised interactions D_u^-1/2 X D_i^-1/2 (X: users x items, 0/1) by a
// randomised range finder, scaled by the root of their singular values, to
// an entry standard deviation of kInitStd. From small random embeddings the
// product block sits on a plateau for many epochs before it learns taste
// (a dozen on planted genres without a catalog), and early stopping may end
// the fit there. Undefined where there is too little to factor.
torch::Tensor SpectralInit(const std::vector<int64_t>& users, const std::vector<int64_t>& items,
                           int64_t num_users, int64_t num_items, int64_t dim) {
  const auto nnz = static_cast<int64_t>(users.size());
  if (nnz == 0 || dim > num_items || dim > num_users) return {};
  const auto u = torch::tensor(users, torch::kLong), i = torch::tensor(items, torch::kLong);
  const auto ones = torch::ones({nnz});
  const auto du = torch::zeros({num_users}).index_add_(0, u, ones);
  const auto di = torch::zeros({num_items}).index_add_(0, i, ones);
  const auto x = torch::sparse_coo_tensor(torch::stack({u, i}),
                                          (du.index_select(0, u) * di.index_select(0, i)).rsqrt(),
                                          {num_users, num_items})
                     .coalesce();
  const auto xt = x.t().coalesce();
  auto q = torch::randn({num_items, dim});
  for (int k = 0; k < kPowerIterations; ++k) {
    q = torch::mm(xt, torch::mm(x, std::get<0>(torch::linalg_qr(q))));
  }
  q = std::get<0>(torch::linalg_qr(q));
  const auto b = torch::mm(x, q);                               // [users, dim]
  const auto [w, v] = torch::linalg_eigh(torch::mm(b.t(), b));  // w: squared singular values
  const auto e = torch::mm(q, v) * w.clamp_min(0).pow(0.25);
  return e * (kInitStd / e.std().clamp_min(1e-12));
}

// Held-out users for early stopping: the window before their latest items,
// those items (distinct, not seen before), and the items seen (not ranked).
struct ValidSet {
  std::vector<Window> windows;
  std::vector<std::vector<int32_t>> targets;
  std::vector<torch::Tensor> seen;
};

// Mean NDCG@10 of the held-out items over the full catalog.
double ValidNdcg(MlpRankerNet& net, const ValidSet& valid, int L, torch::Device device) {
  torch::NoGradGuard ng;
  net->eval();
  const auto item_part = net->ItemPart();
  double sum = 0;
  constexpr size_t kRows = 256;  // users per user-side batch
  for (size_t b = 0; b < valid.windows.size(); b += kRows) {
    const size_t e = std::min(valid.windows.size(), b + kRows);
    UserBatch batch =
        ToBatch(std::vector<Window>(valid.windows.begin() + static_cast<ptrdiff_t>(b),
                                    valid.windows.begin() + static_cast<ptrdiff_t>(e)),
                L);
    batch = {batch.items.to(device), batch.weights.to(device), batch.lengths.to(device)};
    const UserSide u = net->User(batch);
    for (size_t i = b; i < e; ++i) {
      auto s = net->ScoreAll(u, static_cast<int64_t>(i - b), item_part);
      s.index_fill_(0, valid.seen[i].to(device), -std::numeric_limits<float>::infinity());
      const auto top =
          std::get<1>(s.topk(std::min<int64_t>(10, s.size(0)))).to(torch::kCPU).contiguous();
      const auto& targets = valid.targets[i];
      double dcg = 0, ideal = 0;
      for (int64_t r = 0; r < top.size(0); ++r) {
        const auto item = static_cast<int32_t>(top.data_ptr<int64_t>()[r]);
        if (std::find(targets.begin(), targets.end(), item) != targets.end())
          dcg += 1.0 / std::log2(r + 2.0);
      }
      for (size_t r = 0; r < std::min<size_t>(10, targets.size()); ++r)
        ideal += 1.0 / std::log2(r + 2.0);
      sum += dcg / ideal;
    }
  }
  net->train();
  return sum / static_cast<double>(std::max<size_t>(valid.windows.size(), 1));
}

class MlpRanker final : public Model {
 public:
  explicit MlpRanker(MlpRankerOptions o) : o_(std::move(o)) {}

  std::string name() const override { return "mlp"; }
  nlohmann::json params() const override { return ToJson(o_); }
  Status Fit(const Context& ctx, const Interactions& train, const Catalog& catalog) override;
  void Score(const History& history, std::span<float> scores) const override;
  Reason Explain(const History& history, int32_t item) const override {
    return ExplainMany(history, {&item, 1})[0];
  }
  std::vector<Reason> ExplainMany(const History& history,
                                  std::span<const int32_t> items) const override;
  Status Save(const std::string& dir) const override;
  Status Load(const std::string& dir) override;
  double fit_flops() const override { return fit_flops_; }

 private:
  Window WindowOf(const History& h) const { return MakeWindow(h.items, h.weights, o_, num_items_); }
  // Serving state: eval mode, CPU, the item side of the first layer and unit embeddings cached.
  void Finish();

  MlpRankerOptions o_;
  int32_t num_items_ = 0;
  MlpRankerNet net_{nullptr};
  torch::Tensor item_part_;             // [num_items, hidden0]
  std::vector<float> item_unit_;        // num_items x dim, unit rows (Explain's cosine)
  std::vector<int64_t> item_category_;  // category code per item
  double fit_flops_ = 0;
};

Status MlpRanker::Fit(const Context& ctx, const Interactions& train, const Catalog& catalog) {
  RETURN_IF_ERROR(Validate(o_));
  const int32_t num_items = train.num_items();
  if (num_items < 1) return InvalidArgument("mlp: no items to train on");
  ASSIGN_OR_RETURN(torch::Device device, ml::nn::DeviceOf(ctx));
  const int L = o_.recent;
  const int K = o_.negatives;
  std::mt19937_64 rng(ctx.seed());

  int64_t categories = 0, prices = 0;
  const std::vector<int64_t> item_category = CategoryCodes(catalog, num_items, &categories);
  const std::vector<int64_t> item_price = PriceCodes(catalog, num_items, o_.price_buckets, &prices);
  std::vector<float> counts(static_cast<size_t>(num_items), 0);
  for (int32_t item : train.item) {
    if (item < 0 || item >= num_items) return InvalidArgument("mlp: item code out of range");
    counts[static_cast<size_t>(item)] += 1;
  }
  const float max_count = *std::max_element(counts.begin(), counts.end());
  std::vector<float> popularity(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    popularity[i] =
        static_cast<float>(std::log1p(counts[i]) / std::log1p(std::max(max_count, 1.f)));
  }

  // Hold out the latest items of a sample of users for early stopping.
  std::vector<int32_t> eligible;
  for (int32_t u = 0; u < train.num_users(); ++u) {
    if (train.begin[u + 1] - train.begin[u] >= 3) eligible.push_back(u);
  }
  std::vector<uint8_t> held(static_cast<size_t>(train.num_users()), 0);
  const auto n_eligible = static_cast<int64_t>(eligible.size());
  const int64_t n_valid =
      o_.patience > 0 ? std::min(n_eligible / 2, std::max(n_eligible / 10, kMinValidUsers)) : 0;
  if (n_valid >= 10) {
    std::shuffle(eligible.begin(), eligible.end(), rng);
    for (int64_t i = 0; i < n_valid; ++i)
      held[static_cast<size_t>(eligible[static_cast<size_t>(i)])] = 1;
  }

  // Training rows: per user, each of the latest `targets` items (after the
  // first) against the window of the items before it.
  std::vector<int32_t> row_items;  // R x L, padding 0
  std::vector<float> row_weights;  // R x L, padding 0
  std::vector<float> row_lengths;
  std::vector<int64_t> row_target;
  std::vector<int32_t> row_user;
  std::vector<std::vector<int32_t>> owned(
      static_cast<size_t>(train.num_users()));  // sorted distinct
  std::vector<int64_t> init_users, init_items;  // the training pairs, distinct (SpectralInit)
  ValidSet valid;
  const bool weighted = train.weight.size() == train.item.size();
  for (int32_t u = 0; u < train.num_users(); ++u) {
    const auto b = static_cast<size_t>(train.begin[u]);
    const auto m = static_cast<size_t>(train.begin[u + 1] - train.begin[u]);
    const std::span<const int32_t> seq(train.item.data() + b, m);
    const std::span<const float> w =
        weighted ? std::span<const float>(train.weight.data() + b, m) : std::span<const float>();
    auto& own = owned[static_cast<size_t>(u)];
    own.assign(seq.begin(), seq.end());
    std::sort(own.begin(), own.end());
    own.erase(std::unique(own.begin(), own.end()), own.end());
    size_t end = m;
    if (held[static_cast<size_t>(u)]) {
      end = m - std::min(kValidItems, m / 2);
      std::vector<int32_t> prefix(seq.begin(), seq.begin() + static_cast<ptrdiff_t>(end));
      std::sort(prefix.begin(), prefix.end());
      prefix.erase(std::unique(prefix.begin(), prefix.end()), prefix.end());
      std::vector<int32_t> targets;
      for (size_t t = end; t < m; ++t) {
        if (!std::binary_search(prefix.begin(), prefix.end(), seq[t]) &&
            std::find(targets.begin(), targets.end(), seq[t]) == targets.end()) {
          targets.push_back(seq[t]);
        }
      }
      if (!targets.empty()) {
        valid.windows.push_back(
            MakeWindow(seq.first(end), w.empty() ? w : w.first(end), o_, num_items));
        valid.targets.push_back(std::move(targets));
        valid.seen.push_back(
            torch::tensor(std::vector<int64_t>(prefix.begin(), prefix.end()), torch::kLong));
      }
      for (int32_t item : prefix) init_users.push_back(u), init_items.push_back(item);
    } else {
      for (int32_t item : own) init_users.push_back(u), init_items.push_back(item);
    }
    const size_t first =
        end > static_cast<size_t>(o_.targets) ? end - static_cast<size_t>(o_.targets) : 1;
    for (size_t t = first; t < end; ++t) {
      const Window win = MakeWindow(seq.first(t), w.empty() ? w : w.first(t), o_, num_items);
      if (win.items.empty()) continue;
      const size_t at = row_items.size();
      row_items.resize(at + static_cast<size_t>(L), 0);
      row_weights.resize(at + static_cast<size_t>(L), 0);
      std::copy(win.items.begin(), win.items.end(), row_items.begin() + static_cast<ptrdiff_t>(at));
      std::copy(win.weights.begin(), win.weights.end(),
                row_weights.begin() + static_cast<ptrdiff_t>(at));
      row_lengths.push_back(win.length);
      row_target.push_back(seq[t]);
      row_user.push_back(u);
    }
  }
  const auto rows = static_cast<int64_t>(row_target.size());
  if (rows == 0) return InvalidArgument("mlp: no user has two or more interactions");

  std::vector<double> sample_weight(static_cast<size_t>(num_items), 1.0);
  if (o_.sampling == "popularity" && max_count > 0) {
    for (size_t i = 0; i < counts.size(); ++i)
      sample_weight[i] = std::pow(counts[i], kSamplingPower);
  }
  std::discrete_distribution<int32_t> sampler(sample_weight.begin(), sample_weight.end());

  ml::nn::SetUpTorch(ctx);  // initial weights follow the seed
  try {
    MlpRankerNet net(o_, num_items, categories, prices);
    {
      torch::NoGradGuard ng;
      net->item_category().copy_(torch::tensor(item_category, torch::kLong));
      net->item_price().copy_(torch::tensor(item_price, torch::kLong));
      net->item_popularity().copy_(torch::tensor(popularity, torch::kFloat));
      if (o_.init == "svd") {
        const auto e = SpectralInit(init_users, init_items, train.num_users(), num_items, o_.dim);
        if (e.defined()) net->item_embeddings().copy_(e);
      }
    }
    net->to(device);
    const auto all_items = torch::from_blob(row_items.data(), {rows, L}, torch::kInt).clone();
    const auto all_weights = torch::from_blob(row_weights.data(), {rows, L}, torch::kFloat).clone();
    const auto all_lengths = torch::tensor(row_lengths, torch::kFloat);
    const auto all_targets = torch::tensor(row_target, torch::kLong);
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o_.lr).weight_decay(o_.l2));

    // Multiply-adds per target row and per scored pair, forward; backward doubles them.
    const double h0 = o_.hidden[0];
    double head = 0;
    for (size_t k = 1; k < o_.hidden.size(); ++k) head += o_.hidden[k - 1] * o_.hidden[k];
    head += o_.hidden.back();
    const double per_row = (o_.dim + categories + prices + 1) * h0 + 3.0 * L * o_.dim;
    const double per_pair = (2.0 * o_.dim + kCategoryDim + kPriceDim + 3) * h0 + head;
    const double epoch_flops = 3 * 2 * static_cast<double>(rows) * (per_row + (1 + K) * per_pair);

    torch_common::EarlyStopping stopping;
    stopping.patience = o_.patience;
    int epochs_run = 0;
    std::vector<int64_t> order(static_cast<size_t>(rows));
    std::vector<int64_t> negatives(static_cast<size_t>(rows * K));
    auto progress = ctx.StartProgress("mlp", o_.epochs, "epochs");
    for (int epoch = 0; epoch < o_.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      // Fresh negatives each epoch, resampled (a few times) when the user has the item.
      for (int64_t r = 0; r < rows; ++r) {
        const auto& own = owned[static_cast<size_t>(row_user[static_cast<size_t>(r)])];
        for (int k = 0; k < K; ++k) {
          int32_t item = sampler(rng);
          for (int tries = 0;
               tries < kRejectTries && std::binary_search(own.begin(), own.end(), item); ++tries) {
            item = sampler(rng);
          }
          negatives[static_cast<size_t>(r * K + k)] = item;
        }
      }
      const auto all_negatives = torch::tensor(negatives, torch::kLong).view({rows, K});
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      const torch::Tensor index = torch::tensor(order, torch::kLong);
      net->train();
      double total = 0;
      int64_t seen = 0;
      for (int64_t b = 0; b < rows; b += o_.batch) {
        const auto idx = index.slice(0, b, std::min(rows, b + o_.batch));
        const int64_t n = idx.size(0);
        const UserBatch batch{all_items.index_select(0, idx).to(torch::kLong).to(device),
                              all_weights.index_select(0, idx).to(device),
                              all_lengths.index_select(0, idx).to(device)};
        const auto local = torch::arange(n, torch::kLong);
        const auto pair_rows = torch::cat({local, local.repeat_interleave(K)}).to(device);
        const auto pair_items = torch::cat({all_targets.index_select(0, idx),
                                            all_negatives.index_select(0, idx).view({-1})})
                                    .to(device);
        const auto labels = torch::cat({torch::ones({n}), torch::zeros({n * K})}).to(device);
        opt.zero_grad();
        const UserSide u = net->User(batch);
        const auto loss =
            torch::binary_cross_entropy_with_logits(net->Logits(u, pair_rows, pair_items), labels);
        loss.backward();
        torch::nn::utils::clip_grad_norm_(net->parameters(), 5.0);
        opt.step();
        total += loss.item<double>() * static_cast<double>(n);
        seen += n;
      }
      ++epochs_run;
      double ndcg = std::numeric_limits<double>::quiet_NaN();
      bool stop = false;
      if (!valid.windows.empty()) {
        ndcg = ValidNdcg(net, valid, L, device);
        stop = stopping.Update(ndcg, epoch + 1, *net);
      }
      ctx.logger().Info(
          "mlp epoch",
          {{"epoch", epoch + 1},
           {"loss", total / static_cast<double>(std::max<int64_t>(seen, 1))},
           {"valid_ndcg@10", ndcg},
           {"seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}});
      progress->Update(epoch + 1);
      if (stop) break;
    }
    progress->Finish();
    stopping.RestoreBest(*net);
    if (!valid.windows.empty()) {
      ctx.logger().Info("mlp fitted", {{"best_epoch", stopping.best_epoch}, {"valid_ndcg@10", stopping.best}});
    }
    fit_flops_ = epoch_flops * epochs_run;
    num_items_ = num_items;
    net_ = net;
    Finish();
  } catch (const c10::Error& e) {
    return Internal(std::string("mlp: torch: ") + e.what_without_backtrace());
  }
  return Status::Ok();
}

void MlpRanker::Finish() {
  torch::NoGradGuard ng;
  net_->eval();
  net_->to(torch::kCPU);
  item_part_ = net_->ItemPart().contiguous();
  const auto unit =
      torch::nn::functional::normalize(net_->item_embeddings(),
                                       torch::nn::functional::NormalizeFuncOptions().dim(1))
          .contiguous();
  item_unit_.assign(unit.data_ptr<float>(), unit.data_ptr<float>() + unit.numel());
  const auto cats = net_->item_category().contiguous();
  item_category_.assign(cats.data_ptr<int64_t>(), cats.data_ptr<int64_t>() + cats.numel());
}

void MlpRanker::Score(const History& history, std::span<float> scores) const {
  std::fill(scores.begin(), scores.end(), -std::numeric_limits<float>::infinity());
  if (!net_) return;
  const auto n = static_cast<int64_t>(std::min(scores.size(), static_cast<size_t>(num_items_)));
  auto out = torch::from_blob(scores.data(), {n}, torch::kFloat);
  torch::NoGradGuard ng;
  const Window w = WindowOf(history);
  if (w.items.empty()) {
    // Nothing to read a user from: the most frequent training items first.
    out.copy_(net_.ptr()->item_popularity().slice(0, 0, n));
    return;
  }
  const UserSide u = net_.ptr()->User(ToBatch({w}, o_.recent));
  out.copy_(net_.ptr()->ScoreAll(u, 0, item_part_).slice(0, 0, n));
}

// The reason is the evidence whose removal lowers the item's logit most:
// the most similar history item (cosine of the learned embeddings; kind
// "also_liked") or, when the item is in the user's top category, the user's
// category taste (kind "popular_in_category"). An empty history gets "popular".
std::vector<Reason> MlpRanker::ExplainMany(const History& history,
                                           std::span<const int32_t> items) const {
  std::vector<Reason> out(items.size(), Reason("mlp", -1, "also_liked"));
  if (!net_) return out;
  const Window w = WindowOf(history);
  if (w.items.empty()) {
    for (Reason& r : out) r.kind = "popular";
    return out;
  }
  std::map<int64_t, double> share;
  for (size_t j = 0; j < w.items.size(); ++j) {
    share[item_category_[static_cast<size_t>(w.items[j])]] += w.weights[j];
  }
  int64_t top = 0;
  double top_share = 0;
  for (const auto& [c, s] : share) {
    if (c > 0 && s > top_share) top = c, top_share = s;
  }
  // Rows of the ablation: 0 the window, 1 without the category taste, then
  // per contested item the window without its most similar history item.
  std::vector<Window> rows = {w, w};
  std::vector<size_t> contested;
  const auto dim = static_cast<size_t>(o_.dim);
  for (size_t k = 0; k < items.size(); ++k) {
    const int32_t item = items[k];
    if (item < 0 || item >= num_items_) continue;
    Reason& r = out[k];
    const float* e = item_unit_.data() + static_cast<size_t>(item) * dim;
    float best_sim = -std::numeric_limits<float>::infinity();
    for (int32_t h : w.items) {
      if (h == item) continue;
      const float* x = item_unit_.data() + static_cast<size_t>(h) * dim;
      const float sim = std::inner_product(e, e + dim, x, 0.f);
      if (sim > best_sim) best_sim = sim, r.because = h;
    }
    if (top == 0 || item_category_[static_cast<size_t>(item)] != top) continue;
    if (r.because < 0) {
      r.kind = "popular_in_category";
      continue;
    }
    Window without;
    without.length = w.length;
    double rest = 0;
    for (size_t j = 0; j < w.items.size(); ++j) {
      if (w.items[j] == r.because) continue;
      without.items.push_back(w.items[j]);
      without.weights.push_back(w.weights[j]);
      rest += w.weights[j];
    }
    for (float& x : without.weights) x = static_cast<float>(x / rest);
    rows.push_back(std::move(without));
    contested.push_back(k);
  }
  if (contested.empty()) return out;
  std::vector<float> keep(rows.size(), 1.f);
  keep[1] = 0;
  std::vector<int64_t> pair_rows, pair_items;
  for (size_t j = 0; j < contested.size(); ++j) {
    const int64_t item = items[contested[j]];
    for (int64_t row : {int64_t{0}, int64_t{1}, static_cast<int64_t>(j + 2)}) {
      pair_rows.push_back(row);
      pair_items.push_back(item);
    }
  }
  torch::NoGradGuard ng;
  const UserSide u = net_.ptr()->User(ToBatch(rows, o_.recent), torch::tensor(keep));
  const auto logits = net_.ptr()
                          ->Logits(u, torch::tensor(pair_rows, torch::kLong),
                                   torch::tensor(pair_items, torch::kLong))
                          .contiguous();
  const float* l = logits.data_ptr<float>();
  for (size_t j = 0; j < contested.size(); ++j) {
    const float full = l[3 * j], no_taste = l[3 * j + 1], no_item = l[3 * j + 2];
    if (full - no_taste > full - no_item) {
      out[contested[j]].kind = "popular_in_category";
      out[contested[j]].because = -1;
    }
  }
  return out;
}

Status MlpRanker::Save(const std::string& dir) const {
  if (!net_) return FailedPrecondition("mlp: save before fit");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("mlp: create " + dir + ": " + ec.message());
  nlohmann::json j = params();
  j["num_items"] = num_items_;
  j["categories"] = net_->categories();
  j["prices"] = net_->prices();
  const std::string path = dir + "/" + kParamsFile;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << j.dump(2) << "\n";
  f.close();
  if (!f) return Internal("mlp: cannot write " + path);
  return ml::nn::SaveModule(*net_.ptr(), dir + "/" + kWeightsFile);
}

Status MlpRanker::Load(const std::string& dir) {
  const std::string path = dir + "/" + kParamsFile;
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("mlp: cannot read " + path);
  nlohmann::json j;
  int64_t num_items = 0, categories = 0, prices = 0;
  try {
    j = nlohmann::json::parse(f);
    num_items = j.at("num_items").get<int64_t>();
    categories = j.at("categories").get<int64_t>();
    prices = j.at("prices").get<int64_t>();
    j.erase("num_items");
    j.erase("categories");
    j.erase("prices");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("mlp: " + path + ": " + e.what());
  }
  if (num_items < 1 || num_items > std::numeric_limits<int32_t>::max() || categories < 1 ||
      categories > kMaxCategories + 1 || prices < 1 || prices > 1001) {
    return InvalidArgument("mlp: " + path + ": bad num_items, categories or prices");
  }
  ASSIGN_OR_RETURN(MlpRankerOptions o, ParseOptions(j));
  MlpRankerNet net{nullptr};
  try {
    net = MlpRankerNet(o, num_items, categories, prices);
    // LoadModule takes the archive's shapes as they are: compare them with
    // the ones the params make, and the codes that index the tables too.
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& t : net->parameters()) shapes.push_back(t.sizes().vec());
    for (const auto& t : net->buffers()) shapes.push_back(t.sizes().vec());
    RETURN_IF_ERROR(ml::nn::LoadModule(*net, dir + "/" + kWeightsFile));
    size_t k = 0;
    bool match = net->parameters().size() + net->buffers().size() == shapes.size();
    for (const auto& t : net->parameters())
      match = match && k < shapes.size() && t.sizes().vec() == shapes[k++];
    for (const auto& t : net->buffers())
      match = match && k < shapes.size() && t.sizes().vec() == shapes[k++];
    torch::NoGradGuard ng;
    const auto& cat = net->item_category();
    const auto& price = net->item_price();
    if (!match || cat.min().item<int64_t>() < 0 || cat.max().item<int64_t>() >= categories ||
        price.min().item<int64_t>() < 0 || price.max().item<int64_t>() >= prices) {
      return InvalidArgument("mlp: " + dir + ": weights do not match " + kParamsFile);
    }
  } catch (const c10::Error& e) {
    return InvalidArgument("mlp: " + dir + ": weights do not match " + kParamsFile + ": " +
                           e.what_without_backtrace());
  }
  try {
    o_ = o;
    num_items_ = static_cast<int32_t>(num_items);
    net_ = net;
    Finish();
  } catch (const c10::Error& e) {
    return Internal(std::string("mlp: torch: ") + e.what_without_backtrace());
  }
  return Status::Ok();
}

}  // namespace

void RegisterMlpRanker() {
  RegisterModel("mlp", [](const nlohmann::json& params) -> StatusOr<std::unique_ptr<Model>> {
    ASSIGN_OR_RETURN(MlpRankerOptions o, ParseOptions(params));
    return std::unique_ptr<Model>(std::make_unique<MlpRanker>(std::move(o)));
  });
}

}  // namespace opspilot::recommend
