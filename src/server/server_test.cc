#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "ml/registry.h"
#include "ml/tabular_job.h"
#include "recommend/recommend.h"
#include "recommend/synthetic.h"
#include "store/ingest.h"
#include "store/snapshot.h"
#include "support/engine.h"
#include "server/auth.h"
#include "testing/temp_dir.h"

namespace opspilot {
namespace {

using nlohmann::json;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ContextOptions o;
    o.progress = ProgressMode::kQuiet;
    o.log.level = LogLevel::kOff;
    ctx_ = std::make_unique<Context>(o);
    store_ = std::move(OpenSqliteStore(dir_.file("s.db"))).value();
    ServerOptions so;
    so.port = 0;
    so.max_body_bytes = 64 * 1024;
    so.reject_dir = dir_.file("rejects");
    so.models_dir = dir_.file("models");
    so.support_dir = dir_.file("support");
    server_ = std::make_unique<Server>(*ctx_, *store_, so);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    admin_ = CreateApiKey(*ctx_, *store_, Role::kAdmin, "test")->key;
    writer_ = CreateApiKey(*ctx_, *store_, Role::kWrite, "")->key;
    reader_ = CreateApiKey(*ctx_, *store_, Role::kRead, "")->key;
  }
  void TearDown() override { server_->Stop(); }

  httplib::Headers Auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  static json Body(const httplib::Result& r) { return json::parse(r->body, nullptr, false); }

  testing::TempDir dir_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::string admin_, writer_, reader_;
};

TEST_F(ServerTest, HealthNeedsNoKeyEverythingElseDoes) {
  auto r = client_->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["status"], "ok");

  r = client_->Get("/v1/stats");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Body(r)["error"]["code"], "unauthenticated");

  r = client_->Get("/v1/stats", Auth("opk_000000000000_" + std::string(40, 'a')));
  EXPECT_EQ(r->status, 401);
  r = client_->Get("/v1/stats", Auth("garbage"));
  EXPECT_EQ(r->status, 401);
  // A valid key with one character of its secret changed.
  std::string tampered = reader_;
  tampered.back() = tampered.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(client_->Get("/v1/stats", Auth(tampered))->status, 401);

  r = client_->Get("/v1/stats", {{"X-API-Key", reader_}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["tables"]["events"]["rows"], 0);
}

TEST_F(ServerTest, RolesAndRevocation) {
  auto r = client_->Post("/v1/users", Auth(reader_), "[]", "application/json");
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(Body(r)["error"]["code"], "permission_denied");
  EXPECT_EQ(client_->Get("/v1/keys", Auth(writer_))->status, 403);
  r = client_->Get("/v1/keys", Auth(admin_));
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["keys"].size(), 3u);
  EXPECT_EQ(r->body.find("hash"), std::string::npos);  // secrets never leave
  ASSERT_TRUE(store_->RevokeApiKey(reader_.substr(4, 12)).ok());
  EXPECT_EQ(client_->Get("/v1/stats", Auth(reader_))->status, 401);
}

TEST_F(ServerTest, BatchIngestionValidatesEveryRowAndKeepsTheGoodOnes) {
  const std::string body =
      "{\"user_id\":\"u1\",\"event_type\":\"view\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"device\":\"ios\"}\n"
      "{\"user_id\":\"u1\",\"event_type\":\"view\",\"timestamp\":\"soon\"}\n"
      "{\"user_id\":\"u2\",\"event_type\":\"purchase\",\"timestamp\":1735689700,\"value\":12.5}\n";
  auto r = client_->Post("/v1/events", Auth(writer_), body, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  json j = Body(r);
  EXPECT_EQ(j["rows_loaded"], 2);
  EXPECT_EQ(j["rows_rejected"], 1);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["line"], 2);
  EXPECT_EQ(j["errors"][0]["field"], "timestamp");
  EXPECT_NE(j["errors"][0]["reason"].get<std::string>().find("invalid timestamp 'soon'"), std::string::npos);
  // The same body again changes nothing (idempotent ids).
  client_->Post("/v1/events", Auth(writer_), body, "application/x-ndjson");
  EXPECT_EQ(store_->Stats("default", Entity::kEvents)->rows, 2);
  // Another tenant is separate.
  httplib::Headers h = Auth(writer_);
  h.emplace("X-Tenant", "shop2");
  EXPECT_EQ(client_->Post("/v1/users", h, "[{\"user_id\":\"x\"}]", "application/json")->status, 200);
  EXPECT_EQ(store_->Stats("shop2", Entity::kUsers)->rows, 1);
  EXPECT_EQ(store_->Stats("default", Entity::kUsers)->rows, 0);
}

TEST_F(ServerTest, BadRequestsGetClearJsonErrors) {
  auto r = client_->Post("/v1/users", Auth(writer_), "[{\"user_id\": ", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Body(r)["error"]["code"], "invalid_argument");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("not a valid JSON array"), std::string::npos);

  r = client_->Post("/v1/users", Auth(writer_), "[{\"nope\": 1}]", "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Body(r)["errors"][0]["field"], "user_id");

  r = client_->Post("/v1/widgets", Auth(writer_), "[]", "application/json");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("unknown entity 'widgets'"), std::string::npos);

  r = client_->Get("/v1/nothing-here", Auth(reader_));
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Body(r)["error"]["code"], "not_found");

  std::string big = "[";
  while (big.size() < 100 * 1024) big += "{\"user_id\":\"u\"},";
  big.back() = ']';
  r = client_->Post("/v1/users", Auth(writer_), big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Body(r)["error"]["code"], "resource_exhausted");
  EXPECT_EQ(store_->Stats("default", Entity::kUsers)->rows, 0);
}

TEST_F(ServerTest, AnalyticsEndpointsFollowNewData) {
  const std::string body =
      "{\"user_id\":\"a\",\"event_type\":\"view\",\"timestamp\":1735689600}\n"
      "{\"user_id\":\"a\",\"event_type\":\"buy\",\"timestamp\":1735689700}\n"
      "{\"user_id\":\"b\",\"event_type\":\"view\",\"timestamp\":1735689600}\n";
  ASSERT_EQ(client_->Post("/v1/events", Auth(writer_), body, "application/x-ndjson")->status, 200);
  auto r = client_->Get("/v1/analytics/funnel?steps=view,buy&window=1h", Auth(reader_));
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["steps"][0]["users"], 2);
  EXPECT_EQ(Body(r)["steps"][1]["users"], 1);
  // New events invalidate the cached snapshot.
  ASSERT_EQ(client_->Post("/v1/events", Auth(writer_),
                          "{\"user_id\":\"b\",\"event_type\":\"buy\",\"timestamp\":1735689900}\n",
                          "application/x-ndjson")->status, 200);
  EXPECT_EQ(Body(client_->Get("/v1/analytics/funnel?steps=view,buy&window=1h", Auth(reader_)))["steps"][1]["users"], 2);
  auto ret = Body(client_->Get("/v1/analytics/retention?period=day&periods=2", Auth(reader_)));
  EXPECT_EQ(ret["cohorts"][0]["size"], 2);
  auto trends = Body(client_->Get("/v1/analytics/trends?period=day&events=view", Auth(reader_)));
  EXPECT_EQ(trends["points"][0]["users"], 2);
  auto paths = Body(client_->Get("/v1/analytics/paths?from=view&steps=1", Auth(reader_)));
  EXPECT_EQ(paths["edges"][0]["to"], "buy");
  auto bd = Body(client_->Get("/v1/analytics/funnel?steps=view,buy&breakdown=device&attribution=last", Auth(reader_)));
  ASSERT_TRUE(bd.contains("breakdown")) << bd.dump();
  EXPECT_EQ(bd["breakdown"][0]["value"], "(none)");  // no event carries a device property
  auto lc = Body(client_->Get("/v1/analytics/lifecycle?period=day", Auth(reader_)));
  EXPECT_EQ(lc["lifecycle"][0]["new"], 2);
  auto sticky = Body(client_->Get("/v1/analytics/stickiness?period=week&event=view", Auth(reader_)));
  EXPECT_EQ(sticky["stickiness"][0]["users_by_active_days"][0], 2);
  auto user = Body(client_->Get("/v1/users/a", Auth(reader_)));
  EXPECT_EQ(user["user_id"], "a");
  EXPECT_EQ(user["profile"]["count_buy"], 1);
  EXPECT_FALSE(user["segment"]["rfm"].get<std::string>().empty());
  EXPECT_EQ(client_->Get("/v1/users/nobody", Auth(reader_))->status, 404);
  EXPECT_EQ(client_->Get("/v1/analytics/funnel", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/analytics/funnel?steps=a&mode=sideways", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/analytics/funnel?steps=a", httplib::Headers{})->status, 401);
}

TEST_F(ServerTest, ForecastAndInventoryEndpoints) {
  // Item "a" sells 10 a day on weekdays and 30 on weekends for 8 weeks; item "b" never sells.
  std::string orders, items = "{\"item_id\":\"a\",\"category\":\"tea\"}\n{\"item_id\":\"b\",\"category\":\"tea\"}\n";
  for (int d = 0; d < 56; ++d) {
    const int64_t t = 1735689600 + d * 86400 + 3600;  // 2025-01-01 (a Wednesday) + d days
    const int wd = static_cast<int>((t / 86400 + 3) % 7);
    orders += "{\"order_id\":\"o" + std::to_string(d) + "\",\"item_id\":\"a\",\"quantity\":" +
              std::to_string(wd >= 5 ? 30 : 10) + ",\"unit_price\":5,\"timestamp\":" + std::to_string(t) + "}\n";
  }
  ASSERT_EQ(client_->Post("/v1/items", Auth(writer_), items, "application/x-ndjson")->status, 200);
  ASSERT_EQ(client_->Post("/v1/orders", Auth(writer_), orders, "application/x-ndjson")->status, 200);
  const std::string inventory =
      "{\"item_id\":\"a\",\"date\":\"2025-02-25\",\"on_hand\":40,\"on_order\":0,\"lead_time_days\":7,\"unit_cost\":2}\n"
      "{\"item_id\":\"b\",\"date\":\"2025-02-25\",\"on_hand\":5,\"lead_time_days\":7}\n";
  ASSERT_EQ(client_->Post("/v1/inventory", Auth(writer_), inventory, "application/x-ndjson")->status, 200);
  auto f = client_->Get("/v1/forecast/a?horizon=14&model=snaive", Auth(reader_));
  ASSERT_EQ(f->status, 200) << f->body;
  const json fj = Body(f);
  ASSERT_EQ(fj["points"].size(), 14u);
  for (const auto& p : fj["points"]) {
    auto t = ParseTimestamp(p["timestamp"].get<std::string>());
    const int wd = static_cast<int>((*t / 86400 + 3) % 7);
    EXPECT_NEAR(p["mean"].get<double>(), wd >= 5 ? 30 : 10, 1e-9) << p.dump();
    EXPECT_LE(p["lo_95"].get<double>(), p["lo_80"].get<double>());
  }
  EXPECT_EQ(client_->Get("/v1/forecast/b", Auth(reader_))->status, 404);
  EXPECT_EQ(client_->Get("/v1/forecast/a?horizon=x", Auth(reader_))->status, 400);
  auto plan = client_->Get("/v1/inventory/plan", Auth(reader_));
  ASSERT_EQ(plan->status, 200) << plan->body;
  const json pj = Body(plan);
  ASSERT_EQ(pj["count"], 2);
  const json& a = pj["items"][0];
  EXPECT_EQ(a["item_id"], "a");
  // About 15.7 a day over a 7-day lead time: 40 on hand runs out in 2-3 days; reorder now.
  EXPECT_NEAR(a["lead_time_demand"].get<double>(), 110, 15);
  EXPECT_TRUE(a["reorder_now"].get<bool>());
  EXPECT_TRUE(a["stockout_within_lead_time"].get<bool>());
  EXPECT_EQ(pj["items"][1]["model"], "none");
  auto alerts = Body(client_->Get("/v1/inventory/alerts", Auth(reader_)));
  ASSERT_EQ(alerts["count"], 1);
  EXPECT_NE(alerts["alerts"][0]["alerts"][0].get<std::string>().find("stock-out in"), std::string::npos);
  EXPECT_EQ(client_->Get("/v1/inventory/plan?service_level=2", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/inventory/plan", httplib::Headers{})->status, 401);
}

TEST_F(ServerTest, AnomaliesAndRiskEndpoints) {
  // A daily total with one planted spike on day 50 of 80.
  std::string metrics;
  for (int d = 0; d < 80; ++d) {
    const double v = 1000 + 10 * ((d * 37) % 11) + (d == 50 ? 900 : 0);
    metrics += "{\"name\":\"orders\",\"timestamp\":" + std::to_string(1735689600 + d * 86400) +
               ",\"value\":" + std::to_string(v) + "}\n";
  }
  ASSERT_EQ(client_->Post("/v1/metrics", Auth(writer_), metrics, "application/x-ndjson")->status, 200);
  auto r = client_->Get("/v1/anomalies", Auth(reader_));
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = Body(r);
  ASSERT_EQ(j["count"], 1) << r->body;
  EXPECT_EQ(j["alerts"][0]["metric"], "orders");
  EXPECT_EQ(j["alerts"][0]["peak_time"], FormatTimestamp(1735689600 + 50 * 86400));
  EXPECT_EQ(client_->Get("/v1/anomalies?segments=x", Auth(reader_))->status, 400);
  // The alert level and cool-down from the query: above every score, nothing alerts.
  auto fewer = client_->Get("/v1/anomalies?threshold=0.7&cooldown=60", Auth(reader_));
  ASSERT_EQ(fewer->status, 200) << fewer->body;
  EXPECT_LE(Body(fewer)["count"].get<int>(), 1) << fewer->body;
  // Above the warning level (0.75 by default) the alert levels are out of order: the parameter reached them.
  auto above = client_->Get("/v1/anomalies?threshold=0.95", Auth(reader_));
  EXPECT_EQ(above->status, 400);
  EXPECT_NE(above->body.find("alert levels"), std::string::npos) << above->body;
  EXPECT_EQ(client_->Get("/v1/anomalies?threshold=2", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/anomalies?warning=0.95&critical=0.9", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/anomalies?threshold=0.9&warning=0.95&critical=0.97", Auth(reader_))->status, 200);
  EXPECT_EQ(client_->Get("/v1/anomalies?weights=conversion_rate", Auth(reader_))->status, 400);
  // Risk over the store's orders: the one absurd order ranks first.
  std::string orders;
  for (int i = 0; i < 300; ++i) {
    orders += "{\"order_id\":\"o" + std::to_string(i) + "\",\"item_id\":\"i\",\"quantity\":" +
              std::to_string(1 + i % 3) + ",\"unit_price\":" + std::to_string(10 + i % 7) +
              ",\"timestamp\":" + std::to_string(1735689600 + i * 3600) + "}\n";
  }
  orders += "{\"order_id\":\"big\",\"item_id\":\"i\",\"quantity\":40,\"unit_price\":900,\"timestamp\":1736689600}\n";
  ASSERT_EQ(client_->Post("/v1/orders", Auth(writer_), orders, "application/x-ndjson")->status, 200);
  auto risk = client_->Get("/v1/risk/score?top=5", Auth(reader_));
  ASSERT_EQ(risk->status, 200) << risk->body;
  const json rj = Body(risk);
  ASSERT_FALSE(rj["orders"].empty());
  EXPECT_EQ(rj["orders"][0]["order_id"], "big");
  EXPECT_EQ(client_->Get("/v1/risk/score", httplib::Headers{})->status, 401);
  // A threshold of 0 flags every line; a velocity rule on order_id never fires (one line an order).
  auto all = client_->Get("/v1/risk/score?top=0&threshold=0&velocity=order_id:3600:1", Auth(reader_));
  ASSERT_EQ(all->status, 200) << all->body;
  EXPECT_EQ(Body(all)["flagged"], 301);
  EXPECT_EQ(Body(all)["orders"].size(), 301u);
  EXPECT_EQ(client_->Get("/v1/risk/score?velocity=order_id:0:1", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/risk/score?threshold=-1", Auth(reader_))->status, 400);
  // New lines scored against the stored ones: the absurd one scores above the ordinary one.
  const std::string fresh =
      "[{\"order_id\":\"n1\",\"quantity\":2,\"unit_price\":12,\"timestamp\":\"2025-02-01T10:00:00Z\"},"
      "{\"order_id\":\"n2\",\"quantity\":50,\"unit_price\":950,\"timestamp\":1738404000,\"payment_method\":\"card_x\"}]";
  auto scored = client_->Post("/v1/risk/score", Auth(reader_), fresh, "application/json");
  ASSERT_EQ(scored->status, 200) << scored->body;
  const json sj = Body(scored);
  ASSERT_EQ(sj["orders"].size(), 2u);
  EXPECT_EQ(sj["orders"][0]["order_id"], "n2");
  EXPECT_GT(sj["orders"][0]["score"].get<double>(), sj["orders"][1]["score"].get<double>());
  auto bad = client_->Post("/v1/risk/score", Auth(reader_), "[{\"order_id\":\"x\",\"quantity\":\"two\"}]", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("order line 1: field 'quantity'"), std::string::npos) << bad->body;
  // A blocklist posted with the lines: the ordinary line from a listed device is flagged by the rule.
  const std::string listed =
      "{\"orders\": [{\"order_id\":\"n3\",\"quantity\":2,\"unit_price\":12,\"timestamp\":1738404000,\"device\":\"d-bad\"},"
      "{\"order_id\":\"n4\",\"quantity\":2,\"unit_price\":12,\"timestamp\":1738404000,\"device\":\"d-ok\"}],"
      "\"blocklists\": [{\"column\": \"device\", \"values\": [\"d-bad\"]}]}";
  auto bl = client_->Post("/v1/risk/score", Auth(reader_), listed, "application/json");
  ASSERT_EQ(bl->status, 200) << bl->body;
  const json blj = Body(bl);
  ASSERT_EQ(blj["orders"].size(), 2u);
  for (const auto& o : blj["orders"]) {
    const bool n3 = o["order_id"] == "n3";
    EXPECT_EQ(o["flagged"].get<bool>(), n3) << o.dump();
    EXPECT_EQ(o["rules"].size(), n3 ? 1u : 0u) << o.dump();
    if (n3) {
      EXPECT_EQ(o["rules"][0]["rule"], "device_blocklist");
    }
  }
  bad = client_->Post("/v1/risk/score", Auth(reader_), "{\"orders\": [{\"order_id\":\"n5\",\"quantity\":1,\"unit_price\":1,"
                      "\"timestamp\":1738404000}], \"blocklists\": [{\"column\": \"device\"}]}", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("blocklists[0]"), std::string::npos) << bad->body;
  // Velocity in the body: three posted lines of one user within an hour, at most two allowed:
  // the third (by time) carries the rule. A threshold in the body too.
  const std::string burst =
      "{\"threshold\": 0.99, \"velocity\": [{\"key\": \"user_id\", \"window_seconds\": 3600, \"max_count\": 2}], \"orders\": ["
      "{\"order_id\":\"v1\",\"user_id\":\"z\",\"quantity\":1,\"unit_price\":12,\"timestamp\":1738404000},"
      "{\"order_id\":\"v2\",\"user_id\":\"z\",\"quantity\":1,\"unit_price\":12,\"timestamp\":1738404600},"
      "{\"order_id\":\"v3\",\"user_id\":\"z\",\"quantity\":1,\"unit_price\":12,\"timestamp\":1738405200}]}";
  auto vel = client_->Post("/v1/risk/score", Auth(reader_), burst, "application/json");
  ASSERT_EQ(vel->status, 200) << vel->body;
  const json velj = Body(vel);
  ASSERT_EQ(velj["orders"].size(), 3u);
  for (const auto& o : velj["orders"]) {
    const bool third = o["order_id"] == "v3";
    EXPECT_EQ(o["rules"].size(), third ? 1u : 0u) << o.dump();
    EXPECT_FALSE(o["flagged"].get<bool>()) << o.dump();  // 0.7 from the rule stays under 0.99 unless the forest agrees
  }
  bad = client_->Post("/v1/risk/score", Auth(reader_), "{\"orders\": [{\"order_id\":\"n5\",\"quantity\":1,\"unit_price\":1,"
                      "\"timestamp\":1738404000}], \"velocity\": [{\"key\": \"user_id\", \"max_count\": 2}]}", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("velocity[0]"), std::string::npos) << bad->body;
}

TEST_F(ServerTest, StreamingScoresKeepTheirStateAcrossRequests) {
  // One series posted in two halves scores exactly like the whole series scored at once.
  std::vector<double> v;
  for (int i = 0; i < 600; ++i) v.push_back(50 + 5 * std::sin(i / 10.0) + ((i * 7919) % 13) / 13.0 + (i == 500 ? 40 : 0));
  auto body = [&](int from, int to, const std::string& id) {
    json pts = json::array();
    for (int i = from; i < to; ++i) pts.push_back({{"timestamp", 1735689600 + i * 300}, {"value", v[static_cast<size_t>(i)]}});
    return json{{"series_id", id}, {"points", pts}, {"detector", "seasonal"}, {"probation", 100}}.dump();
  };
  auto first = client_->Post("/v1/anomalies/score", Auth(writer_), body(0, 300, "cpu"), "application/json");
  ASSERT_EQ(first->status, 200) << first->body;
  auto second = client_->Post("/v1/anomalies/score", Auth(writer_), body(300, 600, "cpu"), "application/json");
  ASSERT_EQ(second->status, 200) << second->body;
  auto whole = client_->Post("/v1/anomalies/score", Auth(writer_), body(0, 600, "cpu-whole"), "application/json");
  ASSERT_EQ(whole->status, 200);
  const json a = Body(first)["scores"], b = Body(second)["scores"], w = Body(whole)["scores"];
  for (int i = 0; i < 600; ++i) {
    const double split = i < 300 ? a[static_cast<size_t>(i)]["score"].get<double>() : b[static_cast<size_t>(i - 300)]["score"].get<double>();
    EXPECT_DOUBLE_EQ(split, w[static_cast<size_t>(i)]["score"].get<double>()) << i;
  }
  EXPECT_TRUE(b[200]["is_anomaly"].get<bool>());  // the planted spike at point 500
  // Its forecast is the series' own level, not the spike; the seasonal detector names no kind.
  EXPECT_NEAR(b[200]["expected"].get<double>(), v[500] - 40, 6) << b[200].dump();
  EXPECT_EQ(b[200]["kind"], "");
  // Points must arrive in time order; readers cannot advance a detector.
  auto late = client_->Post("/v1/anomalies/score", Auth(writer_), body(10, 11, "cpu"), "application/json");
  EXPECT_EQ(late->status, 400);
  EXPECT_NE(late->body.find("time order"), std::string::npos);
  EXPECT_EQ(client_->Post("/v1/anomalies/score", Auth(reader_), body(0, 1, "x"), "application/json")->status, 403);
  // A later request that changes the series' settings is refused, not silently run with the old ones.
  json changed = json::parse(body(600, 601, "cpu"));
  changed["points"][0]["timestamp"] = 1735689600 + 700 * 300;
  changed["detector"] = "changepoint";
  auto refused = client_->Post("/v1/anomalies/score", Auth(writer_), changed.dump(), "application/json");
  EXPECT_EQ(refused->status, 412);
  EXPECT_NE(refused->body.find("'detector' differs"), std::string::npos) << refused->body;
  changed["detector"] = "seasonal";
  changed["probation"] = 50;
  EXPECT_EQ(client_->Post("/v1/anomalies/score", Auth(writer_), changed.dump(), "application/json")->status, 412);
  changed.erase("probation");  // omitted settings keep the series' own
  auto kept = client_->Post("/v1/anomalies/score", Auth(writer_), changed.dump(), "application/json");
  EXPECT_EQ(kept->status, 200) << kept->body;
}

TEST_F(ServerTest, StreamingDetectorsSurviveARestartOfTheServer) {
  // Two weeks of 5-minute points with a daily cycle and a drop on day 11.
  std::vector<double> v;
  for (int i = 0; i < 4032; ++i) {
    v.push_back(100 + 20 * std::sin(2 * 3.14159265358979 * i / 288.0) + ((i * 7919) % 17) / 4.0 - (i >= 3200 && i < 3260 ? 45 : 0));
  }
  auto body = [&](int from, int to, const std::string& id) {
    json pts = json::array();
    for (int i = from; i < to; ++i) pts.push_back({{"timestamp", 1735689600 + i * 300}, {"value", v[static_cast<size_t>(i)]}});
    return json{{"series_id", id}, {"points", pts}, {"probation", 200}, {"habituate_after", 10}}.dump();
  };
  // The whole series at once, on a server that keeps states in memory only.
  ServerOptions so;
  so.port = 0;
  json w;
  {
    Server memory(*ctx_, *store_, so);
    ASSERT_TRUE(memory.Start().ok());
    httplib::Client client("127.0.0.1", memory.port());
    auto whole = client.Post("/v1/anomalies/score", Auth(writer_), body(0, 4032, "orders"), "application/json");
    ASSERT_EQ(whole->status, 200) << whole->body;
    w = Body(whole)["scores"];
    memory.Stop();
  }
  so.streams_dir = dir_.file("streams");
  const std::string series = "orders/eu: web";  // any bytes; saved under a hex name
  json split = json::array();
  for (auto [from, to] : {std::pair{0, 2500}, std::pair{2500, 3230}, std::pair{3230, 4032}}) {
    // A new server for each part: the series continues from its saved state.
    Server server(*ctx_, *store_, so);
    ASSERT_TRUE(server.Start().ok());
    httplib::Client client("127.0.0.1", server.port());
    auto r = client.Post("/v1/anomalies/score", Auth(writer_), body(from, to, series), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    const json part = Body(r);
    for (const json& s : part["scores"]) split.push_back(s);
    if (from == 2500) {
      // Settings are the saved ones: a change is refused after the restart as before it.
      json changed = json::parse(body(3230, 3231, series));
      changed["probation"] = 10;
      EXPECT_EQ(client.Post("/v1/anomalies/score", Auth(writer_), changed.dump(), "application/json")->status, 412);
    }
    server.Stop();
  }
  ASSERT_EQ(split.size(), w.size());
  int alarms = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    ASSERT_EQ(split[i]["score"].get<double>(), w[i]["score"].get<double>()) << i;
    ASSERT_EQ(split[i]["expected"], w[i]["expected"]) << i;
    ASSERT_EQ(split[i]["kind"], w[i]["kind"]) << i;
    alarms += w[i]["is_anomaly"].get<bool>();
  }
  EXPECT_TRUE(w[3200]["is_anomaly"].get<bool>() || w[3201]["is_anomaly"].get<bool>() || w[3202]["is_anomaly"].get<bool>())
      << w[3200].dump();  // the drop is found (so the equality above covers a scored incident)
  EXPECT_GE(alarms, 1);

  Server server(*ctx_, *store_, so);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  // Points before the saved last time are refused after a restart too.
  auto late = client.Post("/v1/anomalies/score", Auth(writer_), body(100, 101, series), "application/json");
  EXPECT_EQ(late->status, 400) << late->body;
  // A deleted series starts afresh, with new settings if it likes.
  EXPECT_EQ(client.Delete("/v1/anomalies/streams/orders%2Feu%3A%20web", Auth(reader_))->status, 403);
  auto deleted = client.Delete("/v1/anomalies/streams/orders%2Feu%3A%20web", Auth(writer_));
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  EXPECT_EQ(client.Delete("/v1/anomalies/streams/orders%2Feu%3A%20web", Auth(writer_))->status, 404);
  json fresh = json::parse(body(0, 10, series));
  fresh["probation"] = 5;
  EXPECT_EQ(client.Post("/v1/anomalies/score", Auth(writer_), fresh.dump(), "application/json")->status, 200);
  server.Stop();
  // A saved state that cannot be read is an error naming its file, not a silent new detector.
  for (const auto& e : std::filesystem::recursive_directory_iterator(so.streams_dir)) {
    if (e.is_regular_file()) {
      std::ofstream(e.path(), std::ios::trunc) << "{\"series_id\": \"orders/eu: web\", \"detector\": \"ensemble\", \"probation\": 200, "
                                                  "\"transform\": \"auto\", \"habituate_after\": 10, \"last_time\": 0}\nnot a state";
    }
  }
  Server again(*ctx_, *store_, so);
  ASSERT_TRUE(again.Start().ok());
  httplib::Client client2("127.0.0.1", again.port());
  auto broken = client2.Post("/v1/anomalies/score", Auth(writer_), body(10, 11, series), "application/json");
  EXPECT_EQ(broken->status, 500);
  EXPECT_NE(broken->body.find(".state"), std::string::npos) << broken->body;
  EXPECT_NE(broken->body.find("not an anomaly detector state"), std::string::npos) << broken->body;  // the state itself was read
  again.Stop();
}

TEST_F(ServerTest, StreamingScoresTakeTheValueTransform) {
  // Counts with a surge. transform "sqrt" must score them exactly as
  // transform "none" scores their square roots, and differently from "none"
  // on the counts themselves.
  std::vector<double> counts;
  for (int i = 0; i < 800; ++i) {
    const double rate = 40 + 30 * std::sin(i * 6.283185307179586 / 288) + (i >= 700 && i < 712 ? 120 : 0);
    counts.push_back(std::floor(rate + std::sqrt(rate) * (((i * 7919) % 23) / 11.0 - 1)));
  }
  auto post = [&](const std::string& id, const std::string& transform, bool root) {
    json pts = json::array();
    for (size_t i = 0; i < counts.size(); ++i) {
      pts.push_back({{"timestamp", 1735689600 + static_cast<int64_t>(i) * 300}, {"value", root ? std::sqrt(counts[i]) : counts[i]}});
    }
    auto r = client_->Post("/v1/anomalies/score", Auth(writer_),
                           json{{"series_id", id}, {"points", pts}, {"probation", 300}, {"transform", transform}}.dump(),
                           "application/json");
    EXPECT_EQ(r->status, 200) << r->body;
    return Body(r)["scores"];
  };
  const json sqrt_scores = post("a", "sqrt", false), root_scores = post("b", "none", true), raw = post("c", "none", false);
  ASSERT_EQ(sqrt_scores.size(), counts.size());
  int differ = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    EXPECT_DOUBLE_EQ(sqrt_scores[i]["score"].get<double>(), root_scores[i]["score"].get<double>()) << i;
    differ += sqrt_scores[i]["score"].get<double>() != raw[i]["score"].get<double>();
  }
  EXPECT_GT(differ, 100);
  auto bad = client_->Post("/v1/anomalies/score", Auth(writer_),
                           json{{"series_id", "d"}, {"points", json::array()}, {"transform", "cube"}}.dump(), "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("transform"), std::string::npos) << bad->body;
  EXPECT_EQ(client_->Get("/v1/anomalies?transform=cube", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/anomalies?transform=none", Auth(reader_))->status, 200);
}

// habituate_after reaches the streaming detector (fixed by a series' first
// request) and the engine-mode alerts: the same spike of 20 every 100 points
// on a flat line stops alarming by default and keeps alarming with 0.
TEST_F(ServerTest, StreamingScoresTakeHabituateAfter) {
  // Posted 1,000 points a request; only the first carries the options.
  auto late_alarms = [&](const std::string& id, const json& extra) {
    int n = 0;
    for (int chunk = 0; chunk < 7; ++chunk) {
      json pts = json::array();
      for (int i = 1000 * chunk; i < 1000 * (chunk + 1); ++i) {
        pts.push_back({{"timestamp", 1735689600 + int64_t{300} * i}, {"value", i >= 1000 && i % 100 == 0 ? 20 : 0}});
      }
      json body = {{"series_id", id}, {"points", pts}, {"probation", 750}};
      if (chunk == 0) body.update(extra);
      auto r = client_->Post("/v1/anomalies/score", Auth(writer_), body.dump(), "application/json");
      EXPECT_EQ(r->status, 200) << r->body;
      const json scores = Body(r)["scores"];
      for (size_t i = 0; i < scores.size(); ++i) n += 1000 * chunk + static_cast<int>(i) >= 4400 && scores[i]["is_anomaly"].get<bool>();
    }
    return n;
  };
  EXPECT_EQ(late_alarms("on", json::object()), 0);
  EXPECT_GE(late_alarms("off", json{{"habituate_after", 0}}), 10);
  for (const json& bad : {json(-1), json(2.5), json("20")}) {
    auto r = client_->Post("/v1/anomalies/score", Auth(writer_),
                           json{{"series_id", "bad"}, {"points", json::array()}, {"habituate_after", bad}}.dump(),
                           "application/json");
    EXPECT_EQ(r->status, 400) << bad.dump();
    EXPECT_NE(r->body.find("habituate_after"), std::string::npos) << r->body;
  }
  EXPECT_EQ(client_->Get("/v1/anomalies?habituate_after=-1", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/anomalies?habituate_after=x", Auth(reader_))->status, 400);
  EXPECT_EQ(client_->Get("/v1/anomalies?habituate_after=0", Auth(reader_))->status, 200);
}

TEST_F(ServerTest, ServesTheRegistrysModelAndSwapsOnPromote) {
  std::string csv = "id,x,plan,label\n";
  for (int i = 0; i < 400; ++i) {
    const int x = i % 100;
    csv += "r" + std::to_string(i) + "," + std::to_string(x) + "," + (i % 2 ? "pro" : "free") + "," +
           ((x > 50) != (i % 2 == 1) ? "yes" : "no") + "\n";
  }
  ml::TabularTrainOptions o;
  o.data = dir_.Write("train.csv", csv);
  o.read.target = "label";
  o.read.id = "id";
  o.gbm.rounds = 50;
  o.register_task = "churn";
  ml::ModelRegistry registry(dir_.file("models"));
  ASSERT_TRUE(ml::TrainTabular(*ctx_, o, &registry).ok());

  const std::string rows = R"([{"id": "a", "x": 90, "plan": "free"}, {"id": "b", "x": 90, "plan": "pro"},
                                {"id": "c", "plan": "unknown"}])";
  auto r = client_->Post("/v1/models/churn/predict?explain=2", Auth(reader_), rows, "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = Body(r);
  EXPECT_EQ(j["version"], "v0001");
  ASSERT_EQ(j["predictions"].size(), 3u);
  EXPECT_EQ(j["predictions"][0]["prediction"], "yes");
  EXPECT_EQ(j["predictions"][1]["prediction"], "no");
  EXPECT_EQ(j["predictions"][0]["reasons"].size(), 2u);
  EXPECT_EQ(j["predictions"][2]["id"], "c");

  ASSERT_TRUE(ml::TrainTabular(*ctx_, o, &registry).ok());
  ASSERT_TRUE(registry.Promote("churn", "v0002").ok());
  EXPECT_EQ(Body(client_->Post("/v1/models/churn/predict", Auth(reader_), rows, "application/json"))["version"], "v0002");

  auto list = Body(client_->Get("/v1/models", Auth(reader_)));
  EXPECT_EQ(list["models"][0]["task"], "churn");
  EXPECT_EQ(list["models"][0]["serving"], "v0002");
  EXPECT_EQ(client_->Post("/v1/models/nope/predict", Auth(reader_), rows, "application/json")->status, 404);
  EXPECT_EQ(client_->Post("/v1/models/churn/predict", Auth(reader_), "[{\"x\": \"abc\"}]", "application/json")->status, 400);
  EXPECT_EQ(client_->Post("/v1/models/churn/predict", {}, rows, "application/json")->status, 401);
}

TEST_F(ServerTest, RecommendationsFollowTheLatestEventsAndHoldTheirFilters) {
  recommend::SyntheticOptions so;
  so.users = 300;
  so.items = 120;
  so.genres = 6;
  so.mean_items_per_user = 15;
  const recommend::SyntheticData s = recommend::GenerateTaste(so);
  {
    std::ofstream ev(dir_.file("events.csv")), it(dir_.file("items.csv"));
    ev << "user_id,event_type,item_id,timestamp\n";
    for (int32_t u = 0; u < s.data.num_users(); ++u) {
      for (int64_t q = s.data.begin[static_cast<size_t>(u)]; q < s.data.begin[static_cast<size_t>(u) + 1]; ++q) {
        ev << s.data.users->Key(u) << ",purchase," << s.data.items->Key(s.data.item[static_cast<size_t>(q)]) << ","
           << s.data.time[static_cast<size_t>(q)] << "\n";
      }
    }
    it << "item_id,title,category\n";
    for (int32_t i = 0; i < s.data.num_items(); ++i) {
      it << s.data.items->Key(i) << "," << s.catalog.title[static_cast<size_t>(i)] << "," << s.catalog.category[static_cast<size_t>(i)] << "\n";
    }
  }
  IngestOptions io;
  io.show_progress = false;
  Ingestor ingestor(*ctx_, *store_, io);
  IngestReport rep;
  ASSERT_TRUE(ingestor.IngestFile(Entity::kItems, dir_.file("items.csv"), &rep).ok());
  ASSERT_TRUE(ingestor.IngestFile(Entity::kEvents, dir_.file("events.csv"), &rep).ok());
  ASSERT_EQ(rep.rows_rejected, 0);
  // No model yet: a clear 404.
  auto r = client_->Get("/v1/recommend/u5", Auth(reader_));
  ASSERT_EQ(r->status, 404) << r->body;
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("recommend train"), std::string::npos);

  SnapshotSpec spec;
  spec.tables = {Entity::kItems};
  auto snap = LoadSnapshot(*ctx_, *store_, spec);
  ASSERT_TRUE(snap.ok());
  auto data = recommend::FromSnapshot(*snap, recommend::DefaultEventWeights());
  ASSERT_TRUE(data.ok()) << data.status().message();
  auto rec = recommend::Train(*ctx_, std::move(data->data), std::move(data->catalog), "ease", json{{"lambda", 20.0}}, nullptr);  // small data: light regularisation
  ASSERT_TRUE(rec.ok());
  ml::ModelRegistry registry(dir_.file("models"));
  ASSERT_TRUE(registry.Register(*ctx_, "recommend", {{"algorithm", "ease"}}, [&](const std::string& dir) {
    return rec->Save(dir + "/recommender");
  }).ok());

  const int32_t u5 = s.data.users->Find("u5");
  const auto& genres = s.user_genres[static_cast<size_t>(u5)];
  std::set<std::string> seen;
  for (int64_t q = s.data.begin[static_cast<size_t>(u5)]; q < s.data.begin[static_cast<size_t>(u5) + 1]; ++q) {
    seen.insert(s.data.items->Key(s.data.item[static_cast<size_t>(q)]));
  }
  r = client_->Get("/v1/recommend/u5?n=10", Auth(reader_));
  ASSERT_EQ(r->status, 200) << r->body;
  json page = Body(r);
  ASSERT_EQ(page["items"].size(), 10u);
  EXPECT_EQ(page["history"].get<size_t>(), seen.size());
  int in_taste = 0;
  for (const auto& x : page["items"]) {
    EXPECT_FALSE(seen.count(x["item_id"].get<std::string>()));
    EXPECT_FALSE(x["reason"].get<std::string>().empty());
    EXPECT_TRUE(seen.count(x["because"].get<std::string>())) << "the reason is an item the user had";
    const int g = s.item_genre[static_cast<size_t>(s.data.items->Find(x["item_id"].get<std::string>()))];
    in_taste += std::find(genres.begin(), genres.end(), g) != genres.end();
  }
  EXPECT_GE(in_taste, 6);
  // Pages are slices of one list.
  auto second = Body(client_->Get("/v1/recommend/u5?n=5&offset=5", Auth(reader_)));
  for (int k = 0; k < 5; ++k) EXPECT_EQ(second["items"][k]["item_id"], page["items"][k + 5]["item_id"]);
  // Category filter and a per-category cap.
  auto cat = Body(client_->Get("/v1/recommend/u5?n=5&category=genre1,genre2&max_per_category=2", Auth(reader_)));
  ASSERT_EQ(cat["items"].size(), 4u) << cat.dump();
  for (const auto& x : cat["items"]) EXPECT_TRUE(x["category"] == "genre1" || x["category"] == "genre2");
  // A new event counts at once: the top item, once bought, is not recommended again.
  const std::string top = page["items"][0]["item_id"];
  ASSERT_EQ(client_->Post("/v1/events", Auth(writer_),
                          "{\"user_id\":\"u5\",\"event_type\":\"purchase\",\"item_id\":\"" + top +
                              "\",\"timestamp\":1800000000}\n",
                          "application/x-ndjson")->status, 200);
  auto after = Body(client_->Get("/v1/recommend/u5?n=10", Auth(reader_)));
  EXPECT_EQ(after["history"].get<size_t>(), seen.size() + 1);
  for (const auto& x : after["items"]) EXPECT_NE(x["item_id"], top);
  // Excluding only purchases: a viewed (not bought) item may come back.
  ASSERT_EQ(client_->Post("/v1/events", Auth(writer_),
                          "{\"user_id\":\"u5\",\"event_type\":\"view\",\"item_id\":\"" +
                              page["items"][1]["item_id"].get<std::string>() + "\",\"timestamp\":1800000100}\n",
                          "application/x-ndjson")->status, 200);
  auto seen_all = Body(client_->Get("/v1/recommend/u5?n=10", Auth(reader_)));
  auto bought_only = Body(client_->Get("/v1/recommend/u5?n=10&exclude_seen_types=purchase", Auth(reader_)));
  std::set<std::string> a, b;
  for (const auto& x : seen_all["items"]) a.insert(x["item_id"].get<std::string>());
  for (const auto& x : bought_only["items"]) b.insert(x["item_id"].get<std::string>());
  EXPECT_FALSE(a.count(page["items"][1]["item_id"].get<std::string>())) << "viewed: excluded by default";
  EXPECT_TRUE(b.count(page["items"][1]["item_id"].get<std::string>())) << "viewed, not bought: allowed";
  EXPECT_FALSE(b.count(top)) << "bought: still excluded";
  // A user the store has never seen: popular items, labelled as cold start.
  auto cold = Body(client_->Get("/v1/recommend/stranger?n=3", Auth(reader_)));
  EXPECT_TRUE(cold["cold_start"].get<bool>());
  EXPECT_EQ(cold["items"][0]["source"], "popular");

  // Similar items, similar users, session recommendations.
  auto sim = client_->Get("/v1/similar/i3?n=5", Auth(reader_));
  ASSERT_EQ(sim->status, 200) << sim->body;
  const json similar = Body(sim);  // (a range-for over Body(...)[...] would dangle)
  for (const auto& x : similar["items"]) EXPECT_NE(x["item_id"], "i3");
  EXPECT_EQ(client_->Get("/v1/similar/nope", Auth(reader_))->status, 404);
  auto users = Body(client_->Get("/v1/similar-users/u5?n=3", Auth(reader_)));
  EXPECT_EQ(users["users"].size(), 3u);
  json session = {{"items", json::array()}, {"n", 5}};
  const int g = 3;
  for (int32_t i = 0; i < s.data.num_items() && session["items"].size() < 4; ++i) {
    if (s.item_genre[static_cast<size_t>(i)] == g) session["items"].push_back(s.data.items->Key(i));
  }
  auto sr = client_->Post("/v1/recommend/session", Auth(reader_), session.dump(), "application/json");
  ASSERT_EQ(sr->status, 200) << sr->body;
  int same = 0;
  const json answer = Body(sr);
  for (const auto& x : answer["items"]) same += s.item_genre[static_cast<size_t>(s.data.items->Find(x["item_id"].get<std::string>()))] == g;
  EXPECT_GE(same, 3) << session.dump() << answer.dump();
  EXPECT_EQ(client_->Post("/v1/recommend/session", Auth(reader_), "{\"items\": 3}", "application/json")->status, 400);
  EXPECT_EQ(client_->Get("/v1/recommend/u5?n=0", Auth(reader_))->status, 400);
}

TEST_F(ServerTest, SupportClassifiesRepliesAndKeepsConversations) {
  // 404 until a support model is registered.
  auto r = client_->Post("/v1/support/reply", Auth(reader_), R"({"message":"hi"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  ASSERT_EQ(client_->Post("/v1/items", Auth(writer_), R"([{"item_id":"i1","title":"西湖龙井 Longjing green tea 250g"}])",
                          "application/json")->status, 200);
  ASSERT_EQ(client_->Post("/v1/orders", Auth(writer_),
                          R"([{"order_id":"o0001234","user_id":"u1","item_id":"i1","quantity":2,"unit_price":64,"timestamp":"2025-03-04T10:00:00Z","status":"shipped"}])",
                          "application/json")->status, 200);
  // A model with a FAQ and no intent classifier: FAQ answers and hand-offs only.
  nlp::FaqEntry shipping;
  shipping.id = "shipping", shipping.question = "How much does shipping cost?", shipping.answer = "Free above 99 yuan.";
  shipping.language = "en";
  ml::ModelRegistry registry(dir_.file("models"));
  ASSERT_TRUE(registry.Register(*ctx_, "support", {{"algorithm", "support"}}, [&](const std::string& dir) {
    return support::SaveSupportModel(dir + "/support", nullptr, nullptr, {shipping}, support::DefaultTemplates(), {});
  }).ok());

  r = client_->Post("/v1/support/classify", Auth(reader_),
                    R"({"texts":["where is order o0001234? the Longjing green tea","太差了，非常生气！"]})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = Body(r);
  ASSERT_EQ(j["results"].size(), 2u);
  const json& first = j["results"][0];
  ASSERT_EQ(first["entities"].size(), 2u) << first.dump();
  EXPECT_EQ(first["entities"][0]["type"], "order_id");  // a known order of the store
  EXPECT_EQ(first["entities"][0]["start"], 15);
  EXPECT_EQ(first["entities"][1]["type"], "product");   // from the catalogue's title
  EXPECT_EQ(first["entities"][1]["value"], "i1");
  EXPECT_EQ(j["results"][1]["language"], "zh");
  EXPECT_EQ(j["results"][1]["sentiment"]["label"], "negative");

  r = client_->Post("/v1/support/reply", Auth(reader_), R"({"message":"how much is shipping?"})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["source"], "faq");
  EXPECT_EQ(Body(r)["faq_id"], "shipping");
  EXPECT_EQ(client_->Post("/v1/support/reply", Auth(reader_), R"({"text":1})", "application/json")->status, 400);

  // A conversation: stored, continued, read back; writing needs the write role.
  EXPECT_EQ(client_->Post("/v1/support/conversations/c1/messages", Auth(reader_), R"({"text":"hello"})", "application/json")->status, 403);
  r = client_->Post("/v1/support/conversations/c1/messages", Auth(writer_), R"({"text":"how much is shipping","user_id":"u1"})",
                    "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  r = client_->Post("/v1/support/conversations/c1/messages", Auth(writer_), R"({"text":"I want to talk to a human"})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(Body(r)["handoff"].get<bool>());
  r = client_->Get("/v1/support/conversations/c1", Auth(reader_));
  ASSERT_EQ(r->status, 200) << r->body;
  j = Body(r);
  EXPECT_EQ(j["turns"].size(), 4u);
  EXPECT_EQ(j["user_id"], "u1");
  EXPECT_TRUE(j["handed_off"].get<bool>());
  EXPECT_EQ(client_->Get("/v1/support/conversations/nope", Auth(reader_))->status, 404);
  EXPECT_EQ(client_->Get("/v1/support/conversations/a$b", Auth(reader_))->status, 400);
}

}  // namespace
}  // namespace opspilot
