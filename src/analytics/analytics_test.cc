// Every analytics query against an independent brute-force implementation on
// random events, plus hand-checked cases and planted structure.
#include "analytics/analytics.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "core/time.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::analytics {
namespace {

struct Ev {
  std::string user, type;
  int64_t t;
};

Snapshot Build(const std::vector<Ev>& evs) {
  Snapshot s;
  EventLogBuilder b(s.users, s.items);
  for (const auto& e : evs) EXPECT_TRUE(b.Add(e.user, e.type, "", e.t, "", 1.0f).ok());
  s.events = b.Finish();
  return s;
}

std::vector<Ev> RandomEvents(int users, int per_user, uint64_t seed, int64_t span = 10 * 86400) {
  std::mt19937_64 rng(seed);
  const char* types[] = {"A", "B", "C", "D", "X"};
  std::vector<Ev> out;
  for (int u = 0; u < users; ++u) {
    const int n = 1 + static_cast<int>(rng() % static_cast<uint64_t>(per_user));
    for (int i = 0; i < n; ++i) {
      // Coarse times so ties happen.
      out.push_back({"u" + std::to_string(u), types[rng() % 5], 1735689600 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span / 600)) * 600});
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

// Per user, events sorted by time (stable: the builder's order for ties).
std::map<std::string, std::vector<Ev>> ByUser(const Snapshot& s) {
  std::map<std::string, std::vector<Ev>> out;
  const EventLog& log = *s.events;
  for (int32_t u = 0; u < log.num_users(); ++u) {
    for (int64_t i = log.user_begin[static_cast<size_t>(u)]; i < log.user_begin[static_cast<size_t>(u) + 1]; ++i) {
      out[s.users->Key(u)].push_back({s.users->Key(u), log.event_types.Key(log.type[static_cast<size_t>(i)]), log.time[static_cast<size_t>(i)]});
    }
  }
  return out;
}

// Brute force: furthest step (0-based, -1 none) over every start, by greedy
// earliest matching (ordered), exact consecutive matching (strict), or the
// most distinct steps in a window starting at a step event (any).
int BruteFurthest(const std::vector<Ev>& evs, const FunnelSpec& spec) {
  std::vector<Ev> e;
  for (const auto& x : evs) {
    if (x.t >= spec.since && x.t < spec.until) e.push_back(x);
  }
  auto is_excl = [&](const std::string& t) {
    return std::find(spec.exclusions.begin(), spec.exclusions.end(), t) != spec.exclusions.end();
  };
  const int k = static_cast<int>(spec.steps.size());
  int best = -1;
  for (size_t i = 0; i < e.size(); ++i) {
    if (spec.mode == FunnelMode::kAny) {
      if (std::find(spec.steps.begin(), spec.steps.end(), e[i].type) == spec.steps.end()) continue;
      std::set<int> got;
      for (size_t j = i; j < e.size() && e[j].t - e[i].t <= spec.window; ++j) {
        if (is_excl(e[j].type)) break;
        for (int s = 0; s < k; ++s) {
          if (spec.steps[static_cast<size_t>(s)] == e[j].type) got.insert(s);
        }
      }
      best = std::max(best, static_cast<int>(got.size()) - 1);
      continue;
    }
    if (e[i].type != spec.steps[0]) continue;
    int reached = 0;
    size_t j = i;
    for (int s = 1; s < k; ++s) {
      bool found = false;
      for (size_t m = j + 1; m < e.size() && e[m].t - e[i].t <= spec.window; ++m) {
        if (spec.mode == FunnelMode::kStrict) {
          if (m == j + 1 && e[m].type == spec.steps[static_cast<size_t>(s)]) found = true, j = m;
          break;
        }
        if (is_excl(e[m].type)) break;
        if (e[m].type == spec.steps[static_cast<size_t>(s)]) {
          found = true;
          j = m;
          break;
        }
      }
      if (!found) break;
      reached = s;
    }
    best = std::max(best, reached);
  }
  return best;
}

TEST(FunnelTest, MatchesBruteForceInEveryMode) {
  Context ctx(testing::QuietOptions());
  Snapshot s = Build(RandomEvents(400, 25, 1));
  auto by_user = ByUser(s);
  for (FunnelMode mode : {FunnelMode::kOrdered, FunnelMode::kStrict, FunnelMode::kAny}) {
    for (int64_t window : {int64_t{3600}, int64_t{86400}, int64_t{5 * 86400}}) {
      for (bool excl : {false, true}) {
        FunnelSpec spec;
        spec.steps = {"A", "B", "C", "A"};
        spec.mode = mode;
        spec.window = window;
        if (excl) spec.exclusions = {"X"};
        spec.since = 1735689600 + 86400;
        auto r = Funnel(ctx, *s.events, *s.users, spec);
        ASSERT_TRUE(r.ok());
        std::vector<int64_t> want(4, 0);
        for (const auto& [u, evs] : by_user) {
          const int f = BruteFurthest(evs, spec);
          for (int k = 0; k <= f; ++k) want[static_cast<size_t>(k)]++;
        }
        for (size_t k = 0; k < 4; ++k) {
          EXPECT_EQ(r->steps[k].users, want[k]) << "mode " << static_cast<int>(mode) << " window " << window
                                                << " exclusions " << excl << " step " << k;
        }
        EXPECT_GT(want[1], 0);
      }
    }
  }
}

TEST(FunnelTest, HandCheckedTimesDropOffsAndWindow) {
  Context ctx(testing::QuietOptions());
  const int64_t t0 = 1735689600;
  Snapshot s = Build({{"a", "view", t0}, {"a", "cart", t0 + 60}, {"a", "buy", t0 + 600},
                      {"b", "view", t0}, {"b", "cart", t0 + 120},
                      {"c", "view", t0}, {"c", "cart", t0 + 200000}, {"c", "buy", t0 + 200100},  // outside 1 day
                      {"d", "cart", t0}, {"d", "view", t0 + 10}});
  FunnelSpec spec;
  spec.steps = {"view", "cart", "buy"};
  auto r = Funnel(ctx, *s.events, *s.users, spec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->steps[0].users, 4);
  EXPECT_EQ(r->steps[1].users, 2);
  EXPECT_EQ(r->steps[2].users, 1);
  EXPECT_DOUBLE_EQ(r->steps[1].conversion_from_previous, 0.5);
  EXPECT_DOUBLE_EQ(r->steps[1].median_seconds, 90);  // a: 60, b: 120
  EXPECT_DOUBLE_EQ(r->steps[2].mean_seconds, 600);
  EXPECT_EQ(r->steps[1].dropped, 2);  // c (window) and d (wrong order)
  EXPECT_EQ(std::set<std::string>(r->steps[1].dropped_users.begin(), r->steps[1].dropped_users.end()),
            (std::set<std::string>{"c", "d"}));
  EXPECT_EQ(r->steps[2].dropped_users, std::vector<std::string>{"b"});
  int64_t hist = 0;
  for (auto c : r->histogram_counts) hist += c;
  EXPECT_EQ(hist, 1);
  spec.steps.clear();
  EXPECT_FALSE(Funnel(ctx, *s.events, *s.users, spec).ok());
}

TEST(FunnelTest, BreakdownsByEventAndUserPropertyWithAttribution) {
  Context ctx(testing::QuietOptions());
  const int64_t t0 = 1735689600;
  Snapshot s;
  EventLogBuilder b(s.users, s.items);
  // a: view(ad) -> view(seo) -> cart(app) -> buy(web);  b: view(seo) -> cart(web);  c: view(ad)
  struct E {
    const char *u, *type, *prop;
    int64_t dt;
  };
  for (const E& e : {E{"a", "view", "ad", 0}, E{"a", "view", "seo", 10}, E{"a", "cart", "app", 20}, E{"a", "buy", "web", 30},
                     E{"b", "view", "seo", 0}, E{"b", "cart", "web", 5}, E{"c", "view", "ad", 0}}) {
    ASSERT_TRUE(b.Add(e.u, e.type, "", t0 + e.dt, "", NAN, std::string_view(e.prop)).ok());
  }
  s.events = b.Finish();
  FunnelSpec spec;
  spec.steps = {"view", "cart", "buy"};
  spec.breakdown_by_event_property = true;
  auto rows = [&](Attribution a, int step) {
    spec.attribution = a;
    spec.attribution_step = step;
    auto r = Funnel(ctx, *s.events, *s.users, spec);
    EXPECT_TRUE(r.ok());
    std::map<std::string, std::vector<int64_t>> m;
    for (const auto& row : r->breakdown) m[row.value] = row.users;
    return m;
  };
  // First touch: a's best attempt starts at its latest view (seo), which leaves the most window.
  auto first = rows(Attribution::kFirstTouch, 0);
  EXPECT_EQ(first["seo"], (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(first["ad"], (std::vector<int64_t>{1, 0, 0}));
  auto last = rows(Attribution::kLastTouch, 0);
  EXPECT_EQ(last["web"], (std::vector<int64_t>{2, 2, 1}));  // a's buy, b's cart
  EXPECT_EQ(last["ad"], (std::vector<int64_t>{1, 0, 0}));
  auto at_cart = rows(Attribution::kStep, 1);
  EXPECT_EQ(at_cart["app"], (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(at_cart["web"], (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(at_cart["(none)"], (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(*ParseAttribution("step:2"), std::make_pair(Attribution::kStep, 1));
  EXPECT_FALSE(ParseAttribution("middle").ok());
}

TEST(FunnelTest, UserBreakdownMatchesBruteForceAndRowsSumToTotals) {
  Context ctx(testing::QuietOptions());
  Snapshot s = Build(RandomEvents(400, 25, 9));
  std::vector<std::string> region(static_cast<size_t>(s.users->size()));
  for (int32_t u = 0; u < s.users->size(); ++u) region[static_cast<size_t>(u)] = u % 3 ? "east" : "west";
  FunnelSpec spec;
  spec.steps = {"A", "B", "C"};
  spec.user_breakdown = &region;
  auto r = Funnel(ctx, *s.events, *s.users, spec);
  ASSERT_TRUE(r.ok());
  std::map<std::string, std::vector<int64_t>> want;
  auto by_user = ByUser(s);
  for (int32_t u = 0; u < s.users->size(); ++u) {
    const int f = BruteFurthest(by_user[s.users->Key(u)], spec);
    auto& w = want[region[static_cast<size_t>(u)]];
    w.resize(3, 0);
    for (int k = 0; k <= f; ++k) w[static_cast<size_t>(k)]++;
  }
  std::vector<int64_t> total(3, 0);
  for (const auto& row : r->breakdown) {
    EXPECT_EQ(row.users, want[row.value]) << row.value;
    for (size_t k = 0; k < 3; ++k) total[k] += row.users[k];
  }
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(total[k], r->steps[k].users);
}

TEST(FunnelTest, TwentyStepsStayLinear) {
  Context ctx(testing::QuietOptions());
  std::vector<Ev> evs;
  std::vector<std::string> steps;
  for (int k = 0; k < 20; ++k) steps.push_back("s" + std::to_string(k));
  for (int u = 0; u < 2000; ++u) {
    const int depth = u % 21;  // user u completes `depth` steps
    for (int k = 0; k < depth; ++k) evs.push_back({"u" + std::to_string(u), steps[static_cast<size_t>(k)], 1735689600 + k * 10});
  }
  Snapshot s = Build(evs);
  FunnelSpec spec;
  spec.steps = steps;
  auto r = Funnel(ctx, *s.events, *s.users, spec);
  ASSERT_TRUE(r.ok());
  for (int k = 0; k < 20; ++k) {
    int64_t want = 0;
    for (int u = 0; u < 2000; ++u) want += u % 21 > k;
    EXPECT_EQ(r->steps[static_cast<size_t>(k)].users, want);
  }
}

TEST(RetentionTest, MatchesBruteForceAndPlantedReturns) {
  Context ctx(testing::QuietOptions());
  Snapshot s = Build(RandomEvents(500, 30, 2, 70 * 86400));
  for (Period p : {Period::kDay, Period::kWeek, Period::kMonth}) {
    RetentionSpec spec;
    spec.start_event = "A";
    spec.return_event = "B";
    spec.period = p;
    spec.periods = 6;
    auto r = Retention(ctx, *s.events, spec);
    ASSERT_TRUE(r.ok());
    std::map<int64_t, std::pair<int64_t, std::vector<int64_t>>> want;
    for (const auto& [u, evs] : ByUser(s)) {
      int64_t first = INT64_MIN;
      for (const auto& e : evs) {
        if (e.type == "A") {
          first = e.t;
          break;
        }
      }
      if (first == INT64_MIN) continue;
      const int64_t cohort = PeriodStart(first, p);
      auto& row = want[cohort];
      row.first++;
      row.second.resize(6, 0);
      std::set<int64_t> ks;
      for (const auto& e : evs) {
        if (e.type != "B" || e.t < first) continue;
        // Period index by walking period starts forward (independent of PeriodsBetween).
        int64_t k = 0;
        for (int64_t ps = cohort; ps < PeriodStart(e.t, p) && k < 100; ++k) ps = PeriodStart(ps + 32 * 86400 * (p == Period::kMonth) + 7 * 86400 * (p == Period::kWeek) + 86400 * (p == Period::kDay), p);
        if (k < 6) ks.insert(k);
      }
      for (int64_t k : ks) row.second[static_cast<size_t>(k)]++;
    }
    ASSERT_EQ(r->size(), want.size());
    for (const auto& row : *r) {
      EXPECT_EQ(row.size, want[row.cohort_start].first);
      EXPECT_EQ(row.retained, want[row.cohort_start].second);
      EXPECT_GE(row.observed, 1);
      for (int k = row.observed; k < 6; ++k) EXPECT_EQ(row.retained[static_cast<size_t>(k)], 0);
    }
  }
  EXPECT_EQ(PeriodStart(*ParseTimestamp("2025-01-08T13:00:00Z"), Period::kWeek), *ParseTimestamp("2025-01-06"));
  EXPECT_EQ(PeriodStart(*ParseTimestamp("2025-03-31T23:59:59Z"), Period::kMonth), *ParseTimestamp("2025-03-01"));
}

TEST(TrendsAndPathsTest, MatchBruteForce) {
  Context ctx(testing::QuietOptions());
  Snapshot s = Build(RandomEvents(300, 20, 3));
  auto trends = Trends(ctx, *s.events, Period::kDay, {});
  ASSERT_TRUE(trends.ok());
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, std::set<std::string>>> want;
  for (const auto& [u, evs] : ByUser(s)) {
    for (const auto& e : evs) {
      auto& w = want[{PeriodStart(e.t, Period::kDay), e.type}];
      w.first++;
      w.second.insert(u);
    }
  }
  ASSERT_EQ(trends->size(), want.size());
  for (const auto& p : *trends) {
    const auto& w = want[{p.period_start, p.event}];
    EXPECT_EQ(p.events, w.first);
    EXPECT_EQ(p.users, static_cast<int64_t>(w.second.size()));
    EXPECT_DOUBLE_EQ(p.value_sum, static_cast<double>(w.first));
  }

  // By property: with every event's property = its user, each point has one user.
  Snapshot sp;
  EventLogBuilder bp(sp.users, sp.items);
  for (const auto& [u, evs] : ByUser(s)) {
    for (const auto& e : evs) ASSERT_TRUE(bp.Add(u, e.type, "", e.t, "", 1.0f, std::string_view(u)).ok());
  }
  sp.events = bp.Finish();
  auto by_prop = Trends(ctx, *sp.events, Period::kDay, {}, true);
  ASSERT_TRUE(by_prop.ok());
  int64_t total_events = 0;
  for (const auto& p : *by_prop) {
    EXPECT_EQ(p.users, 1);
    total_events += p.events;
  }
  EXPECT_EQ(total_events, s.events->size());
  EXPECT_FALSE(Trends(ctx, *s.events, Period::kDay, {}, true).ok());

  PathSpec ps;
  ps.anchor = "A";
  ps.steps = 3;
  ps.top = 100;
  auto paths = Paths(ctx, *s.events, ps);
  ASSERT_TRUE(paths.ok());
  std::map<std::tuple<int, std::string, std::string>, int64_t> pw;
  for (const auto& [u, evs] : ByUser(s)) {
    size_t at = evs.size();
    for (size_t i = 0; i < evs.size(); ++i) {
      if (evs[i].type == "A") {
        at = i;
        break;
      }
    }
    if (at == evs.size()) continue;
    std::string prev = "A";
    int step = 0;
    for (size_t i = at + 1; i < evs.size() && step < 3; ++i) {
      if (evs[i].type == prev) continue;
      pw[{++step, prev, evs[i].type}]++;
      prev = evs[i].type;
    }
  }
  ASSERT_EQ(paths->size(), pw.size());
  for (const auto& e : *paths) EXPECT_EQ(e.users, (pw[{e.step, e.from, e.to}])) << e.step << e.from << e.to;
}

TEST(LifecycleTest, HandCheckedWeeksAndStickinessMatchesBruteForce) {
  Context ctx(testing::QuietOptions());
  const int64_t w0 = *ParseTimestamp("2025-01-06");  // a Monday
  const int64_t wk = 7 * 86400;
  // a: weeks 0,1,3 -> new w0, returning w1, dormant w2, resurrecting w3
  // b: week 1 only -> new w1, dormant w2;  c: weeks 2,3 -> new w2, returning w3
  Snapshot s = Build({{"a", "x", w0 + 100}, {"a", "x", w0 + wk + 100}, {"a", "x", w0 + 3 * wk + 100},
                      {"b", "x", w0 + wk + 5}, {"c", "x", w0 + 2 * wk}, {"c", "x", w0 + 3 * wk + 86400 * 2}});
  auto lc = Lifecycle(ctx, *s.events, "", Period::kWeek);
  ASSERT_TRUE(lc.ok());
  ASSERT_EQ(lc->size(), 4u);
  auto at = [&](int w) { return (*lc)[static_cast<size_t>(w)]; };
  EXPECT_EQ(at(0).new_users, 1);
  EXPECT_EQ(at(1).new_users, 1);
  EXPECT_EQ(at(1).returning, 1);
  EXPECT_EQ(at(2).dormant, 2);
  EXPECT_EQ(at(2).new_users, 1);
  EXPECT_EQ(at(3).resurrecting, 1);
  EXPECT_EQ(at(3).returning, 1);
  EXPECT_EQ(at(3).dormant, 0);  // b was already dormant; nobody stopped after week 2

  Snapshot r = Build(RandomEvents(300, 30, 4, 40 * 86400));
  auto st = Stickiness(ctx, *r.events, "A", Period::kWeek);
  ASSERT_TRUE(st.ok());
  std::map<int64_t, std::vector<int64_t>> want;
  for (const auto& [u, evs] : ByUser(r)) {
    std::map<int64_t, std::set<int64_t>> days;
    for (const auto& e : evs) {
      if (e.type == "A") days[PeriodStart(e.t, Period::kWeek)].insert(e.t / 86400);
    }
    for (const auto& [p, d] : days) {
      want[p].resize(7, 0);
      want[p][d.size() - 1]++;
    }
  }
  ASSERT_EQ(st->size(), want.size());
  for (const auto& row : *st) EXPECT_EQ(row.users_by_days, want[row.period_start]);
}

TEST(EventsCsvTest, ReadsNamedColumnsAndReportsBadRows) {
  Context ctx(testing::QuietOptions());
  testing::TempDir d;
  auto s = ReadEventsCsv(ctx, d.Write("e.csv", "uid,what,when\nu1,view,2025-01-01T00:00:00Z\nu1,buy,1735689700\nu2,view,2025-01-02\n"),
                         EventsCsvOptions{"uid", "what", "when", "", "", ""});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->events->size(), 3);
  EXPECT_EQ(s->events->num_users(), 2);
  auto bad = ReadEventsCsv(ctx, d.Write("b.csv", "user_id,event,timestamp\nu1,view,soon\n"), EventsCsvOptions{});
  EXPECT_NE(bad.status().message().find("b.csv:2: field 'timestamp'"), std::string::npos) << bad.status().message();
  auto missing = ReadEventsCsv(ctx, d.Write("m.csv", "user,event,timestamp\n"), EventsCsvOptions{});
  EXPECT_NE(missing.status().message().find("--user-col"), std::string::npos);
}

}  // namespace
}  // namespace opspilot::analytics

#include "analytics/profiles.h"

namespace opspilot::analytics {
namespace {

TEST(ProfilesTest, FeaturesByHand) {
  Context ctx(testing::QuietOptions());
  const int64_t t0 = 1735689600;  // a Wednesday
  Snapshot s;
  EventLogBuilder b(s.users, s.items);
  ASSERT_TRUE(b.Add("a", "view", "i1", t0 + 3600, "", NAN).ok());           // 01:00, night
  ASSERT_TRUE(b.Add("a", "purchase", "i1", t0 + 7200, "", 10).ok());
  ASSERT_TRUE(b.Add("a", "purchase", "i2", t0 + 3 * 86400 + 50000, "", 5).ok());  // Saturday
  ASSERT_TRUE(b.Add("a", "view", "i2", t0 + 20 * 86400, "", NAN).ok());     // after as_of
  ASSERT_TRUE(b.Add("b", "view", "", t0 + 86400 * 2, "", NAN).ok());
  s.events = b.Finish();
  ProfileOptions po;
  po.as_of = t0 + 10 * 86400;
  po.item_category = {"tea", "cups"};  // item codes 0 (i1), 1 (i2)
  auto p = Profiles(ctx, *s.events, *s.users, po);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->rows, 2);
  auto col = [&](const char* n) {
    for (size_t i = 0; i < p->schema.features.size(); ++i) {
      if (p->schema.features[i].name == n) return static_cast<int64_t>(i);
    }
    return int64_t{-1};
  };
  EXPECT_EQ(p->ids[0], "a");
  EXPECT_FLOAT_EQ(p->at(0, col("frequency")), 2);
  EXPECT_FLOAT_EQ(p->at(0, col("monetary")), 15);
  EXPECT_NEAR(p->at(0, col("recency_days")), (10 * 86400 - 3 * 86400 - 50000) / 86400.0, 1e-4);
  EXPECT_FLOAT_EQ(p->at(0, col("active_days")), 2);
  EXPECT_FLOAT_EQ(p->at(0, col("sessions")), 3);  // gaps over 30 minutes split sessions (1 h, 3 d)
  EXPECT_FLOAT_EQ(p->at(0, col("events")), 3);
  EXPECT_NEAR(p->at(0, col("night_share")), 2.0 / 3, 1e-6);
  EXPECT_NEAR(p->at(0, col("weekend_share")), 1.0 / 3, 1e-6);
  EXPECT_FLOAT_EQ(p->at(0, col("count_purchase")), 2);
  const auto& fav = p->schema.features[static_cast<size_t>(col("favourite_category"))];
  EXPECT_EQ(fav.categories[static_cast<size_t>(p->at(0, col("favourite_category")))], "tea");
  EXPECT_TRUE(std::isnan(p->at(1, col("favourite_category"))));
  // Facts (support tickets) count only before as_of.
  ProfileOptions with_facts = po;
  with_facts.fact_labels = {"tickets_refund"};
  with_facts.facts = {{0, t0 + 86400, 0}, {0, t0 + 2 * 86400, 0}, {0, t0 + 30 * 86400, 0}};
  auto pf = Profiles(ctx, *s.events, *s.users, with_facts);
  ASSERT_TRUE(pf.ok());
  int64_t fc = -1;
  for (size_t i = 0; i < pf->schema.features.size(); ++i) {
    if (pf->schema.features[i].name == "tickets_refund") fc = static_cast<int64_t>(i);
  }
  ASSERT_GE(fc, 0);
  EXPECT_FLOAT_EQ(pf->at(0, fc), 2);
  EXPECT_FLOAT_EQ(pf->at(1, fc), 0);
  EXPECT_EQ(DescribeFeature("tickets_refund", 3), "3 refund tickets");
  // User attributes join in as categorical features, by user code.
  po.user_attributes = {{"region", {"east", ""}}};
  auto joined = Profiles(ctx, *s.events, *s.users, po);
  ASSERT_TRUE(joined.ok());
  const auto& region = joined->schema.features.back();
  EXPECT_EQ(region.name, "region");
  EXPECT_EQ(region.categories, std::vector<std::string>{"east"});
  EXPECT_FLOAT_EQ(joined->at(0, joined->cols() - 1), 0);
  EXPECT_TRUE(std::isnan(joined->at(1, joined->cols() - 1)));
  EXPECT_EQ(Cohort(*s.events, *s.users, "purchase", 2, t0, t0 + 30 * 86400), std::vector<std::string>{"a"});
}

TEST(SegmentsTest, RfmNamesAndKMeansRecoversPlantedGroups) {
  Context ctx(testing::QuietOptions());
  // Three planted behaviours: heavy buyers, browsers, sleepers.
  std::mt19937_64 rng(5);
  std::vector<Ev> evs;
  std::map<std::string, int> truth;
  const int64_t t0 = 1735689600, end = t0 + 60 * 86400;
  for (int u = 0; u < 600; ++u) {
    const int g = u % 3;
    const std::string id = "u" + std::to_string(u);
    truth[id] = g;
    const int n = g == 0 ? 40 : g == 1 ? 60 : 4;
    for (int i = 0; i < n; ++i) {
      const int64_t t = g == 2 ? t0 + static_cast<int64_t>(rng() % (5 * 86400)) : end - static_cast<int64_t>(rng() % (20 * 86400));
      evs.push_back({id, g == 0 && i % 2 ? "purchase" : "view", t});
    }
  }
  Snapshot s = Build(evs);
  auto p = Profiles(ctx, *s.events, *s.users, ProfileOptions{});
  ASSERT_TRUE(p.ok());
  auto rfm = Rfm(*p);
  ASSERT_TRUE(rfm.ok());
  std::map<int, std::map<std::string, int>> names;
  for (int64_t i = 0; i < p->rows; ++i) names[truth[p->ids[static_cast<size_t>(i)]]][(*rfm)[static_cast<size_t>(i)].segment]++;
  EXPECT_GT(names[0]["champions"] + names[0]["loyal"], 150);
  EXPECT_EQ(names[2]["champions"], 0);
  EXPECT_GT(names[2]["hibernating"], 150);

  auto km = KMeansSegments(ctx, *p, 0);
  ASSERT_TRUE(km.ok()) << km.status().ToString();
  EXPECT_EQ(km->clusters.size(), 3u);
  // Purity: each cluster is dominated by one planted group.
  std::map<int, std::map<int, int>> counts;
  for (int64_t i = 0; i < p->rows; ++i) counts[km->assignment[static_cast<size_t>(i)]][truth[p->ids[static_cast<size_t>(i)]]]++;
  int pure = 0;
  for (auto& [c, by] : counts) {
    int mx = 0;
    for (auto& [g, n] : by) mx = std::max(mx, n);
    pure += mx;
  }
  EXPECT_GT(pure, 570);
  EXPECT_GT(km->silhouette, 0.5);
  for (const auto& c : km->clusters) EXPECT_FALSE(c.description.empty());
}

TEST(PropensityTest, FindsPlantedChurnersWithReasons) {
  Context ctx(testing::QuietOptions());
  // Half the users go quiet over their last weeks and stop; the rest stay active.
  std::mt19937_64 rng(6);
  std::vector<Ev> evs;
  const int64_t t0 = 1735689600;
  for (int u = 0; u < 1500; ++u) {
    const bool churner = u % 2 == 0;
    const int64_t stop = churner ? t0 + static_cast<int64_t>(30 + rng() % 60) * 86400 : t0 + 120 * 86400;
    for (int64_t t = t0 + static_cast<int64_t>(rng() % 86400); t < stop; t += static_cast<int64_t>(1 + rng() % 4) * 86400) {
      // Churners fade: fewer purchases as they near their stop.
      const bool fading = churner && stop - t < 20 * 86400;
      evs.push_back({"u" + std::to_string(u), !fading && rng() % 3 == 0 ? "purchase" : "view", t});
    }
  }
  Snapshot s = Build(evs);
  PropensityOptions po;
  po.horizon = 20 * 86400;
  po.gbm.rounds = 200;
  auto r = Propensity(ctx, *s.events, *s.users, po);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->metrics["auc"].get<double>(), 0.8) << r->metrics.dump();
  EXPECT_LT(r->train_cutoff, r->valid_cutoff);
  ASSERT_FALSE(r->scores.empty());
  EXPECT_GE(r->scores.front().probability, r->scores.back().probability);
  EXPECT_FALSE(r->scores.front().reasons.empty());
  po.kind = "purchase";
  auto pr = Propensity(ctx, *s.events, *s.users, po);
  ASSERT_TRUE(pr.ok()) << pr.status().ToString();
  EXPECT_GT(pr->metrics["auc"].get<double>(), 0.7);
  EXPECT_EQ(DescribeFeature("recency_days", 21.4), "no visit for 21 days");
}

}  // namespace
}  // namespace opspilot::analytics
