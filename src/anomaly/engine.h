// Engine mode of anomaly and risk: detectors over the metrics in the store
// (every metric x dimension combination, and each metric's total across its
// segments), alerts with a root-cause drill-down over the segments, and risk
// scores for the orders in the store.
#ifndef OPSPILOT_ANOMALY_ENGINE_H_
#define OPSPILOT_ANOMALY_ENGINE_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "anomaly/anomaly.h"
#include "anomaly/risk.h"
#include "anomaly/rootcause.h"
#include "core/context.h"
#include "store/snapshot.h"

namespace opspilot::anomaly {

struct MetricAlertOptions {
  ScoreOptions score;
  // "auto": robust (trailing median/MAD) for daily or coarser series, which
  // are short; the ensemble for finer ones. Otherwise a DetectorNames() name.
  std::string detector = "auto";
  AlertOptions alert;
  std::vector<std::string> metrics;  // empty = all
  // Rate metrics and the metric that weighs their segments (the denominator)
  // when totals and drill-downs are computed; other metrics add up.
  std::map<std::string, std::string> weights = {{"conversion_rate", "sessions"}};
  int64_t baseline_seconds = 14 * 86400;  // drill-down baseline: this long before the alert
  bool totals = true;                     // also score each metric's total over its segments
  // Which segment series alert (all series explain through the drill-down):
  // "weighted" = segments of rate metrics with a weight metric (their noise
  // follows their traffic; unweighted rates of small counts step by whole
  // counts and would alert daily), "all", or "none".
  std::string segments = "weighted";
};

// A --weight / ?weights= spec RATE=DENOMINATOR into options->weights (the
// denominator weighs the rate's segments); InvalidArgument naming the spec.
Status AddRateWeight(const std::string& spec, MetricAlertOptions* options);

struct MetricAlert {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> dimensions;  // empty = the total
  Alert alert;
  double baseline = 0;  // the series' median over the baseline window, for "from .. to .."
  std::optional<DrillDown> cause;
  std::string summary;  // one line in words
};

// Alerts over the metrics table, most severe (then highest peak) first.
// REQUIRES: the snapshot loaded Entity::kMetrics.
StatusOr<std::vector<MetricAlert>> MetricAlerts(const Context& ctx, const Snapshot& snap,
                                                const MetricAlertOptions& options);
nlohmann::json ToJson(const MetricAlert& a);

struct OrderRiskOptions {
  RiskOptions risk;
  int64_t user_window_seconds = 3600;  // velocity rule: order lines of one user in this window
  int user_max_orders = 0;             // 0 = no rule (user_orders_24h is a model feature anyway)
  int top = 20;                        // flagged orders returned (highest scores first); 0 = all
};

struct OrderRisk {
  std::string order_id, user_id;
  int64_t time = 0;
  RiskResult result;
  std::map<std::string, std::string> attributes;  // e.g. payment_method, country
};

// Isolation forest (and options.risk's velocity rules and blocklists, keyed on
// user_id, order_id or any order attribute) over the order lines:
// quantity, unit price, log amount, account age at the order, the payment
// method's share of all lines, and the user's distinct orders in the previous 24 h.
// REQUIRES: the snapshot loaded kOrders (and kUsers for account age).
StatusOr<std::vector<OrderRisk>> ScoreOrders(const Context& ctx, const Snapshot& snap, const OrderRiskOptions& options,
                                             int64_t* flagged_total = nullptr);
nlohmann::json ToJson(const OrderRisk& r);

// A risk result's rule hits and feature reasons: as text ("rule a; f=1.5; ...")
// and as JSON ({"rules": [{"rule", "score"}], "reasons": [{"feature", "value", "weight", "z"}]}).
std::string ReasonText(const RiskResult& r);
nlohmann::json ReasonJson(const RiskResult& r);

// One order line, as stored or as posted for scoring.
struct OrderLine {
  std::string order_id, user_id;
  double quantity = 0, unit_price = 0;
  int64_t time = 0;
  std::map<std::string, std::string> attributes;  // payment_method, channel, ...
};

// Scores new order lines (not in the store) against the store's orders: the
// forest is fitted on all lines together and every new line is returned with
// its score, highest first; velocity counts the store's earlier orders too.
StatusOr<std::vector<OrderRisk>> ScoreNewOrders(const Context& ctx, const Snapshot& snap,
                                                const std::vector<OrderLine>& lines, const OrderRiskOptions& options);

}  // namespace opspilot::anomaly

#endif  // OPSPILOT_ANOMALY_ENGINE_H_
