// The opspilot binary as a user runs it: exit codes, --json, env and config.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "testing/temp_dir.h"

namespace opspilot {
namespace {

struct CmdResult {
  int code;
  std::string out;
};

CmdResult Exec(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + std::string(OPSPILOT_BIN) + " " + args + " 2>/dev/null";
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
