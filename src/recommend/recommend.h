// Recommendations: interactions in, ranked items with reasons out.
//
// Every model scores the whole catalog for one user's history (the items,
// weights and times of what the user did), so the latest history is used at
// request time: a new event changes the next answer without a retrain (ALS
// folds the user in, EASE and item-kNN sum rows of their item matrices,
// sequence models read the recent items). Memory is items x items only for
// EASE (dense, capped by `max_items`), items x K for the neighbour models and
// (users + items) x factors for ALS; no model holds a users x items matrix.
//
// The pipeline of a request (Recommender::Recommend): score every item (or,
// past `ann_min_items`, only the faiss neighbours of the user's embedding)
// -> drop seen, out-of-stock, excluded and off-category items -> rank with
// ties broken by item code -> at most `max_per_category` per category ->
// the page [offset, offset + n) of that one deterministic list, so pages
// never repeat. Each item carries the model or rule that produced it and why.
#ifndef OPSPILOT_RECOMMEND_RECOMMEND_H_
#define OPSPILOT_RECOMMEND_RECOMMEND_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/dictionary.h"
#include "core/status.h"

namespace opspilot {
struct Snapshot;
struct EventLog;
}

namespace opspilot::recommend {

// Interaction events grouped by user, in time order within a user (CSR).
// Repeated (user, item) pairs are kept: sequence models need them; matrix
// models aggregate them (weights add up).
struct Interactions {
  std::shared_ptr<Dictionary> users = std::make_shared<Dictionary>();
  std::shared_ptr<Dictionary> items = std::make_shared<Dictionary>();
  std::vector<int64_t> begin{0};  // size num_users() + 1
  std::vector<int32_t> item;
  std::vector<float> weight;
  std::vector<int64_t> time;

  int32_t num_users() const { return static_cast<int32_t>(begin.size()) - 1; }
  int32_t num_items() const { return items->size(); }
  int64_t size() const { return static_cast<int64_t>(item.size()); }
};

// One user's history, oldest first.
struct History {
  std::vector<int32_t> items;
  std::vector<float> weights;
  std::vector<int64_t> times;
  size_t size() const { return items.size(); }
  bool empty() const { return items.empty(); }
};

History HistoryOf(const Interactions& data, int32_t user);

// Builds Interactions from events in any order (stable sort by time per user).
class InteractionsBuilder {
 public:
  explicit InteractionsBuilder(std::shared_ptr<Dictionary> users = nullptr,
                               std::shared_ptr<Dictionary> items = nullptr);
  void Add(int32_t user, int32_t item, float weight, int64_t time);
  void Add(std::string_view user, std::string_view item, float weight, int64_t time);
  Interactions Finish();

 private:
  Interactions out_;
  std::vector<int32_t> user_;
};

// Per item code: what the catalog says. Vectors have one entry per item of
// the model's item dictionary; items without a catalog row have "" / NaN.
struct Catalog {
  std::vector<std::string> title, category, text;
  std::vector<float> price;
  std::vector<uint8_t> in_stock;  // 0 = out of stock (excluded from recommendations)
  void Resize(int32_t n);
  bool empty() const { return category.empty(); }
  std::string Name(const Dictionary& items, int32_t item) const;  // title, else the id
};

struct ReadOptions {
  // csv: header with user_id,item_id[,timestamp][,event][,value];
  // movielens: u.data (tab) or ratings.dat (::) "user item rating time";
  // pairs: "user item" per line in time order (SASRec/BERT4Rec files);
  // lines: "user item1 item2 ..." per line (LightGCN/RecBole files);
  // auto: from the file name and first line.
  std::string format = "auto";
  double min_value = -1e300;                // keep rows with value >= this (e.g. ratings >= 3)
  std::map<std::string, float> event_weights;  // event -> weight; 0 drops the event; others weigh 1
  bool use_value_as_weight = false;         // weight = value (else 1, or the event's weight)
};

// Reads an interactions file. Errors name the file, line, field and reason.
// `items` (optional) is the item dictionary to extend (for a catalog read first).
// `users` likewise (to read a test file into a training file's id spaces).
StatusOr<Interactions> ReadInteractions(const std::string& path, const ReadOptions& options,
                                        std::shared_ptr<Dictionary> items = nullptr,
                                        std::shared_ptr<Dictionary> users = nullptr);
// Reads an items CSV (item_id[,title][,category][,price][,text][,in_stock], extra
// columns become "name=value" words of the text); adds unknown items to `items`.
StatusOr<Catalog> ReadCatalog(const std::string& path, Dictionary& items);

// Interactions and catalog from the store's snapshot: events weighted by type
// (view 1, cart 3, purchase 5 unless `event_weights` says otherwise).
struct SnapshotData {
  Interactions data;
  Catalog catalog;
};
StatusOr<SnapshotData> FromSnapshot(const Snapshot& snap, const std::map<std::string, float>& event_weights);
std::map<std::string, float> DefaultEventWeights();

// Serving from the store's latest events (so new events count at once):
// a code map from the snapshot's item dictionary to a model's (-1 where the
// model does not know the item), weights per event type code, and a user's
// weighted history from the event log.
std::vector<int32_t> ItemCodeMap(const Dictionary& from, const Dictionary& to);
std::vector<float> EventTypeWeights(const EventLog& events, const std::map<std::string, float>& weights);
History HistoryFromEvents(const EventLog& events, int32_t user, const std::vector<int32_t>& item_map,
                          const std::vector<float>& type_weight);
// The ids of the items a user had events of these types with (for "exclude
// what was purchased, not what was viewed": Request::exclude with
// exclude_seen off). `items` is the snapshot's item dictionary.
std::vector<std::string> ItemsWithEventTypes(const EventLog& events, int32_t user, const Dictionary& items,
                                             const std::vector<std::string>& types);

// ---------------------------------------------------------------- splits

struct SplitOptions {
  std::string protocol = "loo";  // loo | temporal | random
  double valid_fraction = 0.1;   // random and temporal
  double test_fraction = 0.1;
  bool validation = true;        // carve a validation set out (else valid is empty)
  uint64_t seed = 42;
  int min_user_items = 2;        // users with fewer distinct items keep all in train
};

// Held-out items per user (distinct, not in that user's train part).
struct Split {
  Interactions train;
  std::vector<std::vector<int32_t>> valid, test;  // by user code
};
StatusOr<Split> SplitInteractions(const Interactions& data, const SplitOptions& options);

// ---------------------------------------------------------------- models

struct Reason {
  Reason() = default;
  Reason(std::string s, int32_t b, std::string k, std::string d = {})
      : source(std::move(s)), because(b), kind(std::move(k)), detail(std::move(d)) {}
  std::string source;      // model or rule: "ease", "als", "itemknn", "content", "popular", ...
  int32_t because = -1;    // the history item that contributes most, or -1
  std::string kind;        // "also_liked" | "bought_together" | "similar_content" | "popular" | "trending" |
                           // "next_in_sequence" | "similar_users" | "popular_in_category" | "popular_in_segment"
  std::string detail;      // e.g. the segment ("region=east") for popular_in_segment
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  // Hyper-parameters, as accepted by MakeModel.
  virtual nlohmann::json params() const = 0;
  virtual Status Fit(const Context& ctx, const Interactions& train, const Catalog& catalog) = 0;
  // Writes a score for every item: scores.size() may exceed the model's item
  // count (items added to the dictionary since the fit), and items the model
  // cannot score get 0 or -inf. Thread-safe.
  virtual void Score(const History& history, std::span<float> scores) const = 0;
  // Why `item` scores for this history.
  virtual Reason Explain(const History& history, int32_t item) const;
  // Explain for several items at once (models that must rescore the history
  // to explain, like the hybrid, do it once).
  virtual std::vector<Reason> ExplainMany(const History& history, std::span<const int32_t> items) const;
  virtual Status Save(const std::string& dir) const = 0;
  virtual Status Load(const std::string& dir) = 0;
  // Item embeddings (num_items x dim, row-major) and a user's, for
  // approximate retrieval; null / false when the model has none.
  virtual const float* ItemEmbeddings(int* dim) const { return nullptr; }
  virtual bool UserEmbedding(const History& history, std::vector<float>* out) const { return false; }
  // Fit cost, for reports (floating-point operations of the last Fit; 0 = unknown).
  virtual double fit_flops() const { return 0; }
};

// The k best items for a history by the model's scores over `num_items`
// items, the history's items left out; ties by item code.
std::vector<int32_t> TopItems(const Model& model, const History& history, int32_t num_items, size_t k);

using ModelFactory = std::function<StatusOr<std::unique_ptr<Model>>(const nlohmann::json& params)>;
// Built in: popular, trending, itemknn, userknn, ease, als, content, hybrid.
StatusOr<std::unique_ptr<Model>> MakeModel(const std::string& name, const nlohmann::json& params = {});
// Adds a model (the libtorch build registers sasrec and mlp).
void RegisterModel(const std::string& name, ModelFactory factory);
std::vector<std::string> ModelNames();
// Small grids for tuning: each entry is a params object for MakeModel.
std::vector<nlohmann::json> TuningGrid(const std::string& name, int max_points);

// Per user, distinct items with summed weights (sorted by item). Shared by the matrix models.
struct UserItems {
  std::vector<int64_t> begin{0};
  std::vector<int32_t> item;
  std::vector<float> weight;
};
UserItems Aggregate(const Interactions& data, int max_per_user = 0);  // 0 = all; else the latest

// ---------------------------------------------------------------- evaluation

struct EvalOptions {
  std::vector<int> ks = {10, 20};
  bool exclude_train = true;     // train items of the user are not ranked (standard full ranking)
  int sampled_negatives = 0;     // > 0: also sampled-negative HR/NDCG (labelled as such)
  uint64_t seed = 42;
  int64_t max_users = 0;         // 0 = all users with held-out items; else an even sample
  // Users with held-out items but no training history (temporal splits) are
  // left out and counted as "cold_users": serving gives them popular items.
  bool skip_cold_users = true;
};

// Full-ranking metrics by name: recall@K, ndcg@K, hr@K, precision@K, map@K,
// mrr, coverage@K, popularity@K (mean train popularity of recommended items,
// relative to the mean item's), users, cold_users; sampled metrics are "sampled<N>_hr@K" /
// "sampled<N>_ndcg@K".
StatusOr<std::map<std::string, double>> Evaluate(const Context& ctx, const Model& model, const Interactions& train,
                                                 const std::vector<std::vector<int32_t>>& held_out,
                                                 const EvalOptions& options);

// The same metrics for one user's ranked list (used by Evaluate; exposed for tests).
struct RankMetrics {
  double recall = 0, ndcg = 0, hit = 0, precision = 0, ap = 0, rr = 0;
};
RankMetrics ScoreRanking(std::span<const int32_t> ranked, std::span<const int32_t> relevant, int k);

// Tunes each candidate model on a validation split of `train` (never on test)
// and returns the best by ndcg@10, refitted on all of `train`, plus a report.
struct TuneResult {
  std::unique_ptr<Model> model;
  nlohmann::json report;  // per model: params tried and validation metrics
};
struct TuneOptions {
  std::vector<std::string> models = {"popular", "itemknn", "ease", "als"};
  int grid_points = 6;        // per model
  SplitOptions split;         // how validation is carved from train
  EvalOptions eval;           // ks of the selection metric etc.
  std::string metric = "ndcg@10";
};
StatusOr<TuneResult> Tune(const Context& ctx, const Interactions& train, const Catalog& catalog,
                          const TuneOptions& options);

// ---------------------------------------------------------------- serving

struct Request {
  int n = 10;
  int offset = 0;
  std::vector<std::string> categories;  // only these categories (any of them); empty = all
  std::vector<std::string> exclude;     // item ids never to return
  bool exclude_seen = true;             // drop items in the history
  bool in_stock_only = true;
  int max_per_category = 0;             // 0 = no limit
  std::string segment;                  // cold start: popular among this segment's users (see SetSegments)
};

struct Recommendation {
  int32_t item = -1;
  float score = 0;
  Reason reason;
};

// A trained model with what serving needs: the item dictionary and catalog,
// the training histories (for users the caller has no fresher history for),
// popularity for cold start, and a faiss index over embeddings for large catalogs.
class Recommender {
 public:
  struct Options {
    int ann_min_items = 50000;    // faiss HNSW retrieval at or above this many items
  };
  // Takes a fitted model and its training data.
  Recommender(std::unique_ptr<Model> model, Interactions train, Catalog catalog, Options options);
  Recommender(Recommender&&) noexcept;
  Recommender& operator=(Recommender&&) noexcept;
  ~Recommender();

  // A model directory: model.json, items, users, train.bin, catalog, the model's files.
  // Save writes to a sibling temporary directory and renames it into place.
  Status Save(const std::string& dir, const nlohmann::json& extra = {}) const;
  static StatusOr<Recommender> Load(const std::string& dir, Options options);
  static StatusOr<Recommender> Load(const std::string& dir);

  const Model& model() const { return *model_; }
  const Interactions& train() const { return train_; }
  const Catalog& catalog() const { return catalog_; }
  const Dictionary& items() const { return *train_.items; }
  const Dictionary& users() const { return *train_.users; }

  // Users grouped by one attribute (e.g. region), by training user code
  // ("" = unknown): cold-start requests naming a segment get the items
  // popular among its users. Saved with the model.
  void SetSegments(std::string key, std::vector<std::string> segment_of_user);
  const std::string& segment_key() const { return segment_key_; }
  // The segment of a training user ("" when none).
  std::string SegmentOf(std::string_view user) const;

  // The stored history of a user id (empty for unknown users).
  History HistoryOfUser(std::string_view user) const;
  // A history from item ids (session recommendations); unknown ids are skipped.
  History HistoryFromItems(const std::vector<std::string>& item_ids) const;

  // Ranked page for a history; an empty history gets popular items (in the
  // requested categories), labelled as such.
  StatusOr<std::vector<Recommendation>> Recommend(const History& history, const Request& request) const;
  // Items most similar to `item` (the model's scores for a one-item history).
  StatusOr<std::vector<Recommendation>> Similar(std::string_view item, const Request& request) const;
  // Users whose histories look most like this user's (cosine on embeddings
  // when the model has them, else on item sets).
  StatusOr<std::vector<std::pair<std::string, float>>> SimilarUsers(std::string_view user, int n) const;

  // A human sentence for a reason ("bought together with Blue Mug").
  std::string ReasonText(const Reason& reason) const;
  nlohmann::json ToJson(const std::vector<Recommendation>& recs) const;

 private:
  std::unique_ptr<Model> model_;
  Interactions train_;
  Catalog catalog_;
  Options options_;
  std::vector<float> popularity_;  // time-decayed, per item
  std::vector<int64_t> user_items_begin_;  // distinct items per training user, and its
  std::vector<int32_t> user_items_;        // transpose, for SimilarUsers
  std::vector<int64_t> item_users_begin_;
  std::vector<int32_t> item_users_;
  std::string segment_key_;
  std::vector<std::string> segment_of_user_;
  std::map<std::string, std::vector<float>> segment_popularity_;
  struct Ann;
  std::unique_ptr<Ann> ann_;
  void Prepare();
};

// Fits `model_name` (or tunes when "auto") and wraps the result.
StatusOr<Recommender> Train(const Context& ctx, Interactions data, Catalog catalog, const std::string& model_name,
                            const nlohmann::json& params, nlohmann::json* report);

}  // namespace opspilot::recommend

#endif  // OPSPILOT_RECOMMEND_RECOMMEND_H_
