// Engine mode of forecasting: daily demand series built from the orders in a
// store snapshot, forecasts per item, category or in total, and the reorder
// table and alerts that follow from the latest inventory rows.
#ifndef OPSPILOT_FORECAST_ENGINE_H_
#define OPSPILOT_FORECAST_ENGINE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "forecast/forecast.h"
#include "forecast/inventory.h"
#include "store/snapshot.h"

namespace opspilot::forecast {

struct DemandOptions {
  std::string level = "item";        // item | category | total
  std::string measure = "quantity";  // quantity | revenue
  std::vector<std::string> only;     // these items (or categories) only; empty = all
};

// Daily series (UTC days) of the orders table: failed orders (attribute
// status = "failed") are left out. Each series runs from its first sale to
// the last order day of the snapshot, zero-filled. One driver, `discount`:
// 1 - (quantity-weighted mean unit price that day) / (the item's median
// price), 0 on days without sales; it lets regression learn promotion lift.
// REQUIRES: the snapshot loaded Entity::kOrders (and kItems for categories).
StatusOr<std::vector<Series>> DailyDemand(const Snapshot& snap, const DemandOptions& options);

struct PlanOptions {
  ForecastOptions forecast;          // model and levels; the horizon is raised to cover lead time + review
  double service_level = 0.95;
  double order_cost = 50;
  double holding_rate = 0.25;        // per year, of unit cost
  double review_period_days = 0;
  double default_lead_time_days = 7; // where the inventory row has none
  std::vector<std::string> items;    // empty = every item with an inventory row
};

struct PlanRow {
  std::string item_id, category, as_of;  // as_of = date of the inventory row used
  std::string model, detail;
  InventoryInputs inputs;                // what the plan was computed from
  InventoryPlan plan;
  double price = 0;                      // the item's list price (items table), 0 if unknown
  // For perishable or one-shot stock: the newsvendor quantity for demand over
  // lead time + review period at the critical fractile (price - cost) / price
  // (no salvage value); 0 without a price above cost.
  double newsvendor_quantity = 0;
  std::vector<std::string> alerts;       // "stock-out in N days, within the lead time of M", ...
};

// One row per item with a current inventory row: the item's demand is
// forecast (per-day mean and sd from the forecast intervals) and turned into
// safety stock, reorder point, order-up-to level, EOQ and the suggested order.
// Items are forecast in parallel on the Context's pool.
// REQUIRES: the snapshot loaded kOrders, kInventory and kItems.
StatusOr<std::vector<PlanRow>> PlanFromSnapshot(const Context& ctx, const Snapshot& snap, const PlanOptions& options);

nlohmann::json ToJson(const PlanRow& row);
nlohmann::json ToJson(const Forecast& f, const std::vector<int>& levels);
// The reorder table as CSV (header + one line per row).
std::string PlanCsv(const std::vector<PlanRow>& rows);

}  // namespace opspilot::forecast

#endif  // OPSPILOT_FORECAST_ENGINE_H_
