// The opspilot binary as a user runs it: exit codes, --json, env and config.
#include <gtest/gtest.h>

#include <cmath>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/time.h"
#include "testing/temp_dir.h"

namespace opspilot {
namespace {

struct CmdResult {
  int code;
  std::string out;
};

// Runs opspilot with `args` through the shell; `redirect` says which stream
// comes back (default stdout, stderr dropped).
CmdResult Exec(const std::string& args, const std::string& env = "", const std::string& redirect = "2>/dev/null") {
  const std::string cmd = env + " " + std::string(OPSPILOT_BIN) + " " + args + " " + redirect;
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(CliTest, IngestReportsRejectsWithExitCodeAndJson) {
  testing::TempDir d;
  const std::string items = d.Write("items.csv", "item_id,title,price\ni1,Tea,10\ni2,Cup,-3\n");
  CmdResult r = Exec("--data-dir " + d.file("data") + " --json ingest items " + items);
  EXPECT_EQ(r.code, 9) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["loads"][0]["rows_loaded"], 1);
  EXPECT_EQ(j["loads"][0]["rejects"][0]["line"], 3);
  EXPECT_EQ(j["loads"][0]["rejects"][0]["field"], "price");
  EXPECT_EQ(j["loads"][0]["rejects"][0]["reason"], "value -3 is below the minimum 0");
  // Tolerated with --max-errors.
  EXPECT_EQ(Exec("--data-dir " + d.file("data") + " -q ingest items --max-errors 1 " + items).code, 0);
  // Unknown entity and missing file are usage errors.
  EXPECT_EQ(Exec("--data-dir " + d.file("data") + " ingest widgets " + items).code, 2);
  EXPECT_NE(Exec("--data-dir " + d.file("data") + " ingest items " + d.file("nope.csv")).code, 0);
  CmdResult stats = Exec("--data-dir " + d.file("data") + " --json stats");
  EXPECT_EQ(stats.code, 0);
  EXPECT_EQ(nlohmann::json::parse(stats.out)["tables"]["items"]["rows"], 1);
}

TEST(CliTest, FlagsBeatEnvironmentBeatsConfig) {
  testing::TempDir d;
  const std::string items = d.Write("items.csv", "item_id\ni1\n");
  const std::string cfg = d.Write("op.toml", "tenant = \"from_config\"\n[ingest]\nbatch_rows = 10\n");
  const std::string base = "--data-dir " + d.file("data") + " --config " + cfg + " -q ";
  ASSERT_EQ(Exec(base + "ingest items " + items).code, 0);
  ASSERT_EQ(Exec(base + "ingest items " + items, "OPSPILOT_TENANT=from_env").code, 0);
  ASSERT_EQ(Exec(base + "--tenant from_flag ingest items " + items).code, 0);
  for (const char* t : {"from_config", "from_env", "from_flag"}) {
    auto j = nlohmann::json::parse(Exec(base + "--tenant " + t + " --json stats").out);
    EXPECT_EQ(j["tables"]["items"]["rows"], 1) << t;
  }
  const std::string bad = d.Write("bad.toml", "no_such_setting = 1\n");
  EXPECT_EQ(Exec("--data-dir " + d.file("data") + " --config " + bad + " stats").code, 2);
}

TEST(CliTest, KeysAreShownOnceAndStoredHashed) {
  testing::TempDir d;
  CmdResult r = Exec("--data-dir " + d.file("data") + " keys create --role write --name ci");
  ASSERT_EQ(r.code, 0);
  ASSERT_EQ(r.out.rfind("opk_", 0), 0u) << r.out;
  const std::string key = r.out.substr(0, r.out.find('\n'));
  CmdResult list = Exec("--data-dir " + d.file("data") + " keys list");
  EXPECT_NE(list.out.find(key.substr(4, 12)), std::string::npos);
  EXPECT_EQ(list.out.find(key.substr(17)), std::string::npos);
  EXPECT_EQ(testing::ReadFile(d.file("data/opspilot.db")).find(key.substr(17)), std::string::npos);
  EXPECT_EQ(Exec("--data-dir " + d.file("data") + " keys create --role root").code, 2);
}

}  // namespace
}  // namespace opspilot

namespace opspilot {
namespace {

TEST(CliTest, TabularTrainPredictEvaluateAndRegistry) {
  testing::TempDir d;
  std::string csv = "id,a,color,label\n";
  for (int i = 0; i < 600; ++i) {
    const int a = (i * 37) % 100;
    const char* color = i % 3 == 0 ? "red" : i % 3 == 1 ? "green" : "blue";
    const bool label = (a > 50) != (i % 3 == 0);  // red flips the rule
    csv += "r" + std::to_string(i) + "," + std::to_string(a) + "," + color + "," + (label ? "1" : "0") + "\n";
  }
  const std::string data = d.Write("train.csv", csv);
  const std::string dd = "--data-dir " + d.file("dd") + " ";
  CmdResult t = Exec(dd + "--json tabular train --data " + data + " --target label --id id --register churn");
  ASSERT_EQ(t.code, 0) << t.out;
  auto tj = nlohmann::json::parse(t.out);
  EXPECT_EQ(tj["version"], "v0001");
  EXPECT_GT(tj["metadata"]["metrics"]["validation"]["auc"].get<double>(), 0.95);
  EXPECT_EQ(tj["metadata"]["training_data"]["rows"], 600);

  const std::string in = d.Write("in.csv", "id,a,color\nx,90,green\ny,90,red\nz,,purple\n");
  CmdResult p = Exec(dd + "tabular predict --model churn --input " + in);
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_EQ(p.out.substr(0, p.out.find('\n')), "id,prediction,probability");
  EXPECT_NE(p.out.find("\nx,1,"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\ny,0,"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\nz,"), std::string::npos) << p.out;  // blank and unseen category still score

  CmdResult e = Exec("--json -q tabular evaluate --data " + data + " --target label --id id --folds 3");
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_EQ(nlohmann::json::parse(e.out)["per_fold"].size(), 3u);

  ASSERT_EQ(Exec(dd + "-q tabular train --data " + data + " --target label --id id --register churn").code, 0);
  EXPECT_EQ(Exec(dd + "models promote churn v0002").code, 0);
  auto shown = nlohmann::json::parse(Exec(dd + "models show churn").out);
  EXPECT_EQ(shown["version"], "v0002");
  EXPECT_EQ(Exec(dd + "models rollback churn").code, 0);
  EXPECT_EQ(nlohmann::json::parse(Exec(dd + "models show churn").out)["version"], "v0001");
  EXPECT_EQ(Exec(dd + "models delete churn v0001").code, 5);  // serving
  EXPECT_EQ(Exec(dd + "tabular train --data " + data + " --target nope --out " + d.file("m")).code, 2);

  // Tuning records its trials and keeps the best configuration.
  CmdResult tuned = Exec("--json -q tabular train --data " + data + " --target label --id id --tune 4 --out " +
                         d.file("tuned"));
  ASSERT_EQ(tuned.code, 0) << tuned.out;
  auto tj2 = nlohmann::json::parse(tuned.out)["metadata"]["metrics"];
  EXPECT_EQ(tj2["tuning"]["trials"].size(), 4u);
  double best = -1;
  for (const auto& trial : tj2["tuning"]["trials"]) best = std::max(best, trial["score"].get<double>());
  EXPECT_DOUBLE_EQ(tj2["tuning"]["best_score"].get<double>(), best);

  // Drift: the same file has none; a shifted one is caught on the shifted column only.
  std::string shifted = "id,a,color,label\n";
  for (int i = 0; i < 600; ++i) {
    shifted += "s" + std::to_string(i) + "," + std::to_string(50 + (i * 37) % 100) + "," +
               (i % 3 == 0 ? "red" : i % 3 == 1 ? "green" : "blue") + ",0\n";
  }
  const std::string cur = d.Write("cur.csv", shifted);
  auto drift = nlohmann::json::parse(
      Exec("--json tabular drift --reference " + data + " --current " + cur + " --target label --id id").out);
  ASSERT_EQ(drift["features"].size(), 2u);
  EXPECT_EQ(drift["features"][0]["feature"], "a");
  EXPECT_TRUE(drift["features"][0]["drifted"].get<bool>());
  EXPECT_FALSE(drift["features"][1]["drifted"].get<bool>());
  auto none = nlohmann::json::parse(
      Exec("--json tabular drift --reference " + data + " --current " + data + " --target label --id id").out);
  EXPECT_EQ(none["drifted_features"], 0);
}

}  // namespace
}  // namespace opspilot

namespace opspilot {
namespace {

TEST(CliTest, ForecastFileModeAndEvaluate) {
  testing::TempDir d;
  std::string csv = "series_id,timestamp,value\n";
  const int weekly[] = {10, 12, 11, 13, 20, 30, 25};
  for (int s = 0; s < 3; ++s) {
    for (int t = 0; t < 84; ++t) {
      csv += "item" + std::to_string(s) + "," + std::to_string(1735689600 + t * 86400) + "," +
             std::to_string(100 + weekly[t % 7] + (t * 7 + s) % 3) + "\n";
    }
  }
  const std::string in = d.Write("series.csv", csv);
  CmdResult f = Exec("forecast --input " + in + " --horizon 7 --model snaive");
  ASSERT_EQ(f.code, 0) << f.out;
  EXPECT_EQ(f.out.substr(0, f.out.find('\n')), "series_id,timestamp,mean,lo_80,hi_80,lo_95,hi_95,model");
  EXPECT_EQ(std::count(f.out.begin(), f.out.end(), '\n'), 1 + 3 * 7);
  // Seasonal naive repeats the last week: step 1 (day 84) takes day 77's value, 100 + 10 + (77 * 7) % 3 = 112.
  EXPECT_NE(f.out.find("item0,2025-03-26T00:00:00Z,112,"), std::string::npos) << f.out.substr(0, 300);
  CmdResult e = Exec("--json forecast --input " + in + " --horizon 7 evaluate --models naive,snaive");
  ASSERT_EQ(e.code, 0) << e.out;
  auto j = nlohmann::json::parse(e.out);
  EXPECT_LT(j["models"][1]["mase"].get<double>(), j["models"][0]["mase"].get<double>());
  EXPECT_EQ(Exec("forecast --input " + in + " --model magic").code, 2);
  // The global model runs in opspilot-nn, which opspilot re-runs itself as.
  CmdResult gl = Exec("forecast --input " + in + " --horizon 7 --model global");
  ASSERT_EQ(gl.code, 0) << gl.out;
  EXPECT_EQ(std::count(gl.out.begin(), gl.out.end(), '\n'), 1 + 3 * 7);
  EXPECT_NE(gl.out.find(",global: MLP on"), std::string::npos) << gl.out.substr(0, 300);
}

TEST(CliTest, AnomalyAndRiskFileModes) {
  testing::TempDir d;
  // A noisy daily cycle on 5-minute data with one planted spike at row 3000.
  std::string csv = "timestamp,value\n";
  uint64_t state = 7;
  auto noise = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;
  };
  for (int t = 0; t < 4000; ++t) {
    const double v = 100 + 20 * std::sin(2 * M_PI * t / 288) + 4 * noise() + (t == 3000 ? 80 : 0);
    csv += std::to_string(1700000000 + t * 300) + "," + std::to_string(v) + "\n";
  }
  const std::string in = d.Write("cpu.csv", csv);
  CmdResult s = Exec("anomaly score --input " + in);
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_EQ(s.out.substr(0, s.out.find('\n')), "series_id,timestamp,value,score,is_anomaly");
  EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 4001);
  CmdResult a = Exec("--json anomaly alerts --input " + in);
  ASSERT_EQ(a.code, 0) << a.out;
  auto alerts = nlohmann::json::parse(a.out);
  bool found = false;
  for (const auto& x : alerts) found |= x["peak_time"] == FormatTimestamp(1700000000 + 3000 * 300) && x["severity"] == "critical";
  EXPECT_TRUE(found) << a.out;
  // The severity levels are the user's: out of order they are refused (so the flags reach the alerter).
  EXPECT_EQ(Exec("anomaly alerts --input " + in + " --warning 0.95 --critical 0.9").code, 2);
  EXPECT_EQ(Exec("anomaly alerts --input " + in + " --warning 0.7 --critical 0.8").code, 0);
  EXPECT_EQ(Exec("anomaly score --input " + d.Write("bad.csv", "timestamp,value\n2025-01-01,x\n")).code, 2);

  // The same spike of 20 every 100 points on a flat line at 0: habituated by
  // default (no alarm from the 35th spike on), every other one alarms
  // without habituation (the rest fall in the cool-down).
  std::string flat = "timestamp,value\n";
  for (int t = 0; t < 7000; ++t) flat += std::to_string(1700000000 + t * 300) + (t >= 1000 && t % 100 == 0 ? ",20\n" : ",0\n");
  const std::string flat_in = d.Write("flat.csv", flat);
  auto late_alarms = [&](const std::string& flags) {
    CmdResult r = Exec("anomaly score --input " + flat_in + flags);
    EXPECT_EQ(r.code, 0) << r.out;
    std::istringstream lines(r.out);
    std::string line;
    int n = 0, row = -1;  // the header is row -1
    while (std::getline(lines, line)) {
      n += row >= 4400 && !line.empty() && line.back() == '1';
      ++row;
    }
    EXPECT_EQ(row, 7000);
    return n;
  };
  EXPECT_EQ(late_alarms(""), 0);
  EXPECT_GE(late_alarms(" --habituate-after 0"), 10);
  EXPECT_EQ(Exec("anomaly score --input " + flat_in + " --habituate-after -1").code, 2);

  // --state: a cron job over a growing export scores only the new rows, and
  // the spike is found although the file's first 2,500 rows were scored by
  // an earlier run. (A NAB-layout file's series is named after the file:
  // the export keeps its name as it grows.)
  const std::string grow = d.Write("grow.csv", csv.substr(0, csv.find(std::to_string(1700000000 + 2500 * 300))));
  const std::string state_dir = d.file("states");
  CmdResult first = Exec("anomaly score --input " + grow + " --state " + state_dir);
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_EQ(std::count(first.out.begin(), first.out.end(), '\n'), 1 + 2500);
  d.Write("grow.csv", csv);
  CmdResult next = Exec("anomaly score --input " + grow + " --state " + state_dir);
  ASSERT_EQ(next.code, 0) << next.out;
  EXPECT_EQ(std::count(next.out.begin(), next.out.end(), '\n'), 1 + 1500);
  std::istringstream rows_in(next.out);
  std::string line;
  std::getline(rows_in, line);  // the header
  std::getline(rows_in, line);
  EXPECT_EQ(line.rfind("grow," + FormatTimestamp(1700000000 + 2500 * 300) + ",", 0), 0u) << line;
  bool spike_flagged = false;
  while (std::getline(rows_in, line)) {
    spike_flagged |= line.find(FormatTimestamp(1700000000 + 3000 * 300)) != std::string::npos && line.back() == '1';
  }
  EXPECT_TRUE(spike_flagged) << next.out.substr(0, 400);
  CmdResult again = Exec("anomaly score --input " + grow + " --state " + state_dir);
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(again.out, "series_id,timestamp,value,score,is_anomaly\n");  // nothing new
  CmdResult changed = Exec("anomaly score --input " + grow + " --state " + state_dir + " --detector seasonal", "", "2>&1 >/dev/null");
  EXPECT_EQ(changed.code, 2);
  EXPECT_NE(changed.out.find("was saved with detector 'ensemble', not 'seasonal'"), std::string::npos) << changed.out;
  CmdResult engine = Exec("anomaly alerts --state " + state_dir, "", "2>&1 >/dev/null");
  EXPECT_EQ(engine.code, 2);
  EXPECT_NE(engine.out.find("--state is for file mode"), std::string::npos) << engine.out;
  // A run that fails moves no state: here the file is out of time order (so
  // each series is scored whole, in parallel) and one series was saved with
  // other settings. The new series "b" is scored and its state written as
  // pending, "a" fails: "b" must not be saved and "a" must stay as it was.
  const std::string ab_dir = d.file("ab-states");
  std::string ab = "series_id,timestamp,value\n";
  for (int t = 0; t < 1000; ++t) ab += "a," + std::to_string(1700000000 + t * 300) + "," + std::to_string(50 + t % 7) + "\n";
  ASSERT_EQ(Exec("anomaly score --input " + d.Write("ab.csv", ab) + " --state " + ab_dir + " --detector seasonal").code, 0);
  const std::string a_state = ab_dir + "/x61.state";  // "a" in hex
  ASSERT_TRUE(std::filesystem::exists(a_state));
  std::ifstream a_in(a_state, std::ios::binary);
  const std::string a_before((std::istreambuf_iterator<char>(a_in)), std::istreambuf_iterator<char>());
  for (int t = 1200; t-- > 0;) ab += "b," + std::to_string(1700000000 + t * 300) + "," + std::to_string(70 + t % 5) + "\n";
  for (int t = 1000; t < 1200; ++t) ab += "a," + std::to_string(1700000000 + t * 300) + "," + std::to_string(50 + t % 7) + "\n";
  CmdResult failed = Exec("anomaly score --input " + d.Write("ab.csv", ab) + " --state " + ab_dir, "", "2>&1 >/dev/null");
  EXPECT_EQ(failed.code, 2);
  EXPECT_NE(failed.out.find("was saved with detector 'seasonal', not 'ensemble'"), std::string::npos) << failed.out;
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(ab_dir)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"x61.state"});  // no state for "b", nothing pending
  std::ifstream a_after_in(a_state, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(a_after_in)), std::istreambuf_iterator<char>()), a_before);

  // Transactions: 20 planted frauds (huge amounts, brand-new accounts) among 2,000.
  std::string tx = "order_id,amount,items,account_age_days,card,ts\n";
  for (int i = 0; i < 2000; ++i) {
    const bool fraud = i % 100 == 0;
    const double amount = fraud ? 900 + 500 * (noise() + 0.5) : 30 + 20 * (noise() + 0.5);
    tx += "o" + std::to_string(i) + "," + std::to_string(amount) + "," + (fraud ? "7" : std::to_string(1 + i % 3)) + "," +
          (fraud ? "0" : std::to_string(30 + i % 700)) + ",c" + std::to_string(fraud ? 999 : i % 50) + "," +
          std::to_string(fraud ? 1735689600 + 30000 + i : 1735689600 + i * 10) + "\n";
  }
  const std::string txf = d.Write("tx.csv", tx);
  CmdResult r = Exec("--json risk score --input " + txf + " --id order_id --time-col ts --velocity card:3600:10");
  ASSERT_EQ(r.code, 0) << r.out;
  auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 2000u);
  int flagged_fraud = 0, flagged_other = 0;
  for (const auto& row : rows) {
    const bool fraud = std::stoi(row["id"].get<std::string>().substr(1)) % 100 == 0;
    if (row["flagged"].get<bool>()) (fraud ? flagged_fraud : flagged_other)++;
  }
  EXPECT_EQ(flagged_fraud, 20);
  EXPECT_LT(flagged_other, 20);
  // Card c999 is used 20 times within 2,000 s (other cards 7 times an hour): the velocity rule fires on it.
  bool velocity = false;
  for (const auto& row : rows) {
    for (const auto& h : row["rules"]) velocity |= h["rule"] == "card_velocity";
  }
  EXPECT_TRUE(velocity);
  EXPECT_EQ(Exec("risk score --input " + txf + " --velocity card:1:1").code, 2);

  // A blocklist of cards: every row paid with c7 (an ordinary card, 40 rows) carries the rule and is flagged.
  const std::string cards = d.Write("cards.txt", "# reported stolen\nc7\n");
  r = Exec("--json risk score --input " + txf + " --id order_id --blocklist card:" + cards);
  ASSERT_EQ(r.code, 0) << r.out;
  rows = nlohmann::json::parse(r.out);
  int listed = 0;
  for (const auto& row : rows) {
    const int i = std::stoi(row["id"].get<std::string>().substr(1));
    const bool c7 = i % 100 != 0 && i % 50 == 7;
    const bool hit = !row["rules"].empty() && row["rules"][0]["rule"] == "card_blocklist";
    EXPECT_EQ(hit, c7) << row.dump();
    if (c7) {
      EXPECT_TRUE(row["flagged"].get<bool>()) << row.dump();
    }
    listed += hit;
  }
  EXPECT_EQ(listed, 40);
  EXPECT_EQ(Exec("risk score --input " + txf + " --blocklist card").code, 2);
  EXPECT_EQ(Exec("risk score --input " + txf + " --blocklist cvv:" + cards).code, 2);
  EXPECT_NE(Exec("risk score --input " + txf + " --blocklist card:" + d.file("none.txt")).code, 0);
  // Flags of the other mode are refused, not ignored.
  EXPECT_EQ(Exec("risk score --input " + txf + " --top 5").code, 2);
  EXPECT_EQ(Exec("risk score --input " + txf + " --velocity card:3600:x --time-col ts").code, 2);
}

// Rows the readers cannot take as they are: an unquoted comma (one field too
// many), a repeated header name, a stray word in a column of numbers, a
// --drop of a column that is not there. Each exits 2 and names the file, line
// and field (stderr), instead of cutting, shifting or re-typing the data.
TEST(CliTest, BadRowsAreReportedNotGuessed) {
  testing::TempDir d;
  auto expect = [&](const std::string& args, const std::string& message) {
    const auto [code, text] = Exec(args, "", "2>&1 >/dev/null");  // stderr only
    EXPECT_EQ(code, 2) << args << "\n" << text;
    EXPECT_NE(text.find(message), std::string::npos) << args << "\n" << text;
  };
  std::string series = "timestamp,value\n";
  for (int t = 0; t < 40; ++t) series += std::to_string(1700000000 + t * 3600) + "," + std::to_string(10 + t % 5) + "\n";
  const std::string extra = d.Write("extra.csv", series + std::to_string(1700000000 + 40 * 3600) + ",1,5\n");
  expect("anomaly score --input " + extra, "extra.csv:42: expected 2 fields (as the header), found 3");
  expect("forecast --input " + extra + " --horizon 3 --model naive", "extra.csv:42: expected 2 fields");
  const std::string twice = d.Write("twice.csv", "timestamp,value,value\n1700000000,1,2\n");
  expect("anomaly score --input " + twice, "twice.csv:1: column 'value' appears twice");
  expect("forecast --input " + twice + " --horizon 3 --model naive", "twice.csv:1: column 'value' appears twice");
  // A long-format file whose last series is too short: nothing is written, and the error names the file and series.
  std::string two = "series_id,timestamp,value\n";
  for (int t = 0; t < 30; ++t) two += "a," + std::to_string(1700000000 + t * 86400) + ",5\n";
  const std::string short_in = d.Write("short.csv", two + "z,1700000000,5\n");
  expect("forecast --input " + short_in + " --horizon 3 --model naive", "short.csv: series 'z' needs at least 2 points");
  EXPECT_EQ(Exec("forecast --input " + short_in + " --horizon 3 --model naive").out, "");
  const std::string texts = d.Write("texts.csv", "id,text,label\na,i want my money back,refund\nb,i want, my money back,refund\n");
  expect("text train --model linear --out " + d.file("m") + " --data " + texts, "texts.csv:3: expected 3 fields (as the header), found 4");
  expect("text train --model linear --out " + d.file("m") + " --data " + d.Write("dup.csv", "id,text,label,label\na,hi,x,y\n"),
         "dup.csv:1: column 'label' appears twice");
  // A header and no rows is an error, not an empty answer.
  expect("anomaly score --input " + d.Write("empty.csv", "timestamp,value\n"), "empty.csv: no rows after the header");
  expect("forecast --input " + d.file("empty.csv") + " --horizon 3 --model naive", "empty.csv: no rows after the header");
  expect("text train --model linear --out " + d.file("m1") + " --data " + d.Write("one.csv", "text,label\nhi,a\nbye,a\n"),
         "one.csv: every row has the label 'a'");
  // An --out that is a file is refused before any training.
  expect("text train --model linear --out " + extra + " --data " + d.Write("ok.csv", "text,label\nhi,a\nbye,b\n"),
         "extra.csv exists and is not a directory");
  std::string tx = "id,amount,items,channel\n";
  for (int i = 0; i < 200; ++i) {
    tx += "t" + std::to_string(i) + "," + (i == 77 ? std::string("abc") : std::to_string(10 + i % 9)) + "," +
          std::to_string(1 + i % 4) + ",web\n";
  }
  const std::string txf = d.Write("tx.csv", tx);
  expect("risk score --input " + txf + " --id id", "tx.csv:79: field 'amount': 'abc' is not a finite number");
  expect("risk score --input " + txf + " --id id --drop amount --drop cvv", "tx.csv:1: no column 'cvv' to drop");
  EXPECT_EQ(Exec("risk score --input " + txf + " --id id --drop amount").code, 0);  // dropping the dirty column is a way out
  std::string labelled = "id,items,is_fraud\n";
  for (int i = 0; i < 60; ++i) labelled += "t" + std::to_string(i) + "," + std::to_string(1 + i % 4) + "," + (i == 7 ? "yes" : i % 10 ? "0" : "1") + "\n";
  expect("risk score --input " + d.Write("labelled.csv", labelled) + " --id id --label is_fraud",
         "field 'is_fraud': a binary target needs two values, found 3 ('0', '1', 'yes')");
}

TEST(CliTest, EngineModeForecastInventoryAnomaliesAndRisk) {
  testing::TempDir d;
  const std::string base = "--data-dir " + d.file("data") + " -q ";
  // Item a sells 10 a day on weekdays and 30 on weekends for 8 weeks; stock 40, lead time 7.
  std::string items = "item_id,category,price\na,tea,12\n", orders = "order_id,item_id,quantity,unit_price,timestamp\n";
  for (int day = 0; day < 56; ++day) {
    const int64_t t = 1735689600 + day * 86400 + 3600;
    const int wd = static_cast<int>((t / 86400 + 3) % 7);
    orders += "o" + std::to_string(day) + ",a," + std::to_string(wd >= 5 ? 30 : 10) + ",5," + std::to_string(t) + "\n";
  }
  std::string metrics = "name,timestamp,value\n";
  for (int day = 0; day < 80; ++day) {
    metrics += "sessions," + std::to_string(1735689600 + day * 86400) + "," +
               std::to_string(1000 + 10 * ((day * 37) % 11) + (day == 60 ? 800 : 0)) + "\n";
  }
  ASSERT_EQ(Exec(base + "ingest items " + d.Write("items.csv", items)).code, 0);
  ASSERT_EQ(Exec(base + "ingest orders " + d.Write("orders.csv", orders)).code, 0);
  ASSERT_EQ(Exec(base + "ingest inventory " +
                 d.Write("inv.csv", "item_id,date,on_hand,on_order,lead_time_days,unit_cost\na,2025-02-25,40,0,7,4\n"))
                .code,
            0);
  ASSERT_EQ(Exec(base + "ingest metrics " + d.Write("metrics.csv", metrics)).code, 0);
  // Forecast from the store: 7 daily rows of the weekly pattern.
  CmdResult f = Exec(base + "forecast --by total --horizon 7 --model snaive");
  ASSERT_EQ(f.code, 0) << f.out;
  EXPECT_EQ(std::count(f.out.begin(), f.out.end(), '\n'), 8);
  EXPECT_NE(f.out.find("total,"), std::string::npos);
  // The reorder table as CSV, and the alert for the coming stock-out.
  CmdResult plan = Exec(base + "inventory plan --csv --model snaive");
  ASSERT_EQ(plan.code, 0) << plan.out;
  EXPECT_EQ(plan.out.substr(0, plan.out.find(',')), "item_id");
  EXPECT_NE(plan.out.find("\na,tea,2025-02-25,40.00,0.00,7.00,"), std::string::npos) << plan.out;
  CmdResult alerts = Exec(base + "--json inventory alerts --model snaive");
  ASSERT_EQ(alerts.code, 0) << alerts.out;
  auto aj = nlohmann::json::parse(alerts.out);
  ASSERT_EQ(aj.size(), 1u);
  EXPECT_TRUE(aj[0]["stockout_within_lead_time"].get<bool>());
  EXPECT_NEAR(aj[0]["newsvendor_quantity"].get<double>(), aj[0]["lead_time_demand"].get<double>(), 100);
  // Metric anomalies from the store: the planted spike on day 60.
  CmdResult an = Exec(base + "--json anomaly alerts");
  ASSERT_EQ(an.code, 0) << an.out;
  auto anj = nlohmann::json::parse(an.out);
  ASSERT_EQ(anj.size(), 1u) << an.out;
  EXPECT_EQ(anj[0]["peak_time"], FormatTimestamp(1735689600 + 60 * 86400));
  EXPECT_EQ(Exec(base + "anomaly score").code, 2);  // score needs a file
  EXPECT_EQ(Exec(base + "anomaly alerts --value-col v").code, 2);  // a file-mode flag in engine mode
  EXPECT_EQ(Exec(base + "anomaly alerts --weight conversion_rate").code, 2);
  an = Exec(base + "--json anomaly alerts --metrics orders");  // only a metric that is not there: nothing
  ASSERT_EQ(an.code, 0) << an.out;
  EXPECT_EQ(nlohmann::json::parse(an.out).size(), 0u) << an.out;
  EXPECT_EQ(Exec(base + "anomaly alerts --segments all --input " + d.Write("m.csv", "timestamp,value\n1,2\n")).code, 2);
  // Order risk from the store.
  CmdResult risk = Exec(base + "--json risk score --top 3");
  ASSERT_EQ(risk.code, 0) << risk.out;
  EXPECT_TRUE(nlohmann::json::parse(risk.out).contains("orders"));
  // Engine mode takes velocity rules on order attributes (item_id: 56 lines of item a
  // within 60 days, at most 50): the six latest carry the rule; file-mode flags are refused.
  risk = Exec(base + "--json risk score --top 0 --threshold 0 --velocity item_id:5184000:50");
  ASSERT_EQ(risk.code, 0) << risk.out;
  int velocity = 0;
  const nlohmann::json scored = nlohmann::json::parse(risk.out);
  ASSERT_EQ(scored["orders"].size(), 56u);
  for (const auto& o : scored["orders"]) velocity += !o["rules"].empty();
  EXPECT_EQ(velocity, 6) << risk.out.substr(0, 1500);
  EXPECT_EQ(Exec(base + "risk score --label is_fraud").code, 2);
}

TEST(CliTest, RecommendFileModeTrainPredictEvaluate) {
  testing::TempDir d;
  // MovieLens u.data layout with planted taste: users of genre g rate items i % 5 == g.
  std::string udata, items = "item_id,title,category,in_stock\n";
  for (int u = 0; u < 120; ++u) {
    for (int k = 0; k < 6; ++k) {
      const int item = (u % 5) + 5 * ((u * 7 + k * 5) % 12);
      udata += std::to_string(u) + "\t" + std::to_string(item) + "\t" + (k % 4 == 0 ? "2" : "4") + "\t" +
               std::to_string(880000000 + u * 100 + k) + "\n";
    }
  }
  for (int i = 0; i < 60; ++i) {
    items += std::to_string(i) + ",Item " + std::to_string(i) + ",g" + std::to_string(i % 5) + "," + (i == 7 ? "0" : "1") + "\n";
  }
  const std::string data = d.Write("u.data", udata);
  const std::string cat = d.Write("items.csv", items);
  const std::string model = d.file("model");
  CmdResult r = Exec("-q recommend train --interactions " + data + " --items " + cat +
                     " --min-value 3 --model ease --params '{\"lambda\": 10}' --out " + model);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::filesystem::exists(model + "/model.json"));
  const std::string users = d.Write("users.csv", "user_id\n2\n3\n");
  r = Exec("recommend predict --model " + model + " --users " + users + " -k 4 --reasons");
  ASSERT_EQ(r.code, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "user_id,rank,item_id,score,source,reason");
  int rows = 0;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    ASSERT_GE(fields.size(), 6u) << line;
    const int user = std::stoi(fields[0]), item = std::stoi(fields[2]);
    EXPECT_EQ(item % 5, user % 5) << "planted taste: " << line;
    EXPECT_NE(item, 7) << "out of stock";
    ++rows;
  }
  EXPECT_EQ(rows, 8);
  r = Exec("--json recommend evaluate --interactions " + data + " --min-value 3 --model popular,ease --protocol random");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["results"][1]["metrics"]["recall@10"].get<double>(), 2 * j["results"][0]["metrics"]["recall@10"].get<double>());
  // A published split in the LightGCN/RecBole layout: "user item item ..." per line.
  std::string train_lines, test_lines;
  for (int u = 0; u < 100; ++u) {
    train_lines += std::to_string(u);
    test_lines += std::to_string(u);
    for (int k = 0; k < 8; ++k) {
      (k < 6 ? train_lines : test_lines) += " " + std::to_string(u % 4 + 4 * ((u * 7 + k * 3) % 10));
    }
    train_lines += "\n";
    test_lines += "\n";
  }
  const std::string train_file = d.Write("train.txt", train_lines), test_file = d.Write("test.txt", test_lines);
  r = Exec("--json recommend evaluate --interactions " + train_file + " --test " + test_file + " --model popular,userknn");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto given = nlohmann::json::parse(r.out);
  EXPECT_EQ(given["protocol"], "given split (" + test_file + ")");
  EXPECT_GT(given["results"][1]["metrics"]["recall@10"].get<double>(), 0.9);
  EXPECT_LT(given["results"][0]["metrics"]["recall@10"].get<double>(), 0.5);
  // Bad input: file, line and field; usage errors.
  const std::string bad = d.Write("bad.csv", "user_id,item_id,timestamp\nu1,i1,2024-01-01\nu1,i2,soon\n");
  r = Exec("--json recommend train --interactions " + bad + " --out " + d.file("m2"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.csv:3: field 'timestamp'"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(d.file("m2")));
  EXPECT_NE(Exec("recommend train --interactions " + data + " --model nope --out " + d.file("m3")).code, 0);
  EXPECT_NE(Exec("recommend predict --model " + d.file("none") + " --all").code, 0);
}

// Engine-mode support: tickets with planted intents and sentiments are
// learned (training runs in opspilot-nn), then the plain binary answers with
// the fasttext model it loads without libtorch.
TEST(CliTest, SupportTrainsOnStoreTicketsAndAnswersFromTheStore) {
  testing::TempDir d;
  struct Intent {
    const char* label;
    std::vector<const char*> texts;
  };
  const std::vector<Intent> intents = {
      {"order_status", {"where is my order {o}", "has order {o} shipped yet", "我的订单{o}到哪了", "订单{o}什么时候发货"}},
      {"refund", {"i want a refund for order {o}", "please refund order {o}", "订单{o}我要退款", "{o}申请退款"}},
      {"invoice", {"please send an invoice for {o}", "i need the invoice of order {o}", "订单{o}开发票", "{o}的发票怎么开"}},
      {"coupon", {"my coupon code does not apply", "how do i use a coupon", "优惠券用不了", "怎么使用优惠券"}},
  };
  const std::vector<std::pair<const char*, const char*>> moods = {
      {"", "neutral"}, {" thanks a lot, great service", "positive"}, {" this is terrible and i am angry", "negative"},
      {" 谢谢，非常满意", "positive"}, {" 太差了，很生气", "negative"}};
  std::string tickets = "ticket_id,user_id,timestamp,text,intent,sentiment\n";
  uint64_t seed = 7;
  auto next = [&] { return seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, seed >> 33; };
  std::map<std::string, std::string> truth;
  for (int k = 0; k < 600; ++k) {
    const Intent& in = intents[next() % intents.size()];
    std::string t = in.texts[next() % in.texts.size()];
    const std::string order = "O" + std::to_string(20250000 + next() % 9999);
    if (const auto at = t.find("{o}"); at != std::string::npos) t.replace(at, 3, order);
    const auto& mood = moods[next() % moods.size()];
    t += mood.first;
    const std::string id = "t" + std::to_string(k);
    truth[id] = in.label;
    tickets += id + ",u" + std::to_string(k % 200) + ",2025-03-" + std::to_string(10 + k % 18) + "T10:00:00Z,\"" + t + "\"," +
               in.label + "," + mood.second + "\n";
  }
  const std::string base = "--data-dir " + d.file("data") + " ";
  ASSERT_EQ(Exec(base + "-q ingest items " + d.Write("items.csv", "item_id,title\ni1,西湖龙井 Longjing green tea 250g\n")).code, 0);
  ASSERT_EQ(Exec(base + "-q ingest orders " + d.Write("orders.csv", "order_id,user_id,item_id,quantity,unit_price,timestamp,status\n"
                                                                      "O20257777,u1,i1,1,128,2025-03-01T08:00:00Z,shipped\n")).code, 0);
  ASSERT_EQ(Exec(base + "-q ingest tickets " + d.Write("tickets.csv", tickets)).code, 0);
  const std::string faq = d.Write("faq.csv", "id,question,answer\nship,How much is shipping?,Free above 99 yuan.\n");
  CmdResult r = Exec(base + "--threads 2 --json support train --faq " + faq, "OMP_WAIT_POLICY=PASSIVE");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["intent_model"], "fasttext");
  EXPECT_EQ(j["sentiment_model"], "fasttext");
  EXPECT_EQ(j["faq_entries"], 1);

  // A known order: the template quotes the store's status and items.
  r = Exec(base + "--json support reply \"where is my order O20257777\"");
  ASSERT_EQ(r.code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["analysis"]["intent"], "order_status") << r.out;
  EXPECT_EQ(j["source"], "template") << r.out;
  EXPECT_NE(j["reply"].get<std::string>().find("on its way"), std::string::npos) << r.out;
  EXPECT_NE(j["reply"].get<std::string>().find("Longjing"), std::string::npos) << r.out;
  // A conversation in Chinese: the number comes second, the state is kept on disk.
  r = Exec(base + "--json support reply \"我要退款\" --conversation c1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["source"], "clarify") << r.out;
  r = Exec(base + "--json support reply \"O20257777\" --conversation c1");
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["intent"], "refund") << r.out;
  EXPECT_EQ(j["language"], "zh") << r.out;
  EXPECT_EQ(j["conversation"]["turns"].size(), 4u);
  r = Exec(base + "--json support reply \"how much is shipping\"");
  EXPECT_EQ(nlohmann::json::parse(r.out)["faq_id"], "ship") << r.out;
  r = Exec(base + "--json support reply \"转人工\"");
  EXPECT_TRUE(nlohmann::json::parse(r.out)["handoff"].get<bool>()) << r.out;
  // A known customer's first message is answered (no earlier tickets in the last week) ...
  r = Exec(base + "--json support reply --user u5 \"where is my order O20257777\"");
  EXPECT_FALSE(nlohmann::json::parse(r.out)["handoff"].get<bool>()) << r.out;

  // Every ticket classified: the planted intents come back.
  r = Exec(base + "support classify");
  ASSERT_EQ(r.code, 0);
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "ticket_id,intent,confidence,sentiment,sentiment_score,language,entities");
  int rows = 0, right = 0;
  while (std::getline(lines, line)) {
    const auto comma = line.find(',');
    ++rows;
    right += line.compare(comma + 1, truth[line.substr(0, comma)].size() + 1, truth[line.substr(0, comma)] + ",") == 0;
  }
  EXPECT_EQ(rows, 600);
  EXPECT_GT(right, 570);
  // ... and handed off once the policy says one contact is already too many (--repeat-contacts 1).
  r = Exec(base + "--threads 2 --json support train --repeat-contacts 1 --faq " + faq, "OMP_WAIT_POLICY=PASSIVE");
  ASSERT_EQ(r.code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(Exec(base + "models promote " + j["task"].get<std::string>() + " " + j["version"].get<std::string>()).code, 0);
  r = Exec(base + "--json support reply --user u5 \"where is my order O20257777\"");
  j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["handoff"].get<bool>()) << r.out;
  EXPECT_NE(j["handoff_reason"].get<std::string>().find("repeated contact"), std::string::npos) << r.out;
  EXPECT_EQ(Exec(base + "support train --negative-score 0.5").code, 2);
  r = Exec(base + "--json support analytics");
  ASSERT_EQ(r.code, 0);
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tickets"], 600);
  std::set<std::string> topics;
  for (const auto& t : j["complaint_topics"]) topics.insert(t["term"].get<std::string>());
  EXPECT_TRUE(topics.count("terrible") || topics.count("angry") || topics.count("生气")) << j["complaint_topics"].dump();

  // The subword model reaches the cnn: a unigram tokenizer is saved with it.
  EXPECT_EQ(Exec(base + "--json support train --tokenizer wordpiece").code, 2);  // a usage error
  r = Exec(base + "--threads 2 --json support train --model cnn --tokenizer unigram --epochs 2", "OMP_WAIT_POLICY=PASSIVE");
  ASSERT_EQ(r.code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["intent_model"], "cnn");
  int unigram = 0, bpe = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(j["dir"].get<std::string>())) {
    if (e.path().filename() != "tokenizer.json") continue;
    const std::string text = testing::ReadFile(e.path().string());
    unigram += text.find("opspilot-unigram-1") != std::string::npos;
    bpe += text.find("opspilot-bpe") != std::string::npos;
  }
  EXPECT_GE(unigram, 1);
  EXPECT_EQ(bpe, 0);
}

// `text tokenize`: BERT's pieces under a vocab.txt, one line a text, in
// the plain opspilot binary; a vocab without [PAD] first is refused.
TEST(CliTest, TextTokenizePrintsWordPiecesPerText) {
  testing::TempDir d;
  const std::string vocab = d.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##want\n##ed\nrunn\n##ing\n退\n款\n!\n");
  const std::string texts = d.Write("texts.txt", "Unwanted RUNNING!\n我要退款\n\nrunning\n");
  CmdResult r = Exec("text tokenize --vocab " + vocab + " --input " + texts);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "un ##want ##ed runn ##ing !\n[UNK] [UNK] 退 款\nrunn ##ing\n");
  r = Exec("--json text tokenize --vocab " + vocab + " --input " + texts);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), R"(["un","##want","##ed","runn","##ing","!"])");
  const std::string bad = d.Write("bad.txt", "[UNK]\n[PAD]\n[CLS]\n[SEP]\n");
  EXPECT_NE(Exec("text tokenize --vocab " + bad + " --input " + texts).code, 0);
}


// `text predict` streams its input in batches: 20,000 rows (three batches)
// with planted intents come back in order with their ids and labels, from a
// linear model trained by the same binary. A bad row at the end is reported
// (file, line, field) before anything is written.
TEST(CliTest, TextPredictStreamsBatchesAndChecksTheFileFirst) {
  testing::TempDir d;
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"refund", {"i want my money back for", "please refund", "refund the charge on"}},
      {"track", {"where is my parcel", "track the package", "has my shipment left with"}},
      {"cancel", {"cancel my order", "stop the order now", "please cancel the purchase of"}}};
  const std::vector<std::string> things = {"shoes", "the lamp", "a phone case", "tea", "my jacket", "the desk"};
  std::string train = "text,label\n";
  for (int k = 0; k < 180; ++k) {
    const auto& [label, texts] = intents[k % 3];
    train += texts[(k / 3) % texts.size()] + " " + things[k % things.size()] + "," + label + "\n";
  }
  CmdResult r = Exec("-q text train --data " + d.Write("train.csv", train) + " --model linear --out " + d.file("m"),
                     "OMP_WAIT_POLICY=PASSIVE");
  ASSERT_EQ(r.code, 0) << r.out;
  std::string input = "id,text\n";
  std::vector<std::string> truth;
  for (int k = 0; k < 20000; ++k) {
    const auto& [label, texts] = intents[(k * 7) % 3];
    input += "q" + std::to_string(k) + "," + texts[k % texts.size()] + " " + things[(k / 3) % things.size()] + "\n";
    truth.push_back(label);
  }
  r = Exec("text predict --model " + d.file("m") + " --input " + d.Write("in.csv", input));
  ASSERT_EQ(r.code, 0);
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "id,label,confidence");
  int n = 0, right = 0;
  while (std::getline(lines, line)) {
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    ASSERT_LT(n, 20000);
    EXPECT_EQ(line.substr(0, c1), "q" + std::to_string(n));
    right += line.substr(c1 + 1, c2 - c1 - 1) == truth[static_cast<size_t>(n)];
    ++n;
  }
  EXPECT_EQ(n, 20000);
  EXPECT_EQ(right, 20000);
  r = Exec("text predict --model " + d.file("m") + " --input " + d.Write("bad.csv", input + "\"never closed\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace opspilot
