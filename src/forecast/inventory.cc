#include "forecast/inventory.h"

#include <algorithm>
#include <cmath>

#include "forecast/forecast.h"

namespace opspilot::forecast {

StatusOr<InventoryPlan> PlanInventory(const InventoryInputs& in) {
  if (!(in.service_level > 0 && in.service_level < 1)) return InvalidArgument("service level must be in (0, 1)");
  if (in.lead_time_days < 0 || in.review_period_days < 0) return InvalidArgument("lead time and review period must be >= 0");
  if (in.daily_mean.empty() || in.daily_mean.size() != in.daily_sd.size()) {
    return InvalidArgument("need a daily demand forecast with a standard deviation per day");
  }
  const double cover = in.lead_time_days + in.review_period_days;
  if (static_cast<double>(in.daily_mean.size()) < std::ceil(cover)) {
    return InvalidArgument("the forecast is shorter than the lead time plus review period");
  }
  InventoryPlan p;
  // Demand over the (possibly fractional) protection interval.
  double var = 0;
  for (size_t d = 0; d < in.daily_mean.size() && static_cast<double>(d) < cover; ++d) {
    const double w = std::min(1.0, cover - static_cast<double>(d));
    p.lead_time_demand += w * in.daily_mean[d];
    var += w * in.daily_sd[d] * in.daily_sd[d];
  }
  p.lead_time_sd = std::sqrt(var);
  p.safety_stock = NormalQuantile(in.service_level) * p.lead_time_sd;
  p.reorder_point = p.lead_time_demand + p.safety_stock;
  p.order_up_to = p.reorder_point;
  double mean_daily = 0;
  for (double v : in.daily_mean) mean_daily += v / static_cast<double>(in.daily_mean.size());
  const double holding = in.holding_cost_per_unit_year > 0 ? in.holding_cost_per_unit_year : 0.25 * in.unit_cost;
  const double annual = 365 * mean_daily;
  p.eoq = holding > 0 && annual > 0 ? std::sqrt(2 * annual * in.order_cost / holding) : 0;
  const double position = in.on_hand + in.on_order;
  p.reorder_now = position <= p.reorder_point;
  if (p.reorder_now) p.suggested_order = std::max(p.eoq, p.order_up_to - position);
  double stock = in.on_hand;
  for (size_t d = 0; d < in.daily_mean.size(); ++d) {
    stock -= in.daily_mean[d];
    if (stock < 0) {
      p.stockout_day = static_cast<int>(d + 1);
      break;
    }
  }
  p.stockout_within_lead_time = p.stockout_day && *p.stockout_day <= std::ceil(in.lead_time_days);
  p.overstock = mean_daily > 0 && position > mean_daily * 3 * std::max(1.0, cover);
  return p;
}

StatusOr<double> NewsvendorQuantity(double mean, double sd, double price, double cost, double salvage) {
  if (!(price > cost && cost > salvage)) return InvalidArgument("newsvendor needs price > cost > salvage");
  if (sd < 0) return InvalidArgument("sd must be >= 0");
  const double fractile = (price - cost) / (price - salvage);
  return std::max(0.0, mean + NormalQuantile(fractile) * sd);
}

}  // namespace opspilot::forecast
