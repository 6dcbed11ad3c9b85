#include "ml/registry.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace opspilot::ml {
namespace {

Status WriteWeights(const std::string& dir, const std::string& content) {
  std::ofstream(dir + "/weights.bin") << content;
  return Status::Ok();
}

TEST(RegistryTest, RegisterPromoteRollbackDelete) {
  testing::TempDir d;
  Context ctx;
  ModelRegistry reg(d.file("models"));
  auto v1 = reg.Register(ctx, "churn", {{"algorithm", "gbm"}, {"metrics", {{"auc", 0.8}}}},
                         [](const std::string& dir) { return WriteWeights(dir, "one"); });
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, "v0001");
  EXPECT_TRUE(v1->serving);  // the first version serves
  EXPECT_EQ(v1->metadata["task"], "churn");
  EXPECT_EQ(v1->metadata["code_version"], kCodeVersion);
  EXPECT_TRUE(v1->metadata.contains("created_at"));
  auto v2 = reg.Register(ctx, "churn", {{"algorithm", "gbm"}}, [](const std::string& dir) { return WriteWeights(dir, "two"); });
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, "v0002");
  EXPECT_FALSE(v2->serving);
  EXPECT_EQ(reg.Serving("churn")->version, "v0001");
  ASSERT_TRUE(reg.Promote("churn", "v0002").ok());
  EXPECT_EQ(reg.Serving("churn")->version, "v0002");
  EXPECT_EQ(testing::ReadFile(reg.Serving("churn")->dir + "/weights.bin"), "two");
  EXPECT_EQ(reg.Delete("churn", "v0002").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*reg.Rollback("churn"), "v0001");
  EXPECT_EQ(reg.Serving("churn")->version, "v0001");
  EXPECT_EQ(reg.Rollback("churn").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(reg.Delete("churn", "v0002").ok());
  EXPECT_EQ(reg.List("churn")->size(), 1u);
  EXPECT_EQ(*reg.Tasks(), (std::vector<std::string>{"churn"}));
  EXPECT_EQ(reg.Show("churn", "v0009").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(reg.Register(ctx, "../evil", {}, [](const std::string&) { return Status::Ok(); }).ok());
  // A failing writer leaves nothing behind.
  auto bad = reg.Register(ctx, "churn", {}, [](const std::string&) { return Internal("disk full"); });
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(reg.List("churn")->size(), 1u);
}

TEST(RegistryTest, AKilledWriterNeverLeavesAHalfVersion) {
  testing::TempDir d;
  const std::string root = d.file("models");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Context ctx;
    ModelRegistry reg(root);
    const std::string big(4 << 20, 'w');
    for (;;) {
      auto r = reg.Register(ctx, "t", {{"size", big.size()}}, [&](const std::string& dir) { return WriteWeights(dir, big); });
      if (!r.ok()) _exit(3);
    }
  }
  // Let it write several versions, then kill it mid-write.
  for (int i = 0; i < 2000; ++i) {
    std::error_code ec;
    if (std::filesystem::exists(root + "/t/v0004", ec)) break;
    usleep(2000);
  }
  usleep(7000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  Context ctx;
  ModelRegistry reg(root);
  auto list = reg.List("t");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_GE(list->size(), 4u);
  for (const auto& m : *list) {
    EXPECT_EQ(std::filesystem::file_size(m.dir + "/weights.bin"), static_cast<uintmax_t>(4 << 20)) << m.version;
  }
  // The registry keeps working: the next version follows the last complete one.
  auto next = reg.Register(ctx, "t", {}, [](const std::string& dir) { return WriteWeights(dir, "x"); });
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(std::stoi(next->version.substr(1)), std::stoi(list->back().version.substr(1)) + 1);
}

}  // namespace
}  // namespace opspilot::ml
