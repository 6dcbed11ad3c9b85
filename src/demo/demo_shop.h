// Deterministic demo-shop generator with planted ground truth.
//
// GenerateDemoShop() simulates an online shop selling tea, coffee and
// kitchenware in China (regions east, north, south, west) and abroad (region
// overseas) over `days` UTC days, through channels app, web and mini_program,
// and writes realistic operational data plus the truths planted in it, so that
// every analysis in OpsPilot (segmentation, recommendation, funnel, forecasting,
// churn, anomaly and fraud detection, ticket classification, competitor and
// review monitoring) can be checked against a known answer.
//
// Same seed + scale + days + start_unix => byte-identical files (portable RNG
// in demo/rng.h, no std:: distributions, no clocks, no hash-map iteration).
// All money is CNY with two decimals. Day d covers the UTC interval
// [start_unix + d*86400, start_unix + (d+1)*86400).
//
// Files written into `dir` (each through NAME.tmp + rename):
//   users.csv             user_id,created_at,country,region,language,acquisition_channel,age_band
//   items.csv             item_id,title,category,price,text,brand,origin
//   events.csv            event_id,user_id,event_type,item_id,timestamp,session_id,value,channel,region
//                         (time-ordered; event_type view|search|add_to_cart|purchase|login;
//                         value = unit price paid for add_to_cart/purchase, else empty)
//   orders.csv            order_id,user_id,item_id,quantity,unit_price,timestamp,country,region,channel,
//                         payment_method,status   (one row per order line; status paid|refunded|failed;
//                         China orders carry +08:00 offsets, others Z; every purchase event has an
//                         order line with the same user, item and instant; failed attempts have no
//                         purchase event; a failed attempt may be retried as a new order)
//   inventory.csv         item_id,date,on_hand,on_order,lead_time_days,unit_cost   (end of day; never
//                         negative; (s,Q) replenishment with EWMA forecast; sales never exceed stock)
//   tickets.jsonl         {"ticket_id","user_id","channel","timestamp","text","language","resolved",
//                         "intent","sentiment","order_id"(only when the ticket is about an order)}
//   metrics.csv           name,timestamp,value,region,channel. Daily rows (timestamp = day start) per
//                         region x channel: sessions, orders (orders with successful payment), revenue
//                         (paid + refunded line totals), conversion_rate (sessions with a purchase /
//                         sessions), payment_success_rate (successful / attempted orders). Rate rows
//                         are omitted when their denominator is 0. Hourly rows (timestamp = hour start)
//                         of payment_success_rate with region = channel = "all", for hours with >= 1
//                         attempt. Daily rows of a day come first, then its hourly rows.
//   competitor_prices.csv competitor,item_id,category,timestamp,price   (weekly, tracked items only)
//   reviews.csv           review_id,source,subject,timestamp,rating,text   (source our_shop|competitor)
//   truth_users.csv       user_id,segment,taste,churned,churn_day   (taste = cluster index 0..5;
//                         churned 1|0; churn_day = ISO date of the first day without any activity,
//                         empty when not churned; the user has no events on or after it)
//   truth_items.csv       item_id,taste
//   truth_fraud_orders.csv order_id
//   truth.json            the parameters below.
//
// truth.json layout (all windows are [start, end) with ISO-8601 UTC strings and
// the same instants as *_unix integers; day indices are 0-based from start_unix):
//   generator   {version, seed, scale, days, start_unix, start_date, end_date (exclusive), currency,
//                timezone_note}
//   counts      {users, items, events, orders, order_lines, inventory_rows, tickets, metrics,
//                competitor_prices, reviews, sessions, fraud_orders, fraud_accounts, churned_users,
//                failed_orders, events_by_type{..}, segments{segment: users},
//                tickets_by_intent{..}, tickets_by_language{zh,en}}
//   segments    {name: {share, sessions_per_day, views_per_session, view_to_cart, cart_to_purchase,
//                quantity_mean, price_preference, search_probability}} for champion, loyal,
//                bargain_hunter, browser, new, churner (fraud accounts are segment "fraud")
//   funnel      {view_to_cart{segment}, cart_to_purchase{segment},
//                channel_cart_to_purchase_multiplier{app,web,mini_program},
//                promo_view_to_cart_multiplier, bargain_hunter_promo_item_view_to_cart_multiplier,
//                bargain_hunter_non_promo_view_to_cart_multiplier, login_probability{channel}}
//   taste       {clusters, names[], in_cluster_probability, zipf_exponent, price_preference_exponent
//                {bargain,neutral,premium}, user_share{cluster}}
//   demand      {model, weekly_factors[7] (Monday first, mean 1), weekday_of_day0 (0 = Monday),
//                weekend_uplift (mean Sat,Sun / mean Mon-Fri), yearly{amplitude, phase_day,
//                period_days, formula}, trend{annual_growth, formula}, individual_rate_sigma,
//                slow_items[], slow_item_factor, hour_of_day_profile_local[24]}
//   promotions  [{name, start, end, start_day, end_day, categories[], discount, uplift
//                (item traffic weight multiplier), bargain_hunter_session_multiplier}]
//   churn       {decay_days, decay_floor, decay_formula, churn_day_range[first,last], pre_churn_ticket_mean,
//                pre_churn_intents[], pre_churn_negative_probability}
//   anomalies   {payment_outage{start,end,start_unix,end_unix,failure_probability,
//                base_failure_probability,retry_probability,ticket_probability},
//                regional_conversion_drop{region,channel,start,end,start_unix,end_unix,start_day,
//                end_day,cart_to_purchase_multiplier},
//                fraud_burst{start,end,start_unix,end_unix,orders,accounts,payment_method,
//                quantity_min,quantity_max,min_unit_price,account_age_hours_max,order_ids_file}}
//   payments    {methods{country_group: [..]}, refund_probability}
//   tickets     {intents[], languages{zh,en}, templates_per_intent_language, sentiment_given_intent
//                {intent: [neg,neu,pos]}, order_ticket_probability, refund_ticket_probability,
//                failed_payment_ticket_probability, background_rate_per_user_day}
//   competitors {names[], price_level{name}, tracked_probability, price_cut{competitor, category,
//                start, end, start_day, end_day, cut, our_demand_multiplier}}
//   reviews     {our_shop_review_probability, our_shop_review_delay_days[min,max],
//                competitor_reviews_per_tracked_item_day, aspect_positive_bias{source:{aspect}},
//                rating_rule}
//   inventory   {policy, forecast_alpha, cover_days, min_order, safety_z, lead_time_days
//                {domestic[min,max], import[min,max]}}
#ifndef OPSPILOT_DEMO_DEMO_SHOP_H_
#define OPSPILOT_DEMO_DEMO_SHOP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace opspilot::demo {

struct DemoOptions {
  uint64_t seed = 42;               // same seed + scale => byte-identical files
  double scale = 1.0;               // multiplies users and events; items 800 at scale >= 0.25,
                                    // round(3200 * scale) below (at least 60)
  int days = 180;                   // length of history (28 .. 3650; scale x days <= 7300)
  int64_t start_unix = 1735689600;  // 2025-01-01T00:00:00Z, first day
};

struct DemoSummary {
  int64_t users = 0, items = 0, events = 0, orders = 0, order_lines = 0, inventory_rows = 0,
          tickets = 0, metrics = 0, competitor_prices = 0, reviews = 0;
};

// Writes the files listed above and truth.json into `dir` (created if
// missing). Each file is written to NAME.tmp then renamed, so a crash never
// leaves a half file. `progress` (may be empty) is called with a stage name
// and the fraction done in [0, 1].
// Errors: InvalidArgument for bad options or a directory that cannot be
// created; Internal when a file cannot be written.
StatusOr<DemoSummary> GenerateDemoShop(
    const DemoOptions& options, const std::string& dir,
    const std::function<void(std::string_view, double)>& progress = {});

}  // namespace opspilot::demo

#endif  // OPSPILOT_DEMO_DEMO_SHOP_H_
