#include "forecast/engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/csv.h"
#include "core/time.h"
#include "ml/metrics.h"

namespace opspilot::forecast {

namespace {

using nlohmann::json;

// For each distinct attributes code of the orders table: is the order failed?
std::vector<uint8_t> FailedCodes(const Column* attributes) {
  std::vector<uint8_t> failed;
  if (attributes == nullptr) return failed;
  for (const auto& fields : JsonStringFields(*attributes)) {
    const auto it = fields.find("status");
    failed.push_back(it != fields.end() && it->second == "failed");
  }
  return failed;
}

}  // namespace

StatusOr<std::vector<Series>> DailyDemand(const Snapshot& snap, const DemandOptions& o) {
  if (o.level != "item" && o.level != "category" && o.level != "total") {
    return InvalidArgument("level must be item, category or total, not '" + o.level + "'");
  }
  if (o.measure != "quantity" && o.measure != "revenue") {
    return InvalidArgument("measure must be quantity or revenue, not '" + o.measure + "'");
  }
  const Table* orders = snap.find(Entity::kOrders);
  if (orders == nullptr) return FailedPrecondition("the snapshot has no orders table");
  const Column& item = orders->col("item_id");
  const Column& qty = orders->col("quantity");
  const Column& price = orders->col("unit_price");
  const Column& ts = orders->col("timestamp");
  const Column* attributes = orders->find("attributes");
  const auto failed = FailedCodes(attributes);
  auto is_failed = [&](size_t i) {
    return attributes && !failed.empty() && attributes->codes[i] >= 0 && failed[static_cast<size_t>(attributes->codes[i])];
  };
  const auto categories = ItemCategories(snap);
  const auto num_items = static_cast<size_t>(snap.items->size());

  // Median unit price per item: the reference a discount is measured from.
  std::vector<std::vector<double>> prices(num_items);
  int64_t first_day = INT64_MAX, last_day = INT64_MIN;
  for (int64_t r = 0; r < orders->rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    if (item.codes[i] < 0) continue;
    if (is_failed(i)) continue;
    prices[static_cast<size_t>(item.codes[i])].push_back(price.reals[i]);
    first_day = std::min(first_day, DayOf(ts.ints[i]));
    last_day = std::max(last_day, DayOf(ts.ints[i]));
  }
  if (first_day == INT64_MAX) return FailedPrecondition("the store has no paid orders to forecast from");
  std::vector<double> median(num_items, 0);
  // (Items without paid orders have no series: their NaN is never read.)
  for (size_t it = 0; it < num_items; ++it) median[it] = ml::Median(prices[it]);

  // Series key of each item code ("" = left out).
  std::vector<std::string> key(num_items);
  for (size_t it = 0; it < num_items; ++it) {
    key[it] = o.level == "item" ? snap.items->Key(static_cast<int32_t>(it))
              : o.level == "category" ? (categories[it].empty() ? "(none)" : categories[it])
                                      : "total";
    if (!o.only.empty() && o.level != "total" && std::find(o.only.begin(), o.only.end(), key[it]) == o.only.end()) {
      key[it].clear();
    }
  }
  struct Acc {
    std::vector<double> y, paid, list;  // per day from first_day: demand, paid and list value
    int64_t first = INT64_MAX;
  };
  const auto days = static_cast<size_t>(last_day - first_day + 1);
  std::map<std::string, Acc> acc;
  for (int64_t r = 0; r < orders->rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    if (item.codes[i] < 0) continue;
    const auto it = static_cast<size_t>(item.codes[i]);
    if (key[it].empty()) continue;
    if (is_failed(i)) continue;
    Acc& a = acc[key[it]];
    if (a.y.empty()) {
      a.y.assign(days, 0);
      a.paid.assign(days, 0);
      a.list.assign(days, 0);
    }
    const int64_t day = DayOf(ts.ints[i]);
    const auto d = static_cast<size_t>(day - first_day);
    const double q = qty.reals[i];
    a.y[d] += o.measure == "quantity" ? q : q * price.reals[i];
    a.paid[d] += q * price.reals[i];
    a.list[d] += q * median[it];
    a.first = std::min(a.first, day);
  }
  std::vector<Series> out;
  for (auto& [id, a] : acc) {
    Series s;
    s.id = id;
    s.driver_names = {"discount"};
    s.drivers.resize(1);
    for (int64_t day = a.first; day <= last_day; ++day) {
      const auto d = static_cast<size_t>(day - first_day);
      s.time.push_back(day * 86400);
      s.y.push_back(a.y[d]);
      s.drivers[0].push_back(a.list[d] > 0 ? std::max(0.0, 1 - a.paid[d] / a.list[d]) : 0);
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<std::vector<PlanRow>> PlanFromSnapshot(const Context& ctx, const Snapshot& snap, const PlanOptions& o) {
  RETURN_IF_ERROR(ValidateForecastOptions(o.forecast));
  if (!(o.service_level > 0 && o.service_level < 1)) return InvalidArgument("service level must be in (0, 1)");
  const Table* inv = snap.find(Entity::kInventory);
  if (inv == nullptr) return FailedPrecondition("the snapshot has no inventory table");
  // The latest inventory row per item.
  const Column& item = inv->col("item_id");
  const Column& date = inv->col("date");
  std::unordered_map<int32_t, size_t> latest;
  for (int64_t r = 0; r < inv->rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    if (item.codes[i] < 0) continue;
    auto [pos, inserted] = latest.emplace(item.codes[i], i);
    if (!inserted && date.ints[i] > date.ints[pos->second]) pos->second = i;
  }
  DemandOptions demand;
  demand.only = o.items;
  ASSIGN_OR_RETURN(auto series, DailyDemand(snap, demand));
  std::unordered_map<std::string, const Series*> by_id;
  for (const auto& s : series) by_id[s.id] = &s;
  const auto categories = ItemCategories(snap);
  std::vector<double> list_price(static_cast<size_t>(snap.items->size()), 0);
  if (const Table* items = snap.find(Entity::kItems)) {
    const Column& id = items->col("item_id");
    if (const Column* p = items->find("price")) {
      for (int64_t r = 0; r < items->rows(); ++r) {
        const auto i = static_cast<size_t>(r);
        if (id.codes[i] >= 0 && p->valid[i]) list_price[static_cast<size_t>(id.codes[i])] = p->reals[i];
      }
    }
  }

  std::vector<std::pair<int32_t, size_t>> rows(latest.begin(), latest.end());
  std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
    return snap.items->Key(a.first) < snap.items->Key(b.first);
  });
  if (!o.items.empty()) {
    std::erase_if(rows, [&](const auto& r) {
      return std::find(o.items.begin(), o.items.end(), snap.items->Key(r.first)) == o.items.end();
    });
  }
  auto real = [&](const char* name, size_t i, double fallback) {
    const Column* c = inv->find(name);
    return c && c->valid[i] ? c->reals[i] : fallback;
  };
  std::vector<PlanRow> out(rows.size());
  Status failure;
  std::mutex mu;
  ctx.pool().ParallelFor(static_cast<int64_t>(rows.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const auto [code, i] = rows[static_cast<size_t>(k)];
      PlanRow& row = out[static_cast<size_t>(k)];
      row.item_id = snap.items->Key(code);
      row.category = categories[static_cast<size_t>(code)];
      row.as_of = FormatDate(date.ints[i]);
      InventoryInputs& in = row.inputs;
      in.on_hand = real("on_hand", i, 0);
      in.on_order = real("on_order", i, 0);
      in.lead_time_days = real("lead_time_days", i, o.default_lead_time_days);
      in.unit_cost = real("unit_cost", i, 0);
      in.service_level = o.service_level;
      in.order_cost = o.order_cost;
      in.holding_cost_per_unit_year = in.unit_cost * o.holding_rate;
      in.review_period_days = o.review_period_days;
      const int needed = static_cast<int>(std::ceil(in.lead_time_days + in.review_period_days)) + 1;
      ForecastOptions fo = o.forecast;
      fo.horizon = std::max({fo.horizon, needed, 28});
      fo.levels = {95};
      const auto it = by_id.find(row.item_id);
      if (it == by_id.end() || it->second->y.size() < 2) {
        // No sales history: nothing to forecast, nothing to reorder.
        in.daily_mean.assign(static_cast<size_t>(fo.horizon), 0);
        in.daily_sd.assign(static_cast<size_t>(fo.horizon), 0);
        row.model = "none";
        row.detail = "no sales history";
      } else {
        auto f = ForecastSeries(*it->second, fo);
        if (!f.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          failure = Status(f.status().code(), row.item_id + ": " + f.status().message());
          return;
        }
        row.model = f->model;
        row.detail = f->detail;
        const double z = NormalQuantile(0.975);
        for (size_t s = 0; s < f->mean.size(); ++s) {
          // Demand is never negative; the sd comes from the upper 95% bound.
          in.daily_mean.push_back(std::max(0.0, f->mean[s]));
          in.daily_sd.push_back(std::max(0.0, (f->hi[0][s] - f->mean[s]) / z));
        }
      }
      auto plan = PlanInventory(in);
      if (!plan.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        failure = Status(plan.status().code(), row.item_id + ": " + plan.status().message());
        return;
      }
      row.plan = *plan;
      row.price = list_price[static_cast<size_t>(code)];
      if (row.price > in.unit_cost && in.unit_cost > 0) {
        auto nv = NewsvendorQuantity(row.plan.lead_time_demand, row.plan.lead_time_sd, row.price, in.unit_cost, 0);
        if (nv.ok()) row.newsvendor_quantity = *nv;
      }
      char buf[160];
      if (row.plan.stockout_within_lead_time) {
        std::snprintf(buf, sizeof(buf), "stock-out in %d days, within the lead time of %.0f days", *row.plan.stockout_day,
                      in.lead_time_days);
        row.alerts.emplace_back(buf);
      } else if (row.plan.reorder_now) {
        std::snprintf(buf, sizeof(buf), "at or below the reorder point (%.1f): order %.0f", row.plan.reorder_point,
                      std::ceil(row.plan.suggested_order));
        row.alerts.emplace_back(buf);
      }
      if (row.plan.overstock) row.alerts.emplace_back("overstocked: stock covers more than 3 lead times of demand");
    }
  });
  RETURN_IF_ERROR(failure);
  return out;
}

json ToJson(const PlanRow& r) {
  double lead_mean = 0;
  for (size_t d = 0; d < r.inputs.daily_mean.size() && static_cast<double>(d) < r.inputs.lead_time_days; ++d) {
    lead_mean += r.inputs.daily_mean[d];
  }
  json j = {{"item_id", r.item_id},
            {"category", r.category},
            {"as_of", r.as_of},
            {"model", r.model},
            {"detail", r.detail},
            {"inputs",
             {{"on_hand", r.inputs.on_hand},
              {"on_order", r.inputs.on_order},
              {"lead_time_days", r.inputs.lead_time_days},
              {"unit_cost", r.inputs.unit_cost},
              {"service_level", r.inputs.service_level},
              {"order_cost", r.inputs.order_cost},
              {"holding_cost_per_unit_year", r.inputs.holding_cost_per_unit_year},
              {"review_period_days", r.inputs.review_period_days},
              {"mean_daily_demand", r.inputs.lead_time_days > 0 ? lead_mean / std::ceil(r.inputs.lead_time_days) : 0}}},
            {"lead_time_demand", r.plan.lead_time_demand},
            {"lead_time_sd", r.plan.lead_time_sd},
            {"safety_stock", r.plan.safety_stock},
            {"reorder_point", r.plan.reorder_point},
            {"order_up_to", r.plan.order_up_to},
            {"eoq", r.plan.eoq},
            {"price", r.price},
            {"newsvendor_quantity", r.newsvendor_quantity},
            {"reorder_now", r.plan.reorder_now},
            {"suggested_order", r.plan.suggested_order},
            {"stockout_day", r.plan.stockout_day ? json(*r.plan.stockout_day) : json(nullptr)},
            {"stockout_within_lead_time", r.plan.stockout_within_lead_time},
            {"overstock", r.plan.overstock},
            {"alerts", r.alerts}};
  return j;
}

json ToJson(const Forecast& f, const std::vector<int>& levels) {
  json points = json::array();
  for (size_t k = 0; k < f.mean.size(); ++k) {
    json p = {{"timestamp", FormatTimestamp(f.time[k])}, {"mean", f.mean[k]}};
    for (size_t l = 0; l < levels.size() && l < f.lo.size(); ++l) {
      p["lo_" + std::to_string(levels[l])] = f.lo[l][k];
      p["hi_" + std::to_string(levels[l])] = f.hi[l][k];
    }
    points.push_back(std::move(p));
  }
  return {{"series_id", f.series_id}, {"model", f.model}, {"detail", f.detail}, {"points", std::move(points)}};
}

std::string PlanCsv(const std::vector<PlanRow>& rows) {
  std::string out =
      "item_id,category,as_of,on_hand,on_order,lead_time_days,mean_daily_demand,lead_time_demand,safety_stock,"
      "reorder_point,order_up_to,eoq,reorder_now,suggested_order,stockout_day,model,alerts\n";
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", v);
    return std::string(buf);
  };
  for (const auto& r : rows) {
    const json j = ToJson(r);
    std::string alerts;
    for (const auto& a : r.alerts) alerts += (alerts.empty() ? "" : "; ") + a;
    out += CsvLine({r.item_id, r.category, r.as_of, num(r.inputs.on_hand), num(r.inputs.on_order),
                    num(r.inputs.lead_time_days), num(j["inputs"]["mean_daily_demand"].get<double>()),
                    num(r.plan.lead_time_demand), num(r.plan.safety_stock), num(r.plan.reorder_point),
                    num(r.plan.order_up_to), num(r.plan.eoq), r.plan.reorder_now ? "true" : "false",
                    num(r.plan.suggested_order), r.plan.stockout_day ? std::to_string(*r.plan.stockout_day) : "",
                    r.model, alerts}) +
           "\n";
  }
  return out;
}

}  // namespace opspilot::forecast
