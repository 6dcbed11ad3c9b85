// Inventory policy from a demand forecast: safety stock, reorder point,
// order-up-to level, economic order quantity, newsvendor quantity, projected
// stock-out and the alerts that follow. Every plan carries its inputs.
#ifndef OPSPILOT_FORECAST_INVENTORY_H_
#define OPSPILOT_FORECAST_INVENTORY_H_

#include <optional>
#include <vector>

#include "core/status.h"

namespace opspilot::forecast {

struct InventoryInputs {
  std::vector<double> daily_mean;  // forecast demand per day from tomorrow (at least the lead time)
  std::vector<double> daily_sd;    // its standard deviation per day (independent days)
  double lead_time_days = 7;
  double review_period_days = 0;   // 0 = continuous review (s, Q); > 0 = periodic (order-up-to)
  double service_level = 0.95;     // cycle service level in (0, 1)
  double on_hand = 0, on_order = 0;
  double order_cost = 50;          // fixed cost per order
  double holding_cost_per_unit_year = 0;  // 0 = unit_cost * 25%
  double unit_cost = 0;
};

struct InventoryPlan {
  double lead_time_demand = 0;     // expected demand over the lead time (+ review period)
  double lead_time_sd = 0;
  double safety_stock = 0;         // z * lead_time_sd
  double reorder_point = 0;        // lead_time_demand + safety_stock
  double order_up_to = 0;          // periodic review target
  double eoq = 0;                  // sqrt(2 D S / H), D annualised from the forecast
  double suggested_order = 0;      // when at or below the reorder point: max(EOQ, up-to - position)
  std::optional<int> stockout_day; // first day (1-based) the on-hand stock runs out, within the forecast
  bool reorder_now = false;        // inventory position <= reorder point
  bool stockout_within_lead_time = false;
  bool overstock = false;          // position covers more than 3 lead times + review periods of demand
};

StatusOr<InventoryPlan> PlanInventory(const InventoryInputs& in);

// Order quantity for a one-shot or perishable item with normal demand:
// the critical fractile (price - cost) / (price - salvage).
StatusOr<double> NewsvendorQuantity(double mean, double sd, double price, double cost, double salvage);

}  // namespace opspilot::forecast

#endif  // OPSPILOT_FORECAST_INVENTORY_H_
