#include "server/server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "analytics/analytics.h"
#include "core/time.h"
#include "analytics/profiles.h"
#include "analytics/report.h"
#include "anomaly/engine.h"
#include "forecast/engine.h"
#include "ml/gbm.h"
#include "store/snapshot.h"
#include "ml/registry.h"
#include "recommend/recommend.h"
#include "server/auth.h"
#include "store/ingest.h"
#include "support/engine.h"

namespace opspilot {

using nlohmann::json;

namespace {

void SendError(httplib::Response& res, const Status& st) {
  res.status = HttpStatus(st.code());
  json body = {{"error", {{"code", StatusCodeName(st.code())}, {"message", st.message()}}}};
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

std::string TenantOf(const httplib::Request& req) {
  if (req.has_header("X-Tenant")) return req.get_header_value("X-Tenant");
  if (req.has_param("tenant")) return req.get_param_value("tenant");
  return "default";
}

std::string PresentedKey(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  return req.get_header_value("X-API-Key");
}

// A JSON timestamp: unix seconds or ISO-8601. Errors name `where` and the field.
StatusOr<int64_t> TimeFromJson(const json& v, const std::string& where) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return InvalidArgument(where + ": field 'timestamp': expected ISO-8601 or unix seconds");
  auto t = ParseTimestamp(v.get<std::string>());
  if (!t.ok()) return InvalidArgument(where + ": field 'timestamp': " + t.status().message());
  return *t;
}

}  // namespace

Status ValidateServerOptions(const ServerOptions& o) {
  if (o.port < 0 || o.port > 65535) return InvalidArgument("port must be 0..65535");
  if (o.max_body_bytes < 1024) return InvalidArgument("max body must be at least 1 KiB");
  if (o.threads < 1 || o.threads > 256) return InvalidArgument("server threads must be 1..256");
  return Status::Ok();
}

struct Server::Impl {
  Impl(const Context& c, Store& s, ServerOptions o) : ctx(c), store(s), options(std::move(o)) {}

  const Context& ctx;
  Store& store;
  ServerOptions options;
  httplib::Server http;
  std::thread thread;
  int port = 0;
  // Loaded models by task, with the version they are (immutable, shared by requests).
  std::mutex models_mu;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const ml::GbmModel>>> models;

  // Event snapshots by tenant, rebuilt when a load has been recorded since
  // (every ingestion path records one).
  struct Insights {
    ml::TabularData profiles;
    std::vector<analytics::RfmScores> rfm;
    std::map<std::string, size_t> row_of;                        // user id -> profile row
    std::map<std::string, analytics::ScoredUser> churn, purchase;  // may be empty (too little history)
    nlohmann::json churn_metrics, purchase_metrics;
  };
  struct CachedEvents {
    int64_t load_id = -1;
    std::shared_ptr<const Snapshot> snap;
    std::shared_ptr<const Insights> insights;  // built on first /v1/users request
  };
  std::mutex events_mu;
  std::map<std::string, CachedEvents> events_cache;

  // The snapshot of `spec` for the tenant's latest load: cached until a new
  // load (the load id changes), rebuilt one at a time.
  template <typename Cached>
  StatusOr<std::shared_ptr<const Snapshot>> CachedLoad(const std::string& tenant, std::mutex& mu,
                                                       std::map<std::string, Cached>& cache, SnapshotSpec spec) {
    ASSIGN_OR_RETURN(auto loads, store.RecentLoads(tenant, 1));
    const int64_t id = loads.empty() ? 0 : loads[0].id;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(tenant);
    if (it != cache.end() && it->second.load_id == id) return it->second.snap;
    spec.tenant = tenant;
    ASSIGN_OR_RETURN(Snapshot snap, LoadSnapshot(ctx, store, spec));
    auto shared = std::make_shared<const Snapshot>(std::move(snap));
    cache[tenant] = Cached{id, shared, nullptr};
    return shared;
  }

  StatusOr<std::shared_ptr<const Snapshot>> Events(const std::string& tenant) {
    SnapshotSpec spec;
    spec.tables = {Entity::kItems, Entity::kUsers, Entity::kTickets};
    return CachedLoad(tenant, events_mu, events_cache, spec);
  }

  // Orders, inventory and items for forecasting, and the default reorder plan,
  // per tenant and load id.
  struct CachedCommerce {
    int64_t load_id = -1;
    std::shared_ptr<const Snapshot> snap;
    std::shared_ptr<const std::vector<forecast::PlanRow>> plan;  // default options, on first request
  };
  std::mutex commerce_mu;
  std::map<std::string, CachedCommerce> commerce_cache;

  // Streaming anomaly detectors, one per tenant and series, kept in memory
  // (and saved after every request when options.streams_dir is set). Each
  // series has its own lock: series score, and save, in parallel.
  struct StreamState : anomaly::SavedStream {
    std::mutex mu;      // guards the rest
    bool gone = false;  // deleted while a request waited for mu: look the series up again
  };
  std::mutex stream_mu;  // guards the map only; taken before a series' own lock, never after
  std::map<std::pair<std::string, std::string>, std::shared_ptr<StreamState>> streams;

  // Where a series' state is saved (options.streams_dir set): a directory per tenant.
  std::string StreamPath(const std::string& tenant, const std::string& series) const {
    return anomaly::SavedStreamPath(options.streams_dir + "/" + anomaly::StreamFileName(tenant), series);
  }
  // Restores a series saved by an earlier run into `st`; NotFound when none was saved.
  Status LoadStream(const std::string& tenant, const std::string& series, StreamState* st) const {
    auto saved = anomaly::ReadSavedStream(StreamPath(tenant, series), series);
    if (!saved.ok()) {
      // A file the server wrote and cannot read is the server's fault, not the request's.
      if (saved.status().code() == StatusCode::kNotFound) return saved.status();
      return Internal("saved stream " + saved.status().message());
    }
    static_cast<anomaly::SavedStream&>(*st) = std::move(saved).value();
    return Status::Ok();
  }

  StatusOr<std::shared_ptr<const Snapshot>> Commerce(const std::string& tenant) {
    SnapshotSpec spec;
    spec.events = false;
    spec.tables = {Entity::kItems, Entity::kOrders, Entity::kInventory};
    return CachedLoad(tenant, commerce_mu, commerce_cache, spec);
  }

  StatusOr<std::shared_ptr<const std::vector<forecast::PlanRow>>> Plan(const std::string& tenant,
                                                                        const forecast::PlanOptions& o, bool defaults) {
    ASSIGN_OR_RETURN(auto snap, Commerce(tenant));
    if (defaults) {
      std::lock_guard<std::mutex> lock(commerce_mu);
      auto& cached = commerce_cache[tenant];
      if (cached.snap == snap && cached.plan) return cached.plan;
    }
    ASSIGN_OR_RETURN(auto rows, forecast::PlanFromSnapshot(ctx, *snap, o));
    auto shared = std::make_shared<const std::vector<forecast::PlanRow>>(std::move(rows));
    if (defaults) {
      std::lock_guard<std::mutex> lock(commerce_mu);
      auto& cached = commerce_cache[tenant];
      if (cached.snap == snap) cached.plan = shared;
    }
    return shared;
  }

  // Profiles, RFM segments and both propensities for the tenant's current snapshot.
  StatusOr<std::shared_ptr<const Insights>> UserInsights(const std::string& tenant) {
    ASSIGN_OR_RETURN(auto snap, Events(tenant));
    std::lock_guard<std::mutex> lock(events_mu);
    auto& cached = events_cache[tenant];
    if (cached.snap == snap && cached.insights) return cached.insights;
    auto in = std::make_shared<Insights>();
    analytics::ProfileOptions po;
    po.item_category = analytics::ItemCategories(*snap);
    po.user_attributes = analytics::UserAttributes(*snap);
    analytics::AddTicketFacts(*snap, &po);
    ASSIGN_OR_RETURN(in->profiles, analytics::Profiles(ctx, *snap->events, *snap->users, po));
    ASSIGN_OR_RETURN(in->rfm, analytics::Rfm(in->profiles));
    for (size_t r = 0; r < in->profiles.ids.size(); ++r) in->row_of[in->profiles.ids[r]] = r;
    for (const char* kind : {"churn", "purchase"}) {
      analytics::PropensityOptions pr;
      pr.kind = kind;
      pr.profile = po;
      pr.only_recently_active = false;
      auto result = analytics::Propensity(ctx, *snap->events, *snap->users, pr);
      if (!result.ok()) continue;  // too little history: profiles still serve
      auto& target = std::string(kind) == "churn" ? in->churn : in->purchase;
      (std::string(kind) == "churn" ? in->churn_metrics : in->purchase_metrics) = result->metrics;
      for (auto& su : result->scores) target[su.user] = std::move(su);
    }
    if (cached.snap == snap) cached.insights = in;
    return std::shared_ptr<const Insights>(in);
  }

  StatusOr<std::shared_ptr<const ml::GbmModel>> ServingModel(const std::string& task, std::string* version) {
    if (options.models_dir.empty()) return NotFound("this server has no model registry");
    ml::ModelRegistry registry(options.models_dir);
    ASSIGN_OR_RETURN(ml::ModelInfo info, registry.Serving(task));
    *version = info.version;
    {
      std::lock_guard<std::mutex> lock(models_mu);
      auto it = models.find(task);
      if (it != models.end() && it->second.first == info.version) return it->second.second;
    }
    ASSIGN_OR_RETURN(ml::GbmModel model, ml::GbmModel::Load(info.dir));
    auto shared = std::make_shared<const ml::GbmModel>(std::move(model));
    std::lock_guard<std::mutex> lock(models_mu);
    models[task] = {info.version, shared};
    return shared;
  }

  // The serving support model of a tenant with the store's facts, reloaded
  // when another version serves or new data was loaded.
  struct SupportServing {
    int64_t load_id = -1;
    support::LoadedSupport loaded;
  };
  std::mutex support_mu;
  std::map<std::string, std::shared_ptr<const SupportServing>> support_cache;
  std::mutex conversations_mu;  // one conversation update at a time

  StatusOr<std::shared_ptr<const SupportServing>> Supporting(const std::string& tenant) {
    if (options.models_dir.empty()) return NotFound("this server has no model registry");
    ml::ModelRegistry registry(options.models_dir);
    auto info = registry.Serving(support::SupportTask(tenant));
    if (!info.ok()) {
      return NotFound("no support model serves task '" + support::SupportTask(tenant) +
                      "': train one with `opspilot support train`");
    }
    ASSIGN_OR_RETURN(auto loads, store.RecentLoads(tenant, 1));
    const int64_t id = loads.empty() ? 0 : loads[0].id;
    std::lock_guard<std::mutex> lock(support_mu);
    auto it = support_cache.find(tenant);
    if (it != support_cache.end() && it->second->load_id == id && it->second->loaded.version == info->version) return it->second;
    auto fresh = std::make_shared<SupportServing>();
    fresh->load_id = id;
    ASSIGN_OR_RETURN(fresh->loaded, support::LoadSupport(ctx, store, options.models_dir, tenant, options.llm));
    support_cache[tenant] = fresh;
    return std::shared_ptr<const SupportServing>(fresh);
  }

  // The serving recommendation model of a task, with the tenant's latest
  // events mapped to its item codes: requests read the freshest history.
  struct RecServing {
    std::string task, version;
    std::shared_ptr<const recommend::Recommender> rec;
    std::shared_ptr<const Snapshot> snap;
    std::vector<int32_t> item_map;
    std::vector<float> type_weight;
    std::vector<std::string> segment_of_user;  // by snapshot user code, for cold starts
  };
  std::mutex rec_mu;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const RecServing>> rec_cache;

  StatusOr<std::shared_ptr<const RecServing>> Recommending(const httplib::Request& req) {
    const std::string tenant = TenantOf(req);
    std::string task = req.has_param("model") ? req.get_param_value("model") : "";
    if (task.empty()) task = tenant == "default" ? "recommend" : "recommend-" + tenant;
    if (options.models_dir.empty()) return NotFound("this server has no model registry");
    ml::ModelRegistry registry(options.models_dir);
    auto info = registry.Serving(task);
    if (!info.ok()) {
      return NotFound("no recommendation model serves task '" + task + "': train one with `opspilot recommend train`");
    }
    ASSIGN_OR_RETURN(auto snap, Events(tenant));
    std::shared_ptr<const RecServing> cached;
    {
      std::lock_guard<std::mutex> lock(rec_mu);
      auto it = rec_cache.find({tenant, task});
      if (it != rec_cache.end()) cached = it->second;
    }
    if (cached && cached->version == info->version && cached->snap == snap) return cached;
    auto fresh = std::make_shared<RecServing>();
    fresh->task = task;
    fresh->version = info->version;
    if (cached && cached->version == info->version) {
      fresh->rec = cached->rec;  // only the events changed
    } else {
      ASSIGN_OR_RETURN(recommend::Recommender r, recommend::Recommender::Load(info->dir + "/recommender"));
      fresh->rec = std::make_shared<const recommend::Recommender>(std::move(r));
    }
    fresh->snap = snap;
    if (snap->events) {
      fresh->item_map = recommend::ItemCodeMap(*snap->items, fresh->rec->items());
      fresh->type_weight = recommend::EventTypeWeights(*snap->events, recommend::DefaultEventWeights());
    }
    if (!fresh->rec->segment_key().empty()) fresh->segment_of_user = analytics::UserAttribute(*snap, fresh->rec->segment_key());
    std::lock_guard<std::mutex> lock(rec_mu);
    rec_cache[{tenant, task}] = fresh;
    return std::shared_ptr<const RecServing>(fresh);
  }

  // The query parameter `name`, when given, into *out: a whole number in [lo, hi], else an error naming it.
  static Status IntegerParam(const httplib::Request& req, const char* name, int* out, int lo, int hi) {
    if (!req.has_param(name)) return Status::Ok();
    const std::string v = req.get_param_value(name);
    char* end = nullptr;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || x < lo || x > hi) {
      return InvalidArgument(std::string("query parameter '") + name + "' must be an integer in " + std::to_string(lo) +
                             ".." + std::to_string(hi));
    }
    *out = static_cast<int>(x);
    return Status::Ok();
  }

  // The query parameter `name`, when given, into *out: a number in [lo, hi], else an error naming it.
  static Status NumberParam(const httplib::Request& req, const char* name, double* out, double lo, double hi) {
    if (!req.has_param(name)) return Status::Ok();
    const std::string v = req.get_param_value(name);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(x >= lo && x <= hi)) {
      return InvalidArgument(std::string("query parameter '") + name + "' must be a number in [" + FormatNumber(lo) + ", " +
                             FormatNumber(hi) + "]");
    }
    *out = x;
    return Status::Ok();
  }
  static std::string FormatNumber(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return buf;
  }

  // Request options from the query (n, offset, category, exclude, max_per_category, include_seen).
  static StatusOr<recommend::Request> RecRequest(const httplib::Request& req) {
    recommend::Request r;
    RETURN_IF_ERROR(IntegerParam(req, "n", &r.n, 1, 1000));
    RETURN_IF_ERROR(IntegerParam(req, "offset", &r.offset, 0, 100000));
    RETURN_IF_ERROR(IntegerParam(req, "max_per_category", &r.max_per_category, 0, 1000));
    if (req.has_param("category")) r.categories = analytics::SplitList(req.get_param_value("category"));
    if (req.has_param("exclude")) r.exclude = analytics::SplitList(req.get_param_value("exclude"));
    if (req.has_param("include_seen")) r.exclude_seen = req.get_param_value("include_seen") != "true";
    return r;
  }

  // The role a route needs; health needs none.
  static Role Needed(const httplib::Request& req) {
    if (req.path.rfind("/v1/keys", 0) == 0) return Role::kAdmin;
    // Scoring reads a model; it changes nothing.
    if (req.path.rfind("/v1/models/", 0) == 0) return Role::kRead;
    if (req.path == "/v1/risk/score") return Role::kRead;  // scoring posts data but stores nothing
    if (req.path == "/v1/recommend/session") return Role::kRead;  // recommends for posted items, stores nothing
    if (req.path == "/v1/anomalies/score") return Role::kWrite;  // it advances the series' detector state
    if (req.path == "/v1/support/classify" || req.path == "/v1/support/reply") return Role::kRead;  // stateless
    return req.method == "GET" || req.method == "HEAD" ? Role::kRead : Role::kWrite;
  }

  void Routes() {
    const int nthreads = options.threads;
    http.new_task_queue = [nthreads] { return new httplib::ThreadPool(static_cast<size_t>(nthreads)); };
    http.set_payload_max_length(options.max_body_bytes);
    // Small JSON answers: without TCP_NODELAY, Nagle plus delayed ACKs add ~40 ms
    // to every keep-alive response.
    http.set_tcp_nodelay(true);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.path == "/healthz") return httplib::Server::HandlerResponse::Unhandled;
      const std::string key = PresentedKey(req);
      if (key.empty()) {
        SendError(res, Unauthenticated("missing API key: send 'Authorization: Bearer <key>'"));
        return httplib::Server::HandlerResponse::Handled;
      }
      auto rec = VerifyApiKey(store, key);
      if (!rec.ok()) {
        SendError(res, rec.status());
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!RoleAllows(rec->role, Needed(req))) {
        SendError(res, PermissionDenied("this key's role '" + rec->role + "' may not " + req.method +
                                        " " + req.path));
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) {
        SendError(res, ResourceExhausted("request body exceeds the server's limit"));
      } else if (res.status == 404) {
        SendError(res, NotFound("no route " + req.method + " " + req.path));
      } else {
        Status st(res.status >= 500 ? StatusCode::kInternal : StatusCode::kInvalidArgument,
                  "HTTP " + std::to_string(res.status));
        const int code = res.status;
        SendError(res, st);
        res.status = code;
      }
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unexpected error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      SendError(res, Internal(what));
    });

    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      SendJson(res, 200, {{"status", "ok"}, {"schema_version", store.SchemaVersion()}});
    });

    http.Get("/v1/stats", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string tenant = TenantOf(req);
      json tables = json::object();
      for (Entity e : AllEntities()) {
        auto st = store.Stats(tenant, e);
        if (!st.ok()) return SendError(res, st.status());
        json t = {{"rows", st->rows}};
        if (st->min_time) {
          t["min_time"] = *st->min_time;
          t["max_time"] = *st->max_time;
        }
        tables[std::string(EntityName(e))] = t;
      }
      json loads = json::array();
      auto recent = store.RecentLoads(tenant, 10);
      if (!recent.ok()) return SendError(res, recent.status());
      for (const auto& l : *recent) {
        loads.push_back({{"id", l.id}, {"entity", l.entity}, {"source", l.source}, {"status", l.status},
                         {"rows_read", l.rows_read}, {"rows_loaded", l.rows_loaded},
                         {"rows_rejected", l.rows_rejected}, {"started_at", l.started_at}});
      }
      SendJson(res, 200, {{"tenant", tenant}, {"backend", store.Backend()},
                          {"schema_version", store.SchemaVersion()}, {"tables", tables},
                          {"recent_loads", loads}});
    });

    http.Get("/v1/keys", [this](const httplib::Request&, httplib::Response& res) {
      auto keys = store.ListApiKeys();
      if (!keys.ok()) return SendError(res, keys.status());
      json out = json::array();
      for (const auto& k : *keys) {
        out.push_back({{"key_id", k.key_id}, {"role", k.role}, {"name", k.name},
                       {"created_at", k.created_at}, {"revoked", k.revoked}});
      }
      SendJson(res, 200, {{"keys", out}});
    });

    // Recommendations for a user from their latest events in the store.
    http.Get(R"(/v1/recommend/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto rs = Recommending(req);
      if (!rs.ok()) return SendError(res, rs.status());
      auto r = RecRequest(req);
      if (!r.ok()) return SendError(res, r.status());
      const RecServing& s = **rs;
      const std::string user = req.matches[1].str();
      recommend::History h;
      const int32_t u = s.snap->users->Find(user);
      if (u >= 0 && s.snap->events) {
        h = recommend::HistoryFromEvents(*s.snap->events, u, s.item_map, s.type_weight);
      } else {
        h = s.rec->HistoryOfUser(user);
      }
      // exclude_seen_types=purchase: drop only what was bought, not everything seen.
      if (req.has_param("exclude_seen_types") && u >= 0 && s.snap->events) {
        r->exclude_seen = false;
        for (auto& id : recommend::ItemsWithEventTypes(*s.snap->events, u, *s.snap->items,
                                                       analytics::SplitList(req.get_param_value("exclude_seen_types")))) {
          r->exclude.push_back(std::move(id));
        }
      }
      // Cold start: the segment from the users table (a user known before any event).
      if (u >= 0 && static_cast<size_t>(u) < s.segment_of_user.size()) {
        r->segment = s.segment_of_user[static_cast<size_t>(u)];
      } else {
        r->segment = s.rec->SegmentOf(user);
      }
      auto recs = s.rec->Recommend(h, *r);
      if (!recs.ok()) return SendError(res, recs.status());
      SendJson(res, 200, {{"user_id", user}, {"model", s.task}, {"version", s.version},
                          {"algorithm", s.rec->model().name()}, {"history", h.size()}, {"cold_start", h.empty()},
                          {"offset", r->offset}, {"items", s.rec->ToJson(*recs)}});
    });

    // Items similar to an item (the model's answer for a one-item history).
    http.Get(R"(/v1/similar/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto rs = Recommending(req);
      if (!rs.ok()) return SendError(res, rs.status());
      auto r = RecRequest(req);
      if (!r.ok()) return SendError(res, r.status());
      auto recs = (*rs)->rec->Similar(req.matches[1].str(), *r);
      if (!recs.ok()) return SendError(res, recs.status());
      SendJson(res, 200, {{"item_id", req.matches[1].str()}, {"model", (*rs)->task}, {"version", (*rs)->version},
                          {"items", (*rs)->rec->ToJson(*recs)}});
    });

    // Users whose histories overlap most with a user's.
    http.Get(R"(/v1/similar-users/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto rs = Recommending(req);
      if (!rs.ok()) return SendError(res, rs.status());
      auto r = RecRequest(req);
      if (!r.ok()) return SendError(res, r.status());
      auto users = (*rs)->rec->SimilarUsers(req.matches[1].str(), r->n);
      if (!users.ok()) return SendError(res, users.status());
      json out = json::array();
      for (const auto& [id, sim] : *users) out.push_back({{"user_id", id}, {"similarity", sim}});
      SendJson(res, 200, {{"user_id", req.matches[1].str()}, {"users", out}});
    });

    // Session recommendations for an anonymous visitor: {"items": [recent ids], "n", "category", "exclude"}.
    http.Post("/v1/recommend/session", [this](const httplib::Request& req, httplib::Response& res) {
      auto rs = Recommending(req);
      if (!rs.ok()) return SendError(res, rs.status());
      auto r = RecRequest(req);
      if (!r.ok()) return SendError(res, r.status());
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return SendError(res, InvalidArgument("body is not a JSON object"));
      if (!body.contains("items") || !body["items"].is_array()) {
        return SendError(res, InvalidArgument("body: field 'items': expected an array of item ids"));
      }
      std::vector<std::string> ids;
      for (const auto& x : body["items"]) {
        if (!x.is_string()) return SendError(res, InvalidArgument("body: field 'items': ids must be strings"));
        ids.push_back(x.get<std::string>());
      }
      auto list = [&](const char* key, std::vector<std::string>* out) -> Status {
        if (!body.contains(key)) return Status::Ok();
        const json& v = body[key];
        if (v.is_string()) {
          *out = analytics::SplitList(v.get<std::string>());
          return Status::Ok();
        }
        if (!v.is_array()) return InvalidArgument(std::string("body: field '") + key + "': expected a list of strings");
        out->clear();
        for (const auto& x : v) {
          if (!x.is_string()) return InvalidArgument(std::string("body: field '") + key + "': expected strings");
          out->push_back(x.get<std::string>());
        }
        return Status::Ok();
      };
      if (Status st = list("category", &r->categories); !st.ok()) return SendError(res, st);
      if (Status st = list("exclude", &r->exclude); !st.ok()) return SendError(res, st);
      if (body.contains("n")) {
        if (!body["n"].is_number_integer() || body["n"].get<int>() < 1 || body["n"].get<int>() > 1000) {
          return SendError(res, InvalidArgument("body: field 'n': an integer in 1..1000"));
        }
        r->n = body["n"].get<int>();
      }
      const recommend::History h = (*rs)->rec->HistoryFromItems(ids);
      auto recs = (*rs)->rec->Recommend(h, *r);
      if (!recs.ok()) return SendError(res, recs.status());
      SendJson(res, 200, {{"model", (*rs)->task}, {"version", (*rs)->version}, {"known_items", h.size()},
                          {"cold_start", h.empty()}, {"items", (*rs)->rec->ToJson(*recs)}});
    });

    // Demand forecast of one item (or category with by=category, or by=total with any id).
    http.Get(R"(/v1/forecast/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto get = [&](const char* name, const std::string& fallback) {
        return req.has_param(name) ? req.get_param_value(name) : fallback;
      };
      forecast::DemandOptions d;
      d.level = get("by", "item");
      d.measure = get("measure", "quantity");
      const std::string id = req.matches[1].str();
      if (d.level != "total") d.only = {id};
      forecast::ForecastOptions fo;
      fo.model = get("model", "auto");
      fo.intervals = get("intervals", "model");
      char* end = nullptr;
      const std::string h = get("horizon", "28");
      fo.horizon = static_cast<int>(std::strtol(h.c_str(), &end, 10));
      if (h.empty() || *end != '\0') return SendError(res, InvalidArgument("horizon must be an integer"));
      fo.levels.clear();
      for (const auto& l : analytics::SplitList(get("levels", "80,95"))) fo.levels.push_back(std::atoi(l.c_str()));
      if (Status st = forecast::ValidateForecastOptions(fo); !st.ok()) return SendError(res, st);
      auto snap = Commerce(TenantOf(req));
      if (!snap.ok()) return SendError(res, snap.status());
      auto series = forecast::DailyDemand(**snap, d);
      if (!series.ok()) return SendError(res, series.status());
      if (series->empty()) return SendError(res, NotFound("no sales of '" + id + "' (by=" + d.level + ")"));
      auto f = forecast::ForecastSeries((*series)[0], fo);
      if (!f.ok()) return SendError(res, f.status());
      auto j = forecast::ToJson(*f, fo.levels);
      j["by"] = d.level;
      j["history_days"] = (*series)[0].y.size();
      return SendJson(res, 200, j);
    });

    // The reorder table and its alerts (query: items, service_level, order_cost, holding_rate, review_days, model).
    http.Get(R"(/v1/inventory/(plan|alerts))", [this](const httplib::Request& req, httplib::Response& res) {
      forecast::PlanOptions o;
      bool defaults = true;
      auto num = [&](const char* name, double* out) -> Status {
        if (!req.has_param(name)) return Status::Ok();
        defaults = false;
        const std::string v = req.get_param_value(name);
        char* end = nullptr;
        *out = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0') return InvalidArgument(std::string(name) + " must be a number, not '" + v + "'");
        return Status::Ok();
      };
      for (auto [name, ptr] : {std::pair{"service_level", &o.service_level}, std::pair{"order_cost", &o.order_cost},
                               std::pair{"holding_rate", &o.holding_rate}, std::pair{"review_days", &o.review_period_days},
                               std::pair{"lead_time", &o.default_lead_time_days}}) {
        if (Status st = num(name, ptr); !st.ok()) return SendError(res, st);
      }
      if (req.has_param("items")) {
        o.items = analytics::SplitList(req.get_param_value("items"));
        defaults = false;
      }
      if (req.has_param("model")) {
        o.forecast.model = req.get_param_value("model");
        defaults = false;
      }
      auto plan = Plan(TenantOf(req), o, defaults);
      if (!plan.ok()) return SendError(res, plan.status());
      const bool alerts = req.matches[1].str() == "alerts";
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& r : **plan) {
        if (alerts && r.alerts.empty()) continue;
        rows.push_back(forecast::ToJson(r));
      }
      return SendJson(res, 200, {{alerts ? "alerts" : "items", rows}, {"count", rows.size()}});
    });

    // Metric anomalies with their drill-down, and the riskiest orders (engine mode).
    http.Get(R"(/v1/(anomalies|risk/score))", [this](const httplib::Request& req, httplib::Response& res) {
      const bool risk = req.matches[1].str() == "risk/score";
      SnapshotSpec spec;
      spec.tenant = TenantOf(req);
      spec.events = false;
      spec.tables = risk ? std::vector<Entity>{Entity::kOrders, Entity::kUsers} : std::vector<Entity>{Entity::kMetrics};
      auto snap = LoadSnapshot(ctx, store, spec);
      if (!snap.ok()) return SendError(res, snap.status());
      if (risk) {
        anomaly::OrderRiskOptions o;
        if (req.has_param("top")) o.top = std::atoi(req.get_param_value("top").c_str());
        if (Status st = NumberParam(req, "threshold", &o.risk.threshold, 0, 1); !st.ok()) return SendError(res, st);
        if (req.has_param("velocity")) {  // KEY:SECONDS:MAX[,KEY:SECONDS:MAX...]
          for (const auto& rule_spec : analytics::SplitList(req.get_param_value("velocity"))) {
            auto rule = anomaly::ParseVelocityRule(rule_spec);
            if (!rule.ok()) return SendError(res, InvalidArgument("query parameter 'velocity': " + rule.status().message()));
            o.risk.velocity.push_back(std::move(*rule));
          }
        }
        int64_t flagged = 0;
        auto risky = anomaly::ScoreOrders(ctx, *snap, o, &flagged);
        if (!risky.ok()) return SendError(res, risky.status());
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& r : *risky) rows.push_back(anomaly::ToJson(r));
        return SendJson(res, 200, {{"flagged", flagged}, {"orders", rows}});
      }
      anomaly::MetricAlertOptions o;
      if (req.has_param("segments")) o.segments = req.get_param_value("segments");
      if (req.has_param("metrics")) o.metrics = analytics::SplitList(req.get_param_value("metrics"));
      if (req.has_param("detector")) o.detector = req.get_param_value("detector");
      if (req.has_param("transform")) {
        auto transform = anomaly::ParseValueTransform(req.get_param_value("transform"));
        if (!transform.ok()) return SendError(res, transform.status());
        o.score.detector_options.transform = *transform;
      }
      if (Status st = IntegerParam(req, "habituate_after", &o.score.detector_options.habituate_after, 0, 1000000);
          !st.ok()) {
        return SendError(res, st);
      }
      if (Status st = NumberParam(req, "threshold", &o.alert.threshold, 0, 1); !st.ok()) return SendError(res, st);
      if (Status st = NumberParam(req, "warning", &o.alert.warning, 0, 1); !st.ok()) return SendError(res, st);
      if (Status st = NumberParam(req, "critical", &o.alert.critical, 0, 1); !st.ok()) return SendError(res, st);
      double cooldown = static_cast<double>(o.alert.cooldown_seconds);
      if (Status st = NumberParam(req, "cooldown", &cooldown, 0, 365 * 86400.0); !st.ok()) return SendError(res, st);
      o.alert.cooldown_seconds = static_cast<int64_t>(cooldown);
      if (req.has_param("weights")) {  // RATE=DENOMINATOR[,RATE=DENOMINATOR...]
        for (const auto& w : analytics::SplitList(req.get_param_value("weights"))) {
          if (Status st = anomaly::AddRateWeight(w, &o); !st.ok()) return SendError(res, st.WithContext("query parameter 'weights'"));
        }
      }
      auto alerts = anomaly::MetricAlerts(ctx, *snap, o);
      if (!alerts.ok()) return SendError(res, alerts.status());
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& a : *alerts) rows.push_back(anomaly::ToJson(a));
      return SendJson(res, 200, {{"alerts", rows}, {"count", rows.size()}});
    });

    // Streaming scores: each posted point of a series is scored by that series'
    // detector, which keeps its state between requests (in memory, per tenant).
    http.Post("/v1/anomalies/score", [this](const httplib::Request& req, httplib::Response& res) {
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (!body.is_object() || !body.contains("series_id") || !body["series_id"].is_string() ||
          !body.contains("points") || !body["points"].is_array()) {
        return SendError(res, InvalidArgument("expected {\"series_id\": \"...\", \"points\": [{\"timestamp\", \"value\"}, ...]}"));
      }
      const std::string detector = body.value("detector", std::string("ensemble"));
      const double threshold = body.value("threshold", 0.5);
      if (body.contains("transform") && !body["transform"].is_string()) {
        return SendError(res, InvalidArgument("transform must be a string: auto, none, sqrt or log"));
      }
      auto transform = anomaly::ParseValueTransform(body.value("transform", std::string("auto")));
      if (!transform.ok()) return SendError(res, transform.status());
      if (body.contains("habituate_after") &&
          !(body["habituate_after"].is_number_integer() && body["habituate_after"].get<int64_t>() >= 0 &&
            body["habituate_after"].get<int64_t>() <= 1000000)) {
        return SendError(res, InvalidArgument("habituate_after must be a whole number >= 0 (0: never habituate)"));
      }
      std::vector<std::pair<int64_t, double>> points;
      for (size_t i = 0; i < body["points"].size(); ++i) {
        const auto& p = body["points"][i];
        const std::string where = "point " + std::to_string(i + 1);
        if (!p.is_object() || !p.contains("value") || !p["value"].is_number() || !p.contains("timestamp")) {
          return SendError(res, InvalidArgument(where + ": expected {\"timestamp\", \"value\": number}"));
        }
        auto t = TimeFromJson(p["timestamp"], where);
        if (!t.ok()) return SendError(res, t.status());
        points.emplace_back(*t, p["value"].get<double>());
      }
      const std::string tenant = TenantOf(req), series = body["series_id"].get<std::string>();
      std::shared_ptr<StreamState> entry;
      std::unique_lock<std::mutex> lock;
      while (true) {
        {
          std::lock_guard<std::mutex> map_lock(stream_mu);
          std::shared_ptr<StreamState>& slot = streams[{tenant, series}];
          if (!slot) slot = std::make_shared<StreamState>();
          entry = slot;
        }
        lock = std::unique_lock<std::mutex>(entry->mu);
        if (!entry->gone) break;
        lock.unlock();  // before `entry` lets go of the deleted series (and its mutex)
      }
      StreamState& st = *entry;
      // A series left without a detector (its first request failed) leaves the map.
      auto forget = [&] {
        st.gone = true;
        lock.unlock();
        std::lock_guard<std::mutex> map_lock(stream_mu);
        if (auto it = streams.find({tenant, series}); it != streams.end() && it->second == entry) streams.erase(it);
      };
      if (!st.detector && !options.streams_dir.empty()) {
        // The series as an earlier run of the server left it.
        if (Status loaded = LoadStream(tenant, series, &st); !loaded.ok() && loaded.code() != StatusCode::kNotFound) {
          forget();
          return SendError(res, loaded);
        }
      }
      if (!st.detector) {
        anomaly::DetectorOptions o;
        o.probation = body.value("probation", int64_t{300});
        o.transform = *transform;
        o.habituate_after = static_cast<int>(body.value("habituate_after", int64_t{o.habituate_after}));
        auto made = anomaly::MakeDetector(detector, o);
        if (!made.ok()) {
          forget();
          return SendError(res, made.status());
        }
        st.detector = std::move(made).value();
        st.series_id = series;
        st.detector_name = detector;
        st.probation = o.probation;
        st.transform = o.transform;
        st.habituate_after = o.habituate_after;
      } else {
        // A later request may repeat the settings but not change them: a silent mismatch would
        // leave the client believing a detector runs that does not.
        std::string changed;
        if (body.contains("detector") && detector != st.detector_name) changed = "detector";
        if (body.contains("probation") && body.value("probation", int64_t{0}) != st.probation) changed = "probation";
        if (body.contains("transform") && *transform != st.transform) changed = "transform";
        if (body.contains("habituate_after") && body["habituate_after"].get<int64_t>() != st.habituate_after) {
          changed = "habituate_after";
        }
        if (!changed.empty()) {
          return SendError(res, FailedPrecondition("series '" + body["series_id"].get<std::string>() + "' was started with " +
                                                   "other settings ('" + changed + "' differs); a series keeps the settings of " +
                                                   "its first request (use a new series_id to change them)"));
        }
      }
      // All or nothing: check the order before any point advances the detector.
      for (size_t i = 0; i < points.size(); ++i) {
        const int64_t before = i == 0 ? st.last_time : points[i - 1].first;
        if (points[i].first < before) {
          return SendError(res, InvalidArgument("point " + std::to_string(i + 1) + ": timestamp " +
                                                FormatTimestamp(points[i].first) + " is before the previous point " +
                                                FormatTimestamp(before) + " (points must arrive in time order)"));
        }
      }
      // When states are saved, the points advance a copy, which replaces the
      // detector only once its state is on disk: a failed write changes nothing.
      const bool save = !options.streams_dir.empty();
      std::unique_ptr<anomaly::Detector> copy = save ? st.detector->Clone() : nullptr;
      anomaly::Detector& scorer = save ? *copy : *st.detector;
      int64_t last_time = st.last_time;
      nlohmann::json scores = nlohmann::json::array();
      for (size_t i = 0; i < points.size(); ++i) {
        last_time = points[i].first;
        const double score = scorer.Update(points[i].first, points[i].second);
        const double expected = scorer.expected();
        const bool anomalous = score >= threshold;
        // As `anomaly score --explain`: the forecast, and the kind of change at anomalous points.
        scores.push_back({{"timestamp", FormatTimestamp(points[i].first)}, {"value", points[i].second}, {"score", score},
                          {"is_anomaly", anomalous},
                          {"expected", std::isnan(expected) ? nlohmann::json(nullptr) : nlohmann::json(expected)},
                          {"kind", anomalous ? std::string(anomaly::ChangeKindName(scorer.kind())) : std::string()}});
      }
      if (save) {
        const Status w = anomaly::WriteSavedStream(StreamPath(tenant, series), anomaly::SavedStreamBytes(st, scorer, last_time));
        if (!w.ok()) return SendError(res, w);
        st.detector = std::move(copy);
      }
      st.last_time = last_time;
      return SendJson(res, 200, {{"series_id", body["series_id"]}, {"detector", st.detector->name()}, {"scores", scores}});
    });

    // Forgets a series' streaming detector (in memory and its saved state): the
    // next points of that id start a new one, with new settings if given.
    http.Delete(R"(/v1/anomalies/streams/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string tenant = TenantOf(req), series = req.matches[1];
      // The map stays locked until the file is gone, so that no request can
      // load the state being deleted; a deletion is rare and waits at most
      // for the one request in progress on that series.
      std::lock_guard<std::mutex> map_lock(stream_mu);
      bool found = false;
      if (auto it = streams.find({tenant, series}); it != streams.end()) {
        const std::shared_ptr<StreamState> keep = it->second;  // outlives the lock below
        std::lock_guard<std::mutex> lock(keep->mu);            // waits for a request in progress
        found = keep->detector != nullptr;
        keep->gone = true;
        streams.erase(it);
      }
      if (!options.streams_dir.empty()) {
        std::error_code ec;
        found = std::filesystem::remove(StreamPath(tenant, series), ec) || found;
        if (ec) return SendError(res, Internal("cannot remove the saved state of '" + series + "': " + ec.message()));
      }
      if (!found) return SendError(res, NotFound("no streaming detector for series '" + series + "'"));
      return SendJson(res, 200, {{"series_id", series}, {"deleted", true}});
    });

    // Scores posted order lines against the store's orders (the store is not changed).
    http.Post("/v1/risk/score", [this](const httplib::Request& req, httplib::Response& res) {
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      const nlohmann::json* rows = &body;
      if (body.is_object() && body.contains("orders")) rows = &body["orders"];
      if (!rows->is_array() || rows->empty()) {
        return SendError(res, InvalidArgument("expected a JSON array of order lines (or {\"orders\": [...]})"));
      }
      std::vector<anomaly::OrderLine> lines;
      for (size_t i = 0; i < rows->size(); ++i) {
        const auto& r = (*rows)[i];
        const std::string where = "order line " + std::to_string(i + 1);
        if (!r.is_object()) return SendError(res, InvalidArgument(where + ": expected an object"));
        anomaly::OrderLine l;
        for (const auto& [k, v] : r.items()) {
          if (k == "order_id" || k == "user_id") {
            if (!v.is_string()) return SendError(res, InvalidArgument(where + ": field '" + k + "': expected a string"));
            (k == "order_id" ? l.order_id : l.user_id) = v.get<std::string>();
          } else if (k == "quantity" || k == "unit_price") {
            if (!v.is_number()) return SendError(res, InvalidArgument(where + ": field '" + k + "': expected a number"));
            (k == "quantity" ? l.quantity : l.unit_price) = v.get<double>();
          } else if (k == "timestamp") {
            auto t = TimeFromJson(v, where);
            if (!t.ok()) return SendError(res, t.status());
            l.time = *t;
          } else if (v.is_string()) {
            l.attributes[k] = v.get<std::string>();
          }
        }
        if (l.order_id.empty() || !r.contains("quantity") || !r.contains("unit_price") || !r.contains("timestamp")) {
          return SendError(res, InvalidArgument(where + ": order_id, quantity, unit_price and timestamp are required"));
        }
        lines.push_back(std::move(l));
      }
      SnapshotSpec spec;
      spec.tenant = TenantOf(req);
      spec.events = false;
      spec.tables = {Entity::kOrders, Entity::kUsers};
      auto snap = LoadSnapshot(ctx, store, spec);
      if (!snap.ok()) return SendError(res, snap.status());
      anomaly::OrderRiskOptions oo;
      if (body.is_object()) {
        if (Status st = anomaly::RiskRulesFromJson(body, &oo.risk); !st.ok()) return SendError(res, st);
      }
      auto scored = anomaly::ScoreNewOrders(ctx, *snap, lines, oo);
      if (!scored.ok()) return SendError(res, scored.status());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : *scored) {
        auto j = anomaly::ToJson(r);
        j["flagged"] = r.result.flagged;
        out.push_back(std::move(j));
      }
      return SendJson(res, 200, {{"orders", out}});
    });

    // Analytics over the tenant's events: query parameters as in docs/api.md.
    http.Get(R"(/v1/analytics/(funnel|retention|trends|paths|lifecycle|stickiness))", [this](const httplib::Request& req, httplib::Response& res) {
      auto get = [&](const char* name) { return req.has_param(name) ? req.get_param_value(name) : std::string(); };
      const std::string what = req.matches[1].str();
      StatusOr<std::shared_ptr<const Snapshot>> snap = Internal("unset");
      if (!get("breakdown").empty() || !get("breakdown_user").empty()) {
        // Breakdowns need a property or the users table: a snapshot of their own.
        SnapshotSpec spec;
        spec.tenant = TenantOf(req);
        spec.event_property = get("breakdown");
        if (!get("breakdown_user").empty()) spec.tables = {Entity::kUsers};
        auto loaded = LoadSnapshot(ctx, store, spec);
        if (!loaded.ok()) return SendError(res, loaded.status());
        snap = std::make_shared<const Snapshot>(std::move(loaded).value());
      } else {
        snap = Events(TenantOf(req));
      }
      if (!snap.ok()) return SendError(res, snap.status());
      const EventLog& log = *(*snap)->events;
      if (what == "funnel") {
        auto spec = analytics::FunnelSpecFromParams(get);
        if (!spec.ok()) return SendError(res, spec.status());
        std::vector<std::string> user_values;
        if (!get("breakdown_user").empty()) {
          user_values = analytics::UserAttribute(**snap, get("breakdown_user"));
          spec->user_breakdown = &user_values;
        }
        auto r = analytics::Funnel(ctx, log, *(*snap)->users, *spec);
        if (!r.ok()) return SendError(res, r.status());
        return SendJson(res, 200, analytics::ToJson(*r));
      }
      if (what == "retention") {
        auto spec = analytics::RetentionSpecFromParams(get);
        if (!spec.ok()) return SendError(res, spec.status());
        auto r = analytics::Retention(ctx, log, *spec);
        if (!r.ok()) return SendError(res, r.status());
        return SendJson(res, 200, analytics::ToJson(*r, spec->periods));
      }
      if (what == "lifecycle" || what == "stickiness") {
        auto period = analytics::ParsePeriod(get("period").empty() ? "week" : get("period"));
        if (!period.ok()) return SendError(res, period.status());
        int64_t since = 0, until = 0;
        if (Status st = analytics::TimeRangeFromParams(get, &since, &until); !st.ok()) return SendError(res, st);
        if (what == "lifecycle") {
          auto r = analytics::Lifecycle(ctx, log, get("event"), *period, since, until);
          if (!r.ok()) return SendError(res, r.status());
          return SendJson(res, 200, analytics::ToJson(*r));
        }
        auto r = analytics::Stickiness(ctx, log, get("event"), *period, since, until);
        if (!r.ok()) return SendError(res, r.status());
        return SendJson(res, 200, analytics::ToJson(*r));
      }
      if (what == "trends") {
        auto period = analytics::ParsePeriod(get("period").empty() ? "day" : get("period"));
        if (!period.ok()) return SendError(res, period.status());
        auto r = analytics::Trends(ctx, log, *period, analytics::SplitList(get("events")), !get("breakdown").empty());
        if (!r.ok()) return SendError(res, r.status());
        return SendJson(res, 200, analytics::ToJson(*r));
      }
      auto spec = analytics::PathSpecFromParams(get);
      if (!spec.ok()) return SendError(res, spec.status());
      auto r = analytics::Paths(ctx, log, *spec);
      if (!r.ok()) return SendError(res, r.status());
      SendJson(res, 200, analytics::ToJson(*r));
    });

    // One user: profile, RFM segment and propensities with reasons.
    http.Get(R"(/v1/users/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto in = UserInsights(TenantOf(req));
      if (!in.ok()) return SendError(res, in.status());
      const std::string user = req.matches[1].str();
      auto it = (*in)->row_of.find(user);
      if (it == (*in)->row_of.end()) return SendError(res, NotFound("no events for user '" + user + "'"));
      const auto& p = (*in)->profiles;
      json profile = json::object();
      for (size_t f = 0; f < p.schema.features.size(); ++f) {
        const float v = p.at(static_cast<int64_t>(it->second), static_cast<int64_t>(f));
        const auto& feat = p.schema.features[f];
        if (std::isnan(v)) {
          profile[feat.name] = nullptr;
        } else if (feat.kind == ml::FeatureKind::kCategorical) {
          profile[feat.name] = feat.categories[static_cast<size_t>(v)];
        } else {
          profile[feat.name] = v;
        }
      }
      const auto& rfm = (*in)->rfm[it->second];
      json out = {{"user_id", user}, {"profile", profile},
                  {"segment", {{"rfm", rfm.segment}, {"r", rfm.r}, {"f", rfm.f}, {"m", rfm.m}}}};
      json props = json::object();
      for (const auto& [name, scores] : {std::pair<const char*, const std::map<std::string, analytics::ScoredUser>*>{
                                             "churn_30d", &(*in)->churn},
                                         {"purchase_30d", &(*in)->purchase}}) {
        auto s2 = scores->find(user);
        if (s2 != scores->end()) props[name] = {{"probability", s2->second.probability}, {"reasons", s2->second.reasons}};
      }
      out["propensity"] = props;
      SendJson(res, 200, out);
    });

    // Support: classify messages, answer one, or continue a conversation.
    http.Post("/v1/support/classify", [this](const httplib::Request& req, httplib::Response& res) {
      const json body = json::parse(req.body, nullptr, false);
      std::vector<std::string> texts;
      if (!body.is_discarded() && body.is_object() && body.contains("text") && body["text"].is_string()) {
        texts.push_back(body["text"]);
      } else if (!body.is_discarded() && body.is_object() && body.contains("texts") && body["texts"].is_array()) {
        for (const auto& t : body["texts"]) {
          if (!t.is_string()) return SendError(res, InvalidArgument("field 'texts': every element must be a string"));
          texts.push_back(t);
        }
      } else {
        return SendError(res, InvalidArgument("body: expected {\"text\": \"...\"} or {\"texts\": [...]}"));
      }
      if (texts.size() > 10000) return SendError(res, InvalidArgument("field 'texts': at most 10000 per request"));
      auto s = Supporting(TenantOf(req));
      if (!s.ok()) return SendError(res, s.status());
      json out = json::array();
      for (const auto& a : (*s)->loaded.agent->Analyze(texts)) out.push_back(a.ToJson());
      SendJson(res, 200, {{"version", (*s)->loaded.version}, {"results", out}});
    });
    auto reply = [this](const httplib::Request& req, httplib::Response& res, std::string conversation_id) {
      const json body = json::parse(req.body, nullptr, false);
      const char* field = conversation_id.empty() ? "message" : "text";
      if (body.is_discarded() || !body.is_object() || !body.contains(field) || !body[field].is_string() ||
          body[field].get<std::string>().empty()) {
        return SendError(res, InvalidArgument(std::string("body: field '") + field + "': a non-empty string is required"));
      }
      if (conversation_id.empty() && body.contains("conversation_id") && body["conversation_id"].is_string()) {
        return SendError(res, InvalidArgument("use POST /v1/support/conversations/{id}/messages to continue a conversation"));
      }
      auto s = Supporting(TenantOf(req));
      if (!s.ok()) return SendError(res, s.status());
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      const std::string message = body[field];
      if (conversation_id.empty()) {
        support::Conversation c;
        c.user_id = body.value("user_id", "");
        return SendJson(res, 200, (*s)->loaded.agent->Respond(&c, message, (*s)->loaded.facts.get(), now).ToJson());
      }
      if (options.support_dir.empty()) return SendError(res, FailedPrecondition("this server keeps no conversations"));
      support::ConversationStore conversations(options.support_dir + "/" + TenantOf(req) + "/conversations");
      std::lock_guard<std::mutex> lock(conversations_mu);
      auto c = conversations.Load(conversation_id);
      if (!c.ok()) return SendError(res, c.status());
      if (body.contains("user_id") && body["user_id"].is_string()) c->user_id = body["user_id"];
      json out = (*s)->loaded.agent->Respond(&*c, message, (*s)->loaded.facts.get(), now).ToJson();
      if (Status st = conversations.Save(*c); !st.ok()) return SendError(res, st);
      out["conversation"] = c->ToJson();
      SendJson(res, 200, out);
    };
    http.Post("/v1/support/reply", [reply](const httplib::Request& req, httplib::Response& res) { reply(req, res, ""); });
    http.Post(R"(/v1/support/conversations/([^/]+)/messages)", [reply](const httplib::Request& req, httplib::Response& res) {
      reply(req, res, req.matches[1].str());
    });
    http.Get(R"(/v1/support/conversations/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (options.support_dir.empty()) return SendError(res, FailedPrecondition("this server keeps no conversations"));
      support::ConversationStore conversations(options.support_dir + "/" + TenantOf(req) + "/conversations");
      auto c = conversations.Load(req.matches[1].str());
      if (!c.ok()) return SendError(res, c.status());
      if (c->turns.empty()) return SendError(res, NotFound("no conversation '" + req.matches[1].str() + "'"));
      SendJson(res, 200, c->ToJson());
    });

    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json out = json::array();
      if (!options.models_dir.empty()) {
        ml::ModelRegistry registry(options.models_dir);
        auto tasks = registry.Tasks();
        if (!tasks.ok()) return SendError(res, tasks.status());
        for (const auto& t : *tasks) {
          auto serving = registry.Serving(t);
          json entry = {{"task", t}};
          if (serving.ok()) {
            entry["serving"] = serving->version;
            entry["algorithm"] = serving->metadata.value("algorithm", "");
            entry["created_at"] = serving->metadata.value("created_at", "");
            if (serving->metadata.contains("metrics")) entry["metrics"] = serving->metadata["metrics"];
          }
          out.push_back(entry);
        }
      }
      SendJson(res, 200, {{"models", out}});
    });

    // Scores JSON rows with the serving tabular model of a task.
    http.Post(R"(/v1/models/([a-z0-9_:.\-]+)/predict)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string task = req.matches[1].str();
      std::string version;
      auto model = ServingModel(task, &version);
      if (!model.ok()) return SendError(res, model.status());
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded()) return SendError(res, InvalidArgument("body is not valid JSON"));
      if (body.is_object() && body.contains("rows")) body = body["rows"];
      auto data = ml::TabularFromJsonRows((*model)->schema(), body);
      if (!data.ok()) return SendError(res, data.status());
      auto p = (*model)->Predict(*data);
      if (!p.ok()) return SendError(res, p.status());
      int explain = 0;
      if (req.has_param("explain")) explain = std::clamp(std::atoi(req.get_param_value("explain").c_str()), 0, 20);
      const ml::TabularSchema& s = (*model)->schema();
      const int k = s.task == ml::TaskKind::kMulticlass ? static_cast<int>(s.classes.size()) : 1;
      json preds = json::array();
      for (int64_t r = 0; r < data->rows; ++r) {
        json one = {{"id", data->ids[static_cast<size_t>(r)]}};
        int cls = 0;
        if (s.task == ml::TaskKind::kRegression) {
          one["prediction"] = (*p)[static_cast<size_t>(r)];
        } else if (s.task == ml::TaskKind::kBinary) {
          const float prob = (*p)[static_cast<size_t>(r)];
          one["prediction"] = s.classes[prob > 0.5f ? 1 : 0];
          one["probability"] = prob;
          cls = 1;
        } else {
          const float* row = p->data() + r * k;
          cls = static_cast<int>(std::max_element(row, row + k) - row);
          one["prediction"] = s.classes[static_cast<size_t>(cls)];
          one["probability"] = row[cls];
        }
        if (explain > 0) {
          auto reasons = (*model)->TopReasons(*data, r, explain, cls);
          if (!reasons.ok()) return SendError(res, reasons.status());
          json rs = json::array();
          for (const auto& c : *reasons) rs.push_back({{"feature", c.feature}, {"contribution", c.value}});
          one["reasons"] = rs;
        }
        preds.push_back(one);
      }
      SendJson(res, 200, {{"task", task}, {"version", version}, {"predictions", preds}});
    });

    http.Post(R"(/v1/([a-z_]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto entity = ParseEntity(req.matches[1].str());
      if (!entity.ok()) return SendError(res, NotFound(entity.status().message()));
      IngestOptions io;
      io.tenant = TenantOf(req);
      io.reject_dir = options.reject_dir;
      io.show_progress = false;
      io.keep_rejects = 1000;
      if (Status v = ValidateIngestOptions(io); !v.ok()) return SendError(res, v);
      Ingestor ingestor(ctx, store, io);
      IngestReport report;
      const std::string source = "http:" + req.remote_addr + ":" + std::string(EntityName(*entity));
      Status st = ingestor.IngestBody(*entity, source, req.body, req.get_header_value("Content-Type"),
                                      &report);
      if (!st.ok()) return SendError(res, st);
      json errors = json::array();
      for (const auto& r : report.rejects) {
        errors.push_back({{"line", r.line}, {"field", r.field}, {"reason", r.reason}});
      }
      json body = {{"entity", report.entity}, {"rows_read", report.rows_read},
                   {"rows_loaded", report.rows_loaded}, {"rows_rejected", report.rows_rejected},
                   {"errors", errors}};
      if (!report.reject_file.empty()) body["reject_file"] = report.reject_file;
      // All rejected: the request as a whole is bad. Partly rejected: the
      // valid rows are in; the body lists the rest.
      const bool all_bad = report.rows_loaded == 0 && report.rows_rejected > 0;
      if (all_bad) {
        body["error"] = {{"code", "invalid_argument"}, {"message", "every row was rejected"}};
      }
      SendJson(res, all_bad ? 400 : 200, body);
    });
  }
};

Server::Server(const Context& ctx, Store& store, ServerOptions options)
    : impl_(std::make_unique<Impl>(ctx, store, std::move(options))) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  RETURN_IF_ERROR(ValidateServerOptions(impl_->options));
  impl_->Routes();
  const std::string& host = impl_->options.host;
  if (impl_->options.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(host);
    if (impl_->port <= 0) return Unavailable("cannot bind any port on " + host);
  } else {
    if (!impl_->http.bind_to_port(host, impl_->options.port)) {
      return Unavailable("cannot bind " + host + ":" + std::to_string(impl_->options.port) +
                         " (in use?)");
    }
    impl_->port = impl_->options.port;
  }
  impl_->thread = std::thread([this] { impl_->http.listen_after_bind(); });
  impl_->ctx.logger().Info("serving", {{"host", host}, {"port", impl_->port}});
  return Status::Ok();
}

int Server::port() const { return impl_->port; }

void Server::Stop() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace opspilot
