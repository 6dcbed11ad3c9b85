// Behaviour analytics over an EventLog (events grouped by user, sorted by
// time): funnels, retention, trends and paths. Every query is one linear
// pass per user, run in parallel over users with per-thread accumulators.
// Inputs come from a store snapshot (engine mode) or an events CSV (file
// mode, ReadEventsCsv).
#ifndef OPSPILOT_ANALYTICS_ANALYTICS_H_
#define OPSPILOT_ANALYTICS_ANALYTICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/context.h"
#include "store/snapshot.h"

namespace opspilot::analytics {

// ---- Input ----

struct EventsCsvOptions {
  std::string user_col = "user_id";
  std::string event_col = "event";
  std::string time_col = "timestamp";
  std::string item_col;   // optional
  std::string value_col;  // optional
  std::string property_col;  // optional: loaded as the log's event property (for breakdowns)
};

// Streams an events CSV into an EventLog (users/items dictionaries inside the
// returned Snapshot). Bad rows are errors naming file, line and field.
StatusOr<Snapshot> ReadEventsCsv(const Context& ctx, const std::string& path, const EventsCsvOptions& options);

// ---- Funnels ----

enum class FunnelMode {
  kOrdered,  // steps in order, other events may come between
  kStrict,   // steps in order with no other event between them
  kAny,      // all steps within the window, in any order
};
StatusOr<FunnelMode> ParseFunnelMode(std::string_view name);

enum class Attribution {
  kFirstTouch,  // the value on the attempt's first step event
  kLastTouch,   // the value on the event of the furthest step reached
  kStep,        // the value on the event of step `attribution_step` ("(none)" if not reached)
};
// "first", "last", or "step:N" (1-based).
StatusOr<std::pair<Attribution, int>> ParseAttribution(std::string_view text);

struct FunnelSpec {
  std::vector<std::string> steps;       // event types, 1..64
  int64_t window = 86400;               // seconds from the first step to the last
  FunnelMode mode = FunnelMode::kOrdered;
  std::vector<std::string> exclusions;  // an exclusion event cancels the attempts in progress
  int64_t since = INT64_MIN, until = INT64_MAX;  // only events in [since, until)
  int keep_dropped = 100;               // user ids kept per step of those who stopped there
  int histogram_bins = 10;              // time-to-convert histogram (log-spaced)
  // Breakdown: by the log's loaded event property (EventLog::property), or by
  // a value per user code (a user attribute); at most one of the two.
  bool breakdown_by_event_property = false;
  const std::vector<std::string>* user_breakdown = nullptr;
  Attribution attribution = Attribution::kFirstTouch;
  int attribution_step = 0;             // 0-based, for kStep
  int breakdown_limit = 25;             // values kept (most users at step 1); the rest are "(other)"
};

struct FunnelBreakdownRow {
  std::string value;           // "(none)" when the attributed event has no value
  std::vector<int64_t> users;  // per step
};

struct FunnelStep {
  std::string event;
  int64_t users = 0;                 // users who reached this step
  double conversion_from_previous = 0;
  double conversion_from_start = 0;
  // Time from the first step to this one, over users who reached it (seconds).
  double median_seconds = 0, mean_seconds = 0;
  std::vector<std::string> dropped_users;  // reached the previous step, not this one (first keep_dropped)
  int64_t dropped = 0;
};

struct FunnelResult {
  std::vector<FunnelStep> steps;
  // Histogram of time to convert (first step to last) over converted users.
  std::vector<double> histogram_edges;  // bins + 1 edges in seconds
  std::vector<int64_t> histogram_counts;
  std::vector<FunnelBreakdownRow> breakdown;  // when a breakdown was asked for, largest first
};

// Each user counts once, at the furthest step of their best attempt. In
// ordered and strict modes an attempt starts at any occurrence of step 1 and
// must finish within `window`; later starts are preferred when they reach as
// far (they leave the most time).
StatusOr<FunnelResult> Funnel(const Context& ctx, const EventLog& log, const Dictionary& users,
                              const FunnelSpec& spec);

// ---- Retention ----

enum class Period { kDay, kWeek, kMonth };
StatusOr<Period> ParsePeriod(std::string_view name);
// Start of the period holding t (UTC; weeks start on Monday).
int64_t PeriodStart(int64_t t, Period p);

struct RetentionSpec {
  std::string start_event;   // "" = any event; the cohort is the period of the first one
  std::string return_event;  // "" = any event
  Period period = Period::kWeek;
  int periods = 8;           // columns: period 0 (the cohort's own) .. periods-1
  int64_t since = INT64_MIN, until = INT64_MAX;
};

struct RetentionRow {
  int64_t cohort_start = 0;        // unix seconds
  int64_t size = 0;                // users whose first start event falls in the cohort period
  std::vector<int64_t> retained;   // users with a return event k periods later
  int observed = 0;                // periods that began before the data ends (later ones are unknown, not 0)
};

StatusOr<std::vector<RetentionRow>> Retention(const Context& ctx, const EventLog& log, const RetentionSpec& spec);

// ---- Lifecycle and stickiness ----

struct LifecyclePoint {
  int64_t period_start = 0;
  int64_t new_users = 0;     // first active period ever
  int64_t returning = 0;     // active in this period and the one before
  int64_t resurrecting = 0;  // active now, not in the period before, not new
  int64_t dormant = 0;       // active in the period before, not now
};
// Activity = the event `event` ("" = any) within [since, until).
StatusOr<std::vector<LifecyclePoint>> Lifecycle(const Context& ctx, const EventLog& log, const std::string& event,
                                                Period period, int64_t since = INT64_MIN,
                                                int64_t until = INT64_MAX);

struct StickinessRow {
  int64_t period_start = 0;
  std::vector<int64_t> users_by_days;  // [d] = users active on exactly d+1 distinct days of the period
};
StatusOr<std::vector<StickinessRow>> Stickiness(const Context& ctx, const EventLog& log, const std::string& event,
                                                Period period, int64_t since = INT64_MIN,
                                                int64_t until = INT64_MAX);

// ---- Trends ----

struct TrendPoint {
  int64_t period_start = 0;
  std::string event;
  std::string breakdown;  // the event property's value with by_property ("(none)" if absent), else ""
  int64_t events = 0, users = 0;
  double value_sum = 0;
};

// Events, unique users and value sums per period and event type (all types,
// or those listed), in period then event order; with by_property also per
// value of the log's loaded event property.
StatusOr<std::vector<TrendPoint>> Trends(const Context& ctx, const EventLog& log, Period period,
                                         const std::vector<std::string>& events, bool by_property = false);

// ---- Paths ----

struct PathEdge {
  int step = 0;  // 1 = first event after (or before) the anchor
  std::string from, to;
  int64_t users = 0;
};

struct PathSpec {
  std::string anchor;       // the event paths start from (or end at)
  bool backward = false;    // paths leading to the anchor
  int steps = 3;
  int top = 10;             // keep the most common `top` targets per (step, from)
  bool collapse_repeats = true;  // "view, view, view" counts as one "view"
};

// Sankey edges over each user's first occurrence of the anchor.
StatusOr<std::vector<PathEdge>> Paths(const Context& ctx, const EventLog& log, const PathSpec& spec);

}  // namespace opspilot::analytics

#endif  // OPSPILOT_ANALYTICS_ANALYTICS_H_
