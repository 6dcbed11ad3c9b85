#include "analytics/report.h"

#include <cmath>
#include <cstdio>

#include "core/csv.h"
#include "core/strings.h"
#include "core/time.h"

namespace opspilot::analytics {

using nlohmann::json;

namespace {
json Num(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}
std::string Duration(double s) {
  if (std::isnan(s)) return "-";
  if (s < 120) return Fmt("%.0fs", s);
  if (s < 7200) return Fmt("%.1fm", s / 60);
  if (s < 172800) return Fmt("%.1fh", s / 3600);
  return Fmt("%.1fd", s / 86400);
}
}  // namespace

json ToJson(const FunnelResult& r) {
  json steps = json::array();
  for (const auto& s : r.steps) {
    steps.push_back({{"event", s.event},
                     {"users", s.users},
                     {"conversion_from_previous", s.conversion_from_previous},
                     {"conversion_from_start", s.conversion_from_start},
                     {"median_seconds", Num(s.median_seconds)},
                     {"mean_seconds", Num(s.mean_seconds)},
                     {"dropped", s.dropped},
                     {"dropped_users", s.dropped_users}});
  }
  json out = {{"steps", steps},
              {"time_to_convert", {{"edges_seconds", r.histogram_edges}, {"counts", r.histogram_counts}}}};
  if (!r.breakdown.empty()) {
    json rows = json::array();
    for (const auto& b : r.breakdown) rows.push_back({{"value", b.value}, {"users", b.users}});
    out["breakdown"] = rows;
  }
  return out;
}

json ToJson(const std::vector<RetentionRow>& rows, int periods) {
  json out = json::array();
  for (const auto& r : rows) {
    json pct = json::array(), kept = json::array();
    for (size_t k = 0; k < r.retained.size(); ++k) {
      const bool seen = static_cast<int>(k) < r.observed;
      kept.push_back(seen ? json(r.retained[k]) : json(nullptr));
      pct.push_back(seen && r.size ? json(static_cast<double>(r.retained[k]) / static_cast<double>(r.size)) : json(nullptr));
    }
    out.push_back({{"cohort", FormatDate(r.cohort_start)}, {"size", r.size}, {"retained", kept}, {"rate", pct}});
  }
  return {{"periods", periods}, {"cohorts", out}};
}

json ToJson(const std::vector<TrendPoint>& points) {
  json out = json::array();
  for (const auto& p : points) {
    json point = {{"period", FormatDate(p.period_start)}, {"event", p.event}, {"events", p.events},
                  {"users", p.users}, {"value", p.value_sum}};
    if (!p.breakdown.empty()) point["breakdown"] = p.breakdown;
    out.push_back(point);
  }
  return {{"points", out}};
}

json ToJson(const std::vector<PathEdge>& edges) {
  json out = json::array();
  for (const auto& e : edges) out.push_back({{"step", e.step}, {"from", e.from}, {"to", e.to}, {"users", e.users}});
  return {{"edges", out}};
}

json ToJson(const std::vector<LifecyclePoint>& points) {
  json out = json::array();
  for (const auto& p : points) {
    out.push_back({{"period", FormatDate(p.period_start)}, {"new", p.new_users}, {"returning", p.returning},
                   {"resurrecting", p.resurrecting}, {"dormant", p.dormant}});
  }
  return {{"lifecycle", out}};
}

json ToJson(const std::vector<StickinessRow>& rows) {
  json out = json::array();
  for (const auto& r : rows) out.push_back({{"period", FormatDate(r.period_start)}, {"users_by_active_days", r.users_by_days}});
  return {{"stickiness", out}};
}

std::string ToCsv(const std::vector<LifecyclePoint>& points) {
  std::string out = "period,new,returning,resurrecting,dormant\n";
  for (const auto& p : points) {
    out += FormatDate(p.period_start) + "," + std::to_string(p.new_users) + "," + std::to_string(p.returning) + "," +
           std::to_string(p.resurrecting) + "," + std::to_string(p.dormant) + "\n";
  }
  return out;
}

std::string ToCsv(const std::vector<StickinessRow>& rows) {
  std::string out = "period";
  const size_t n = rows.empty() ? 0 : rows[0].users_by_days.size();
  for (size_t d = 1; d <= n; ++d) out += ",days_" + std::to_string(d);
  out += "\n";
  for (const auto& r : rows) {
    out += FormatDate(r.period_start);
    for (int64_t v : r.users_by_days) out += "," + std::to_string(v);
    out += "\n";
  }
  return out;
}

std::string ToCsv(const FunnelResult& r) {
  std::string out = "step,event,users,conversion_from_previous,conversion_from_start,median_seconds,mean_seconds,dropped\n";
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    out += CsvLine({std::to_string(i + 1), s.event, std::to_string(s.users), Fmt("%.6f", s.conversion_from_previous),
                    Fmt("%.6f", s.conversion_from_start), Fmt("%.0f", s.median_seconds), Fmt("%.1f", s.mean_seconds),
                    std::to_string(s.dropped)}) + "\n";
  }
  return out;
}

std::string ToCsv(const std::vector<RetentionRow>& rows, int periods) {
  std::string out = "cohort,size";
  for (int k = 0; k < periods; ++k) out += ",period_" + std::to_string(k);
  out += "\n";
  for (const auto& r : rows) {
    out += FormatDate(r.cohort_start) + "," + std::to_string(r.size);
    for (size_t k = 0; k < r.retained.size(); ++k) {
      out += "," + (static_cast<int>(k) < r.observed ? std::to_string(r.retained[k]) : std::string());
    }
    out += "\n";
  }
  return out;
}

std::string ToCsv(const std::vector<TrendPoint>& points) {
  std::string out = "period,event,breakdown,events,users,value\n";
  for (const auto& p : points) {
    out += CsvLine({FormatDate(p.period_start), p.event, p.breakdown, std::to_string(p.events), std::to_string(p.users),
                    Fmt("%.4f", p.value_sum)}) + "\n";
  }
  return out;
}

std::string ToCsv(const std::vector<PathEdge>& edges) {
  std::string out = "step,from,to,users\n";
  for (const auto& e : edges) out += CsvLine({std::to_string(e.step), e.from, e.to, std::to_string(e.users)}) + "\n";
  return out;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Status TimeRangeFromParams(const ParamFn& get, int64_t* since, int64_t* until) {
  *since = INT64_MIN;
  *until = INT64_MAX;
  for (const auto& [name, out] : {std::pair<const char*, int64_t*>{"since", since}, {"until", until}}) {
    const std::string v = get(name);
    if (v.empty()) continue;
    auto t = ParseTimestamp(v);
    if (!t.ok()) return t.status().WithContext(name);
    *out = *t;
  }
  return Status::Ok();
}

StatusOr<FunnelSpec> FunnelSpecFromParams(const ParamFn& get) {
  FunnelSpec f;
  f.steps = SplitList(get("steps"));
  if (f.steps.empty()) return InvalidArgument("steps: give comma-separated event types");
  f.exclusions = SplitList(get("exclude"));
  if (const std::string w = get("window"); !w.empty()) {
    auto d = ParseDuration(w);
    if (!d.ok()) return d.status().WithContext("window");
    f.window = *d;
  }
  if (const std::string m = get("mode"); !m.empty()) {
    ASSIGN_OR_RETURN(f.mode, ParseFunnelMode(m));
  }
  ASSIGN_OR_RETURN(auto attribution, ParseAttribution(get("attribution")));
  f.attribution = attribution.first;
  f.attribution_step = attribution.second;
  if (f.attribution_step >= static_cast<int>(f.steps.size())) return InvalidArgument("attribution step beyond the funnel");
  f.breakdown_by_event_property = !get("breakdown").empty();
  RETURN_IF_ERROR(TimeRangeFromParams(get, &f.since, &f.until));
  return f;
}

StatusOr<RetentionSpec> RetentionSpecFromParams(const ParamFn& get) {
  RetentionSpec r;
  r.start_event = get("start_event");
  r.return_event = get("return_event");
  if (const std::string p = get("period"); !p.empty()) {
    ASSIGN_OR_RETURN(r.period, ParsePeriod(p));
  }
  if (const std::string n = get("periods"); !n.empty()) r.periods = std::atoi(n.c_str());
  RETURN_IF_ERROR(TimeRangeFromParams(get, &r.since, &r.until));
  return r;
}

StatusOr<PathSpec> PathSpecFromParams(const ParamFn& get) {
  PathSpec p;
  const std::string from = get("from"), to = get("to");
  if (from.empty() == to.empty()) return InvalidArgument("give one of from or to");
  p.anchor = from.empty() ? to : from;
  p.backward = !to.empty();
  if (const std::string n = get("steps"); !n.empty()) p.steps = std::atoi(n.c_str());
  if (const std::string n = get("top"); !n.empty()) p.top = std::atoi(n.c_str());
  return p;
}

std::string ToTable(const FunnelResult& r) {
  if (!r.breakdown.empty()) {
    std::string out = "  value                ";
    auto pad = [](const std::string& v) { return std::string(v.size() < 12 ? 12 - v.size() : 0, ' ') + v; };
    for (const auto& s : r.steps) out += pad(s.event.substr(0, 11));
    out += "   conversion\n";
    for (const auto& b : r.breakdown) {
      out += "  " + b.value.substr(0, 20) + std::string(21 - std::min<size_t>(20, b.value.size()), ' ');
      for (int64_t u : b.users) out += pad(WithCommas(u));
      out += Fmt("   %9.1f%%\n", b.users[0] ? 100.0 * static_cast<double>(b.users.back()) / static_cast<double>(b.users[0]) : 0.0);
    }
    return out;
  }
  std::string out = "  step  event                  users   from prev  from start  median time\n";
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    char buf[256];
    std::snprintf(buf, sizeof(buf), "  %4zu  %-20s %9s   %7.1f%%   %8.1f%%  %11s\n", i + 1, s.event.substr(0, 20).c_str(),
                  WithCommas(s.users).c_str(), 100 * s.conversion_from_previous, 100 * s.conversion_from_start,
                  Duration(s.median_seconds).c_str());
    out += buf;
  }
  return out;
}

std::string ToTable(const std::vector<RetentionRow>& rows, int periods) {
  std::string out = "  cohort        users";
  for (int k = 0; k < periods; ++k) out += Fmt("  %5.0f", k);
  out += "\n";
  for (const auto& r : rows) {
    out += "  " + FormatDate(r.cohort_start) + Fmt("  %7.0f", static_cast<double>(r.size));
    for (size_t k = 0; k < r.retained.size(); ++k) {
      out += static_cast<int>(k) < r.observed
                 ? Fmt("  %4.0f%%", r.size ? 100.0 * static_cast<double>(r.retained[k]) / static_cast<double>(r.size) : 0.0)
                 : "       ";
    }
    out += "\n";
  }
  return out;
}

}  // namespace opspilot::analytics
