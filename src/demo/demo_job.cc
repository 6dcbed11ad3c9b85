#include "demo/demo_job.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/strings.h"
#include "core/time.h"
#include "analytics/analytics.h"
#include "analytics/profiles.h"
#include "analytics/report.h"
#include "anomaly/engine.h"
#include "core/csv.h"
#include "forecast/engine.h"
#include "ml/registry.h"
#include "recommend/recommend.h"
#include "store/snapshot.h"
#include "store/store.h"
#include "support/engine.h"

namespace opspilot::demo {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = ".opspilot-demo";

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

Status PrepareDir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    const bool empty = fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
    if (!empty && !fs::exists(fs::path(dir) / kMarker, ec)) {
      return FailedPrecondition(dir + " exists and is not an OpsPilot demo directory; "
                                "choose another with --dir");
    }
    fs::remove_all(dir, ec);
    if (ec) return FailedPrecondition("cannot clear " + dir + ": " + ec.message());
  }
  fs::create_directories(fs::path(dir) / "data", ec);
  if (ec) return FailedPrecondition("cannot create " + dir + ": " + ec.message());
  std::ofstream(fs::path(dir) / kMarker) << "created by opspilot demo; removed by the next run\n";
  return Status::Ok();
}

// Reads a JSON string field from an attributes bag ("" if absent).
std::string BagField(const Dictionary& dict, int32_t code, const char* key) {
  if (code < 0) return "";
  json j = json::parse(dict.Key(code), nullptr, false);
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

struct Tour {
  std::string text;
  json summary;
  void Line(const std::string& s) { text += s + "\n"; }
};

}  // namespace

const std::vector<std::pair<Entity, std::string>>& DemoFiles() {
  static const auto* const kFiles = new std::vector<std::pair<Entity, std::string>>{
      {Entity::kItems, "items.csv"},         {Entity::kUsers, "users.csv"},
      {Entity::kEvents, "events.csv"},       {Entity::kOrders, "orders.csv"},
      {Entity::kInventory, "inventory.csv"}, {Entity::kTickets, "tickets.jsonl"},
      {Entity::kMetrics, "metrics.csv"},     {Entity::kCompetitorPrices, "competitor_prices.csv"},
      {Entity::kReviews, "reviews.csv"}};
  return *kFiles;
}

StatusOr<DemoJobResult> RunDemo(const Context& ctx, const DemoJobOptions& options) {
  DemoJobResult result;
  RETURN_IF_ERROR(PrepareDir(options.dir));
  const std::string shop_dir = (fs::path(options.dir) / "shop").string();
  result.data_dir = (fs::path(options.dir) / "data").string();

  // 1. Generate.
  {
    auto progress = ctx.StartProgress("generate demo shop", 1000, "steps");
    auto gen = GenerateDemoShop(options.shop, shop_dir, [&](std::string_view, double f) {
      progress->Update(static_cast<int64_t>(f * 1000));
    });
    progress->Update(1000);
    progress->Finish();
    if (!gen.ok()) return gen.status();
    result.generated = *gen;
  }

  // 2. Ingest through the real path.
  ASSIGN_OR_RETURN(auto store, OpenSqliteStore((fs::path(result.data_dir) / "opspilot.db").string()));
  IngestOptions io;
  io.tenant = options.tenant;
  io.reject_dir = (fs::path(result.data_dir) / "rejects").string();
  io.show_progress = ctx.progress_mode() != ProgressMode::kQuiet;
  Ingestor ingestor(ctx, *store, io);
  for (const auto& [entity, file] : DemoFiles()) {
    IngestReport report;
    RETURN_IF_ERROR(ingestor.IngestFile(entity, (fs::path(shop_dir) / file).string(), &report));
    if (report.rows_rejected > 0) {
      return Internal("the demo shop's " + file + " had " + std::to_string(report.rows_rejected) +
                      " rejected rows, first: line " + std::to_string(report.rejects[0].line) + " " +
                      report.rejects[0].field + ": " + report.rejects[0].reason);
    }
    result.loads.push_back(std::move(report));
  }

  // 3. Read it back and describe it.
  SnapshotSpec spec;
  spec.tenant = options.tenant;
  spec.tables = {Entity::kItems, Entity::kUsers, Entity::kOrders, Entity::kTickets, Entity::kMetrics,
                 Entity::kInventory};
  ASSIGN_OR_RETURN(Snapshot snap, LoadSnapshot(ctx, *store, spec));
  json truth = json::parse(std::ifstream(fs::path(shop_dir) / "truth.json"), nullptr, false);
  if (truth.is_discarded()) return Internal("cannot read the demo's truth.json");

  Tour t;
  const auto& gen = truth["generator"];
  t.Line("OpsPilot demo: a tea, coffee and kitchenware shop selling in China and abroad");
  t.Line(std::to_string(options.shop.days) + " days from " + gen.value("start_date", "?") +
         ", seed " + std::to_string(options.shop.seed) + ", scale " + Fmt("%g", options.shop.scale));
  t.Line("");
  t.Line("Loaded through the ingestion path (every row validated, upserted in transactions):");
  json loads = json::array();
  for (const auto& r : result.loads) {
    const double rate = r.seconds > 0 ? static_cast<double>(r.rows_loaded) / r.seconds : 0;
    char buf[160];
    std::snprintf(buf, sizeof(buf), "  %-18s %11s rows  %5.1f s  %7.0fk rows/s  %lld rejected",
                  r.entity.c_str(), WithCommas(r.rows_loaded).c_str(), r.seconds, rate / 1000,
                  static_cast<long long>(r.rows_rejected));
    t.Line(buf);
    loads.push_back({{"entity", r.entity}, {"rows", r.rows_loaded}, {"seconds", r.seconds},
                     {"rejected", r.rows_rejected}});
  }
  t.summary["loads"] = loads;

  // Users by region.
  const Table& users = snap.table(Entity::kUsers);
  std::map<std::string, int64_t> by_region;
  const Column& uattr = users.col("attributes");
  for (int64_t i = 0; i < users.rows(); ++i) {
    by_region[BagField(*uattr.dict, uattr.codes[static_cast<size_t>(i)], "region")]++;
  }
  std::string regions;
  for (const auto& [r, n] : by_region) regions += (regions.empty() ? "" : ", ") + r + " " + WithCommas(n);
  t.Line("");
  t.Line("Users: " + WithCommas(users.rows()) + " (" + regions + ")");
  t.summary["users_by_region"] = by_region;

  // The behaviour funnel from the event log.
  const EventLog& ev = *snap.events;
  std::vector<int64_t> per_type(static_cast<size_t>(ev.event_types.size()), 0);
  for (int16_t ty : ev.type) per_type[static_cast<size_t>(ty)]++;
  auto count_of = [&](const char* name) {
    const int32_t c = ev.event_types.Find(name);
    return c < 0 ? int64_t{0} : per_type[static_cast<size_t>(c)];
  };
  const int64_t views = count_of("view"), carts = count_of("add_to_cart"), buys = count_of("purchase");
  t.Line("Events: " + WithCommas(ev.size()) + " from " + WithCommas(ev.num_users()) + " users, " +
         WithCommas(ev.sessions.size()) + " sessions");
  t.Line("  view " + WithCommas(views) + " -> add_to_cart " + WithCommas(carts) + " (" +
         Fmt("%.1f%%", views ? 100.0 * static_cast<double>(carts) / static_cast<double>(views) : 0) +
         ") -> purchase " + WithCommas(buys) + " (" +
         Fmt("%.1f%%", carts ? 100.0 * static_cast<double>(buys) / static_cast<double>(carts) : 0) +
         " of carts)");
  t.summary["funnel"] = {{"view", views}, {"add_to_cart", carts}, {"purchase", buys}};

  // Revenue by category and orders by weekday, from the orders table.
  const Table& items = snap.table(Entity::kItems);
  std::vector<std::string> category_of(static_cast<size_t>(snap.items->size()));
  const Column& iid = items.col("item_id");
  const Column& icat = items.col("category");
  for (int64_t i = 0; i < items.rows(); ++i) {
    const int32_t c = icat.codes[static_cast<size_t>(i)];
    category_of[static_cast<size_t>(iid.codes[static_cast<size_t>(i)])] = c >= 0 ? icat.dict->Key(c) : "";
  }
  const Table& orders = snap.table(Entity::kOrders);
  const Column& oitem = orders.col("item_id");
  const Column& oqty = orders.col("quantity");
  const Column& oprice = orders.col("unit_price");
  const Column& ots = orders.col("timestamp");
  const Column& oattr = orders.col("attributes");
  std::map<std::string, double> revenue;
  std::array<int64_t, 7> by_weekday{};
  int64_t paid = 0;
  for (int64_t i = 0; i < orders.rows(); ++i) {
    const auto r = static_cast<size_t>(i);
    if (BagField(*oattr.dict, oattr.codes[r], "status") != "paid") continue;
    ++paid;
    const auto item = static_cast<size_t>(oitem.codes[r]);
    revenue[item < category_of.size() ? category_of[item] : ""] += oqty.reals[r] * oprice.reals[r];
    by_weekday[static_cast<size_t>(WeekdayOfDay(DayOf(ots.ints[r])))]++;
  }
  std::vector<std::pair<double, std::string>> top;
  double total_revenue = 0;
  for (const auto& [c, v] : revenue) {
    top.emplace_back(v, c);
    total_revenue += v;
  }
  std::sort(top.rbegin(), top.rend());
  t.Line("Orders: " + WithCommas(orders.rows()) + " lines, " + WithCommas(paid) + " paid, revenue CNY " +
         WithCommas(static_cast<int64_t>(total_revenue)));
  std::string cats;
  for (size_t i = 0; i < top.size() && i < 5; ++i) {
    cats += (i ? ", " : "") + top[i].second + " " + Fmt("%.0f%%", 100.0 * top[i].first / total_revenue);
  }
  t.Line("  top categories by revenue: " + cats);
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  std::string week;
  for (size_t d = 0; d < 7; ++d) week += std::string(d ? "  " : "") + kDays[d] + " " + WithCommas(by_weekday[d]);
  t.Line("  paid order lines by weekday (UTC): " + week);
  t.summary["revenue"] = total_revenue;
  t.summary["paid_lines_by_weekday"] = by_weekday;

  // Support tickets.
  const Table& tickets = snap.table(Entity::kTickets);
  std::map<std::string, int64_t> langs, intents;
  const Column& tl = tickets.col("language");
  const Column& ti = tickets.col("intent");
  for (int64_t i = 0; i < tickets.rows(); ++i) {
    const auto r = static_cast<size_t>(i);
    if (tl.codes[r] >= 0) langs[tl.dict->Key(tl.codes[r])]++;
    if (ti.codes[r] >= 0) intents[ti.dict->Key(ti.codes[r])]++;
  }
  std::string lang_text;
  for (const auto& [l, n] : langs) lang_text += (lang_text.empty() ? "" : ", ") + l + " " + WithCommas(n);
  t.Line("Support tickets: " + WithCommas(tickets.rows()) + " (" + lang_text + ") over " +
         std::to_string(intents.size()) + " intents");
  t.summary["tickets_by_language"] = langs;

  // The worst hour of payments, straight from the metrics table.
  const Table& metrics = snap.table(Entity::kMetrics);
  const Column& mname = metrics.col("name");
  const Column& mdim = metrics.col("dimensions");
  const Column& mts = metrics.col("timestamp");
  const Column& mval = metrics.col("value");
  double worst = 2;
  int64_t worst_ts = 0;
  for (int64_t i = 0; i < metrics.rows(); ++i) {
    const auto r = static_cast<size_t>(i);
    if (mname.dict->Key(mname.codes[r]) != "payment_success_rate") continue;
    if (BagField(*mdim.dict, mdim.codes[r], "region") != "all") continue;
    if (mval.reals[r] < worst) {
      worst = mval.reals[r];
      worst_ts = mts.ints[r];
    }
  }
  t.Line("Metrics: " + WithCommas(metrics.rows()) + " rows; lowest hourly payment success " +
         Fmt("%.0f%%", worst * 100) + " at " + FormatTimestamp(worst_ts));

  // Analytics on what was loaded.
  {
    analytics::FunnelSpec fs;
    fs.steps = {"view", "add_to_cart", "purchase"};
    fs.window = 86400;
    ASSIGN_OR_RETURN(analytics::FunnelResult funnel, analytics::Funnel(ctx, ev, *snap.users, fs));
    t.Line("");
    t.Line("Funnel view -> add_to_cart -> purchase within a day (users):");
    t.text += analytics::ToTable(funnel);
    t.summary["funnel_users"] = analytics::ToJson(funnel)["steps"];
    analytics::RetentionSpec rs;
    rs.start_event = "purchase";
    rs.return_event = "purchase";
    rs.period = analytics::Period::kMonth;
    rs.periods = 4;
    ASSIGN_OR_RETURN(auto retention, analytics::Retention(ctx, ev, rs));
    t.Line("Buyers who buy again, by month of first purchase:");
    t.text += analytics::ToTable(retention, rs.periods);
    analytics::ProfileOptions po;
    po.item_category = analytics::ItemCategories(snap);
    po.user_attributes = analytics::UserAttributes(snap);
    analytics::AddTicketFacts(snap, &po);
    ASSIGN_OR_RETURN(ml::TabularData profiles, analytics::Profiles(ctx, ev, *snap.users, po));
    ASSIGN_OR_RETURN(auto rfm, analytics::Rfm(profiles));
    std::map<std::string, int64_t> segs;
    for (const auto& x : rfm) segs[x.segment]++;
    std::string seg_text;
    for (const auto& [name, n] : segs) seg_text += (seg_text.empty() ? "" : ", ") + name + " " + WithCommas(n);
    t.Line("RFM segments: " + seg_text);
    t.summary["rfm_segments"] = segs;
    analytics::PropensityOptions pr;
    pr.horizon = 30 * 86400;
    pr.profile = po;
    ASSIGN_OR_RETURN(analytics::PropensityResult churn, analytics::Propensity(ctx, ev, *snap.users, pr));
    t.Line("Churn in the next 30 days: validation AUC " + Fmt("%.3f", churn.metrics["auc"].get<double>()) +
           ", calibration error " + Fmt("%.3f", churn.metrics["ece"].get<double>()) + " (time split at " +
           FormatDate(churn.valid_cutoff) + "); most at risk among active users:");
    for (size_t i = 0; i < churn.scores.size() && i < 5; ++i) {
      std::string reasons;
      for (const auto& x : churn.scores[i].reasons) reasons += (reasons.empty() ? "" : "; ") + x;
      t.Line("  " + churn.scores[i].user + "  " + Fmt("%.0f%%", 100 * churn.scores[i].probability) + "  " + reasons);
    }
    t.summary["churn"] = churn.metrics;
  }

  // Demand forecasts and the reorder list (forecast module, engine mode).
  {
    t.Line("");
    forecast::DemandOptions total_opts;
    total_opts.level = "total";
    ASSIGN_OR_RETURN(auto total, forecast::DailyDemand(snap, total_opts));
    forecast::ForecastOptions fo;
    fo.horizon = 28;
    ASSIGN_OR_RETURN(auto f, forecast::ForecastSeries(total[0], fo));
    // The weekly shape of the forecast against the planted weekly factors (Monday first).
    std::array<double, 7> shape{};
    double mean = 0;
    for (size_t k = 0; k < f.mean.size(); ++k) {
      shape[static_cast<size_t>(WeekdayOfDay(DayOf(f.time[k])))] += f.mean[k] / 4;
      mean += f.mean[k] / static_cast<double>(f.mean.size());
    }
    std::string got, planted;
    std::vector<double> want;
    for (const auto& v : truth["demand"]["weekly_factors"]) want.push_back(v.get<double>());
    for (size_t d = 0; d < 7; ++d) {
      got += Fmt(" %.2f", shape[d] / mean);
      planted += Fmt(" %.2f", d < want.size() ? want[d] : 0.0);
    }
    t.Line("Demand forecast, all items, next 28 days (" + f.model + (f.detail.empty() ? "" : ": " + f.detail) +
           "): " + Fmt("%.0f", mean) + " units/day");
    t.Line("  weekly shape Mon..Sun  forecast" + got);
    t.Line("                         planted " + planted);
    t.summary["forecast_weekly_shape"] = shape;
    t.summary["forecast_model"] = f.model;
    // Promotions: the regression's discount effect per promoted category.
    forecast::DemandOptions cat_opts;
    cat_opts.level = "category";
    ASSIGN_OR_RETURN(auto category_series, forecast::DailyDemand(snap, cat_opts));
    json lifts = json::array();
    for (const auto& promo : truth["promotions"]) {
      double base = 0, lifted = 0;
      int n_base = 0, n_promo = 0;
      for (const auto& c : category_series) {
        bool promoted = false;
        for (const auto& pc : promo["categories"]) promoted |= pc.get<std::string>() == c.id;
        if (!promoted) continue;
        ASSIGN_OR_RETURN(auto fx, forecast::ExplainDrivers(c));
        const double beta = fx.coefficients.back();  // the discount driver
        const double disc = promo.value("discount", 0.0);
        double level = 0;
        int days = 0;
        for (size_t d = 0; d < c.y.size(); ++d) {
          if (c.drivers[0][d] < 0.02) {
            level += c.y[d];
            ++days;
          }
        }
        if (days == 0) continue;
        base += level / days;
        lifted += level / days + beta * disc;
        ++n_base;
        ++n_promo;
      }
      if (n_base == 0 || base <= 0) continue;
      const double lift = lifted / base;
      t.Line("  promotion " + promo.value("name", "?") + " (" + promo.value("start", "?") + ".." +
             promo.value("end", "?") + ", " + Fmt("%.0f%% off", 100 * promo.value("discount", 0.0)) +
             "): demand x" + Fmt("%.2f", lift) + " (planted: traffic x" +
             Fmt("%.1f", promo.value("uplift", 0.0)) + " plus bargain hunters' extra visits)");
      lifts.push_back({{"name", promo.value("name", "?")}, {"lift", lift}, {"planted_uplift", promo.value("uplift", 0.0)}});
    }
    t.summary["promotion_lift"] = lifts;
    forecast::PlanOptions po;
    ASSIGN_OR_RETURN(auto plan, forecast::PlanFromSnapshot(ctx, snap, po));
    std::vector<const forecast::PlanRow*> reorder, stockouts;
    for (const auto& r : plan) {
      if (r.plan.reorder_now) reorder.push_back(&r);
      if (r.plan.stockout_within_lead_time) stockouts.push_back(&r);
    }
    std::sort(stockouts.begin(), stockouts.end(), [](const auto* a, const auto* b) {
      return *a->plan.stockout_day < *b->plan.stockout_day;
    });
    t.Line("Reorder now: " + std::to_string(reorder.size()) + " of " + std::to_string(plan.size()) +
           " items; stock-outs expected within the lead time: " + std::to_string(stockouts.size()));
    for (size_t i = 0; i < stockouts.size() && i < 5; ++i) {
      const auto& r = *stockouts[i];
      t.Line("  " + r.item_id + " (" + r.category + ")  on hand " + Fmt("%.0f", r.inputs.on_hand) + ", on order " +
             Fmt("%.0f", r.inputs.on_order) + ", lead time " + Fmt("%.0f", r.inputs.lead_time_days) +
             " d: runs out in " + std::to_string(*r.plan.stockout_day) + " d; order " +
             Fmt("%.0f", std::ceil(r.plan.suggested_order)) + " (reorder point " + Fmt("%.1f", r.plan.reorder_point) +
             ", safety stock " + Fmt("%.1f", r.plan.safety_stock) + ")");
    }
    t.summary["reorder_now"] = reorder.size();
    t.summary["stockouts_within_lead_time"] = stockouts.size();
  }

  // Anomalies and risk (anomaly module, engine mode), checked against the planted incidents.
  {
    t.Line("");
    anomaly::MetricAlertOptions mo;
    ASSIGN_OR_RETURN(auto alerts, anomaly::MetricAlerts(ctx, snap, mo));
    const auto& inc = truth["anomalies"];
    auto within = [](const anomaly::MetricAlert& a, const json& w, int64_t slack) {
      const int64_t start = w.value("start_unix", int64_t{0}), end = w.value("end_unix", int64_t{0});
      return a.alert.peak_time >= start - slack && a.alert.peak_time <= end + slack;
    };
    auto dim = [](const anomaly::MetricAlert& a, const std::string& k) {
      for (const auto& [key, v] : a.dimensions) {
        if (key == k) return v;
      }
      return std::string();
    };
    const anomaly::MetricAlert *outage = nullptr, *drop = nullptr, *burst = nullptr;
    for (const auto& a : alerts) {
      if (!outage && a.metric == "payment_success_rate" && within(a, inc["payment_outage"], 86400)) outage = &a;
      if (!drop && a.metric == "conversion_rate" && dim(a, "region") == inc["regional_conversion_drop"].value("region", "") &&
          dim(a, "channel") == inc["regional_conversion_drop"].value("channel", "") && within(a, inc["regional_conversion_drop"], 86400)) {
        drop = &a;
      }
      if (!burst && (a.metric == "revenue" || a.metric == "orders") && within(a, inc["fraud_burst"], 86400)) burst = &a;
    }
    t.Line("Anomalies: " + std::to_string(alerts.size()) + " alerts over the metrics (most severe first); the planted incidents:");
    auto show = [&](const char* what, const anomaly::MetricAlert* a) {
      t.Line(std::string("  ") + what + (a ? "found: " + a->summary : "NOT FOUND"));
    };
    show("payment outage   ", outage);
    show("conversion drop  ", drop);
    show("fraud burst      ", burst);
    t.summary["anomaly_alerts"] = alerts.size();
    t.summary["incidents_found"] = {{"payment_outage", outage != nullptr}, {"regional_conversion_drop", drop != nullptr},
                                    {"fraud_burst", burst != nullptr}};
    if (drop && drop->cause) t.summary["conversion_drop_cause"] = drop->cause->summary;
    anomaly::OrderRiskOptions ro;
    const int burst_orders = inc["fraud_burst"].value("orders", 0);
    ro.top = std::max(burst_orders, 1);
    int64_t flagged = 0;
    ASSIGN_OR_RETURN(auto risky, anomaly::ScoreOrders(ctx, snap, ro, &flagged));
    std::set<std::string> planted;
    {
      auto src = OpenFileSource((fs::path(shop_dir) / "truth_fraud_orders.csv").string());
      if (src.ok()) {
        CsvReader reader(std::move(*src));
        CsvRecord rec;
        reader.Next(&rec);  // header
        while (reader.Next(&rec)) planted.insert(std::string(rec.field(0)));
      }
    }
    int hits = 0;
    for (const auto& r : risky) hits += planted.count(r.order_id) > 0;
    t.Line("Risk: the " + std::to_string(risky.size()) + " riskiest order lines hold " + std::to_string(hits) + " of the " +
           std::to_string(planted.size()) + " planted fraud orders; the riskiest:");
    for (size_t i = 0; i < risky.size() && i < 3; ++i) {
      std::string reasons;
      for (const auto& f : risky[i].result.reasons) reasons += (reasons.empty() ? "" : ", ") + f.feature + Fmt(" %.4g", f.value);
      const auto pm = risky[i].attributes.find("payment_method");
      t.Line("  " + risky[i].order_id + " " + FormatTimestamp(risky[i].time) + " score " +
             Fmt("%.2f", risky[i].result.score) + " (" + (pm == risky[i].attributes.end() ? "" : pm->second + "; ") +
             reasons + ")" + (planted.count(risky[i].order_id) ? "  [planted]" : ""));
    }
    t.summary["risk_top_planted"] = hits;
    t.summary["risk_top"] = risky.size();
  }

  // Recommendations: a full-ranking evaluation on the last 10% of time, then
  // the model on all events, registered so `serve` answers /v1/recommend.
  {
    std::map<std::string, int> user_taste, item_taste;
    for (const auto& [file, into] : {std::pair<std::string, std::map<std::string, int>*>{"truth_users.csv", &user_taste},
                                     {"truth_items.csv", &item_taste}}) {
      auto src = OpenFileSource((fs::path(shop_dir) / file).string());
      if (!src.ok()) continue;
      CsvReader reader(std::move(*src));
      CsvRecord rec;
      reader.Next(&rec);
      const size_t col = file == "truth_users.csv" ? 2 : 1;
      while (reader.Next(&rec)) {
        if (rec.num_fields > col && !rec.field(col).empty()) (*into)[std::string(rec.field(0))] = std::atoi(std::string(rec.field(col)).c_str());
      }
    }
    ASSIGN_OR_RETURN(recommend::SnapshotData rd, recommend::FromSnapshot(snap, recommend::DefaultEventWeights()));
    recommend::SplitOptions so;
    so.protocol = "temporal";
    so.validation = false;
    ASSIGN_OR_RETURN(recommend::Split split, recommend::SplitInteractions(rd.data, so));
    recommend::EvalOptions eo;
    eo.ks = {10};
    t.Line("");
    t.Line("Recommendations: models fitted before " + FormatDate(*std::max_element(split.train.time.begin(), split.train.time.end())) +
           ", scored on what users did after (full ranking, " + WithCommas(rd.data.num_items()) + " items):");
    json rec_eval = json::object();
    // Taste match: the share of top-10 items in the user's planted taste cluster.
    auto taste_match = [&](const recommend::Model& m, const recommend::Interactions& data) {
      double hit = 0, n = 0;
      for (int32_t u = 0; u < data.num_users() && n < 10000; u += 7) {
        auto ut = user_taste.find(data.users->Key(u));
        const recommend::History h = recommend::HistoryOf(data, u);
        if (ut == user_taste.end() || h.size() < 5) continue;
        for (int32_t item : recommend::TopItems(m, h, data.num_items(), 10)) {
          auto it = item_taste.find(data.items->Key(item));
          hit += it != item_taste.end() && it->second == ut->second;
          n += 1;
        }
      }
      return n > 0 ? hit / n : 0.0;
    };
    for (const char* name : {"popular", "itemknn", "ease", "als", "hybrid"}) {
      ASSIGN_OR_RETURN(auto m, recommend::MakeModel(name));
      RETURN_IF_ERROR(m->Fit(ctx, split.train, rd.catalog));
      ASSIGN_OR_RETURN(auto quality, recommend::Evaluate(ctx, *m, split.train, split.test, eo));
      const double match = taste_match(*m, split.train);
      t.Line("  " + std::string(name) + std::string(9 - std::string(name).size(), ' ') + Fmt("recall@10 %.3f", quality["recall@10"]) + Fmt("  ndcg@10 %.3f", quality["ndcg@10"]) +
             Fmt("  items in the user's planted taste %.0f%%", 100 * match));
      rec_eval[name] = {{"recall@10", quality["recall@10"]}, {"ndcg@10", quality["ndcg@10"]}, {"taste_match", match}};
    }
    t.summary["recommend_eval"] = rec_eval;
    auto model = recommend::MakeModel("hybrid");
    if (!model.ok()) return model.status();
    RETURN_IF_ERROR((*model)->Fit(ctx, rd.data, rd.catalog));
    recommend::Recommender rec(std::move(*model), std::move(rd.data), std::move(rd.catalog), {});
    rec.SetSegments("region", analytics::UserAttribute(snap, "region"));  // cold starts: popular in the region
    ml::ModelRegistry registry((fs::path(result.data_dir) / "models").string());
    ASSIGN_OR_RETURN(auto info, registry.Register(ctx, "recommend", {{"algorithm", "hybrid"}, {"kind", "recommend"}},
                                                  [&](const std::string& dir) { return rec.Save(dir + "/recommender"); }));
    t.Line("Registered the hybrid model as recommend/" + info.version + "; for three users (history from the store):");
    int shown = 0;
    json examples = json::array();
    for (int32_t u = 0; u < rec.users().size() && shown < 3; u += 997) {
      const recommend::History h = recommend::HistoryOf(rec.train(), u);
      if (h.size() < 10) continue;
      recommend::Request req;
      req.n = 3;
      req.max_per_category = 2;
      ASSIGN_OR_RETURN(auto recs, rec.Recommend(h, req));
      const std::string& uid = rec.users().Key(u);
      auto ut = user_taste.find(uid);
      t.Line("  " + uid + " (" + std::to_string(h.size()) + " events, planted taste " +
             (ut == user_taste.end() ? std::string("?") : std::to_string(ut->second)) + "):");
      for (const auto& x : recs) {
        auto it = item_taste.find(rec.items().Key(x.item));
        t.Line("    " + rec.catalog().Name(rec.items(), x.item) + " [" + rec.catalog().category[static_cast<size_t>(x.item)] +
               ", taste " + (it == item_taste.end() ? std::string("?") : std::to_string(it->second)) + "] — " +
               rec.ReasonText(x.reason));
      }
      examples.push_back({{"user", uid}, {"items", rec.ToJson(recs)}});
      ++shown;
    }
    t.summary["recommend_examples"] = examples;
  }

  // Support: intent and sentiment models trained on the tickets before the
  // last 20% of time and scored on the later ones; then trained on all
  // tickets, registered with a small FAQ, and a few new messages answered.
  if (options.train_text) {
    const Table& tk = snap.table(Entity::kTickets);
    const Column& text = tk.col("text");
    const Column& ts = tk.col("timestamp");
    const Column& intent = tk.col("intent");
    const Column& sentiment = tk.col("sentiment");
    struct Row {
      int64_t time;
      nlp::LabelledText intent, sentiment;
    };
    std::vector<Row> rows;
    for (int64_t r = 0; r < tk.rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (text.codes[i] < 0 || intent.codes[i] < 0 || sentiment.codes[i] < 0) continue;
      const std::string id = std::to_string(r), body = text.dict->Key(text.codes[i]);
      rows.push_back({ts.ints[i], {id, body, intent.dict->Key(intent.codes[i])}, {id, body, sentiment.dict->Key(sentiment.codes[i])}});
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.time < b.time; });
    const size_t cut = rows.size() * 4 / 5;
    auto part = [&](bool is_intent, size_t b, size_t e) {
      std::vector<nlp::LabelledText> out;
      for (size_t k = b; k < e; ++k) out.push_back(is_intent ? rows[k].intent : rows[k].sentiment);
      return out;
    };
    nlp::ClassifierOptions iopt;
    nlp::ClassifierOptions so;
    so.out_of_scope = false;  // every message has a sentiment
    t.Line("");
    t.Line("Support: fastText-style models trained on " + WithCommas(static_cast<int64_t>(cut)) + " tickets before " +
           FormatDate(rows[cut].time) + ", scored on the " + WithCommas(static_cast<int64_t>(rows.size() - cut)) + " after:");
    json support_eval = json::object();
    for (const bool is_intent : {true, false}) {
      ASSIGN_OR_RETURN(auto m, options.train_text(ctx, part(is_intent, 0, cut), is_intent ? iopt : so));
      const json score = nlp::EvaluateClassifier(*m, part(is_intent, cut, rows.size()));
      t.Line(std::string(is_intent ? "  intent    (12 labels)" : "  sentiment (3 labels) ") + Fmt(" accuracy %.3f", score["accuracy"].get<double>()) +
             Fmt("  macro F1 %.3f", score["macro_f1"].get<double>()) +
             (score.contains("ece") ? Fmt("  calibration error %.3f", score["ece"].get<double>()) : std::string()));
      support_eval[is_intent ? "intent" : "sentiment"] = {{"accuracy", score["accuracy"]}, {"macro_f1", score["macro_f1"]}};
    }
    t.summary["support_eval"] = support_eval;
    ASSIGN_OR_RETURN(auto intent_model, options.train_text(ctx, part(true, 0, rows.size()), iopt));
    ASSIGN_OR_RETURN(auto sentiment_model, options.train_text(ctx, part(false, 0, rows.size()), so));
    auto faq_entry = [](const char* id, const char* lang, const char* q, const char* a) {
      nlp::FaqEntry e;
      e.id = id, e.language = lang, e.question = q, e.answer = a;
      return e;
    };
    const std::vector<nlp::FaqEntry> faq = {
        faq_entry("shipping_en", "en", "How much does shipping cost?", "Shipping is free on orders over ¥99; otherwise it is ¥8."),
        faq_entry("shipping_zh", "zh", "运费怎么算？", "订单满99元包邮，不满99元运费8元。"),
        faq_entry("storage_en", "en", "How should I store tea?", "Keep tea sealed in a cool, dry, dark place, away from strong smells."),
        faq_entry("storage_zh", "zh", "茶叶怎么保存？", "请密封后放在阴凉、干燥、避光处，远离异味。"),
        faq_entry("returns_en", "en", "What is the return policy?", "Unopened items can be returned within 7 days of delivery."),
        faq_entry("returns_zh", "zh", "可以退货吗？退货政策是什么？", "未拆封商品签收后7天内可以退货。")};
    ml::ModelRegistry registry((fs::path(result.data_dir) / "models").string());
    ASSIGN_OR_RETURN(auto info, registry.Register(ctx, support::SupportTask(options.tenant), {{"algorithm", "support:fasttext"}, {"kind", "support"}},
                                                  [&](const std::string& dir) {
                                                    return support::SaveSupportModel(dir + "/support", intent_model.get(), sentiment_model.get(), faq,
                                                                                     support::DefaultTemplates(), support::HandoffPolicy{});
                                                  }));
    ASSIGN_OR_RETURN(support::LoadedSupport sup, support::LoadSupport(ctx, *store, (fs::path(result.data_dir) / "models").string(),
                                                                      options.tenant, support::LlmOptions{}));
    // A paid order of the shop to ask about.
    std::string order_id;
    {
      const Table& order_table = snap.table(Entity::kOrders);
      const Column& oid = order_table.col("order_id");
      for (int64_t r = order_table.rows() / 2; r < order_table.rows() && order_id.empty(); ++r) {
        const auto o = sup.facts->Order(oid.dict->Key(oid.codes[static_cast<size_t>(r)]));
        if (o && o->status == "paid") order_id = o->order_id;
      }
    }
    const int64_t now = rows.empty() ? 0 : rows.back().time + 3600;
    t.Line("Registered the support model as " + support::SupportTask(options.tenant) + "/" + info.version + "; new messages:");
    json answered = json::array();
    const std::vector<std::vector<std::string>> conversations = {
        {"Hi, where is my order " + order_id + "? I paid on time."},
        {"我想开发票", order_id},
        {"运费怎么算？满多少包邮"},
        {"How should I store green tea so it stays fresh?"},
        {"This is the worst tea I have ever bought, absolutely terrible, I am furious!!!"},
        {"请帮我转人工客服"}};
    int n = 0;
    for (const auto& turns : conversations) {
      support::Conversation c;
      c.id = "demo-" + std::to_string(++n);
      for (const auto& msg : turns) {
        const support::Reply r = sup.agent->Respond(&c, msg, sup.facts.get(), now);
        const auto& a = r.analysis;
        std::string ents;
        for (const auto& e : a.entities) ents += (ents.empty() ? "" : ", ") + e.type + " \"" + e.text + "\"";
        t.Line("  > " + msg);
        const std::string acted = !r.intent.empty() && r.intent != a.intent ? " -> continues " + r.intent : "";
        std::string how = Fmt(" (%.2f)", a.intent_confidence);
        if (a.entities_only) {
          how = " (the message is only " + a.entities.front().type + "; best guess " +
                (a.intents.empty() ? std::string("none") : a.intents[0].first) + ")";
        } else if (a.intent_novel) {
          how = Fmt(" (novel: %.0f%% of its features known)", 100 * a.intent_known);
        } else if (a.intent == nlp::kOutOfScope && !a.intents.empty() && a.intents[0].first != nlp::kOutOfScope) {
          how = " (under the model's cut-off; best guess " + a.intents[0].first + Fmt(" %.2f)", a.intents[0].second);
        }
        t.Line("    intent " + a.intent + how + acted + ", sentiment " + a.sentiment.label +
               Fmt(" (%+.2f)", a.sentiment.score) + (ents.empty() ? "" : ", entities: " + ents));
        t.Line("    [" + r.source + "] " + r.text + (r.handoff ? "  -> hand-off: " + r.handoff_reason : ""));
        answered.push_back(r.ToJson());
      }
    }
    t.summary["support_replies"] = answered;
  }

  const auto& an = truth["anomalies"];
  t.Line("");
  t.Line("Planted for the capabilities to find (ground truth in " + shop_dir + "/truth.json):");
  t.Line("  payment outage           " + an["payment_outage"].value("start", "?") + " .. " +
         an["payment_outage"].value("end", "?"));
  const auto& drop = an["regional_conversion_drop"];
  t.Line("  conversion drop          region=" + drop.value("region", "?") + " channel=" +
         drop.value("channel", "?") + "  " + drop.value("start", "?") + " .. " + drop.value("end", "?"));
  const auto& fraud = an["fraud_burst"];
  t.Line("  fraud burst              " + std::to_string(fraud.value("orders", 0)) + " orders paid with " +
         fraud.value("payment_method", "?") + "  " + fraud.value("start", "?") + " .. " +
         fraud.value("end", "?"));
  if (truth.contains("counts") && truth["counts"].contains("segments")) {
    std::string segs;
    for (const auto& [name, n] : truth["counts"]["segments"].items()) {
      segs += (segs.empty() ? "" : ", ") + name + " " + WithCommas(n.get<int64_t>());
    }
    t.Line("  user segments            " + segs);
  }
  t.Line("  also: weekly and yearly seasonality, trend and promotions in demand; a churn mechanism;");
  t.Line("        six taste clusters in the catalogue; intent and sentiment on every ticket");
  t.Line("");
  t.Line("Next:");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " stats");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " keys create --role admin");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " analytics funnel --steps view,add_to_cart,purchase");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " analytics propensity --kind churn --horizon 30d");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " inventory plan");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " anomaly alerts");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " risk score");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " recommend show --user u00001");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " support reply \"我的订单到哪了？\" --conversation c1");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " support analytics");
  t.Line("  build/opspilot --data-dir " + result.data_dir + " serve --port 8080");
  t.summary["data_dir"] = result.data_dir;
  t.summary["events"] = ev.size();
  t.summary["users"] = users.rows();
  t.summary["anomalies"] = an;
  result.tour = std::move(t.text);
  result.summary = std::move(t.summary);
  return result;
}

}  // namespace opspilot::demo
