#include "analytics/profiles.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/time.h"
#include "ml/metrics.h"
#include "ml/splits.h"

namespace opspilot::analytics {

using ml::Feature;
using ml::FeatureKind;
using ml::TabularData;

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int64_t kSessionGap = 30 * 60;  // sessionize file-mode events without session ids

int64_t End(const EventLog& log) {
  int64_t m = INT64_MIN;
  for (int64_t t : log.time) m = std::max(m, t);
  return m == INT64_MIN ? 0 : m + 1;
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}
}  // namespace

std::vector<std::pair<std::string, std::vector<std::string>>> UserAttributes(const Snapshot& snap, int max_values) {
  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, std::set<std::string>> distinct;
  const auto n = static_cast<size_t>(snap.users->size());
  if (const Table* found = snap.find(Entity::kUsers)) {
    const Table& table = *found;
    const Column& id = table.col("user_id");
    const Column& attr = table.col("attributes");
    for (int64_t r = 0; r < table.rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (attr.codes[i] < 0 || id.codes[i] < 0) continue;
      nlohmann::json j = nlohmann::json::parse(attr.dict->Key(attr.codes[i]), nullptr, false);
      if (!j.is_object()) continue;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it->is_null() || it->is_object() || it->is_array()) continue;
        auto& values = by_key[it.key()];
        values.resize(n);
        const std::string v = it->is_string() ? it->get<std::string>() : it->dump();
        values[static_cast<size_t>(id.codes[i])] = v;
        if (distinct[it.key()].size() <= static_cast<size_t>(max_values)) distinct[it.key()].insert(v);
      }
    }
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (auto& [k, v] : by_key) {
    if (distinct[k].size() <= static_cast<size_t>(max_values)) out.emplace_back(k, std::move(v));
  }
  return out;
}

void AddTicketFacts(const Snapshot& snap, ProfileOptions* o) {
  if (const Table* found = snap.find(Entity::kTickets)) {
    const Table& table = *found;
    const Column& user = table.col("user_id");
    const Column& ts = table.col("timestamp");
    const Column& intent = table.col("intent");
    std::map<std::string, int32_t> label_of;
    for (int64_t r = 0; r < table.rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (user.codes[i] < 0) continue;
      const std::string label =
          intent.codes[i] >= 0 ? "tickets_" + intent.dict->Key(intent.codes[i]) : std::string("tickets");
      auto it = label_of.find(label);
      if (it == label_of.end()) {
        it = label_of.emplace(label, static_cast<int32_t>(o->fact_labels.size())).first;
        o->fact_labels.push_back(label);
      }
      o->facts.push_back({user.codes[i], ts.ints[i], it->second});
    }
  }
}

std::vector<std::string> UserAttribute(const Snapshot& snap, const std::string& key) {
  for (auto& [k, values] : UserAttributes(snap, INT32_MAX)) {
    if (k == key) return std::move(values);
  }
  return std::vector<std::string>(static_cast<size_t>(snap.users->size()));
}

StatusOr<TabularData> Profiles(const Context& ctx, const EventLog& log, const Dictionary& users,
                               const ProfileOptions& o) {
  const int64_t as_of = o.as_of == INT64_MAX ? End(log) : o.as_of;
  const int32_t purchase = log.event_types.Find(o.purchase_event);
  const int ntypes = log.event_types.size();
  std::vector<std::string> categories;
  {
    std::set<std::string> s;
    for (const auto& c : o.item_category) {
      if (!c.empty()) s.insert(c);
    }
    categories.assign(s.begin(), s.end());
  }
  std::map<std::string, float> cat_code;
  for (size_t i = 0; i < categories.size(); ++i) cat_code[categories[i]] = static_cast<float>(i);
  std::vector<float> item_cat(o.item_category.size(), kNaN);
  for (size_t i = 0; i < o.item_category.size(); ++i) {
    auto it = cat_code.find(o.item_category[i]);
    if (it != cat_code.end()) item_cat[i] = it->second;
  }

  TabularData d;
  for (const char* n : {"recency_days", "frequency", "monetary", "sessions", "active_days", "tenure_days", "events",
                        "events_per_active_day", "night_share", "weekend_share"}) {
    d.schema.features.push_back({n, FeatureKind::kNumeric, {}});
  }
  for (int t = 0; t < ntypes; ++t) d.schema.features.push_back({"count_" + log.event_types.Key(t), FeatureKind::kNumeric, {}});
  const bool with_category = !categories.empty();
  if (with_category) d.schema.features.push_back({"favourite_category", FeatureKind::kCategorical, categories});
  const size_t fact_features = d.schema.features.size();
  for (const auto& label : o.fact_labels) d.schema.features.push_back({label, FeatureKind::kNumeric, {}});
  const size_t behaviour_features = d.schema.features.size();
  std::vector<std::map<std::string, float>> attr_codes;
  for (const auto& [name, values] : o.user_attributes) {
    std::set<std::string> s(values.begin(), values.end());
    s.erase("");
    Feature f{name, FeatureKind::kCategorical, std::vector<std::string>(s.begin(), s.end())};
    std::map<std::string, float> codes;
    for (size_t i = 0; i < f.categories.size(); ++i) codes[f.categories[i]] = static_cast<float>(i);
    attr_codes.push_back(std::move(codes));
    d.schema.features.push_back(std::move(f));
  }
  const size_t nf = d.schema.features.size();
  const int32_t nu = log.num_users();
  std::vector<float> rows(static_cast<size_t>(nu) * nf, kNaN);
  std::vector<char> present(static_cast<size_t>(nu), 0);
  ctx.pool().ParallelFor(nu, 256, [&](int64_t ub, int64_t ue) {
    std::vector<int64_t> type_count(static_cast<size_t>(ntypes));
    std::vector<int64_t> cat_count(categories.size());
    std::vector<int32_t> sessions;
    for (int64_t u = ub; u < ue; ++u) {
      const int64_t b = log.user_begin[static_cast<size_t>(u)], e = log.user_begin[static_cast<size_t>(u) + 1];
      std::fill(type_count.begin(), type_count.end(), 0);
      std::fill(cat_count.begin(), cat_count.end(), 0);
      sessions.clear();
      int64_t first = INT64_MIN, last = INT64_MIN, events = 0, purchases = 0, active_days = 0, last_day = INT64_MIN;
      int64_t night = 0, weekend = 0, gap_sessions = 0;
      double spend = 0;
      for (int64_t i = b; i < e; ++i) {
        const auto ii = static_cast<size_t>(i);
        const int64_t t = log.time[ii];
        if (t >= as_of) break;
        if (first == INT64_MIN) first = t;
        if (last == INT64_MIN || t - last > kSessionGap) ++gap_sessions;
        last = t;
        ++events;
        type_count[static_cast<size_t>(log.type[ii])]++;
        if (log.type[ii] == purchase) {
          ++purchases;
          if (!std::isnan(log.value[ii])) spend += log.value[ii];
        }
        if (log.session[ii] >= 0) sessions.push_back(log.session[ii]);
        const int64_t day = DayOf(t);
        if (day != last_day) {
          ++active_days;
          last_day = day;
        }
        night += SecondOfDay(t) < 6 * 3600;
        weekend += WeekdayOfDay(day) >= 5;
        const int32_t item = log.item[ii];
        if (item >= 0 && static_cast<size_t>(item) < item_cat.size() && !std::isnan(item_cat[static_cast<size_t>(item)])) {
          cat_count[static_cast<size_t>(item_cat[static_cast<size_t>(item)])]++;
        }
      }
      if (events == 0) continue;
      present[static_cast<size_t>(u)] = 1;
      std::sort(sessions.begin(), sessions.end());
      const int64_t n_sessions =
          sessions.empty() ? gap_sessions
                           : static_cast<int64_t>(std::unique(sessions.begin(), sessions.end()) - sessions.begin());
      float* row = rows.data() + static_cast<size_t>(u) * nf;
      row[0] = static_cast<float>(static_cast<double>(as_of - last) / 86400.0);
      row[1] = static_cast<float>(purchases);
      row[2] = static_cast<float>(spend);
      row[3] = static_cast<float>(n_sessions);
      row[4] = static_cast<float>(active_days);
      row[5] = static_cast<float>(static_cast<double>(as_of - first) / 86400.0);
      row[6] = static_cast<float>(events);
      row[7] = static_cast<float>(static_cast<double>(events) / static_cast<double>(active_days));
      row[8] = static_cast<float>(static_cast<double>(night) / static_cast<double>(events));
      row[9] = static_cast<float>(static_cast<double>(weekend) / static_cast<double>(events));
      for (int t = 0; t < ntypes; ++t) row[10 + t] = static_cast<float>(type_count[static_cast<size_t>(t)]);
      if (with_category) {
        auto best = std::max_element(cat_count.begin(), cat_count.end());
        if (*best > 0) row[fact_features - 1] = static_cast<float>(best - cat_count.begin());
      }
      for (size_t a = 0; a < o.user_attributes.size(); ++a) {
        const auto& values = o.user_attributes[a].second;
        if (static_cast<size_t>(u) >= values.size()) continue;
        auto it = attr_codes[a].find(values[static_cast<size_t>(u)]);
        if (it != attr_codes[a].end()) row[behaviour_features + a] = it->second;
      }
    }
  });
  // Facts: counts per label before as_of (zero for profiled users without any).
  for (size_t f = 0; f < o.fact_labels.size(); ++f) {
    for (int32_t u = 0; u < nu; ++u) rows[static_cast<size_t>(u) * nf + fact_features + f] = 0;
  }
  for (const auto& fact : o.facts) {
    if (fact.user < 0 || fact.user >= nu || fact.time >= as_of) continue;
    rows[static_cast<size_t>(fact.user) * nf + fact_features + static_cast<size_t>(fact.label)] += 1;
  }
  for (int32_t u = 0; u < nu; ++u) {
    if (!present[static_cast<size_t>(u)]) continue;
    d.x.insert(d.x.end(), rows.begin() + static_cast<long>(static_cast<size_t>(u) * nf),
               rows.begin() + static_cast<long>((static_cast<size_t>(u) + 1) * nf));
    d.ids.push_back(users.Key(u));
    ++d.rows;
  }
  return d;
}

std::vector<std::string> Cohort(const EventLog& log, const Dictionary& users, const std::string& event, int min_count,
                                int64_t since, int64_t until) {
  std::vector<std::string> out;
  const int32_t code = log.event_types.Find(event);
  if (code < 0) return out;
  for (int32_t u = 0; u < log.num_users(); ++u) {
    int n = 0;
    for (int64_t i = log.user_begin[static_cast<size_t>(u)]; i < log.user_begin[static_cast<size_t>(u) + 1]; ++i) {
      const auto ii = static_cast<size_t>(i);
      n += log.type[ii] == code && log.time[ii] >= since && log.time[ii] < until;
    }
    if (n >= min_count) out.push_back(users.Key(u));
  }
  return out;
}

// ---- RFM ----

namespace {
// Quintile scores 1..5 by rank (ties share the lower rank); `higher_better` false flips.
std::vector<int> Quintiles(const std::vector<double>& v, bool higher_better) {
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> out;
  const double n = static_cast<double>(v.size());
  for (double x : v) {
    const double rank = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin());
    int q = 1 + static_cast<int>(5 * rank / n);
    q = std::clamp(q, 1, 5);
    out.push_back(higher_better ? q : 6 - q);
  }
  return out;
}

int FeatureIndex(const TabularData& d, const std::string& name) {
  for (size_t i = 0; i < d.schema.features.size(); ++i) {
    if (d.schema.features[i].name == name) return static_cast<int>(i);
  }
  return -1;
}
}  // namespace

StatusOr<std::vector<RfmScores>> Rfm(const TabularData& p) {
  const int ri = FeatureIndex(p, "recency_days"), fi = FeatureIndex(p, "frequency"), mi = FeatureIndex(p, "monetary");
  if (ri < 0 || fi < 0 || mi < 0) return InvalidArgument("RFM needs recency_days, frequency and monetary");
  std::vector<double> r, f, m;
  for (int64_t i = 0; i < p.rows; ++i) {
    r.push_back(p.at(i, ri));
    f.push_back(p.at(i, fi));
    m.push_back(p.at(i, mi));
  }
  // Recency: fewer days is better. Frequency and monetary: more is better.
  // Rank on the negated recency so "higher is better" holds for all three.
  for (double& x : r) x = -x;
  auto rq = Quintiles(r, true), fq = Quintiles(f, true), mq = Quintiles(m, true);
  std::vector<RfmScores> out;
  for (size_t i = 0; i < r.size(); ++i) {
    RfmScores s{rq[i], fq[i], mq[i], ""};
    if (f[i] == 0) {
      s.segment = s.r >= 4 ? "new" : "hibernating";
    } else if (s.r >= 4 && s.f >= 4 && s.m >= 4) {
      s.segment = "champions";
    } else if (s.r >= 3 && s.f >= 4) {
      s.segment = "loyal";
    } else if (s.r >= 4 && s.f <= 3) {
      s.segment = "potential_loyalist";
    } else if (s.r <= 2 && s.f >= 3) {
      s.segment = "at_risk";
    } else if (s.r <= 2) {
      s.segment = "hibernating";
    } else {
      s.segment = "needs_attention";
    }
    out.push_back(std::move(s));
  }
  return out;
}

// ---- k-means ----

namespace {
double Dist2(const double* a, const double* b, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s;
}

struct KMeansFit {
  std::vector<double> centers;  // k x d
  std::vector<int> assign;
};

KMeansFit Lloyd(const std::vector<double>& z, size_t n, size_t d, int k, std::mt19937_64* rng) {
  KMeansFit fit;
  fit.centers.resize(static_cast<size_t>(k) * d);
  // k-means++ seeding.
  std::vector<double> best(n, std::numeric_limits<double>::infinity());
  size_t first = static_cast<size_t>((*rng)() % n);
  std::copy(z.begin() + static_cast<long>(first * d), z.begin() + static_cast<long>((first + 1) * d), fit.centers.begin());
  for (int c = 1; c < k; ++c) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      best[i] = std::min(best[i], Dist2(&z[i * d], &fit.centers[static_cast<size_t>(c - 1) * d], d));
      total += best[i];
    }
    double pick = std::uniform_real_distribution<double>(0, total)(*rng);
    size_t chosen = n - 1;
    for (size_t i = 0; i < n; ++i) {
      pick -= best[i];
      if (pick <= 0) {
        chosen = i;
        break;
      }
    }
    std::copy(z.begin() + static_cast<long>(chosen * d), z.begin() + static_cast<long>((chosen + 1) * d),
              fit.centers.begin() + static_cast<long>(static_cast<size_t>(c) * d));
  }
  fit.assign.assign(n, -1);
  for (int iter = 0; iter < 100; ++iter) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      int bc = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        const double dd = Dist2(&z[i * d], &fit.centers[static_cast<size_t>(c) * d], d);
        if (dd < bd) {
          bd = dd;
          bc = c;
        }
      }
      changed = changed || fit.assign[i] != bc;
      fit.assign[i] = bc;
    }
    if (!changed) break;
    std::vector<double> sum(static_cast<size_t>(k) * d, 0);
    std::vector<int64_t> count(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<size_t>(fit.assign[i]);
      count[c]++;
      for (size_t j = 0; j < d; ++j) sum[c * d + j] += z[i * d + j];
    }
    for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
      if (count[c] == 0) continue;
      for (size_t j = 0; j < d; ++j) fit.centers[c * d + j] = sum[c * d + j] / static_cast<double>(count[c]);
    }
  }
  return fit;
}

// Mean silhouette over a sample of rows.
double Silhouette(const std::vector<double>& z, size_t d, const std::vector<int>& assign, int k,
                  const std::vector<size_t>& sample) {
  double total = 0;
  int counted = 0;
  for (size_t i : sample) {
    std::vector<double> sum(static_cast<size_t>(k), 0);
    std::vector<int> cnt(static_cast<size_t>(k), 0);
    for (size_t j : sample) {
      if (j == i) continue;
      sum[static_cast<size_t>(assign[j])] += std::sqrt(Dist2(&z[i * d], &z[j * d], d));
      cnt[static_cast<size_t>(assign[j])]++;
    }
    const auto own = static_cast<size_t>(assign[i]);
    if (cnt[own] == 0) continue;
    const double a = sum[own] / cnt[own];
    double b = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < static_cast<size_t>(k); ++c) {
      if (c != own && cnt[c] > 0) b = std::min(b, sum[c] / cnt[c]);
    }
    if (!std::isfinite(b)) continue;
    total += (b - a) / std::max(a, b);
    ++counted;
  }
  return counted ? total / counted : 0;
}
}  // namespace

StatusOr<Clustering> KMeansSegments(const Context& ctx, const TabularData& p, int k) {
  if (p.rows < 10) return InvalidArgument("k-means needs at least 10 profiles");
  if (k != 0 && (k < 2 || k > 50)) return InvalidArgument("k must be 2..50, or 0 to choose by silhouette");
  Clustering out;
  std::vector<size_t> cols;
  for (size_t f = 0; f < p.schema.features.size(); ++f) {
    if (p.schema.features[f].kind == FeatureKind::kNumeric) {
      cols.push_back(f);
      out.features.push_back(p.schema.features[f].name);
    }
  }
  const size_t n = static_cast<size_t>(p.rows), d = cols.size(), nf = static_cast<size_t>(p.cols());
  // Standardize; log1p first for the heavy-tailed counts and amounts.
  std::vector<double> z(n * d);
  for (size_t j = 0; j < d; ++j) {
    const std::string& name = out.features[j];
    const bool log_scale = name != "night_share" && name != "weekend_share";
    double mean = 0, sq = 0;
    for (size_t i = 0; i < n; ++i) {
      double v = p.x[i * nf + cols[j]];
      if (std::isnan(v)) v = 0;
      if (log_scale) v = std::log1p(std::max(0.0, v));
      z[i * d + j] = v;
      mean += v;
    }
    mean /= static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) sq += (z[i * d + j] - mean) * (z[i * d + j] - mean);
    const double sd = std::sqrt(sq / static_cast<double>(n));
    for (size_t i = 0; i < n; ++i) z[i * d + j] = sd > 0 ? (z[i * d + j] - mean) / sd : 0;
  }
  std::mt19937_64 rng(ctx.seed());
  std::vector<size_t> sample(n);
  std::iota(sample.begin(), sample.end(), 0);
  std::shuffle(sample.begin(), sample.end(), rng);
  sample.resize(std::min<size_t>(n, 1500));
  KMeansFit best;
  double best_s = -2;
  int best_k = k;
  for (int kk = (k ? k : 2); kk <= (k ? k : 8); ++kk) {
    std::mt19937_64 r(ctx.seed() + static_cast<uint64_t>(kk));
    KMeansFit fit = Lloyd(z, n, d, kk, &r);
    const double s = Silhouette(z, d, fit.assign, kk, sample);
    out.silhouette_by_k.emplace_back(kk, s);
    if (s > best_s) {
      best_s = s;
      best = std::move(fit);
      best_k = kk;
    }
  }
  out.assignment = best.assign;
  out.silhouette = best_s;
  out.clusters.resize(static_cast<size_t>(best_k));
  for (int c = 0; c < best_k; ++c) {
    Cluster& cl = out.clusters[static_cast<size_t>(c)];
    cl.center.assign(best.centers.begin() + static_cast<long>(static_cast<size_t>(c) * d),
                     best.centers.begin() + static_cast<long>((static_cast<size_t>(c) + 1) * d));
    for (int a : best.assign) cl.size += a == c;
    std::vector<size_t> order(d);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::abs(cl.center[a]) > std::abs(cl.center[b]); });
    for (size_t i = 0; i < order.size() && i < 3; ++i) {
      const double v = cl.center[order[i]];
      cl.description += (i ? ", " : "") + std::string(v > 0 ? "high " : "low ") + out.features[order[i]] +
                        Fmt(" (%+.1f sd)", v);
    }
  }
  return out;
}

// ---- Propensity ----

std::string DescribeFeature(const std::string& f, double v) {
  if (std::isnan(v)) return f + " unknown";
  if (f == "recency_days") return v >= 1 ? Fmt("no visit for %.0f days", v) : "active in the last day";
  if (f == "frequency") return Fmt("%.0f purchases", v);
  if (f == "monetary") return Fmt("spent %.0f", v);
  if (f == "sessions") return Fmt("%.0f sessions", v);
  if (f == "active_days") return Fmt("active on %.0f days", v);
  if (f == "tenure_days") return Fmt("first seen %.0f days ago", v);
  if (f == "events") return Fmt("%.0f events", v);
  if (f == "events_per_active_day") return Fmt("%.1f events per active day", v);
  if (f == "night_share") return Fmt("%.0f%% of activity at night", 100 * v);
  if (f == "weekend_share") return Fmt("%.0f%% of activity at weekends", 100 * v);
  if (f.rfind("count_", 0) == 0) return Fmt("%.0f ", v) + f.substr(6) + " events";
  if (f.rfind("tickets_", 0) == 0) {
    std::string intent = f.substr(8);
    std::replace(intent.begin(), intent.end(), '_', ' ');
    return Fmt("%.0f ", v) + intent + (v == 1 ? " ticket" : " tickets");
  }
  return f + Fmt(" = %g", v);
}

namespace {
// 1 if the user (by id) matches the label in [from, to).
std::vector<float> Labels(const EventLog& log, const Dictionary& users, const TabularData& p, const std::string& kind,
                          int32_t purchase, int64_t from, int64_t to) {
  std::vector<float> y;
  for (const auto& id : p.ids) {
    const int32_t u = users.Find(id);
    bool any = false, bought = false;
    for (int64_t i = log.user_begin[static_cast<size_t>(u)]; i < log.user_begin[static_cast<size_t>(u) + 1]; ++i) {
      const auto ii = static_cast<size_t>(i);
      if (log.time[ii] < from || log.time[ii] >= to) continue;
      any = true;
      bought = bought || log.type[ii] == purchase;
    }
    y.push_back(kind == "churn" ? (any ? 0.0f : 1.0f) : (bought ? 1.0f : 0.0f));
  }
  return y;
}
}  // namespace

StatusOr<PropensityResult> Propensity(const Context& ctx, const EventLog& log, const Dictionary& users,
                                      const PropensityOptions& o) {
  if (o.kind != "churn" && o.kind != "purchase") return InvalidArgument("propensity kind must be churn or purchase");
  if (o.horizon <= 0) return InvalidArgument("the horizon must be positive");
  PropensityResult r;
  const int64_t end = End(log);
  r.score_time = end;
  r.valid_cutoff = end - o.horizon;
  r.train_cutoff = end - 2 * o.horizon;
  const int32_t purchase = log.event_types.Find(o.profile.purchase_event);
  auto snapshot = [&](int64_t as_of) -> StatusOr<TabularData> {
    ProfileOptions po = o.profile;
    po.as_of = as_of;
    ASSIGN_OR_RETURN(TabularData d, Profiles(ctx, log, users, po));
    d.schema.task = ml::TaskKind::kBinary;
    d.schema.classes = {"0", "1"};
    d.schema.target = o.kind;
    return d;
  };
  ASSIGN_OR_RETURN(TabularData train, snapshot(r.train_cutoff));
  ASSIGN_OR_RETURN(TabularData valid, snapshot(r.valid_cutoff));
  train.y = Labels(log, users, train, o.kind, purchase, r.train_cutoff, r.train_cutoff + o.horizon);
  valid.y = Labels(log, users, valid, o.kind, purchase, r.valid_cutoff, end);
  if (train.rows < 50 || valid.rows < 50) {
    return FailedPrecondition("too little history for a " + std::to_string(o.horizon / 86400) +
                              "-day horizon: it needs events over at least three horizons");
  }
  const auto labels = train.labels();
  if (std::count(labels.begin(), labels.end(), 1) == 0 || std::count(labels.begin(), labels.end(), 0) == 0) {
    return FailedPrecondition("the training window holds a single class");
  }
  // Early stopping on a slice of the training snapshot; validation stays unseen.
  const ml::Split s = ml::StratifiedSplit(labels, 0.15, ctx.seed());
  TabularData fit = train.Take(s.train), stop = train.Take(s.test);
  ASSIGN_OR_RETURN(ml::GbmModel model, ml::GbmModel::Train(ctx, fit, &stop, o.gbm, nullptr));
  ASSIGN_OR_RETURN(std::vector<float> vp, model.Predict(valid));
  std::vector<double> probs(vp.begin(), vp.end());
  const auto vl = valid.labels();
  double ece = 0;
  auto bins = ml::Reliability(vl, probs, 10, &ece);
  nlohmann::json calib = nlohmann::json::array();
  for (const auto& b : bins) {
    if (b.count > 0) calib.push_back({{"predicted", b.mean_predicted}, {"observed", b.fraction_positive}, {"count", b.count}});
  }
  double base = 0;
  for (int l : vl) base += l;
  r.metrics = {{"kind", o.kind},
               {"horizon_days", static_cast<double>(o.horizon) / 86400},
               {"train_users", train.rows},
               {"valid_users", valid.rows},
               {"valid_positive_rate", base / static_cast<double>(vl.size())},
               {"auc", ml::RocAuc(vl, probs)},
               {"pr_auc", ml::PrAuc(vl, probs)},
               {"logloss", ml::LogLoss(vl, probs)},
               {"brier", ml::Brier(vl, probs)},
               {"ece", ece},
               {"lift_at_10pct", ml::Lift(vl, probs, 0.1)},
               {"calibration", calib}};
  // Score everyone as of the end.
  ASSIGN_OR_RETURN(TabularData now, snapshot(end));
  ASSIGN_OR_RETURN(std::vector<float> p, model.Predict(now));
  ASSIGN_OR_RETURN(std::vector<float> contrib, model.Contributions(now));
  const size_t nf = static_cast<size_t>(now.cols());
  const double horizon_days = static_cast<double>(o.horizon) / 86400;
  for (int64_t i = 0; i < now.rows; ++i) {
    if (o.only_recently_active && now.at(i, 0) >= horizon_days) continue;  // column 0: recency_days
    ScoredUser su;
    su.user = now.ids[static_cast<size_t>(i)];
    su.probability = p[static_cast<size_t>(i)];
    std::vector<std::pair<double, size_t>> c;
    for (size_t f = 0; f < nf; ++f) c.emplace_back(contrib[static_cast<size_t>(i) * (nf + 1) + f], f);
    std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t j = 0; j < c.size() && static_cast<int>(su.reasons.size()) < o.reasons && c[j].first > 0; ++j) {
      const auto& feat = now.schema.features[c[j].second];
      const float v = now.at(i, static_cast<int64_t>(c[j].second));
      if (feat.kind == FeatureKind::kCategorical) {
        const std::string value = std::isnan(v) ? "unknown" : feat.categories[static_cast<size_t>(v)];
        su.reasons.push_back(feat.name == "favourite_category" ? "mostly buys " + value : feat.name + " " + value);
      } else {
        su.reasons.push_back(DescribeFeature(feat.name, v));
      }
    }
    r.scores.push_back(std::move(su));
  }
  std::stable_sort(r.scores.begin(), r.scores.end(),
                   [](const ScoredUser& a, const ScoredUser& b) { return a.probability > b.probability; });
  return r;
}

}  // namespace opspilot::analytics
