// Tests for the demo-shop generator: determinism, counts, and that every
// planted truth can be recovered from the written files (read back with a
// small CSV reader, independent of the generator's internals).
#include "demo/demo_shop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace opspilot::demo {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr uint64_t kSeed = 20250101;
constexpr double kScale = 0.1;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// RFC 4180 reader: calls `fn` with the header-mapped row for every record.
struct Row {
  const std::vector<std::string>* fields;
  const std::map<std::string, size_t>* cols;
  const std::string& operator[](const std::string& name) const {
    auto it = cols->find(name);
    if (it == cols->end() || it->second >= fields->size()) {
      static const std::string kEmpty;
      ADD_FAILURE() << "missing column " << name;
      return kEmpty;
    }
    return (*fields)[it->second];
  }
};

// Returns the number of data records, or -1 on a malformed file.
int64_t ForEachRow(const fs::path& path, const std::function<void(const Row&)>& fn) {
  const std::string data = ReadFile(path);
  std::vector<std::string> fields;
  std::string field;
  std::map<std::string, size_t> cols;
  bool header_done = false;
  int64_t records = 0;
  size_t expected = 0;
  size_t i = 0;
  bool quoted = false;
  auto end_record = [&]() -> bool {
    fields.push_back(field);
    field.clear();
    if (!header_done) {
      for (size_t k = 0; k < fields.size(); ++k) cols[fields[k]] = k;
      expected = fields.size();
      header_done = true;
    } else {
      if (fields.size() != expected) return false;
      ++records;
      fn(Row{&fields, &cols});
    }
    fields.clear();
    return true;
  };
  while (i < data.size()) {
    const char c = data[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < data.size() && data[i + 1] == '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      ++i;
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
    } else if (c == '\n') {
      if (!end_record()) return -1;
    } else if (c != '\r') {
      field += c;
    }
    ++i;
  }
  if (quoted) return -1;
  if (!field.empty() || !fields.empty()) {
    if (!end_record()) return -1;
  }
  return records;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "2025-03-04", "2025-03-04T10:11:12Z" or "2025-03-04T18:11:12+08:00".
int64_t ParseTs(std::string_view s) {
  auto num = [&](size_t pos, size_t len) {
    int64_t v = 0;
    for (size_t k = pos; k < pos + len; ++k) v = v * 10 + (s[k] - '0');
    return v;
  };
  EXPECT_GE(s.size(), 10u) << s;
  if (s.size() < 10) return 0;
  int64_t t = DaysFromCivil(num(0, 4), static_cast<unsigned>(num(5, 2)), static_cast<unsigned>(num(8, 2))) *
              86400;
  if (s.size() == 10) return t;
  EXPECT_GE(s.size(), 20u) << s;
  if (s.size() < 20) return 0;
  t += num(11, 2) * 3600 + num(14, 2) * 60 + num(17, 2);
  if (s[19] == 'Z') return t;
  const int64_t off = num(20, 2) * 3600 + num(23, 2) * 60;
  return s[19] == '+' ? t - off : t + off;
}

// "u00123" -> 123.
int64_t IdNum(const std::string& id) { return id.size() > 1 ? std::stoll(id.substr(1)) : -1; }

// One events.csv record, compact (the file is read once per test run).
struct Ev {
  int64_t ts;
  int64_t user;     // number in u00123
  int64_t item;     // number in i0123, -1 when empty
  int64_t session;  // number in s0000123
  std::string type, channel;
  bool has_value;
};

int Weekday(int64_t unix_seconds) {  // 0 = Monday
  const int64_t days = unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;
  return static_cast<int>(((days + 3) % 7 + 7) % 7);
}

fs::path TempDir(const std::string& name) {
  return fs::temp_directory_path() /
         ("opspilot_demo_test_" + name + "_" + std::to_string(static_cast<long>(::getpid())));
}

// One generation shared by the recovery tests.
class DemoShopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(TempDir("main"));
    fs::remove_all(*dir_);
    DemoOptions o;
    o.seed = kSeed;
    o.scale = kScale;
    o.days = 180;
    stages_ = new std::set<std::string>();
    auto r = GenerateDemoShop(o, dir_->string(), [](std::string_view stage, double f) {
      EXPECT_GE(f, 0.0);
      EXPECT_LE(f, 1.0);
      stages_->insert(std::string(stage));
    });
    ok_ = r.ok();
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      return;
    }
    summary_ = *r;
    truth_ = new Json(Json::parse(ReadFile(*dir_ / "truth.json")));
    events_ = new std::vector<Ev>();
    event_rows_ = ForEachRow(*dir_ / "events.csv", [](const Row& row) {
      const std::string& item = row["item_id"];
      events_->push_back(Ev{ParseTs(row["timestamp"]), IdNum(row["user_id"]),
                            item.empty() ? -1 : IdNum(item), IdNum(row["session_id"]), row["event_type"],
                            row["channel"], !row["value"].empty()});
    });
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete truth_;
    delete stages_;
    delete events_;
  }
  void SetUp() override { ASSERT_TRUE(ok_); }

  static const fs::path& dir() { return *dir_; }
  static const Json& truth() { return *truth_; }
  static const std::vector<Ev>& events() { return *events_; }

  // user_id -> truth row fields.
  struct TruthUser {
    std::string segment;
    int taste = -1;
    bool churned = false;
    int64_t churn_start = 0;  // unix seconds of churn_day 00:00Z
  };
  // Keyed by the user number (u00123 -> 123).
  static std::map<int64_t, TruthUser> TruthUsers() {
    std::map<int64_t, TruthUser> users;
    ForEachRow(dir() / "truth_users.csv", [&](const Row& r) {
      TruthUser u;
      u.segment = r["segment"];
      u.taste = std::stoi(r["taste"]);
      u.churned = r["churned"] == "1";
      if (u.churned) u.churn_start = ParseTs(r["churn_day"]);
      users[IdNum(r["user_id"])] = u;
    });
    return users;
  }

  static inline fs::path* dir_ = nullptr;
  static inline Json* truth_ = nullptr;
  static inline std::set<std::string>* stages_ = nullptr;
  static inline std::vector<Ev>* events_ = nullptr;
  static inline int64_t event_rows_ = 0;
  static inline DemoSummary summary_;
  static inline bool ok_ = false;
};

TEST(DemoShopDeterminism, SameSeedSameBytesDifferentSeedDifferentBytes) {
  const fs::path a = TempDir("det_a"), b = TempDir("det_b"), c = TempDir("det_c");
  DemoOptions o;
  o.seed = 7;
  o.scale = 0.03;
  o.days = 60;
  ASSERT_TRUE(GenerateDemoShop(o, a.string()).ok());
  ASSERT_TRUE(GenerateDemoShop(o, b.string()).ok());
  o.seed = 8;
  ASSERT_TRUE(GenerateDemoShop(o, c.string()).ok());
  for (const char* name : {"events.csv", "orders.csv", "users.csv", "items.csv", "inventory.csv",
                           "tickets.jsonl", "metrics.csv", "competitor_prices.csv", "reviews.csv",
                           "truth.json", "truth_users.csv", "truth_items.csv",
                           "truth_fraud_orders.csv"}) {
    const std::string fa = ReadFile(a / name);
    EXPECT_FALSE(fa.empty()) << name;
    EXPECT_EQ(fa, ReadFile(b / name)) << name;
  }
  EXPECT_NE(ReadFile(a / "events.csv"), ReadFile(c / "events.csv"));
  EXPECT_NE(ReadFile(a / "orders.csv"), ReadFile(c / "orders.csv"));
  // No temporary files are left behind.
  for (const auto& entry : fs::directory_iterator(a)) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

TEST(DemoShopOptions, RejectsBadOptions) {
  DemoOptions o;
  o.scale = 0;
  EXPECT_EQ(GenerateDemoShop(o, TempDir("bad").string()).status().code(), StatusCode::kInvalidArgument);
  o.scale = 0.05;
  o.days = 3;
  EXPECT_EQ(GenerateDemoShop(o, TempDir("bad").string()).status().code(), StatusCode::kInvalidArgument);
  o.days = 60;
  EXPECT_EQ(GenerateDemoShop(o, "").status().code(), StatusCode::kInvalidArgument);
  std::error_code ec;
  fs::remove_all(TempDir("bad"), ec);
}

TEST_F(DemoShopTest, CountsMatchFiles) {
  auto rows = [&](const char* name) { return ForEachRow(dir() / name, [](const Row&) {}); };
  EXPECT_EQ(rows("users.csv"), summary_.users);
  EXPECT_EQ(rows("items.csv"), summary_.items);
  EXPECT_EQ(event_rows_, summary_.events);
  EXPECT_EQ(static_cast<int64_t>(events().size()), summary_.events);
  EXPECT_EQ(rows("orders.csv"), summary_.order_lines);
  EXPECT_EQ(rows("inventory.csv"), summary_.inventory_rows);
  EXPECT_EQ(rows("metrics.csv"), summary_.metrics);
  EXPECT_EQ(rows("competitor_prices.csv"), summary_.competitor_prices);
  EXPECT_EQ(rows("reviews.csv"), summary_.reviews);
  std::set<std::string> order_ids;
  ForEachRow(dir() / "orders.csv", [&](const Row& r) { order_ids.insert(r["order_id"]); });
  EXPECT_EQ(static_cast<int64_t>(order_ids.size()), summary_.orders);
  int64_t tickets = 0;
  std::istringstream in(ReadFile(dir() / "tickets.jsonl"));
  for (std::string line; std::getline(in, line);) tickets += !line.empty();
  EXPECT_EQ(tickets, summary_.tickets);
  EXPECT_EQ(summary_.inventory_rows, summary_.items * 180);
  EXPECT_EQ(truth()["counts"]["events"].get<int64_t>(), summary_.events);
  EXPECT_EQ(truth()["counts"]["orders"].get<int64_t>(), summary_.orders);
  EXPECT_EQ(truth()["counts"]["tickets"].get<int64_t>(), summary_.tickets);
  // Sizes are in the documented ballpark for scale 0.1.
  EXPECT_NEAR(summary_.users, 2000, 100);
  EXPECT_GE(summary_.items, 60);
  EXPECT_GT(summary_.events, 150000);
  EXPECT_LT(summary_.events, 300000);
  EXPECT_GT(summary_.tickets, 300);
  EXPECT_TRUE(stages_->count("simulate"));
}

TEST_F(DemoShopTest, EventsAreOrderedAndPurchasesMatchOrderLines) {
  std::multiset<std::tuple<int64_t, int64_t, int64_t>> paid_lines;
  int64_t failed_lines = 0;
  ForEachRow(dir() / "orders.csv", [&](const Row& r) {
    const std::string& ts = r["timestamp"];
    if (r["country"] == "CN") {
      EXPECT_NE(ts.find("+08:00"), std::string::npos) << ts;
    } else {
      EXPECT_EQ(ts.back(), 'Z') << ts;
    }
    if (r["status"] == "failed") {
      ++failed_lines;
      return;
    }
    paid_lines.insert({IdNum(r["user_id"]), IdNum(r["item_id"]), ParseTs(ts)});
  });
  EXPECT_GT(failed_lines, 0);
  int64_t prev = 0, purchases = 0, unmatched = 0;
  std::set<std::string> types;
  int64_t misordered = 0, bad_item = 0, bad_value = 0;
  for (const Ev& e : events()) {
    misordered += e.ts < prev;
    prev = e.ts;
    types.insert(e.type);
    bad_item += (e.type == "login" || e.type == "search") != (e.item < 0);
    bad_value += (e.type == "add_to_cart" || e.type == "purchase") != e.has_value;
    if (e.type != "purchase") continue;
    ++purchases;
    auto it = paid_lines.find({e.user, e.item, e.ts});
    if (it == paid_lines.end()) {
      ++unmatched;
    } else {
      paid_lines.erase(it);
    }
  }
  EXPECT_EQ(misordered, 0);
  EXPECT_EQ(bad_item, 0);
  EXPECT_EQ(bad_value, 0);
  EXPECT_EQ(types, (std::set<std::string>{"view", "search", "add_to_cart", "purchase", "login"}));
  EXPECT_GT(purchases, 1000);
  EXPECT_EQ(unmatched, 0);
  EXPECT_TRUE(paid_lines.empty()) << paid_lines.size() << " paid lines without a purchase event";
}

TEST_F(DemoShopTest, WeekendUpliftMatchesTruth) {
  std::vector<int64_t> purchases(7, 0), days(7, 0);
  const int64_t start = truth()["generator"]["start_unix"].get<int64_t>();
  for (int d = 0; d < 180; ++d) ++days[Weekday(start + d * 86400)];
  for (const Ev& e : events()) {
    if (e.type == "purchase") ++purchases[Weekday(e.ts)];
  }
  auto rate = [&](int w) { return static_cast<double>(purchases[w]) / days[w]; };
  const double weekend = (rate(5) + rate(6)) / 2;
  const double weekday = (rate(0) + rate(1) + rate(2) + rate(3) + rate(4)) / 5;
  const double planted = truth()["demand"]["weekend_uplift"].get<double>();
  EXPECT_GT(planted, 1.2);
  EXPECT_NEAR(weekend / weekday, planted, 0.1);
}

TEST_F(DemoShopTest, PurchasesConcentrateInTasteCluster) {
  const auto users = TruthUsers();
  std::map<int64_t, int> item_taste;
  ForEachRow(dir() / "truth_items.csv",
             [&](const Row& r) { item_taste[IdNum(r["item_id"])] = std::stoi(r["taste"]); });
  std::set<int> clusters;
  for (const auto& [id, t] : item_taste) clusters.insert(t);
  EXPECT_EQ(clusters.size(), 6u);
  int64_t in = 0, total = 0;
  for (const Ev& e : events()) {
    if (e.type != "purchase") continue;
    const TruthUser& u = users.at(e.user);
    if (u.segment == "fraud") continue;
    ++total;
    in += item_taste.at(e.item) == u.taste;
  }
  ASSERT_GT(total, 1000);
  EXPECT_GT(static_cast<double>(in) / total, 0.6);
}

TEST_F(DemoShopTest, FraudBurstOrdersAreInWindowAndSharePaymentMethod) {
  const Json& fb = truth()["anomalies"]["fraud_burst"];
  const int64_t start = fb["start_unix"].get<int64_t>(), end = fb["end_unix"].get<int64_t>();
  const std::string method = fb["payment_method"].get<std::string>();
  std::set<std::string> fraud;
  ForEachRow(dir() / "truth_fraud_orders.csv", [&](const Row& r) { fraud.insert(r["order_id"]); });
  EXPECT_GE(fraud.size(), 12u);
  EXPECT_EQ(static_cast<int64_t>(fraud.size()), fb["orders"].get<int64_t>());
  std::map<std::string, int64_t> created;
  ForEachRow(dir() / "users.csv", [&](const Row& r) { created[r["user_id"]] = ParseTs(r["created_at"]); });
  std::set<std::string> seen;
  int64_t other_with_method = 0;
  ForEachRow(dir() / "orders.csv", [&](const Row& r) {
    if (!fraud.count(r["order_id"])) {
      other_with_method += r["payment_method"] == method;
      return;
    }
    seen.insert(r["order_id"]);
    const int64_t t = ParseTs(r["timestamp"]);
    EXPECT_GE(t, start);
    EXPECT_LT(t, end);
    EXPECT_EQ(r["payment_method"], method);
    const int q = std::stoi(r["quantity"]);
    EXPECT_GE(q, fb["quantity_min"].get<int>());
    EXPECT_LE(q, fb["quantity_max"].get<int>());
    const int64_t age = t - created.at(r["user_id"]);
    EXPECT_GE(age, 0);
    EXPECT_LE(age, 48 * 3600);
  });
  EXPECT_EQ(seen, fraud);
  EXPECT_EQ(other_with_method, 0);
}

TEST_F(DemoShopTest, PaymentOutageShowsInOrdersMetricsAndTickets) {
  const Json& po = truth()["anomalies"]["payment_outage"];
  const int64_t start = po["start_unix"].get<int64_t>(), end = po["end_unix"].get<int64_t>();
  EXPECT_EQ(end - start, 3 * 3600);
  std::map<std::string, std::pair<int64_t, bool>> orders;  // id -> (ts, failed)
  ForEachRow(dir() / "orders.csv", [&](const Row& r) {
    orders[r["order_id"]] = {ParseTs(r["timestamp"]), r["status"] == "failed"};
  });
  int64_t in = 0, in_failed = 0, out = 0, out_failed = 0;
  for (const auto& [id, o] : orders) {
    if (o.first >= start && o.first < end) {
      ++in;
      in_failed += o.second;
    } else {
      ++out;
      out_failed += o.second;
    }
  }
  ASSERT_GE(in, 5);
  EXPECT_GT(static_cast<double>(in_failed) / in, 0.6);
  EXPECT_LT(static_cast<double>(out_failed) / out, 0.1);
  // Hourly payment success rate.
  double in_sum = 0, out_sum = 0;
  int in_n = 0, out_n = 0;
  ForEachRow(dir() / "metrics.csv", [&](const Row& r) {
    if (r["name"] != "payment_success_rate" || r["region"] != "all") return;
    const int64_t t = ParseTs(r["timestamp"]);
    if (t >= start && t < end) {
      in_sum += std::stod(r["value"]);
      ++in_n;
    } else {
      out_sum += std::stod(r["value"]);
      ++out_n;
    }
  });
  ASSERT_GT(in_n, 0);
  ASSERT_GT(out_n, 1000);
  EXPECT_LT(in_sum / in_n, 0.5);  // few attempts per hour at this scale: loose bound
  EXPECT_GT(out_sum / out_n, 0.9);
  // payment_failed tickets spike in the hours after the outage starts.
  int64_t spike = 0, rest = 0;
  const int64_t spike_end = end + 6 * 3600;
  std::istringstream lines(ReadFile(dir() / "tickets.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const Json j = Json::parse(line);
    if (j["intent"] != "payment_failed") continue;
    const int64_t t = ParseTs(j["timestamp"].get<std::string>());
    (t >= start && t < spike_end ? spike : rest) += 1;
  }
  const double spike_rate = spike / 9.0;
  const double rest_rate = static_cast<double>(rest) / (180 * 24 - 9);
  EXPECT_GE(spike, 1);
  EXPECT_GT(spike_rate, 10 * rest_rate);
}

TEST_F(DemoShopTest, RegionalConversionDropShowsInMetrics) {
  const Json& dr = truth()["anomalies"]["regional_conversion_drop"];
  const int64_t start = dr["start_unix"].get<int64_t>(), end = dr["end_unix"].get<int64_t>();
  const std::string region = dr["region"], channel = dr["channel"];
  // Sessions-weighted conversion: (cell, in window) -> (converted, sessions).
  std::map<std::tuple<std::string, std::string, int64_t>, double> sessions, rate;
  ForEachRow(dir() / "metrics.csv", [&](const Row& r) {
    if (r["region"] == "all") return;
    const auto key = std::make_tuple(r["region"], r["channel"], ParseTs(r["timestamp"]));
    if (r["name"] == "sessions") sessions[key] = std::stod(r["value"]);
    if (r["name"] == "conversion_rate") rate[key] = std::stod(r["value"]);
  });
  double target_in[2] = {0, 0}, target_out[2] = {0, 0}, other_in[2] = {0, 0}, other_out[2] = {0, 0};
  for (const auto& [key, s] : sessions) {
    auto it = rate.find(key);
    const double conv = it == rate.end() ? 0 : it->second * s;
    const int64_t t = std::get<2>(key);
    const bool in = t >= start && t < end;
    const bool target = std::get<0>(key) == region && std::get<1>(key) == channel;
    double* acc = target ? (in ? target_in : target_out) : (in ? other_in : other_out);
    acc[0] += conv;
    acc[1] += s;
  }
  ASSERT_GT(target_in[1], 0);
  const double target_ratio = (target_in[0] / target_in[1]) / (target_out[0] / target_out[1]);
  const double other_ratio = (other_in[0] / other_in[1]) / (other_out[0] / other_out[1]);
  EXPECT_LT(target_ratio, 0.65);
  EXPECT_GT(other_ratio, 0.8);
}

TEST_F(DemoShopTest, MiniProgramConvertsCartsWorse) {
  // Sessions with an add_to_cart that end in a purchase, by channel.
  std::map<int64_t, std::pair<bool, bool>> session;  // id -> (carted, bought)
  std::map<int64_t, std::string> channel;
  for (const Ev& e : events()) {
    auto& s = session[e.session];
    channel[e.session] = e.channel;
    if (e.type == "add_to_cart") s.first = true;
    if (e.type == "purchase") s.second = true;
  }
  std::map<std::string, std::pair<int64_t, int64_t>> by_channel;
  for (const auto& [id, s] : session) {
    if (!s.first) continue;
    auto& c = by_channel[channel[id]];
    ++c.first;
    c.second += s.second;
  }
  auto conv = [&](const std::string& ch) {
    return static_cast<double>(by_channel[ch].second) / std::max<int64_t>(1, by_channel[ch].first);
  };
  EXPECT_LT(conv("mini_program"), 0.8 * conv("app"));
}

TEST_F(DemoShopTest, ChurnersGoSilentAfterChurnDayAndComplainBefore) {
  const auto users = TruthUsers();
  std::map<int64_t, int64_t> last;
  for (const Ev& e : events()) {
    int64_t& l = last[e.user];
    l = std::max(l, e.ts);
  }
  int64_t churners = 0, active_before = 0, late = 0, latest_churn = 0, others_after = 0;
  for (const auto& [id, u] : users) {
    if (!u.churned) continue;
    EXPECT_EQ(u.segment, "churner");
    ++churners;
    latest_churn = std::max(latest_churn, u.churn_start);
    auto it = last.find(id);
    if (it == last.end()) continue;
    ++active_before;
    late += it->second >= u.churn_start;
  }
  ASSERT_GT(churners, 50);
  EXPECT_EQ(late, 0);
  EXPECT_GT(active_before, churners * 9 / 10);
  for (const auto& [id, t] : last) {
    const auto& u = users.at(id);
    others_after += !u.churned && t >= latest_churn;
  }
  EXPECT_GT(others_after, 100);
  // Negative complaint / shipping tickets per user in the 28 days before the
  // churn day, against the same rate for everybody else over 28 days.
  int64_t churn_neg = 0, other_neg = 0;
  std::istringstream lines(ReadFile(dir() / "tickets.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const Json j = Json::parse(line);
    if (j["sentiment"] != "negative" || (j["intent"] != "complaint" && j["intent"] != "shipping_delay")) {
      continue;
    }
    const TruthUser& u = users.at(IdNum(j["user_id"].get<std::string>()));
    const int64_t t = ParseTs(j["timestamp"].get<std::string>());
    if (u.churned) {
      EXPECT_LT(t, u.churn_start);
      churn_neg += t >= u.churn_start - 28 * 86400;
    } else {
      ++other_neg;
    }
  }
  const double churn_rate = static_cast<double>(churn_neg) / churners;
  const double other_rate =
      static_cast<double>(other_neg) / static_cast<double>(users.size() - churners) * 28.0 / 180.0;
  EXPECT_GT(churn_rate, 5 * other_rate);
}

TEST_F(DemoShopTest, SegmentsDifferInSpend) {
  const auto users = TruthUsers();
  std::map<int64_t, double> spend;
  ForEachRow(dir() / "orders.csv", [&](const Row& r) {
    if (r["status"] == "failed") return;
    spend[IdNum(r["user_id"])] += std::stod(r["quantity"]) * std::stod(r["unit_price"]);
  });
  std::map<std::string, std::pair<double, int64_t>> seg;
  for (const auto& [id, u] : users) {
    auto& s = seg[u.segment];
    s.first += spend.count(id) ? spend[id] : 0.0;
    ++s.second;
  }
  for (const char* name : {"champion", "loyal", "bargain_hunter", "browser", "new", "churner", "fraud"}) {
    EXPECT_GT(seg[name].second, 0) << name;
  }
  auto mean = [&](const char* name) { return seg[name].first / std::max<int64_t>(1, seg[name].second); };
  EXPECT_GT(mean("champion"), 3 * mean("loyal"));
  EXPECT_GT(mean("loyal"), 3 * mean("browser"));
}

TEST_F(DemoShopTest, TicketsCoverAllIntentsAndBothLanguages) {
  std::set<std::string> order_ids;
  ForEachRow(dir() / "orders.csv", [&](const Row& r) { order_ids.insert(r["order_id"]); });
  std::map<std::string, int64_t> intents, languages;
  std::set<std::string> texts;
  int64_t n = 0;
  std::istringstream lines(ReadFile(dir() / "tickets.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const Json j = Json::parse(line);
    ++n;
    ++intents[j["intent"].get<std::string>()];
    ++languages[j["language"].get<std::string>()];
    texts.insert(j["text"].get<std::string>());
    const std::string sentiment = j["sentiment"];
    EXPECT_TRUE(sentiment == "negative" || sentiment == "neutral" || sentiment == "positive");
    EXPECT_TRUE(j["resolved"].is_boolean());
    if (j.contains("order_id")) {
      EXPECT_TRUE(order_ids.count(j["order_id"].get<std::string>()));
    }
    if (j["intent"] == "praise") {
      EXPECT_EQ(sentiment, "positive");
    }
  }
  EXPECT_EQ(intents.size(), 12u);
  for (const char* intent : {"order_status", "refund", "shipping_delay", "payment_failed",
                             "product_question", "account", "complaint", "coupon", "invoice",
                             "cancel_order", "change_address", "praise"}) {
    EXPECT_GT(intents[intent], 0) << intent;
  }
  EXPECT_EQ(languages.size(), 2u);
  const double zh = static_cast<double>(languages["zh"]) / n;
  EXPECT_GT(zh, 0.45);
  EXPECT_LT(zh, 0.75);
  EXPECT_GT(texts.size(), static_cast<size_t>(n * 9 / 10));  // varied, not a handful of strings
}

TEST_F(DemoShopTest, InventoryIsConsistent) {
  int64_t rows = 0, negative = 0, jumps = 0;
  std::map<std::string, int64_t> prev;
  ForEachRow(dir() / "inventory.csv", [&](const Row& r) {
    ++rows;
    const int64_t on_hand = std::stoll(r["on_hand"]);
    negative += on_hand < 0 || std::stoll(r["on_order"]) < 0;
    auto it = prev.find(r["item_id"]);
    if (it != prev.end() && on_hand > it->second) ++jumps;
    prev[r["item_id"]] = on_hand;
  });
  EXPECT_EQ(rows, summary_.items * 180);
  EXPECT_EQ(negative, 0);
  EXPECT_GT(jumps, summary_.items);  // replenishments happen
}

TEST_F(DemoShopTest, CompetitorPriceCutAndReviews) {
  const Json& cut = truth()["competitors"]["price_cut"];
  const std::string competitor = cut["competitor"], category = cut["category"];
  const int64_t start = ParseTs(cut["start"].get<std::string>()), end = ParseTs(cut["end"].get<std::string>());
  std::map<std::string, double> our_price;
  ForEachRow(dir() / "items.csv", [&](const Row& r) { our_price[r["item_id"]] = std::stod(r["price"]); });
  double in_sum = 0, out_sum = 0;
  int64_t in_n = 0, out_n = 0;
  ForEachRow(dir() / "competitor_prices.csv", [&](const Row& r) {
    if (r["competitor"] != competitor || r["category"] != category) return;
    const double rel = std::stod(r["price"]) / our_price.at(r["item_id"]);
    const int64_t t = ParseTs(r["timestamp"]);
    if (t >= start && t < end) {
      in_sum += rel;
      ++in_n;
    } else {
      out_sum += rel;
      ++out_n;
    }
  });
  ASSERT_GT(in_n, 0);
  ASSERT_GT(out_n, 0);
  EXPECT_LT(in_sum / in_n, 0.9 * (out_sum / out_n));
  // Reviews: the competitor with planted poor shipping rates worse than us.
  std::map<std::string, std::pair<double, int64_t>> ratings;
  ForEachRow(dir() / "reviews.csv", [&](const Row& r) {
    const int rating = std::stoi(r["rating"]);
    EXPECT_GE(rating, 1);
    EXPECT_LE(rating, 5);
    EXPECT_FALSE(r["text"].empty());
    auto& s = ratings[r["source"]];
    s.first += rating;
    ++s.second;
  });
  ASSERT_EQ(ratings.size(), 4u);
  ASSERT_GT(ratings["our_shop"].second, 30);
  ASSERT_GT(ratings["leafmart"].second, 30);
  const double ours = ratings["our_shop"].first / ratings["our_shop"].second;
  const double leafmart = ratings["leafmart"].first / ratings["leafmart"].second;
  EXPECT_LT(leafmart, ours - 0.15);
}

}  // namespace
}  // namespace opspilot::demo
