#include "cli/recommend_cmd.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analytics/profiles.h"
#include "core/csv.h"
#include "core/file.h"
#include "core/strings.h"
#include "ml/registry.h"
#include "recommend/recommend.h"
#include "store/snapshot.h"

namespace opspilot::cli {

using nlohmann::json;
namespace rec = opspilot::recommend;

namespace {

constexpr const char* kDefaultTask = "recommend";

std::vector<std::string> Split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, sep);) {
    const std::string t(Trim(x));
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

StatusOr<std::map<std::string, float>> EventWeights(const std::string& spec) {
  if (spec.empty()) return rec::DefaultEventWeights();
  std::map<std::string, float> w;
  for (const auto& kv : Split(spec)) {
    const size_t eq = kv.find('=');
    double v = 0;
    if (eq == std::string::npos || !ParseDouble(kv.substr(eq + 1), &v) || v < 0) {
      return InvalidArgument("--event-weights: expected event=weight pairs like view=1,purchase=5, got '" + kv + "'");
    }
    w[kv.substr(0, eq)] = static_cast<float>(v);
  }
  return w;
}

StatusOr<json> Params(const std::string& text) {
  json p = json::parse(text, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return InvalidArgument("--params: expected a JSON object, got '" + text + "'");
  return p;
}

// File mode: interactions (and catalog) from files; the catalog's ids come first.
StatusOr<rec::SnapshotData> ReadFiles(const RecommendFlags& f) {
  rec::SnapshotData d;
  auto items = std::make_shared<Dictionary>();
  rec::Catalog catalog;
  if (!f.items.empty()) {
    ASSIGN_OR_RETURN(catalog, rec::ReadCatalog(f.items, *items));
  }
  rec::ReadOptions ro;
  ro.format = f.format;
  ro.min_value = f.min_value;
  if (!f.event_weights.empty()) {
    ASSIGN_OR_RETURN(ro.event_weights, EventWeights(f.event_weights));
  }
  ASSIGN_OR_RETURN(d.data, rec::ReadInteractions(f.interactions, ro, items));
  const rec::Catalog read = std::move(catalog);
  d.catalog.Resize(d.data.num_items());
  for (size_t i = 0; i < read.title.size(); ++i) {
    d.catalog.title[i] = read.title[i];
    d.catalog.category[i] = read.category[i];
    d.catalog.text[i] = read.text[i];
    d.catalog.price[i] = read.price[i];
    d.catalog.in_stock[i] = read.in_stock[i];
  }
  return d;
}

StatusOr<Snapshot> StoreSnapshot(const Context& ctx, const RecommendEnv& env) {
  ASSIGN_OR_RETURN(auto store, env.open_store());
  SnapshotSpec spec;
  spec.tenant = env.tenant;
  spec.tables = {Entity::kItems, Entity::kInventory, Entity::kUsers};
  return LoadSnapshot(ctx, *store, spec);
}

// The users attribute that segments cold-start popularity: the first of
// segment, region, country the users table has ("" when none).
std::string SegmentKey(const Snapshot& snap) {
  if (!snap.find(Entity::kUsers)) return "";
  for (const char* key : {"segment", "region", "country"}) {
    const auto values = analytics::UserAttribute(snap, key);
    for (const auto& v : values) {
      if (!v.empty()) return key;
    }
  }
  return "";
}

std::string TaskFor(const RecommendFlags& f, const RecommendEnv& env) {
  if (!f.register_task.empty()) return f.register_task;
  return env.tenant == "default" ? kDefaultTask : std::string(kDefaultTask) + "-" + env.tenant;
}

// A model directory, or a registry task's serving version.
StatusOr<std::string> ModelDir(const std::string& model, const RecommendEnv& env) {
  if (std::filesystem::is_directory(model)) return model;
  ml::ModelRegistry registry((std::filesystem::path(env.data_dir) / "models").string());
  auto info = registry.Serving(model);
  if (!info.ok()) {
    return NotFound("--model " + model + ": neither a model directory nor a registered task (" + info.status().message() + ")");
  }
  return info->dir + "/recommender";
}

rec::Request RequestFrom(const RecommendFlags& f) {
  rec::Request r;
  r.n = f.k;
  r.offset = f.offset;
  r.categories = Split(f.category);
  r.exclude = Split(f.exclude);
  r.exclude_seen = !f.include_seen;
  r.in_stock_only = !f.include_out_of_stock;
  r.max_per_category = f.max_per_category;
  return r;
}

void PrintRecs(const rec::Recommender& r, const std::vector<rec::Recommendation>& recs, bool json_out) {
  if (json_out) {
    std::cout << r.ToJson(recs).dump(2) << "\n";
    return;
  }
  int rank = 0;
  for (const auto& x : recs) {
    const std::string name = r.catalog().Name(r.items(), x.item);
    const std::string cat = r.catalog().category[static_cast<size_t>(x.item)];
    char score[32];
    std::snprintf(score, sizeof score, "%.3f", x.score);
    std::cout << "  " << ++rank << ". " << name << (name == r.items().Key(x.item) ? "" : " (" + r.items().Key(x.item) + ")")
              << (cat.empty() ? "" : " [" + cat + "]") << "  " << score << "  — " << r.ReasonText(x.reason) << "\n";
  }
}

Status Train(const Context& ctx, const RecommendFlags& f, const RecommendEnv& env) {
  ASSIGN_OR_RETURN(json params, Params(f.params));
  rec::SnapshotData d;
  const bool engine = f.interactions.empty();
  std::string segment_key;
  std::vector<std::string> segments;
  if (engine) {
    ASSIGN_OR_RETURN(Snapshot snap, StoreSnapshot(ctx, env));
    ASSIGN_OR_RETURN(auto weights, EventWeights(f.event_weights));
    ASSIGN_OR_RETURN(d, rec::FromSnapshot(snap, weights));
    segment_key = SegmentKey(snap);
    if (!segment_key.empty()) segments = analytics::UserAttribute(snap, segment_key);
  } else {
    ASSIGN_OR_RETURN(d, ReadFiles(f));
    if (f.out.empty() && f.register_task.empty()) return InvalidArgument("file mode needs --out DIR (or --register TASK)");
  }
  json report;
  const int64_t n = d.data.size();
  ASSIGN_OR_RETURN(rec::Recommender r, rec::Train(ctx, std::move(d.data), std::move(d.catalog), f.model, params, &report));
  if (!segment_key.empty()) r.SetSegments(segment_key, segments);
  json extra = {{"source", engine ? "store" : f.interactions}};
  if (!report.is_null()) extra["tuning"] = report;
  json out = {{"algorithm", r.model().name()}, {"params", r.model().params()}, {"users", r.users().size()},
              {"items", r.items().size()}, {"interactions", n}};
  if (!f.out.empty()) {
    RETURN_IF_ERROR(ReplaceDirAtomic(f.out, [&](const std::string& tmp) { return r.Save(tmp, extra); }));
    out["model_dir"] = f.out;
  }
  if (engine || !f.register_task.empty()) {
    ml::ModelRegistry registry((std::filesystem::path(env.data_dir) / "models").string());
    const std::string task = TaskFor(f, env);
    json meta = {{"algorithm", r.model().name()}, {"params", r.model().params()}, {"kind", "recommend"},
                 {"tenant", env.tenant}};
    if (!report.is_null()) meta["metrics"] = {{"validation_ndcg@10", report.value("validation_ndcg@10", 0.0)}};
    ASSIGN_OR_RETURN(ml::ModelInfo info, registry.Register(ctx, task, meta, [&](const std::string& dir) {
                       return r.Save(dir + "/recommender", extra);
                     }));
    out["task"] = task;
    out["version"] = info.version;
  }
  if (!report.is_null()) out["tuning"] = report;
  if (env.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "trained " << r.model().name() << " " << r.model().params().dump() << " on " << WithCommas(n)
              << " interactions (" << WithCommas(r.users().size()) << " users, " << WithCommas(r.items().size())
              << " items)";
    if (out.contains("model_dir")) std::cout << " -> " << f.out;
    if (out.contains("version")) std::cout << " (registered " << out["task"].get<std::string>() << "/" << out["version"].get<std::string>() << ")";
    std::cout << "\n";
    if (!report.is_null()) {
      std::cout << "selected on a validation split of the training data: " << report["selected"].get<std::string>()
                << ", ndcg@10 " << report["validation_ndcg@10"].get<double>() << "\n";
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> UserList(const std::string& path) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  std::vector<std::string> users;
  int col = 0;
  bool first = true;
  while (reader.Next(&rec)) {
    if (!rec.error.empty()) return InvalidArgument(path + ":" + std::to_string(rec.line) + ": " + rec.error);
    if (first) {
      first = false;
      bool header = false;
      for (size_t k = 0; k < rec.num_fields; ++k) {
        if (ToLower(Trim(rec.field(k))) == "user_id") col = static_cast<int>(k), header = true;
      }
      if (header) continue;
    }
    if (static_cast<int>(rec.num_fields) <= col || rec.field(static_cast<size_t>(col)).empty()) {
      return InvalidArgument(path + ":" + std::to_string(rec.line) + ": field 'user_id': empty");
    }
    users.emplace_back(rec.field(static_cast<size_t>(col)));
  }
  RETURN_IF_ERROR(reader.status());
  return users;
}

Status Predict(const Context& ctx, const RecommendFlags& f, const RecommendEnv& env) {
  ASSIGN_OR_RETURN(std::string dir, ModelDir(f.model, env));
  ASSIGN_OR_RETURN(rec::Recommender r, rec::Recommender::Load(dir));
  std::vector<std::string> users;
  if (f.all) {
    for (int32_t u = 0; u < r.users().size(); ++u) users.push_back(r.users().Key(u));
  } else if (!f.users.empty()) {
    ASSIGN_OR_RETURN(users, UserList(f.users));
  } else {
    return InvalidArgument("give --users FILE or --all");
  }
  // Fresher histories (events since training) from a file, by user id.
  std::optional<rec::Interactions> fresh;
  if (!f.interactions.empty()) {
    rec::ReadOptions ro;
    ro.format = f.format;
    ro.min_value = f.min_value;
    if (!f.event_weights.empty()) {
      ASSIGN_OR_RETURN(ro.event_weights, EventWeights(f.event_weights));
    }
    ASSIGN_OR_RETURN(fresh, rec::ReadInteractions(f.interactions, ro));
  }
  std::vector<int32_t> map;
  if (fresh) map = rec::ItemCodeMap(*fresh->items, r.items());
  const rec::Request req = RequestFrom(f);
  std::vector<std::string> lines(users.size());
  std::vector<Status> errors(users.size(), Status::Ok());
  ctx.pool().ParallelFor(static_cast<int64_t>(users.size()), 64, [&](int64_t lo, int64_t hi) {
    for (int64_t x = lo; x < hi; ++x) {
      const auto xs = static_cast<size_t>(x);
      rec::History h = r.HistoryOfUser(users[xs]);
      if (fresh) {
        const int32_t fu = fresh->users->Find(users[xs]);
        if (fu >= 0) {
          const rec::History add = rec::HistoryOf(*fresh, fu);
          for (size_t k = 0; k < add.size(); ++k) {
            const int32_t i = map[static_cast<size_t>(add.items[k])];
            if (i < 0) continue;
            h.items.push_back(i), h.weights.push_back(add.weights[k]), h.times.push_back(add.times[k]);
          }
        }
      }
      auto recs = r.Recommend(h, req);
      if (!recs.ok()) {
        errors[xs] = recs.status();
        continue;
      }
      std::string& out = lines[xs];
      int rank = 0;
      for (const auto& one : *recs) {
        char score[32];
        std::snprintf(score, sizeof score, "%.6g", one.score);
        std::vector<std::string> fields = {users[xs], std::to_string(++rank), r.items().Key(one.item), score};
        if (f.reasons) {
          fields.push_back(one.reason.source);
          fields.push_back(r.ReasonText(one.reason));
        }
        out += CsvLine(fields) + "\n";
      }
    }
  });
  for (const auto& e : errors) RETURN_IF_ERROR(e);
  std::cout << (f.reasons ? "user_id,rank,item_id,score,source,reason\n" : "user_id,rank,item_id,score\n");
  for (const auto& l : lines) std::cout << l;
  return Status::Ok();
}

Status Evaluate(const Context& ctx, const RecommendFlags& f, const RecommendEnv& env) {
  rec::SnapshotData d;
  if (f.interactions.empty()) {
    ASSIGN_OR_RETURN(Snapshot snap, StoreSnapshot(ctx, env));
    ASSIGN_OR_RETURN(auto weights, EventWeights(f.event_weights));
    ASSIGN_OR_RETURN(d, rec::FromSnapshot(snap, weights));
  } else {
    ASSIGN_OR_RETURN(d, ReadFiles(f));
  }
  ASSIGN_OR_RETURN(json params, Params(f.params));
  rec::Split split;
  if (!f.test.empty()) {
    // A published split: --interactions is the training part, --test the held-out one.
    if (f.interactions.empty()) return InvalidArgument("--test needs --interactions (the training part)");
    rec::ReadOptions ro;
    ro.format = f.format;
    ro.min_value = f.min_value;
    ASSIGN_OR_RETURN(rec::Interactions test, rec::ReadInteractions(f.test, ro, d.data.items, d.data.users));
    split.train = std::move(d.data);
    // Users new in the test file extend the dictionary; give them empty training rows.
    split.train.begin.resize(static_cast<size_t>(split.train.users->size()) + 1, split.train.begin.back());
    split.test.assign(static_cast<size_t>(split.train.users->size()), {});
    for (int32_t u = 0; u < test.num_users(); ++u) {
      auto& held = split.test[static_cast<size_t>(u)];
      for (int64_t q = test.begin[static_cast<size_t>(u)]; q < test.begin[static_cast<size_t>(u) + 1]; ++q) {
        held.push_back(test.item[static_cast<size_t>(q)]);
      }
      std::sort(held.begin(), held.end());
      held.erase(std::unique(held.begin(), held.end()), held.end());
    }
    d.catalog.Resize(split.train.num_items());
  } else {
    rec::SplitOptions so;
    so.protocol = f.protocol;
    so.test_fraction = f.test_fraction;
    so.valid_fraction = f.valid_fraction;
    so.validation = false;  // tuning carves its validation set out of train itself
    so.seed = ctx.seed();
    ASSIGN_OR_RETURN(split, rec::SplitInteractions(d.data, so));
  }
  rec::EvalOptions eo;
  eo.ks.clear();
  for (const auto& k : Split(f.ks)) eo.ks.push_back(std::atoi(k.c_str()));
  if (eo.ks.empty() || *std::min_element(eo.ks.begin(), eo.ks.end()) < 1) return InvalidArgument("--k-list: positive cut-offs, e.g. 10,20");
  eo.sampled_negatives = f.sampled;
  eo.seed = ctx.seed();
  json results = json::array();
  for (const auto& name : Split(f.model)) {
    std::unique_ptr<rec::Model> model;
    json report;
    if (name == "auto") {
      rec::TuneOptions to;
      to.split.protocol = f.protocol;
      to.split.seed = ctx.seed() + 1;
      ASSIGN_OR_RETURN(rec::TuneResult tr, rec::Tune(ctx, split.train, d.catalog, to));
      model = std::move(tr.model);
      report = tr.report;
    } else {
      ASSIGN_OR_RETURN(model, rec::MakeModel(name, params.value(name, params.contains(name) ? json::object() : params)));
      RETURN_IF_ERROR(model->Fit(ctx, split.train, d.catalog));
    }
    ASSIGN_OR_RETURN(auto metrics, rec::Evaluate(ctx, *model, split.train, split.test, eo));
    json one = {{"model", name}, {"algorithm", model->name()}, {"params", model->params()}, {"metrics", metrics}};
    if (!report.is_null()) one["tuning"] = report;
    results.push_back(one);
  }
  const std::string protocol = f.test.empty() ? f.protocol : "given split (" + f.test + ")";
  if (env.json) {
    std::cout << json{{"protocol", protocol}, {"full_ranking", true}, {"results", results}}.dump(2) << "\n";
    return Status::Ok();
  }
  std::cout << "protocol " << protocol << ", full ranking over " << WithCommas(split.train.num_items()) << " items, "
            << WithCommas(static_cast<int64_t>(results[0]["metrics"]["users"].get<double>())) << " test users\n";
  std::printf("%-10s", "model");
  std::vector<std::string> cols;
  for (int k : eo.ks) {
    for (const char* m : {"recall", "ndcg", "hr", "map"}) cols.push_back(std::string(m) + "@" + std::to_string(k));
  }
  cols.push_back("mrr");
  cols.push_back("coverage@" + std::to_string(eo.ks[0]));
  cols.push_back("popularity@" + std::to_string(eo.ks[0]));
  if (f.sampled > 0) {
    cols.push_back("sampled" + std::to_string(f.sampled) + "_hr@10");
    cols.push_back("sampled" + std::to_string(f.sampled) + "_ndcg@10");
  }
  for (const auto& c : cols) std::printf(" %12s", c.c_str());
  std::printf("\n");
  for (const auto& r : results) {
    std::printf("%-10s", r["model"].get<std::string>().c_str());
    for (const auto& c : cols) std::printf(" %12.4f", r["metrics"].value(c, 0.0));
    std::printf("\n");
  }
  if (f.sampled > 0) std::printf("(sampled* columns rank each held-out item among %d random negatives, as in papers; the rest rank the full catalog)\n", f.sampled);
  std::fflush(stdout);
  return Status::Ok();
}

Status Show(const Context& ctx, const RecommendFlags& f, const RecommendEnv& env) {
  const std::string model = f.model == "auto" ? TaskFor(f, env) : f.model;
  ASSIGN_OR_RETURN(std::string dir, ModelDir(model, env));
  ASSIGN_OR_RETURN(rec::Recommender r, rec::Recommender::Load(dir));
  if (!f.item.empty()) {
    const rec::Request req = RequestFrom(f);
    ASSIGN_OR_RETURN(auto recs, r.Similar(f.item, req));
    if (!env.json) std::cout << "similar to " << f.item << ":\n";
    PrintRecs(r, recs, env.json);
    return Status::Ok();
  }
  if (f.user.empty()) return InvalidArgument("give --user ID (or --item ID)");
  // The freshest history: the store's events when there is a store, else the model's.
  rec::History h = r.HistoryOfUser(f.user);
  rec::Request req = RequestFrom(f);
  req.segment = r.SegmentOf(f.user);
  if (f.interactions.empty()) {
    auto snap = StoreSnapshot(ctx, env);
    if (snap.ok() && snap->events) {
      const int32_t u = snap->users->Find(f.user);
      if (u >= 0 && !r.segment_key().empty()) {
        const auto values = analytics::UserAttribute(*snap, r.segment_key());
        if (static_cast<size_t>(u) < values.size()) req.segment = values[static_cast<size_t>(u)];
      }
      if (u >= 0) {
        ASSIGN_OR_RETURN(auto weights, EventWeights(f.event_weights));
        h = rec::HistoryFromEvents(*snap->events, u, rec::ItemCodeMap(*snap->items, r.items()),
                                   rec::EventTypeWeights(*snap->events, weights));
      }
    }
  }
  ASSIGN_OR_RETURN(auto recs, r.Recommend(h, req));
  if (!env.json) {
    std::cout << "for " << f.user << " (" << h.size() << " events in history" << (h.empty() ? ": cold start" : "")
              << "), by " << r.model().name() << ":\n";
  }
  PrintRecs(r, recs, env.json);
  return Status::Ok();
}

}  // namespace

void AddRecommendCommands(CLI::App& app, RecommendFlags* f) {
  f->cmd = app.add_subcommand("recommend", "Personalized recommendations: train, predict, evaluate, show");
  f->cmd->require_subcommand(1);
  auto add_data = [f](CLI::App* c, bool required) {
    auto* o = c->add_option("--interactions", f->interactions,
                            "Interactions: CSV user_id,item_id[,timestamp][,event][,value], MovieLens u.data/ratings.dat, "
                            "'user item' pairs or 'user item1 item2 ...' lines" +
                                std::string(required ? "" : "; without it, the store's events"));
    o->check(CLI::ExistingFile);
    c->add_option("--items", f->items, "Items CSV: item_id[,title][,category][,price][,text][,in_stock]")->check(CLI::ExistingFile);
    c->add_option("--format", f->format, "auto|csv|movielens|pairs|lines")->capture_default_str();
    c->add_option("--min-value", f->min_value, "Keep interactions whose value/rating is at least this (e.g. 3)");
    c->add_option("--event-weights", f->event_weights, "event=weight pairs, e.g. view=1,add_to_cart=3,purchase=5 (0 drops)");
  };
  auto add_request = [f](CLI::App* c) {
    c->add_option("-k,--k,-n", f->k, "Items per user")->capture_default_str();
    c->add_option("--offset", f->offset, "Skip this many (pagination)");
    c->add_option("--category", f->category, "Only these categories (comma-separated)");
    c->add_option("--exclude", f->exclude, "Never these item ids (comma-separated)");
    c->add_flag("--include-seen", f->include_seen, "Allow items already in the user's history");
    c->add_flag("--include-out-of-stock", f->include_out_of_stock, "Allow out-of-stock items");
    c->add_option("--max-per-category", f->max_per_category, "Diversity: at most this many per category (0 = no cap)");
  };
  f->train = f->cmd->add_subcommand("train", "Fit a model (file mode with --interactions, else on the store and registered)");
  add_data(f->train, false);
  f->train->add_option("--model", f->model,
                       "auto|popular|trending|itemknn|userknn|ease|als|content|hybrid|sasrec (auto: tuned on a validation split)")
      ->capture_default_str();
  f->train->add_option("--params", f->params, "Model parameters as JSON, e.g. '{\"lambda\": 500}'");
  f->train->add_option("--out", f->out, "Write the model directory here");
  f->train->add_option("--register", f->register_task, "Register in <data-dir>/models under this task (engine mode: 'recommend')");

  f->predict = f->cmd->add_subcommand("predict", "user_id,rank,item_id,score for users (CSV on stdout)");
  f->predict->add_option("--model", f->model, "Model directory, or a registered task")->required();
  f->predict->add_option("--users", f->users, "Users: CSV with a user_id column, or one id per line")->check(CLI::ExistingFile);
  f->predict->add_flag("--all", f->all, "Every user the model was trained on");
  f->predict->add_option("--interactions", f->interactions, "Newer interactions to add to the stored histories")->check(CLI::ExistingFile);
  f->predict->add_option("--format", f->format, "Format of --interactions")->capture_default_str();
  f->predict->add_flag("--reasons", f->reasons, "Add source and reason columns");
  add_request(f->predict);

  f->evaluate = f->cmd->add_subcommand("evaluate", "Split, fit, and report full-ranking metrics");
  add_data(f->evaluate, false);
  f->evaluate->add_option("--model", f->model, "Models to compare, comma-separated (auto = tuned on validation)")->capture_default_str();
  f->evaluate->add_option("--params", f->params, "JSON: parameters for one model, or {\"ease\": {...}, \"als\": {...}}");
  f->evaluate->add_option("--protocol", f->protocol, "loo (leave last out) | temporal | random (per-user holdout)")->capture_default_str();
  f->evaluate->add_option("--test-fraction", f->test_fraction, "random/temporal: held-out share")->capture_default_str();
  f->evaluate->add_option("--test", f->test, "A published split's test file (same formats); --interactions is then its training file")
      ->check(CLI::ExistingFile);
  f->evaluate->add_option("--k-list", f->ks, "Cut-offs")->capture_default_str();
  f->evaluate->add_option("--sampled", f->sampled, "Also sampled-negative HR/NDCG@10 with this many negatives (papers' protocol)");

  f->show = f->cmd->add_subcommand("show", "Recommendations with reasons for one user (--user) or similar items (--item)");
  f->show->add_option("--model", f->model, "Model directory or task (default: the serving 'recommend' model)");
  f->show->add_option("--user", f->user, "User id");
  f->show->add_option("--item", f->item, "Item id: similar items instead");
  add_request(f->show);
  f->similar = f->show;  // `show --item` is the similar-items view
}

bool RecommendNeedsTorch(const RecommendFlags& f, const std::string& data_dir) {
  if (!f.cmd || !*f.cmd) return false;
  auto torch_name = [](const std::string& n) { return n == "sasrec" || n == "mlp"; };
  if (*f.train || *f.evaluate) {
    for (const auto& n : Split(f.model)) {
      if (torch_name(n)) return true;
    }
    return false;
  }
  // predict / show: look at the model's algorithm.
  RecommendEnv env;
  env.data_dir = data_dir;
  auto dir = ModelDir(f.model == "auto" ? kDefaultTask : f.model, env);
  if (!dir.ok()) return false;
  std::ifstream in(*dir + "/model.json");
  json meta = json::parse(in, nullptr, false);
  return !meta.is_discarded() && torch_name(meta.value("algorithm", ""));
}

Status RunRecommend(const Context& ctx, const RecommendFlags& f, const RecommendEnv& env) {
  if (*f.train) return Train(ctx, f, env);
  if (*f.predict) return Predict(ctx, f, env);
  if (*f.evaluate) return Evaluate(ctx, f, env);
  if (*f.show) return Show(ctx, f, env);
  return InvalidArgument("recommend: give a subcommand");
}

}  // namespace opspilot::cli
