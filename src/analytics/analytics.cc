#include "analytics/analytics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/csv.h"
#include "core/time.h"

namespace opspilot::analytics {

namespace {

constexpr int64_t kNone = INT64_MIN;

// Users split into a fixed number of chunks so results merge in a fixed
// order whatever the thread count (deterministic output).
template <typename Acc, typename Fn>
std::vector<Acc> ForUserChunks(const Context& ctx, const EventLog& log, const Fn& fn) {
  const int64_t users = log.num_users();
  const int64_t chunks = std::min<int64_t>(64, std::max<int64_t>(1, users / 1024));
  std::vector<Acc> acc(static_cast<size_t>(chunks));
  ctx.pool().ParallelFor(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t u0 = users * c / chunks, u1 = users * (c + 1) / chunks;
      for (int64_t u = u0; u < u1; ++u) fn(static_cast<int32_t>(u), &acc[static_cast<size_t>(c)]);
    }
  });
  return acc;
}

// Merges per-chunk maps in chunk order: add(&merged[key], value) for every entry.
template <typename Map, typename Add>
Map MergeChunks(const std::vector<Map>& chunks, const Add& add) {
  Map merged;
  for (const auto& chunk : chunks) {
    for (const auto& [key, value] : chunk) add(&merged[key], value);
  }
  return merged;
}

// Event type code -> the step indexes it plays, descending (so one event
// never advances two steps at once).
std::vector<std::vector<int>> StepsByType(const EventLog& log, const std::vector<std::string>& steps) {
  std::vector<std::vector<int>> out(static_cast<size_t>(log.event_types.size()));
  for (int k = static_cast<int>(steps.size()) - 1; k >= 0; --k) {
    const int32_t code = log.event_types.Find(steps[static_cast<size_t>(k)]);
    if (code >= 0) out[static_cast<size_t>(code)].push_back(k);
  }
  return out;
}

std::vector<char> TypeMask(const EventLog& log, const std::vector<std::string>& names) {
  std::vector<char> m(static_cast<size_t>(log.event_types.size()), 0);
  for (const auto& n : names) {
    const int32_t c = log.event_types.Find(n);
    if (c >= 0) m[static_cast<size_t>(c)] = 1;
  }
  return m;
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + static_cast<long>(mid))) / 2;
  return m;
}

}  // namespace

StatusOr<std::pair<Attribution, int>> ParseAttribution(std::string_view t) {
  if (t == "first" || t.empty()) return std::make_pair(Attribution::kFirstTouch, 0);
  if (t == "last") return std::make_pair(Attribution::kLastTouch, 0);
  if (t.rfind("step:", 0) == 0) {
    const int n = std::atoi(std::string(t.substr(5)).c_str());
    if (n >= 1 && n <= 64) return std::make_pair(Attribution::kStep, n - 1);
  }
  return InvalidArgument("attribution must be first, last or step:N, got '" + std::string(t) + "'");
}

StatusOr<FunnelMode> ParseFunnelMode(std::string_view n) {
  if (n == "ordered") return FunnelMode::kOrdered;
  if (n == "strict") return FunnelMode::kStrict;
  if (n == "any") return FunnelMode::kAny;
  return InvalidArgument("funnel mode must be ordered, strict or any, got '" + std::string(n) + "'");
}

StatusOr<Period> ParsePeriod(std::string_view n) {
  if (n == "day") return Period::kDay;
  if (n == "week") return Period::kWeek;
  if (n == "month") return Period::kMonth;
  return InvalidArgument("period must be day, week or month, got '" + std::string(n) + "'");
}

int64_t PeriodStart(int64_t t, Period p) {
  const int64_t day = DayOf(t);
  switch (p) {
    case Period::kDay: return day * 86400;
    case Period::kWeek: {
      return (day - WeekdayOfDay(day)) * 86400;
    }
    case Period::kMonth: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(day, &y, &m, &d);
      return DaysFromCivil(y, m, 1) * 86400;
    }
  }
  return day * 86400;
}

namespace {
// Periods between two period starts.
int64_t PeriodsBetween(int64_t from, int64_t to, Period p) {
  if (p == Period::kDay) return (to - from) / 86400;
  if (p == Period::kWeek) return (to - from) / (7 * 86400);
  int64_t y1, y2;
  unsigned m1, m2, d;
  CivilFromDays(DayOf(from), &y1, &m1, &d);
  CivilFromDays(DayOf(to), &y2, &m2, &d);
  return (y2 - y1) * 12 + (static_cast<int64_t>(m2) - static_cast<int64_t>(m1));
}
}  // namespace

StatusOr<Snapshot> ReadEventsCsv(const Context& ctx, const std::string& path, const EventsCsvOptions& o) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  const int64_t total = src->size();
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": empty file (expected a header row)");
  auto find = [&](const std::string& name, bool required, int* out) -> Status {
    *out = -1;
    if (name.empty()) return Status::Ok();
    for (size_t i = 0; i < rec.num_fields; ++i) {
      if (rec.field(i) == name) *out = static_cast<int>(i);
    }
    if (*out < 0 && required) {
      return InvalidArgument(path + ":1: field '" + name + "': column not in the header (set it with --" +
                             (name == o.user_col ? "user" : name == o.event_col ? "event" : "time") + "-col)");
    }
    if (*out < 0) return InvalidArgument(path + ":1: field '" + name + "': column not in the header");
    return Status::Ok();
  };
  int uc, ec, tc, ic, vc, pc;
  RETURN_IF_ERROR(find(o.user_col, true, &uc));
  RETURN_IF_ERROR(find(o.event_col, true, &ec));
  RETURN_IF_ERROR(find(o.time_col, true, &tc));
  RETURN_IF_ERROR(find(o.item_col, false, &ic));
  RETURN_IF_ERROR(find(o.value_col, false, &vc));
  RETURN_IF_ERROR(find(o.property_col, false, &pc));
  const size_t width = rec.num_fields;
  Snapshot snap;
  EventLogBuilder builder(snap.users, snap.items);
  auto progress = ctx.StartProgress("read events", total, "bytes");
  int64_t n = 0;
  while (reader.Next(&rec)) {
    const std::string where = path + ":" + std::to_string(rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    if (rec.num_fields != width) {
      return InvalidArgument(where + ": expected " + std::to_string(width) + " fields, found " +
                             std::to_string(rec.num_fields));
    }
    auto ts = ParseTimestamp(rec.field(static_cast<size_t>(tc)));
    if (!ts.ok()) return InvalidArgument(where + ": field '" + o.time_col + "': " + ts.status().message());
    if (rec.field(static_cast<size_t>(uc)).empty()) return InvalidArgument(where + ": field '" + o.user_col + "' is empty");
    float value = std::numeric_limits<float>::quiet_NaN();
    if (vc >= 0 && !rec.field(static_cast<size_t>(vc)).empty()) {
      char* end = nullptr;
      const std::string& v = rec.fields[static_cast<size_t>(vc)];
      value = std::strtof(v.c_str(), &end);
      if (end != v.c_str() + v.size()) return InvalidArgument(where + ": field '" + o.value_col + "': expected a number");
    }
    RETURN_IF_ERROR(builder.Add(rec.field(static_cast<size_t>(uc)), rec.field(static_cast<size_t>(ec)),
                                ic >= 0 ? rec.field(static_cast<size_t>(ic)) : std::string_view(), *ts,
                                std::string_view(), value,
                                pc >= 0 ? std::optional<std::string_view>(rec.field(static_cast<size_t>(pc)))
                                        : std::nullopt));
    if ((++n & 65535) == 0) progress->Update(reader.bytes_read());
  }
  RETURN_IF_ERROR(reader.status());
  progress->Update(reader.bytes_read());
  progress->Finish();
  snap.events = builder.Finish();
  snap.events->property_name = o.property_col;
  return snap;
}

// ---- Funnel ----

namespace {

constexpr const char* kNoValue = "(none)";

struct FunnelAcc {
  std::map<std::string, std::vector<int64_t>> breakdown;  // value -> users per step
  std::vector<int64_t> reached;              // per step
  std::vector<std::vector<double>> seconds;  // per step: time from the first step
  std::vector<std::vector<int32_t>> dropped; // per step: users who stopped before it
  std::vector<int64_t> dropped_count;
};

}  // namespace

StatusOr<FunnelResult> Funnel(const Context& ctx, const EventLog& log, const Dictionary& users, const FunnelSpec& spec) {
  const int k = static_cast<int>(spec.steps.size());
  if (k < 1 || k > 64) return InvalidArgument("a funnel needs 1 to 64 steps");
  if (spec.window <= 0) return InvalidArgument("the funnel window must be positive");
  const auto by_type = StepsByType(log, spec.steps);
  const auto excluded = TypeMask(log, spec.exclusions);
  const auto ks = static_cast<size_t>(k);

  auto per_user = [&](int32_t u, FunnelAcc* acc) {
    if (acc->reached.empty()) {
      acc->reached.assign(ks, 0);
      acc->seconds.assign(ks, {});
      acc->dropped.assign(ks, {});
      acc->dropped_count.assign(ks, 0);
    }
    const int64_t b = log.user_begin[static_cast<size_t>(u)], e = log.user_begin[static_cast<size_t>(u) + 1];
    int best = -1;
    std::vector<int64_t> first_dt(ks, -1);
    // Attributed breakdown values (codes into log.property_values; -1 none).
    const bool by_prop = spec.breakdown_by_event_property && !log.property.empty();
    auto prop_at = [&](int64_t i) { return by_prop ? log.property[static_cast<size_t>(i)] : -1; };
    int32_t attributed = -1;
    if (spec.mode == FunnelMode::kAny) {
      // Sliding window over this user's step events; the most distinct steps inside one window.
      std::vector<int> count(ks, 0);
      int distinct = 0;
      int64_t left = b;
      for (int64_t i = b; i < e; ++i) {
        const auto ii = static_cast<size_t>(i);
        const int64_t t = log.time[ii];
        if (t < spec.since || t >= spec.until) continue;
        const auto type = static_cast<size_t>(log.type[ii]);
        if (excluded[type]) {
          std::fill(count.begin(), count.end(), 0);
          distinct = 0;
          left = i + 1;
          continue;
        }
        if (by_type[type].empty()) continue;
        for (int s : by_type[type]) distinct += count[static_cast<size_t>(s)]++ == 0;
        // Drop events that fell out of the window.
        for (; left < i; ++left) {
          const auto li = static_cast<size_t>(left);
          const int64_t lt = log.time[li];
          if (t - lt <= spec.window && lt >= spec.since) break;
          if (lt < spec.since || lt >= spec.until) continue;
          for (int s : by_type[static_cast<size_t>(log.type[li])]) distinct -= --count[static_cast<size_t>(s)] == 0;
        }
        if (distinct - 1 > best) {
          // The window's first step event is its start.
          int64_t start = t, start_index = i;
          for (int64_t j = left; j <= i; ++j) {
            const auto jj = static_cast<size_t>(j);
            if (!by_type[static_cast<size_t>(log.type[jj])].empty() && log.time[jj] >= spec.since) {
              start = log.time[jj];
              start_index = j;
              break;
            }
          }
          attributed = spec.attribution == Attribution::kLastTouch ? prop_at(i) : prop_at(start_index);
          for (int s = best + 1; s < distinct; ++s) first_dt[static_cast<size_t>(s)] = t - start;
          best = distinct - 1;
        }
      }
    } else {
      // state[s]: latest start time of an attempt that completed steps 0..s;
      // first[s] / at_step[s]: the breakdown values that attempt carries.
      std::vector<int64_t> state(ks, kNone), next(ks, kNone);
      std::vector<int32_t> first(ks, -1), at_step(ks, -1), next_first(ks, -1), next_at_step(ks, -1);
      const int astep = spec.attribution_step;
      for (int64_t i = b; i < e; ++i) {
        const auto ii = static_cast<size_t>(i);
        const int64_t t = log.time[ii];
        if (t < spec.since || t >= spec.until) continue;
        const auto type = static_cast<size_t>(log.type[ii]);
        if (excluded[type]) {
          std::fill(state.begin(), state.end(), kNone);
          continue;
        }
        const int32_t pv = prop_at(i);
        if (spec.mode == FunnelMode::kStrict) {
          std::fill(next.begin(), next.end(), kNone);
          for (int s : by_type[type]) {
            const auto ss = static_cast<size_t>(s);
            if (s == 0) {
              next[0] = t;
              next_first[0] = pv;
              next_at_step[0] = astep == 0 ? pv : -1;
            } else if (state[ss - 1] != kNone && t - state[ss - 1] <= spec.window) {
              next[ss] = state[ss - 1];
              next_first[ss] = first[ss - 1];
              next_at_step[ss] = s == astep ? pv : at_step[ss - 1];
            }
          }
          state.swap(next);
          first.swap(next_first);
          at_step.swap(next_at_step);
        } else {
          for (int s : by_type[type]) {
            const auto ss = static_cast<size_t>(s);
            if (s == 0) {
              state[0] = t;
              first[0] = pv;
              at_step[0] = astep == 0 ? pv : -1;
            } else if (state[ss - 1] != kNone && t - state[ss - 1] <= spec.window && state[ss - 1] > state[ss]) {
              state[ss] = state[ss - 1];
              first[ss] = first[ss - 1];
              at_step[ss] = s == astep ? pv : at_step[ss - 1];
            }
          }
        }
        for (int s = best + 1; s < k; ++s) {
          if (state[static_cast<size_t>(s)] == kNone) break;
          first_dt[static_cast<size_t>(s)] = t - state[static_cast<size_t>(s)];
          best = s;
          switch (spec.attribution) {
            case Attribution::kFirstTouch: attributed = first[static_cast<size_t>(s)]; break;
            case Attribution::kLastTouch: attributed = pv; break;
            case Attribution::kStep: attributed = s >= astep ? at_step[static_cast<size_t>(s)] : -1; break;
          }
        }
      }
    }
    if (best >= 0 && (spec.breakdown_by_event_property || spec.user_breakdown)) {
      std::string value;
      if (spec.user_breakdown) {
        value = static_cast<size_t>(u) < spec.user_breakdown->size() ? (*spec.user_breakdown)[static_cast<size_t>(u)] : "";
      } else if (attributed >= 0) {
        value = log.property_values.Key(attributed);
      }
      auto& row = acc->breakdown[value.empty() ? kNoValue : value];
      row.resize(ks, 0);
      for (int s = 0; s <= best; ++s) row[static_cast<size_t>(s)]++;
    }
    for (int s = 0; s <= best; ++s) {
      acc->reached[static_cast<size_t>(s)]++;
      acc->seconds[static_cast<size_t>(s)].push_back(static_cast<double>(first_dt[static_cast<size_t>(s)]));
    }
    if (best >= 0 && best + 1 < k) {
      const auto d = static_cast<size_t>(best + 1);
      acc->dropped_count[d]++;
      if (static_cast<int>(acc->dropped[d].size()) < spec.keep_dropped) acc->dropped[d].push_back(u);
    }
  };
  auto accs = ForUserChunks<FunnelAcc>(ctx, log, per_user);

  FunnelResult r;
  std::vector<std::vector<double>> seconds(ks);
  for (int s = 0; s < k; ++s) {
    FunnelStep step;
    step.event = spec.steps[static_cast<size_t>(s)];
    for (const auto& a : accs) {
      if (a.reached.empty()) continue;
      step.users += a.reached[static_cast<size_t>(s)];
      step.dropped += a.dropped_count[static_cast<size_t>(s)];
      auto& sec = seconds[static_cast<size_t>(s)];
      sec.insert(sec.end(), a.seconds[static_cast<size_t>(s)].begin(), a.seconds[static_cast<size_t>(s)].end());
      for (int32_t u : a.dropped[static_cast<size_t>(s)]) {
        if (static_cast<int>(step.dropped_users.size()) < spec.keep_dropped) step.dropped_users.push_back(users.Key(u));
      }
    }
    r.steps.push_back(std::move(step));
  }
  const double start_users = static_cast<double>(r.steps[0].users);
  for (int s = 0; s < k; ++s) {
    FunnelStep& step = r.steps[static_cast<size_t>(s)];
    const double prev = s == 0 ? start_users : static_cast<double>(r.steps[static_cast<size_t>(s - 1)].users);
    step.conversion_from_previous = prev > 0 ? static_cast<double>(step.users) / prev : 0;
    step.conversion_from_start = start_users > 0 ? static_cast<double>(step.users) / start_users : 0;
    const auto& sec = seconds[static_cast<size_t>(s)];
    double sum = 0;
    for (double v : sec) sum += v;
    step.mean_seconds = sec.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(sec.size());
    step.median_seconds = Median(sec);
  }
  if (spec.breakdown_by_event_property || spec.user_breakdown) {
    std::vector<std::map<std::string, std::vector<int64_t>>> chunks;
    for (const auto& a : accs) chunks.push_back(a.breakdown);
    auto merged = MergeChunks(chunks, [&](std::vector<int64_t>* m, const std::vector<int64_t>& users_per_step) {
      m->resize(ks, 0);
      for (size_t i = 0; i < ks; ++i) (*m)[i] += users_per_step[i];
    });
    for (auto& [v, u] : merged) r.breakdown.push_back({v, std::move(u)});
    std::stable_sort(r.breakdown.begin(), r.breakdown.end(),
                     [](const auto& a, const auto& b) { return a.users[0] > b.users[0]; });
    if (static_cast<int>(r.breakdown.size()) > spec.breakdown_limit) {
      FunnelBreakdownRow other{"(other)", std::vector<int64_t>(ks, 0)};
      for (size_t i = static_cast<size_t>(spec.breakdown_limit); i < r.breakdown.size(); ++i) {
        for (size_t j = 0; j < ks; ++j) other.users[j] += r.breakdown[i].users[j];
      }
      r.breakdown.resize(static_cast<size_t>(spec.breakdown_limit));
      r.breakdown.push_back(std::move(other));
    }
  }
  // Log-spaced histogram of time to full conversion.
  const auto& full = seconds[ks - 1];
  if (!full.empty() && spec.histogram_bins > 0) {
    const double hi = std::max(1.0, *std::max_element(full.begin(), full.end()));
    const int bins = spec.histogram_bins;
    r.histogram_edges.push_back(0);
    for (int i = 1; i <= bins; ++i) r.histogram_edges.push_back(std::pow(hi + 1, static_cast<double>(i) / bins) - 1);
    r.histogram_counts.assign(static_cast<size_t>(bins), 0);
    for (double v : full) {
      auto it = std::lower_bound(r.histogram_edges.begin() + 1, r.histogram_edges.end(), v);
      const auto bin = std::min<size_t>(static_cast<size_t>(it - r.histogram_edges.begin() - 1), static_cast<size_t>(bins - 1));
      r.histogram_counts[bin]++;
    }
  }
  return r;
}

// ---- Retention ----

StatusOr<std::vector<RetentionRow>> Retention(const Context& ctx, const EventLog& log, const RetentionSpec& spec) {
  if (spec.periods < 1 || spec.periods > 1000) return InvalidArgument("periods must be 1..1000");
  const int32_t start_code = spec.start_event.empty() ? -1 : log.event_types.Find(spec.start_event);
  const int32_t return_code = spec.return_event.empty() ? -1 : log.event_types.Find(spec.return_event);
  if (!spec.start_event.empty() && start_code < 0) return std::vector<RetentionRow>{};
  using Acc = std::map<int64_t, RetentionRow>;
  const auto np = static_cast<size_t>(spec.periods);
  auto per_user = [&](int32_t u, Acc* acc) {
    const int64_t b = log.user_begin[static_cast<size_t>(u)], e = log.user_begin[static_cast<size_t>(u) + 1];
    int64_t cohort = kNone, first = kNone;
    std::vector<char> seen;
    for (int64_t i = b; i < e; ++i) {
      const auto ii = static_cast<size_t>(i);
      const int64_t t = log.time[ii];
      if (t < spec.since || t >= spec.until) continue;
      const int32_t type = log.type[ii];
      if (cohort == kNone) {
        if (start_code >= 0 && type != start_code) continue;
        first = t;
        cohort = PeriodStart(t, spec.period);
        seen.assign(np, 0);
      }
      if (return_code >= 0 && type != return_code) continue;
      if (t < first) continue;
      const int64_t k = PeriodsBetween(cohort, PeriodStart(t, spec.period), spec.period);
      if (k >= 0 && k < spec.periods) seen[static_cast<size_t>(k)] = 1;
    }
    if (cohort == kNone) return;
    RetentionRow& row = (*acc)[cohort];
    if (row.retained.empty()) {
      row.cohort_start = cohort;
      row.retained.assign(np, 0);
    }
    row.size++;
    for (size_t k = 0; k < np; ++k) row.retained[k] += seen[k];
  };
  auto accs = ForUserChunks<Acc>(ctx, log, per_user);
  Acc merged = MergeChunks(accs, [&](RetentionRow* m, const RetentionRow& row) {
    if (m->retained.empty()) {
      m->cohort_start = row.cohort_start;
      m->retained.assign(np, 0);
    }
    m->size += row.size;
    for (size_t k = 0; k < np; ++k) m->retained[k] += row.retained[k];
  });
  int64_t last = INT64_MIN;
  for (int64_t t : log.time) {
    if (t >= spec.since && t < spec.until) last = std::max(last, t);
  }
  const int64_t last_period = last == INT64_MIN ? 0 : PeriodStart(last, spec.period);
  std::vector<RetentionRow> out;
  for (auto& [c, row] : merged) {
    row.observed = static_cast<int>(std::min<int64_t>(spec.periods, PeriodsBetween(c, last_period, spec.period) + 1));
    out.push_back(std::move(row));
  }
  return out;
}

// ---- Lifecycle and stickiness ----

namespace {
int64_t NextPeriod(int64_t p, Period period) {
  return PeriodStart(p + (period == Period::kDay ? 86400 : period == Period::kWeek ? 7 * 86400 : 32 * 86400), period);
}

// Distinct active periods (ascending) and the days active in each, for one user.
void ActivePeriods(const EventLog& log, int32_t u, int32_t code, Period period, int64_t since, int64_t until,
                   std::vector<int64_t>* periods, std::vector<int64_t>* days) {
  periods->clear();
  days->clear();
  int64_t last_day = INT64_MIN;
  for (int64_t i = log.user_begin[static_cast<size_t>(u)]; i < log.user_begin[static_cast<size_t>(u) + 1]; ++i) {
    const auto ii = static_cast<size_t>(i);
    const int64_t t = log.time[ii];
    if (t < since || t >= until || (code >= 0 && log.type[ii] != code)) continue;
    const int64_t p = PeriodStart(t, period);
    if (periods->empty() || periods->back() != p) {
      periods->push_back(p);
      days->push_back(0);
    }
    const int64_t day = PeriodStart(t, Period::kDay);
    if (day != last_day) {
      days->back()++;
      last_day = day;
    }
  }
}
}  // namespace

StatusOr<std::vector<LifecyclePoint>> Lifecycle(const Context& ctx, const EventLog& log, const std::string& event,
                                                Period period, int64_t since, int64_t until) {
  const int32_t code = event.empty() ? -1 : log.event_types.Find(event);
  if (!event.empty() && code < 0) return std::vector<LifecyclePoint>{};
  int64_t last = INT64_MIN;
  for (int64_t t : log.time) {
    if (t >= since && t < until) last = std::max(last, t);
  }
  if (last == INT64_MIN) return std::vector<LifecyclePoint>{};
  const int64_t last_period = PeriodStart(last, period);
  using Acc = std::map<int64_t, LifecyclePoint>;
  auto per_user = [&](int32_t u, Acc* acc) {
    std::vector<int64_t> periods, days;
    ActivePeriods(log, u, code, period, since, until, &periods, &days);
    for (size_t i = 0; i < periods.size(); ++i) {
      LifecyclePoint& pt = (*acc)[periods[i]];
      if (i == 0) {
        pt.new_users++;
      } else if (NextPeriod(periods[i - 1], period) == periods[i]) {
        pt.returning++;
      } else {
        pt.resurrecting++;
      }
      const int64_t next = NextPeriod(periods[i], period);
      if ((i + 1 == periods.size() || periods[i + 1] != next) && next <= last_period) (*acc)[next].dormant++;
    }
  };
  auto accs = ForUserChunks<Acc>(ctx, log, per_user);
  Acc merged = MergeChunks(accs, [](LifecyclePoint* m, const LifecyclePoint& pt) {
    m->new_users += pt.new_users;
    m->returning += pt.returning;
    m->resurrecting += pt.resurrecting;
    m->dormant += pt.dormant;
  });
  std::vector<LifecyclePoint> out;
  for (auto& [p, pt] : merged) {
    pt.period_start = p;
    out.push_back(pt);
  }
  return out;
}

StatusOr<std::vector<StickinessRow>> Stickiness(const Context& ctx, const EventLog& log, const std::string& event,
                                                Period period, int64_t since, int64_t until) {
  const int32_t code = event.empty() ? -1 : log.event_types.Find(event);
  if (!event.empty() && code < 0) return std::vector<StickinessRow>{};
  const size_t max_days = period == Period::kDay ? 1 : period == Period::kWeek ? 7 : 31;
  using Acc = std::map<int64_t, std::vector<int64_t>>;
  auto per_user = [&](int32_t u, Acc* acc) {
    std::vector<int64_t> periods, days;
    ActivePeriods(log, u, code, period, since, until, &periods, &days);
    for (size_t i = 0; i < periods.size(); ++i) {
      auto& h = (*acc)[periods[i]];
      h.resize(max_days, 0);
      h[static_cast<size_t>(days[i] - 1)]++;
    }
  };
  auto accs = ForUserChunks<Acc>(ctx, log, per_user);
  Acc merged = MergeChunks(accs, [&](std::vector<int64_t>* m, const std::vector<int64_t>& h) {
    m->resize(max_days, 0);
    for (size_t d = 0; d < h.size(); ++d) (*m)[d] += h[d];
  });
  std::vector<StickinessRow> out;
  for (auto& [p, h] : merged) out.push_back({p, std::move(h)});
  return out;
}

// ---- Trends ----

StatusOr<std::vector<TrendPoint>> Trends(const Context& ctx, const EventLog& log, Period period,
                                         const std::vector<std::string>& events, bool by_property) {
  if (by_property && log.property.empty()) return InvalidArgument("no event property loaded for a breakdown");
  std::vector<char> wanted(static_cast<size_t>(log.event_types.size()), events.empty() ? 1 : 0);
  for (const auto& n : events) {
    const int32_t c = log.event_types.Find(n);
    if (c >= 0) wanted[static_cast<size_t>(c)] = 1;
  }
  struct Cell {
    int64_t events = 0, users = 0;
    double value = 0;
  };
  // (period, type, property code or -1).
  using Key = std::tuple<int64_t, int32_t, int32_t>;
  using Acc = std::map<Key, Cell>;
  auto per_user = [&](int32_t u, Acc* acc) {
    const int64_t b = log.user_begin[static_cast<size_t>(u)], e = log.user_begin[static_cast<size_t>(u) + 1];
    int64_t current = kNone;
    std::vector<std::pair<int32_t, int32_t>> seen;  // (type, property) seen in the current period
    for (int64_t i = b; i < e; ++i) {
      const auto ii = static_cast<size_t>(i);
      const int32_t type = log.type[ii];
      if (!wanted[static_cast<size_t>(type)]) continue;
      const int64_t p = PeriodStart(log.time[ii], period);
      if (p != current) {
        current = p;
        seen.clear();
      }
      const int32_t prop = by_property ? log.property[ii] : -1;
      Cell& c = (*acc)[{p, type, prop}];
      c.events++;
      if (!std::isnan(log.value[ii])) c.value += log.value[ii];
      if (std::find(seen.begin(), seen.end(), std::make_pair(type, prop)) == seen.end()) {
        seen.emplace_back(type, prop);
        c.users++;
      }
    }
  };
  auto accs = ForUserChunks<Acc>(ctx, log, per_user);
  Acc merged = MergeChunks(accs, [](Cell* m, const Cell& c) {
    m->events += c.events;
    m->users += c.users;
    m->value += c.value;
  });
  std::vector<TrendPoint> out;
  for (const auto& [key, c] : merged) {
    const auto& [p, type, prop] = key;
    std::string value = !by_property ? "" : prop >= 0 ? log.property_values.Key(prop) : "(none)";
    out.push_back({p, log.event_types.Key(type), std::move(value), c.events, c.users, c.value});
  }
  std::stable_sort(out.begin(), out.end(), [](const TrendPoint& a, const TrendPoint& b) {
    if (a.period_start != b.period_start) return a.period_start < b.period_start;
    return a.event != b.event ? a.event < b.event : a.breakdown < b.breakdown;
  });
  return out;
}

// ---- Paths ----

StatusOr<std::vector<PathEdge>> Paths(const Context& ctx, const EventLog& log, const PathSpec& spec) {
  if (spec.steps < 1 || spec.steps > 20) return InvalidArgument("path steps must be 1..20");
  const int32_t anchor = log.event_types.Find(spec.anchor);
  if (anchor < 0) return std::vector<PathEdge>{};
  // (step, from, to) -> users; "from" is -1 for the anchor itself.
  using Key = std::tuple<int, int32_t, int32_t>;
  using Acc = std::map<Key, int64_t>;
  auto per_user = [&](int32_t u, Acc* acc) {
    const int64_t b = log.user_begin[static_cast<size_t>(u)], e = log.user_begin[static_cast<size_t>(u) + 1];
    int64_t at = -1;
    for (int64_t i = b; i < e; ++i) {
      if (log.type[static_cast<size_t>(i)] == anchor) {
        at = i;
        break;
      }
    }
    if (at < 0) return;
    int32_t prev = anchor;
    int step = 0;
    const int64_t dir = spec.backward ? -1 : 1;
    for (int64_t i = at + dir; i >= b && i < e && step < spec.steps; i += dir) {
      const int32_t t = log.type[static_cast<size_t>(i)];
      if (spec.collapse_repeats && t == prev) continue;
      ++step;
      (*acc)[{step, prev, t}]++;
      prev = t;
    }
  };
  auto accs = ForUserChunks<Acc>(ctx, log, per_user);
  Acc merged = MergeChunks(accs, [](int64_t* m, int64_t n) { *m += n; });
  // Keep the top targets per (step, from).
  std::map<std::pair<int, int32_t>, std::vector<std::pair<int64_t, int32_t>>> groups;
  for (const auto& [key, n] : merged) groups[{std::get<0>(key), std::get<1>(key)}].emplace_back(n, std::get<2>(key));
  std::vector<PathEdge> out;
  for (auto& [g, targets] : groups) {
    std::stable_sort(targets.begin(), targets.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    for (size_t i = 0; i < targets.size() && static_cast<int>(i) < spec.top; ++i) {
      out.push_back({g.first, log.event_types.Key(g.second), log.event_types.Key(targets[i].second), targets[i].first});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const PathEdge& a, const PathEdge& b) {
    return a.step != b.step ? a.step < b.step : a.users > b.users;
  });
  return out;
}

}  // namespace opspilot::analytics
