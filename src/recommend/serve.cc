// Serving: a fitted model with its catalog and histories, filters, business
// rules, pagination, reasons, nearest-neighbour retrieval and persistence.
#include <cstdint>  // before faiss: its 1.7 headers use uint8_t without including it (GCC 13)

#include <faiss/IndexHNSW.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "recommend/internal.h"
#include "recommend/recommend.h"

namespace opspilot::recommend {

using nlohmann::json;
namespace fs = std::filesystem;

struct Recommender::Ann {
  std::unique_ptr<faiss::IndexHNSWFlat> index;
};

Recommender::Recommender(std::unique_ptr<Model> model, Interactions train, Catalog catalog, Options options)
    : model_(std::move(model)), train_(std::move(train)), catalog_(std::move(catalog)), options_(options) {
  Prepare();
}
Recommender::Recommender(Recommender&&) noexcept = default;
Recommender& Recommender::operator=(Recommender&&) noexcept = default;
Recommender::~Recommender() = default;

// Cold-start popularity: a 14-day half-life when the times are real timestamps.
constexpr double kColdStartHalfLifeDays = 14;

void Recommender::SetSegments(std::string key, std::vector<std::string> segment_of_user) {
  segment_key_ = std::move(key);
  segment_of_user_ = std::move(segment_of_user);
  segment_of_user_.resize(static_cast<size_t>(train_.num_users()));
  segment_popularity_.clear();
  std::map<std::string, int64_t> sizes;
  for (const auto& s : segment_of_user_) {
    if (!s.empty()) ++sizes[s];
  }
  if (sizes.size() > 1000) return;  // not a segmentation: too many values to keep a popularity each
  for (const auto& [seg, n] : sizes) segment_popularity_[seg] = internal::ItemPopularity(train_, kColdStartHalfLifeDays, &segment_of_user_, seg);
}

std::string Recommender::SegmentOf(std::string_view user) const {
  const int32_t u = train_.users->Find(user);
  return u >= 0 && static_cast<size_t>(u) < segment_of_user_.size() ? segment_of_user_[static_cast<size_t>(u)] : "";
}

void Recommender::Prepare() {
  const int32_t ni = train_.num_items();
  catalog_.Resize(ni);
  popularity_ = internal::ItemPopularity(train_, kColdStartHalfLifeDays);
  {
    UserItems ui = Aggregate(train_);
    const internal::ItemUsers iu = internal::Transpose(ui, ni);
    user_items_begin_ = std::move(ui.begin);
    user_items_ = std::move(ui.item);
    item_users_begin_ = iu.begin;
    item_users_ = iu.user;
  }
  int dim = 0;
  const float* emb = model_->ItemEmbeddings(&dim);
  if (emb && dim > 0 && ni >= options_.ann_min_items) {
    ann_ = std::make_unique<Ann>();
    ann_->index = std::make_unique<faiss::IndexHNSWFlat>(dim, 32, faiss::METRIC_INNER_PRODUCT);
    ann_->index->hnsw.efConstruction = 80;
    ann_->index->add(ni, emb);
  }
}

History Recommender::HistoryOfUser(std::string_view user) const {
  return HistoryOf(train_, train_.users->Find(user));
}

History Recommender::HistoryFromItems(const std::vector<std::string>& item_ids) const {
  History h;
  int64_t t = 0;
  for (const auto& id : item_ids) {
    const int32_t i = train_.items->Find(id);
    if (i < 0) continue;
    h.items.push_back(i);
    h.weights.push_back(1.f);
    h.times.push_back(t++);
  }
  return h;
}

namespace {

float NegInf() { return -std::numeric_limits<float>::infinity(); }

}  // namespace

StatusOr<std::vector<Recommendation>> Recommender::Recommend(const History& history, const Request& req) const {
  if (req.n < 0 || req.offset < 0) return InvalidArgument("n and offset must be >= 0");
  if (req.n > 10000 || req.offset > 1000000) return InvalidArgument("n is at most 10000 and offset at most 1000000");
  const int32_t ni = train_.num_items();
  const auto nis = static_cast<size_t>(ni);
  std::vector<uint8_t> allowed(nis, 1);
  if (!req.categories.empty()) {
    std::unordered_set<std::string> cats(req.categories.begin(), req.categories.end());
    for (size_t i = 0; i < nis; ++i) allowed[i] = cats.count(catalog_.category[i]) ? 1 : 0;
  }
  if (req.in_stock_only) {
    for (size_t i = 0; i < nis; ++i) allowed[i] &= catalog_.in_stock[i];
  }
  for (const auto& id : req.exclude) {
    const int32_t i = train_.items->Find(id);
    if (i >= 0) allowed[static_cast<size_t>(i)] = 0;
  }
  if (req.exclude_seen) {
    for (int32_t i : history.items) {
      if (i >= 0 && i < ni) allowed[static_cast<size_t>(i)] = 0;
    }
  }
  const bool cold = history.empty();
  std::vector<float> scores(nis, NegInf());
  bool scored = false;
  if (!cold && ann_) {
    // Retrieval: the user's embedding's nearest items, widened until the
    // page fills after filtering (or the whole catalog was searched).
    std::vector<float> q;
    if (model_->UserEmbedding(history, &q)) {
      int64_t want = std::max<int64_t>(64, 4 * (req.offset + req.n) + static_cast<int64_t>(history.size()));
      while (true) {
        want = std::min<int64_t>(want, ni);
        std::vector<float> dist(static_cast<size_t>(want));
        std::vector<faiss::Index::idx_t> label(static_cast<size_t>(want));
        faiss::SearchParametersHNSW sp;
        sp.efSearch = static_cast<int>(std::max<int64_t>(want, 64));
        ann_->index->search(1, q.data(), want, dist.data(), label.data(), &sp);
        int64_t ok = 0;
        for (int64_t k = 0; k < want; ++k) {
          const auto l = label[static_cast<size_t>(k)];
          if (l < 0) continue;
          scores[static_cast<size_t>(l)] = dist[static_cast<size_t>(k)];
          ok += allowed[static_cast<size_t>(l)];
        }
        if (ok >= 2 * (req.offset + req.n) || want >= ni || want >= 200000) break;
        want *= 4;
      }
      scored = true;
    }
  }
  if (!scored) {
    if (cold) {
      auto seg = req.segment.empty() ? segment_popularity_.end() : segment_popularity_.find(req.segment);
      const std::vector<float>& pop = seg == segment_popularity_.end() ? popularity_ : seg->second;
      for (size_t i = 0; i < nis; ++i) scores[i] = pop[i];
    } else {
      model_->Score(history, scores);
    }
  }
  for (size_t i = 0; i < nis; ++i) {
    if (!allowed[i] || std::isnan(scores[i])) scores[i] = NegInf();
  }
  // The page comes from one deterministic list: rank, then the per-category cap.
  const size_t want = static_cast<size_t>(req.offset) + static_cast<size_t>(req.n);
  std::vector<int32_t> ranked;
  size_t pool = std::max<size_t>(2 * want + 32, 64);
  std::vector<int32_t> kept;
  while (true) {
    ranked = internal::TopK(scores, pool);
    kept.clear();
    std::unordered_map<std::string, int> per_cat;
    for (int32_t i : ranked) {
      if (req.max_per_category > 0 && per_cat[catalog_.category[static_cast<size_t>(i)]]++ >= req.max_per_category) continue;
      kept.push_back(i);
      if (kept.size() >= want) break;
    }
    if (kept.size() >= want || ranked.size() < pool) break;
    pool *= 4;
  }
  std::vector<Recommendation> out;
  std::vector<int32_t> page;
  for (size_t r = static_cast<size_t>(req.offset); r < kept.size() && r < want; ++r) page.push_back(kept[r]);
  std::vector<Reason> reasons;
  if (!cold) reasons = model_->ExplainMany(history, page);
  for (size_t k = 0; k < page.size(); ++k) {
    Recommendation rec;
    rec.item = page[k];
    rec.score = scores[static_cast<size_t>(page[k])];
    if (cold && !req.segment.empty() && segment_popularity_.count(req.segment)) {
      rec.reason = {"popular", -1, "popular_in_segment", segment_key_ + "=" + req.segment};
    } else if (cold) {
      rec.reason = {"popular", -1, req.categories.empty() ? "popular" : "popular_in_category", ""};
    } else {
      rec.reason = std::move(reasons[k]);
    }
    out.push_back(std::move(rec));
  }
  return out;
}

StatusOr<std::vector<Recommendation>> Recommender::Similar(std::string_view item, const Request& request) const {
  const int32_t i = train_.items->Find(item);
  if (i < 0) return NotFound("unknown item '" + std::string(item) + "'");
  History h;
  h.items = {i};
  h.weights = {1.f};
  h.times = {0};
  Request r = request;
  r.exclude_seen = true;  // never the item itself
  return Recommend(h, r);
}

StatusOr<std::vector<std::pair<std::string, float>>> Recommender::SimilarUsers(std::string_view user, int n) const {
  const int32_t u = train_.users->Find(user);
  if (u < 0) return NotFound("unknown user '" + std::string(user) + "'");
  if (n < 1 || n > 1000) return InvalidArgument("n must be 1..1000");
  // Cosine on distinct item sets through the item -> users index built at load.
  const int32_t nu = train_.num_users();
  std::vector<float> overlap(static_cast<size_t>(nu), 0.f);
  const int64_t b = user_items_begin_[static_cast<size_t>(u)], e = user_items_begin_[static_cast<size_t>(u) + 1];
  for (int64_t k = b; k < e; ++k) {
    const int32_t i = user_items_[static_cast<size_t>(k)];
    for (int64_t q = item_users_begin_[static_cast<size_t>(i)]; q < item_users_begin_[static_cast<size_t>(i) + 1]; ++q) {
      overlap[static_cast<size_t>(item_users_[static_cast<size_t>(q)])] += 1.f;
    }
  }
  const double mine = static_cast<double>(e - b);
  for (int32_t v = 0; v < nu; ++v) {
    const double theirs =
        static_cast<double>(user_items_begin_[static_cast<size_t>(v) + 1] - user_items_begin_[static_cast<size_t>(v)]);
    auto& o = overlap[static_cast<size_t>(v)];
    o = (v == u || o == 0) ? NegInf() : static_cast<float>(o / std::sqrt(mine * theirs));
  }
  std::vector<std::pair<std::string, float>> out;
  for (int32_t v : internal::TopK(overlap, static_cast<size_t>(n))) {
    out.emplace_back(train_.users->Key(v), overlap[static_cast<size_t>(v)]);
  }
  return out;
}

std::string Recommender::ReasonText(const Reason& r) const {
  const std::string x = r.because >= 0 ? catalog_.Name(*train_.items, r.because) : "";
  if (r.kind == "bought_together") return x.empty() ? "often chosen together with your items" : "often chosen together with " + x;
  if (r.kind == "also_liked") return x.empty() ? "liked by people with your taste" : "people who liked " + x + " also liked this";
  if (r.kind == "similar_content") return x.empty() ? "similar to what you viewed" : "similar to " + x;
  if (r.kind == "next_in_sequence") return x.empty() ? "often comes next" : "often comes next after " + x;
  if (r.kind == "similar_users") return "popular with users like you";
  if (r.kind == "popular_in_category") return "popular in this category";
  if (r.kind == "popular_in_segment") return "popular with customers like you (" + r.detail + ")";
  if (r.kind == "trending") return "trending now";
  if (r.kind == "new") return "new in the catalog";
  if (r.kind == "popular") return "popular right now";
  return "recommended by " + r.source;
}

json Recommender::ToJson(const std::vector<Recommendation>& recs) const {
  json out = json::array();
  for (const auto& r : recs) {
    json one = {{"item_id", train_.items->Key(r.item)},
                {"score", r.score},
                {"source", r.reason.source},
                {"reason", ReasonText(r.reason)}};
    const auto i = static_cast<size_t>(r.item);
    if (!catalog_.title[i].empty()) one["title"] = catalog_.title[i];
    if (!catalog_.category[i].empty()) one["category"] = catalog_.category[i];
    if (r.reason.because >= 0) one["because"] = train_.items->Key(r.reason.because);
    out.push_back(std::move(one));
  }
  return out;
}

namespace {

json Keys(const Dictionary& d) {
  json a = json::array();
  for (int32_t i = 0; i < d.size(); ++i) a.push_back(d.Key(i));
  return a;
}


}  // namespace

Status Recommender::Save(const std::string& dir, const json& extra) const {
  std::error_code ec;
  const fs::path target(dir);
  const fs::path stage = target.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(stage, ec);
  fs::create_directories(stage, ec);
  if (ec) return Internal("cannot create " + stage.string() + ": " + ec.message());
  const std::string s = stage.string();
  json meta = {{"format", "opspilot-recommend-1"},
               {"algorithm", model_->name()},
               {"params", model_->params()},
               {"num_users", train_.num_users()},
               {"num_items", train_.num_items()},
               {"interactions", train_.size()}};
  for (auto& [k, v] : extra.items()) meta[k] = v;
  RETURN_IF_ERROR(internal::WriteJson(s + "/model.json", meta));
  RETURN_IF_ERROR(internal::WriteJson(s + "/ids.json", {{"users", Keys(*train_.users)}, {"items", Keys(*train_.items)}}));
  json cat = {{"title", catalog_.title}, {"category", catalog_.category}, {"text", catalog_.text},
              {"in_stock", catalog_.in_stock}};
  json price = json::array();
  for (float p : catalog_.price) price.push_back(std::isnan(p) ? json(nullptr) : json(p));
  cat["price"] = price;
  RETURN_IF_ERROR(internal::WriteJson(s + "/catalog.json", cat));
  RETURN_IF_ERROR(internal::WriteArray(s + "/train_begin.bin", train_.begin));
  RETURN_IF_ERROR(internal::WriteArray(s + "/train_item.bin", train_.item));
  RETURN_IF_ERROR(internal::WriteArray(s + "/train_weight.bin", train_.weight));
  RETURN_IF_ERROR(internal::WriteArray(s + "/train_time.bin", train_.time));
  RETURN_IF_ERROR(internal::WriteJson(s + "/segments.json", {{"key", segment_key_}, {"of_user", segment_of_user_}}));
  fs::create_directories(stage / "model", ec);
  RETURN_IF_ERROR(model_->Save((stage / "model").string()));
  // Replace atomically: the old directory is moved aside, then removed.
  const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
  const bool had = fs::exists(target);
  if (had) {
    fs::rename(target, old, ec);
    if (ec) return Internal("cannot move " + target.string() + " aside: " + ec.message());
  }
  fs::rename(stage, target, ec);
  if (ec) return Internal("cannot rename " + stage.string() + " to " + target.string() + ": " + ec.message());
  if (had) fs::remove_all(old, ec);
  return Status::Ok();
}

StatusOr<Recommender> Recommender::Load(const std::string& dir) { return Load(dir, Options{}); }

StatusOr<Recommender> Recommender::Load(const std::string& dir, Options options) {
  ASSIGN_OR_RETURN(json meta, internal::ReadJson(dir + "/model.json"));
  if (meta.value("format", "") != "opspilot-recommend-1") {
    return InvalidArgument(dir + ": not an opspilot recommendation model (model.json format)");
  }
  try {
    ASSIGN_OR_RETURN(auto model, MakeModel(meta.at("algorithm").get<std::string>(), meta.at("params")));
    ASSIGN_OR_RETURN(json ids, internal::ReadJson(dir + "/ids.json"));
    Interactions t;
    for (const auto& u : ids.at("users")) t.users->Intern(u.get<std::string>());
    for (const auto& i : ids.at("items")) t.items->Intern(i.get<std::string>());
    ASSIGN_OR_RETURN(t.begin, internal::ReadArray<int64_t>(dir + "/train_begin.bin"));
    ASSIGN_OR_RETURN(t.item, internal::ReadArray<int32_t>(dir + "/train_item.bin"));
    ASSIGN_OR_RETURN(t.weight, internal::ReadArray<float>(dir + "/train_weight.bin"));
    ASSIGN_OR_RETURN(t.time, internal::ReadArray<int64_t>(dir + "/train_time.bin"));
    if (t.begin.size() != static_cast<size_t>(t.users->size()) + 1 || t.item.size() != t.weight.size() ||
        t.item.size() != t.time.size() || static_cast<size_t>(t.begin.back()) != t.item.size()) {
      return InvalidArgument(dir + ": training data files do not agree with ids.json");
    }
    ASSIGN_OR_RETURN(json cj, internal::ReadJson(dir + "/catalog.json"));
    Catalog c;
    c.title = cj.at("title").get<std::vector<std::string>>();
    c.category = cj.at("category").get<std::vector<std::string>>();
    c.text = cj.at("text").get<std::vector<std::string>>();
    c.in_stock = cj.at("in_stock").get<std::vector<uint8_t>>();
    for (const auto& p : cj.at("price")) c.price.push_back(p.is_null() ? std::nanf("") : p.get<float>());
    RETURN_IF_ERROR(model->Load(dir + "/model"));
    Recommender r(std::move(model), std::move(t), std::move(c), options);
    if (fs::exists(dir + "/segments.json")) {
      ASSIGN_OR_RETURN(json seg, internal::ReadJson(dir + "/segments.json"));
      if (!seg.at("key").get<std::string>().empty()) {
        r.SetSegments(seg.at("key").get<std::string>(), seg.at("of_user").get<std::vector<std::string>>());
      }
    }
    return r;
  } catch (const json::exception& e) {
    return InvalidArgument(dir + ": malformed model files: " + e.what());
  }
}

StatusOr<Recommender> Train(const Context& ctx, Interactions data, Catalog catalog, const std::string& model_name,
                            const json& params, json* report) {
  catalog.Resize(data.num_items());
  std::unique_ptr<Model> model;
  if (model_name == "auto") {
    TuneOptions to;
    if (!catalog.empty()) {
      bool has_text = false;
      for (size_t i = 0; i < catalog.title.size() && !has_text; ++i) {
        has_text = !catalog.title[i].empty() || !catalog.category[i].empty() || !catalog.text[i].empty();
      }
      if (has_text) to.models.push_back("hybrid");
    }
    if (data.num_items() > 20000) {
      to.models.erase(std::remove(to.models.begin(), to.models.end(), "ease"), to.models.end());
      to.models.erase(std::remove(to.models.begin(), to.models.end(), "hybrid"), to.models.end());
    }
    if (params.is_object() && params.contains("split")) to.split.protocol = params["split"].get<std::string>();
    ASSIGN_OR_RETURN(TuneResult tr, Tune(ctx, data, catalog, to));
    model = std::move(tr.model);
    if (report) *report = tr.report;
  } else {
    ASSIGN_OR_RETURN(model, MakeModel(model_name, params));
    RETURN_IF_ERROR(model->Fit(ctx, data, catalog));
  }
  return Recommender(std::move(model), std::move(data), std::move(catalog), Recommender::Options{});
}

}  // namespace opspilot::recommend
