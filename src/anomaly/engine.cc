#include "anomaly/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <mutex>
#include <numeric>
#include <set>
#include <unordered_map>

#include "core/time.h"
#include "ml/metrics.h"

namespace opspilot::anomaly {

namespace {

using nlohmann::json;
using Dims = std::vector<std::pair<std::string, std::string>>;

Dims ParseDims(const std::string& text) {
  Dims d;
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return d;
  for (const auto& [k, v] : j.items()) d.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  std::sort(d.begin(), d.end());
  return d;
}

std::string SeriesName(const std::string& metric, const Dims& dims) {
  if (dims.empty()) return metric + "{total}";
  std::string s = metric + "{";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + dims[i].first + "=" + dims[i].second;
  return s + "}";
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), std::abs(v) < 10 ? "%.3g" : "%.0f", v);
  return buf;
}

struct MetricSeries {
  std::string metric;
  Dims dims;
  std::vector<int64_t> time;
  std::vector<double> value;
};

}  // namespace

Status AddRateWeight(const std::string& spec, MetricAlertOptions* options) {
  const size_t eq = spec.find('=');
  if (eq == 0 || eq == std::string::npos || eq + 1 == spec.size()) {
    return InvalidArgument("a rate weight is RATE=DENOMINATOR, not '" + spec + "'");
  }
  options->weights[spec.substr(0, eq)] = spec.substr(eq + 1);
  return Status::Ok();
}

StatusOr<std::vector<MetricAlert>> MetricAlerts(const Context& ctx, const Snapshot& snap, const MetricAlertOptions& o) {
  RETURN_IF_ERROR(ValidateScoreOptions(o.score));
  RETURN_IF_ERROR(ValidateAlertOptions(o.alert));
  if (o.segments != "weighted" && o.segments != "all" && o.segments != "none") {
    return InvalidArgument("segments must be weighted, all or none, not '" + o.segments + "'");
  }
  if (o.detector != "auto" && std::find(DetectorNames().begin(), DetectorNames().end(), o.detector) == DetectorNames().end()) {
    return InvalidArgument("unknown detector '" + o.detector + "'");
  }
  const Table* metrics = snap.find(Entity::kMetrics);
  if (metrics == nullptr) return FailedPrecondition("the snapshot has no metrics table");
  const Column& name = metrics->col("name");
  const Column& ts = metrics->col("timestamp");
  const Column& val = metrics->col("value");
  const Column* dim = metrics->find("dimensions");
  std::vector<Dims> dims_of;
  if (dim && dim->dict) {
    for (int32_t c = 0; c < dim->dict->size(); ++c) dims_of.push_back(ParseDims(dim->dict->Key(c)));
  }
  // Group rows into series by (metric, dimensions).
  std::map<std::pair<int32_t, int32_t>, std::vector<std::pair<int64_t, double>>> groups;
  for (int64_t r = 0; r < metrics->rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    const int32_t d = dim && dim->valid[i] ? dim->codes[i] : -1;
    groups[{name.codes[i], d}].emplace_back(ts.ints[i], val.reals[i]);
  }
  std::vector<MetricSeries> series;
  // Per metric: its segment series (same dimension keys, no "all" value), for totals and drill-downs.
  std::map<std::string, std::vector<size_t>> segments_of;
  for (auto& [key, points] : groups) {
    MetricSeries s;
    s.metric = name.dict->Key(key.first);
    if (!o.metrics.empty() && std::find(o.metrics.begin(), o.metrics.end(), s.metric) == o.metrics.end() &&
        std::none_of(o.weights.begin(), o.weights.end(), [&](const auto& w) { return w.second == s.metric; })) {
      continue;
    }
    if (key.second >= 0) s.dims = dims_of[static_cast<size_t>(key.second)];
    std::stable_sort(points.begin(), points.end());
    for (const auto& [t, v] : points) {
      s.time.push_back(t);
      s.value.push_back(v);
    }
    const bool is_segment = !s.dims.empty() && std::none_of(s.dims.begin(), s.dims.end(), [](const auto& p) {
      return p.second == "all";
    });
    if (is_segment) segments_of[s.metric].push_back(series.size());
    series.push_back(std::move(s));
  }
  auto find_weight = [&](const std::string& metric, const Dims& dims) -> const MetricSeries* {
    const auto w = o.weights.find(metric);
    if (w == o.weights.end()) return nullptr;
    for (const auto& s : series) {
      if (s.metric == w->second && s.dims == dims) return &s;
    }
    return nullptr;
  };
  auto weight_at = [](const MetricSeries* w, int64_t t) {
    if (w == nullptr) return 1.0;
    const auto it = std::lower_bound(w->time.begin(), w->time.end(), t);
    return it != w->time.end() && *it == t ? w->value[static_cast<size_t>(it - w->time.begin())] : 0.0;
  };
  auto is_rate = [&](const std::string& metric) {
    return o.weights.count(metric) > 0 || (metric.size() > 5 && metric.compare(metric.size() - 5, 5, "_rate") == 0);
  };
  // Totals across segments.
  if (o.totals) {
    for (const auto& [metric, idx] : segments_of) {
      if (idx.size() < 2) continue;
      std::map<int64_t, std::pair<double, double>> acc;  // time -> (sum v*w, sum w)
      for (size_t i : idx) {
        const MetricSeries& s = series[i];
        const MetricSeries* w = is_rate(metric) ? find_weight(metric, s.dims) : nullptr;
        for (size_t k = 0; k < s.time.size(); ++k) {
          const double wt = is_rate(metric) ? weight_at(w, s.time[k]) : 1.0;
          auto& a = acc[s.time[k]];
          a.first += s.value[k] * (is_rate(metric) ? wt : 1.0);
          a.second += wt;
        }
      }
      MetricSeries total;
      total.metric = metric;
      for (const auto& [t, a] : acc) {
        if (is_rate(metric) && a.second <= 0) continue;
        total.time.push_back(t);
        total.value.push_back(is_rate(metric) ? a.first / a.second : a.first);
      }
      series.push_back(std::move(total));
    }
  }
  // Score every series of the requested metrics in parallel.
  std::vector<std::vector<Alert>> alerts(series.size());
  std::vector<Status> errors(series.size());
  ctx.pool().ParallelFor(static_cast<int64_t>(series.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const MetricSeries& s = series[static_cast<size_t>(i)];
      if (!o.metrics.empty() && std::find(o.metrics.begin(), o.metrics.end(), s.metric) == o.metrics.end()) continue;
      const bool segment = !s.dims.empty() && std::none_of(s.dims.begin(), s.dims.end(), [](const auto& p) {
        return p.second == "all";
      });
      if (segment && (o.segments == "none" || (o.segments == "weighted" && o.weights.count(s.metric) == 0))) continue;
      forecast::Series fs;
      fs.id = SeriesName(s.metric, s.dims);
      fs.time = s.time;
      fs.y = s.value;
      ScoreOptions so = o.score;
      so.detector = o.detector != "auto" ? o.detector : forecast::Spacing(fs) >= 86400 ? "robust" : "ensemble";
      auto scores = ScoreSeries(fs, so);
      if (!scores.ok()) {
        errors[static_cast<size_t>(i)] = scores.status();
        continue;
      }
      alerts[static_cast<size_t>(i)] = MakeAlerts(fs.id, *scores, o.alert);
    }
  });
  for (const auto& st : errors) RETURN_IF_ERROR(st);
  std::vector<MetricAlert> out;
  for (size_t i = 0; i < series.size(); ++i) {
    const MetricSeries& s = series[i];
    for (const Alert& a : alerts[i]) {
      MetricAlert ma;
      ma.metric = s.metric;
      ma.dimensions = s.dims;
      ma.alert = a;
      std::vector<double> base;
      for (size_t k = 0; k < s.time.size(); ++k) {
        if (s.time[k] >= a.start - o.baseline_seconds && s.time[k] < a.start) base.push_back(s.value[k]);
      }
      ma.baseline = ml::Median(base);
      // Drill down over the metric's segments: which explain the total's change?
      const auto seg = segments_of.find(s.metric);
      if (seg != segments_of.end() && seg->second.size() >= 2) {
        std::vector<std::string> dim_names;
        for (const auto& p : series[seg->second[0]].dims) dim_names.push_back(p.first);
        std::vector<MetricRow> rows;
        std::set<int64_t> base_times, cur_times;
        for (size_t j : seg->second) {
          const MetricSeries& ss = series[j];
          if (ss.dims.size() != dim_names.size()) continue;
          const MetricSeries* w = is_rate(ss.metric) ? find_weight(ss.metric, ss.dims) : nullptr;
          for (size_t k = 0; k < ss.time.size(); ++k) {
            const int64_t t = ss.time[k];
            const bool current = t >= a.start && t <= a.end;
            const bool baseline = t >= a.start - o.baseline_seconds && t < a.start;
            if (!current && !baseline) continue;
            MetricRow row;
            for (const auto& p : ss.dims) row.dims.push_back(p.second);
            const double wt = is_rate(ss.metric) ? weight_at(w, t) : 1.0;
            row.numerator = is_rate(ss.metric) ? ss.value[k] * wt : ss.value[k];
            row.denominator = is_rate(ss.metric) ? wt : 1.0;
            row.anomaly_window = current;
            (current ? cur_times : base_times).insert(t);
            rows.push_back(std::move(row));
          }
        }
        DrillDownOptions dd;
        dd.ratio = is_rate(s.metric);
        if (!base_times.empty()) dd.baseline_scale = static_cast<double>(cur_times.size()) / static_cast<double>(base_times.size());
        if (!cur_times.empty() && !base_times.empty()) {
          auto cause = ExplainChange(dim_names, rows, dd);
          if (cause.ok() && !cause->ranked.empty()) ma.cause = std::move(cause).value();
        }
      }
      const std::string where = SeriesName(s.metric, s.dims);
      ma.summary = where + " " + (a.peak_value < ma.baseline ? "fell to " : "rose to ") + Num(a.peak_value) + " at " +
                   FormatTimestamp(a.peak_time) + " (median of the " + std::to_string(o.baseline_seconds / 86400) +
                   " days before: " + Num(ma.baseline);
      if (!std::isnan(a.expected)) ma.summary += "; expected " + Num(a.expected);
      ma.summary += "), " + std::string(SeverityName(a.severity));
      if (a.kind != ChangeKind::kNone) ma.summary += ", " + std::string(ChangeKindName(a.kind));
      if (a.end > a.start) ma.summary += ", " + FormatTimestamp(a.start) + " .. " + FormatTimestamp(a.end);
      if (ma.cause) ma.summary += "; total " + s.metric + ": " + ma.cause->summary;
      out.push_back(std::move(ma));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const MetricAlert& x, const MetricAlert& y) {
    if (x.alert.severity != y.alert.severity) return x.alert.severity > y.alert.severity;
    return x.alert.peak_score > y.alert.peak_score;
  });
  return out;
}

json ToJson(const MetricAlert& a) {
  json dims = json::object();
  for (const auto& [k, v] : a.dimensions) dims[k] = v;
  json j = {{"metric", a.metric},
            {"dimensions", dims},
            {"start", FormatTimestamp(a.alert.start)},
            {"end", FormatTimestamp(a.alert.end)},
            {"peak_time", FormatTimestamp(a.alert.peak_time)},
            {"peak_value", a.alert.peak_value},
            {"peak_score", a.alert.peak_score},
            {"points", a.alert.points},
            {"severity", std::string(SeverityName(a.alert.severity))},
            {"baseline", std::isnan(a.baseline) ? json(nullptr) : json(a.baseline)},
            {"expected", std::isnan(a.alert.expected) ? json(nullptr) : json(a.alert.expected)},
            {"kind", std::string(ChangeKindName(a.alert.kind))},
            {"summary", a.summary}};
  if (a.cause) {
    json ranked = json::array();
    for (const auto& e : a.cause->ranked) {
      json seg = json::object();
      for (const auto& [k, v] : e.segment) seg[k] = v;
      ranked.push_back({{"segment", seg}, {"share", e.share}, {"baseline", e.baseline}, {"current", e.current},
                        {"traffic_share", e.traffic_share}});
    }
    j["cause"] = {{"baseline", a.cause->baseline}, {"current", a.cause->current}, {"summary", a.cause->summary},
                  {"ranked", ranked}};
  }
  return j;
}

namespace {

std::vector<OrderLine> OrderLines(const Snapshot& snap) {
  std::vector<OrderLine> lines;
  const Table* orders = snap.find(Entity::kOrders);
  if (orders == nullptr) return lines;
  const Column& oid = orders->col("order_id");
  const Column& uid = orders->col("user_id");
  const Column& qty = orders->col("quantity");
  const Column& price = orders->col("unit_price");
  const Column& ts = orders->col("timestamp");
  const Column* attr = orders->find("attributes");
  const Column* item = orders->find("item_id");
  const auto attrs_of = attr ? JsonStringFields(*attr) : std::vector<std::map<std::string, std::string>>{};
  lines.reserve(static_cast<size_t>(orders->rows()));
  for (int64_t r = 0; r < orders->rows(); ++r) {
    const auto i = static_cast<size_t>(r);
    OrderLine l;
    l.order_id = oid.dict->Key(oid.codes[i]);
    l.user_id = uid.valid[i] && uid.codes[i] >= 0 ? uid.dict->Key(uid.codes[i]) : "";
    l.quantity = qty.reals[i];
    l.unit_price = price.reals[i];
    l.time = ts.ints[i];
    if (attr && attr->valid[i] && attr->codes[i] >= 0) l.attributes = attrs_of[static_cast<size_t>(attr->codes[i])];
    if (item && item->dict && item->valid[i] && item->codes[i] >= 0) l.attributes["item_id"] = item->dict->Key(item->codes[i]);
    lines.push_back(std::move(l));
  }
  return lines;
}

StatusOr<std::vector<OrderRisk>> ScoreOrderLines(const Context& ctx, const Snapshot& snap, std::vector<OrderLine> lines,
                                                 size_t score_from, const OrderRiskOptions& o, int64_t* flagged_total) {
  if (lines.empty()) return FailedPrecondition("no orders to score");
  // Account creation per user id.
  std::unordered_map<std::string, int64_t> created;
  if (const Table* users = snap.find(Entity::kUsers)) {
    const Column& id = users->col("user_id");
    const Column* c = users->find("created_at");
    for (int64_t r = 0; c && r < users->rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (id.codes[i] >= 0 && c->valid[i]) created[id.dict->Key(id.codes[i])] = c->ints[i];
    }
  }
  // Features per order line. Categorical attributes enter as their share of
  // all lines (a payment method nobody uses is what isolates a row, not its
  // code); velocity enters as the user's distinct orders in the previous 24 h.
  const size_t n = lines.size();
  std::map<std::string, double> method_count;
  auto method = [](const OrderLine& l) {
    const auto it = l.attributes.find("payment_method");
    return it == l.attributes.end() ? std::string() : it->second;
  };
  for (const auto& l : lines) method_count[method(l)] += 1;
  std::vector<size_t> by_time(n);
  std::iota(by_time.begin(), by_time.end(), 0);
  std::stable_sort(by_time.begin(), by_time.end(), [&](size_t a, size_t b) { return lines[a].time < lines[b].time; });
  std::vector<float> recent(n, 0);
  std::unordered_map<std::string, std::deque<std::pair<int64_t, std::string>>> last_orders;  // user -> (time, order)
  for (size_t i : by_time) {
    const OrderLine& l = lines[i];
    if (l.user_id.empty()) continue;
    auto& q = last_orders[l.user_id];
    while (!q.empty() && q.front().first < l.time - 86400) q.pop_front();
    std::set<std::string> distinct;
    for (const auto& e : q) {
      if (e.second != l.order_id) distinct.insert(e.second);
    }
    recent[i] = static_cast<float>(distinct.size());
    q.emplace_back(l.time, l.order_id);
  }
  ml::TabularData data;
  data.rows = static_cast<int64_t>(n);
  data.schema.task = ml::TaskKind::kBinary;
  for (const char* f : {"quantity", "unit_price", "log_amount", "account_age_hours", "payment_method_share",
                        "user_orders_24h"}) {
    data.schema.features.push_back({f, ml::FeatureKind::kNumeric, {}});
  }
  RuleInput rules;
  auto& users = rules.columns["user"];
  for (size_t i = 0; i < n; ++i) {
    const OrderLine& l = lines[i];
    const auto cr = created.find(l.user_id);
    data.x.push_back(static_cast<float>(l.quantity));
    data.x.push_back(static_cast<float>(l.unit_price));
    data.x.push_back(static_cast<float>(std::log1p(std::max(0.0, l.quantity * l.unit_price))));
    data.x.push_back(cr == created.end() ? NAN : static_cast<float>(static_cast<double>(l.time - cr->second) / 3600.0));
    data.x.push_back(static_cast<float>(method_count[method(l)] / static_cast<double>(n)));
    data.x.push_back(recent[i]);
    data.ids.push_back(l.order_id);
    rules.time.push_back(l.time);
    users.push_back(l.user_id.empty() ? l.order_id : l.user_id);
  }
  // The columns of the caller's rules (velocity keys, blocklists): user_id,
  // order_id, or an order attribute (payment_method, email, device, ...).
  std::vector<std::string> rule_columns;
  for (const VelocityRule& rule : o.risk.velocity) rule_columns.push_back(rule.key);
  for (const BlocklistRule& rule : o.risk.blocklists) rule_columns.push_back(rule.column);
  for (const std::string& name : rule_columns) {
    auto& values = rules.columns[name];
    if (values.size() == n) continue;  // "user" (above) or a column two rules share
    values.clear();
    for (const OrderLine& l : lines) {
      if (name == "user_id") {
        values.push_back(l.user_id);
      } else if (name == "order_id") {
        values.push_back(l.order_id);
      } else {
        const auto it = l.attributes.find(name);
        values.push_back(it == l.attributes.end() ? std::string() : it->second);
      }
    }
  }
  RiskOptions ro = o.risk;
  if (o.user_max_orders > 0) {
    ro.velocity.push_back({"user_velocity", "user", o.user_window_seconds, o.user_max_orders, 0.7});
  }
  ASSIGN_OR_RETURN(auto results, ScoreRisk(ctx, data, rules, ro));
  std::vector<size_t> order;
  for (size_t i = score_from; i < n; ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return results[a].score > results[b].score; });
  std::vector<OrderRisk> out;
  int64_t flagged = 0;
  const bool all = score_from > 0;  // posted lines: every one gets its score
  for (size_t i : order) {
    if (results[i].flagged) ++flagged;
    if (!all && (!results[i].flagged || (o.top > 0 && static_cast<int>(out.size()) >= o.top))) continue;
    OrderRisk r;
    r.order_id = lines[i].order_id;
    r.user_id = lines[i].user_id;
    r.time = lines[i].time;
    r.result = results[i];
    r.attributes = lines[i].attributes;
    out.push_back(std::move(r));
  }
  if (flagged_total) *flagged_total = flagged;
  return out;
}

}  // namespace

StatusOr<std::vector<OrderRisk>> ScoreOrders(const Context& ctx, const Snapshot& snap, const OrderRiskOptions& o,
                                             int64_t* flagged_total) {
  if (snap.find(Entity::kOrders) == nullptr) return FailedPrecondition("the snapshot has no orders table");
  return ScoreOrderLines(ctx, snap, OrderLines(snap), 0, o, flagged_total);
}

StatusOr<std::vector<OrderRisk>> ScoreNewOrders(const Context& ctx, const Snapshot& snap,
                                                const std::vector<OrderLine>& fresh, const OrderRiskOptions& o) {
  if (fresh.empty()) return InvalidArgument("no order lines to score");
  std::vector<OrderLine> lines = OrderLines(snap);
  const size_t from = lines.size();
  if (from == 0) return FailedPrecondition("the store has no orders to compare new ones with");
  lines.insert(lines.end(), fresh.begin(), fresh.end());
  return ScoreOrderLines(ctx, snap, std::move(lines), from, o, nullptr);
}

std::string ReasonText(const RiskResult& r) {
  std::string text;
  for (const auto& h : r.rules) text += (text.empty() ? "" : "; ") + std::string("rule ") + h.rule;
  for (const auto& f : r.reasons) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%s=%.4g", f.feature.c_str(), f.value);
    text += (text.empty() ? "" : "; ") + std::string(buf);
  }
  return text;
}

json ReasonJson(const RiskResult& r) {
  json reasons = json::array();
  for (const auto& f : r.reasons) reasons.push_back({{"feature", f.feature}, {"value", f.value}, {"weight", f.weight}, {"z", f.z}});
  json rules = json::array();
  for (const auto& h : r.rules) rules.push_back({{"rule", h.rule}, {"score", h.score}});
  return {{"rules", rules}, {"reasons", reasons}};
}

json ToJson(const OrderRisk& r) {
  json j = ReasonJson(r.result);
  j.update({{"order_id", r.order_id}, {"user_id", r.user_id}, {"timestamp", FormatTimestamp(r.time)},
            {"score", r.result.score}, {"isolation", r.result.isolation}, {"attributes", r.attributes}});
  return j;
}

}  // namespace opspilot::anomaly
