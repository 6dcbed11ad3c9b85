// Engine mode of anomaly detection: metrics and orders go through the real
// ingestion path into a store, and the alerts, their drill-down and the
// order risk scores must recover what was planted.
#include "anomaly/engine.h"

#include <gtest/gtest.h>

#include <cmath>

#include <algorithm>
#include <map>
#include <random>

#include "core/time.h"
#include "store/ingest.h"
#include "store/store.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::anomaly {
namespace {

class AnomalyEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::move(OpenSqliteStore(dir_.file("s.db"))).value(); }
  void Load(Entity e, const std::string& name, const std::string& text) {
    IngestOptions o;
    o.check_references = false;
    o.show_progress = false;
    Ingestor ing(ctx_, *store_, o);
    IngestReport r;
    ASSERT_TRUE(ing.IngestFile(e, dir_.Write(name, text), &r).ok());
    ASSERT_EQ(r.rows_rejected, 0);
  }
  Snapshot Snap(std::vector<Entity> tables) {
    SnapshotSpec spec;
    spec.events = false;
    spec.tables = std::move(tables);
    return std::move(LoadSnapshot(ctx_, *store_, spec)).value();
  }
  testing::TempDir dir_;
  Context ctx_{testing::QuietOptions()};
  std::unique_ptr<Store> store_;
};

TEST_F(AnomalyEngineTest, FindsAPlantedSegmentDropAndExplainsTheTotal) {
  // 120 days of sessions and conversion for 3 regions x 2 channels; conversion of
  // region=east, channel=app drops from 30% to 12% on days 90-92. Nothing else moves.
  std::mt19937_64 rng(31);
  std::string csv = "name,timestamp,value,region,channel\n";
  const char* regions[] = {"east", "north", "west"};
  const char* channels[] = {"app", "web"};
  for (int d = 0; d < 120; ++d) {
    const int64_t t = 1735689600 + d * 86400;
    for (const char* r : regions) {
      for (const char* c : channels) {
        std::poisson_distribution<int> traffic(400);
        const int sessions = traffic(rng);
        const bool drop = std::string(r) == "east" && std::string(c) == "app" && d >= 90 && d <= 92;
        std::binomial_distribution<int> buys(sessions, drop ? 0.12 : 0.30);
        const double rate = static_cast<double>(buys(rng)) / sessions;
        csv += "sessions," + std::to_string(t) + "," + std::to_string(sessions) + "," + r + "," + c + "\n";
        csv += "conversion_rate," + std::to_string(t) + "," + std::to_string(rate) + "," + r + "," + c + "\n";
      }
    }
  }
  Load(Entity::kMetrics, "metrics.csv", csv);
  const Snapshot snap = Snap({Entity::kMetrics});
  MetricAlertOptions o;
  auto alerts = MetricAlerts(ctx_, snap, o);
  ASSERT_TRUE(alerts.ok()) << alerts.status().ToString();
  ASSERT_FALSE(alerts->empty());
  const MetricAlert& top = alerts->front();
  EXPECT_EQ(top.metric, "conversion_rate");
  EXPECT_EQ(top.dimensions, (std::vector<std::pair<std::string, std::string>>{{"channel", "app"}, {"region", "east"}}));
  EXPECT_GE(top.alert.peak_time, 1735689600 + 90 * 86400);
  EXPECT_LE(top.alert.peak_time, 1735689600 + 92 * 86400);
  EXPECT_EQ(top.alert.severity, Severity::kCritical);
  ASSERT_TRUE(top.cause.has_value());
  // The segment carries all of the total's drop.
  const auto& best = top.cause->ranked.front();
  EXPECT_GT(best.share, 0.8);
  EXPECT_NE(top.summary.find("explained by"), std::string::npos);
  // Daily series: the robust detector's forecast is the trailing median (the
  // segment's normal rate, above the dropped value), and it names no kind.
  ASSERT_FALSE(std::isnan(top.alert.expected));
  EXPECT_GT(top.alert.expected, top.alert.peak_value);
  EXPECT_NE(top.summary.find("expected"), std::string::npos) << top.summary;
  const nlohmann::json j = ToJson(top);
  EXPECT_DOUBLE_EQ(j.at("expected").get<double>(), top.alert.expected);
  EXPECT_EQ(j.at("kind"), "");
  // Every alert is about the planted days: no alert on the 114 clean days of 7 series.
  for (const auto& a : *alerts) {
    EXPECT_GE(a.alert.peak_time, 1735689600 + 90 * 86400) << a.summary;
    EXPECT_LE(a.alert.peak_time, 1735689600 + 94 * 86400) << a.summary;
  }
  o.segments = "sideways";
  EXPECT_FALSE(MetricAlerts(ctx_, snap, o).ok());
}

TEST_F(AnomalyEngineTest, RanksAPlantedFraudBurstFirst) {
  // 3,000 ordinary order lines over 30 days and 30 fraud lines within two hours:
  // brand-new accounts, a payment method nobody else uses, large quantities.
  std::mt19937_64 rng(32);
  std::uniform_int_distribution<int> user(0, 499), qty(1, 3), sec(0, 30 * 86400);
  std::uniform_real_distribution<double> price(5, 80);
  std::string users = "user_id,created_at\n";
  for (int u = 0; u < 500; ++u) users += "u" + std::to_string(u) + "," + std::to_string(1730000000 + u * 3600) + "\n";
  std::string orders = "order_id,user_id,item_id,quantity,unit_price,timestamp,payment_method\n";
  for (int i = 0; i < 3000; ++i) {
    orders += "o" + std::to_string(i) + ",u" + std::to_string(user(rng)) + ",i1," + std::to_string(qty(rng)) + "," +
              std::to_string(price(rng)) + "," + std::to_string(1735689600 + sec(rng)) + "," +
              (i % 3 ? "card" : "wallet") + "\n";
  }
  const int64_t burst = 1735689600 + 20 * 86400;
  for (int i = 0; i < 30; ++i) {
    users += "f" + std::to_string(i) + "," + std::to_string(burst - 3600) + "\n";
    orders += "x" + std::to_string(i) + ",f" + std::to_string(i) + ",i1,8," + std::to_string(price(rng) + 60) + "," +
              std::to_string(burst + i * 200) + ",card_x\n";
  }
  Load(Entity::kUsers, "users.csv", users);
  Load(Entity::kOrders, "orders.csv", orders);
  const Snapshot snap = Snap({Entity::kOrders, Entity::kUsers});
  OrderRiskOptions o;
  o.top = 30;
  int64_t flagged = 0;
  auto risky = ScoreOrders(ctx_, snap, o, &flagged);
  ASSERT_TRUE(risky.ok()) << risky.status().ToString();
  ASSERT_EQ(risky->size(), 30u);
  int planted = 0;
  for (const auto& r : *risky) planted += r.order_id[0] == 'x';
  EXPECT_GE(planted, 27);
  EXPECT_EQ((*risky)[0].attributes.at("payment_method"), "card_x");
  EXPECT_FALSE((*risky)[0].result.reasons.empty());
}

// Blocklists in engine mode: on user_id over the stored orders, and on an
// attribute of posted lines (a device id the store has never seen). Only the
// listed rows carry the rule, and they are flagged whatever the forest says.
TEST_F(AnomalyEngineTest, BlocklistsFlagListedUsersAndAttributes) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> user(0, 99), qty(1, 3), sec(0, 30 * 86400);
  std::uniform_real_distribution<double> price(5, 80);
  std::string orders = "order_id,user_id,item_id,quantity,unit_price,timestamp,payment_method,device\n";
  int u7 = 0;
  std::map<int, int> per_user;
  for (int i = 0; i < 1000; ++i) {
    const int u = user(rng);
    u7 += u == 7;
    ++per_user[u];
    orders += "o" + std::to_string(i) + ",u" + std::to_string(u) + ",i1," + std::to_string(qty(rng)) + "," +
              std::to_string(price(rng)) + "," + std::to_string(1735689600 + sec(rng)) + ",card,d" +
              std::to_string(u) + "\n";
  }
  ASSERT_GT(u7, 3);
  Load(Entity::kOrders, "orders.csv", orders);
  const Snapshot snap = Snap({Entity::kOrders});
  OrderRiskOptions o;
  o.top = 0;
  o.risk.blocklists.push_back({"user_id_blocklist", "user_id", {"u7"}, 1.0});
  auto risky = ScoreOrders(ctx_, snap, o);
  ASSERT_TRUE(risky.ok()) << risky.status().ToString();
  int listed = 0;
  for (const auto& r : *risky) {
    const bool hit = !r.result.rules.empty();
    EXPECT_EQ(hit, r.user_id == "u7") << r.order_id;
    if (hit) {
      EXPECT_EQ(r.result.rules[0].rule, "user_id_blocklist");
      EXPECT_TRUE(r.result.flagged);
      ++listed;
    }
  }
  EXPECT_EQ(listed, u7);

  // A velocity rule on an attribute: more than m orders from one device in the
  // whole period hits each order past the m-th (counted from the per-user tallies).
  const int m = 12;
  int expected = 0;
  for (const auto& [u, c] : per_user) expected += std::max(0, c - m);
  ASSERT_GT(expected, 0);
  OrderRiskOptions vo;
  vo.top = 0;
  vo.risk.threshold = 0;  // every line returned
  vo.risk.velocity.push_back({"device_velocity", "device", 31 * 86400, m, 0.7});
  auto fast = ScoreOrders(ctx_, snap, vo);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  ASSERT_EQ(fast->size(), 1000u);
  int hits = 0;
  for (const auto& r : *fast) hits += !r.result.rules.empty() && r.result.rules[0].rule == "device_velocity";
  EXPECT_EQ(hits, expected);

  std::vector<OrderLine> fresh(3);
  for (size_t k = 0; k < fresh.size(); ++k) {
    fresh[k].order_id = "n" + std::to_string(k);
    fresh[k].user_id = "u" + std::to_string(20 + k);
    fresh[k].quantity = 2;
    fresh[k].unit_price = 30;
    fresh[k].time = 1735689600 + 31 * 86400;
    fresh[k].attributes = {{"payment_method", "card"}, {"device", k == 1 ? "d-bad" : "d3"}};
  }
  OrderRiskOptions po;
  po.risk.blocklists.push_back({"device_blocklist", "device", {"d-bad"}, 1.0});
  auto scored = ScoreNewOrders(ctx_, snap, fresh, po);
  ASSERT_TRUE(scored.ok()) << scored.status().ToString();
  ASSERT_EQ(scored->size(), 3u);
  for (const auto& r : *scored) {
    EXPECT_EQ(r.result.flagged, r.order_id == "n1") << r.order_id << " " << r.result.score;
    EXPECT_EQ(r.result.rules.size(), r.order_id == "n1" ? 1u : 0u);
  }
}

}  // namespace
}  // namespace opspilot::anomaly
