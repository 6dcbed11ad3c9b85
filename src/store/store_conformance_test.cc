// The Store conformance suite: every backend must pass all of it. A new
// backend adds one entry to kBackends (PostgreSQL will start a throwaway
// server on loopback in its factory).
#include <gtest/gtest.h>

#include <functional>

#include "store/migrations.h"
#include "store/store.h"
#include "testing/temp_dir.h"

namespace opspilot {
namespace {

struct Backend {
  std::string name;
  std::function<StatusOr<std::unique_ptr<Store>>(const std::string& dir)> open;
};

const std::vector<Backend>& Backends() {
  static const auto* const kBackends = new std::vector<Backend>{
      {"sqlite", [](const std::string& dir) { return OpenSqliteStore(dir + "/store.db"); }},
  };
  return *kBackends;
}

class StoreConformanceTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override { store_ = Open(); }
  std::unique_ptr<Store> Open() {
    auto s = Backends()[GetParam()].open(dir_.path());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }

  static RowBatch Events(const std::vector<std::tuple<std::string, std::string, int64_t, double>>& rows) {
    RowBatch b;
    b.schema = &GetSchema(Entity::kEvents);
    for (const auto& [id, user, ts, value] : rows) {
      b.values.push_back(Value::Text(id));
      b.values.push_back(Value::Text(user));
      b.values.push_back(Value::Text("view"));
      b.values.push_back(Value::Text("i1"));
      b.values.push_back(Value::Int(ts));
      b.values.push_back(Value::Null());
      b.values.push_back(Value::Real(value));
      b.values.push_back(Value::Text("{\"k\":\"v\"}"));
      b.lines.push_back(static_cast<int64_t>(b.lines.size()) + 1);
    }
    return b;
  }

  std::vector<std::string> ScanIds(const std::string& tenant) {
    std::vector<std::string> ids;
    ScanRequest req;
    req.tenant = tenant;
    req.entity = Entity::kEvents;
    req.columns = {"event_id"};
    req.ordered = true;
    EXPECT_TRUE(store_->Scan(req, [&](const RowView& r) {
      ids.emplace_back(r.Text(0));
      return Status::Ok();
    }).ok());
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, SchemaIsMigratedAndMatchesEveryEntitySchema) {
  EXPECT_EQ(store_->SchemaVersion(), Migrations().back().version);
  for (Entity e : AllEntities()) {
    ScanRequest req;
    req.entity = e;  // all schema columns: fails if the migration lacks one
    int rows = 0;
    Status st = store_->Scan(req, [&](const RowView&) {
      ++rows;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << EntityName(e) << ": " << st.ToString();
    EXPECT_EQ(rows, 0);
  }
  // Reopening an up-to-date store migrates nothing and keeps the version.
  store_.reset();
  store_ = Open();
  EXPECT_EQ(store_->SchemaVersion(), Migrations().back().version);
}

TEST_P(StoreConformanceTest, UpsertIsIdempotentAndLastWriteWins) {
  RowBatch b = Events({{"e1", "u1", 100, 1.0}, {"e2", "u1", 200, 2.0}, {"e3", "u2", 300, 3.0}});
  ASSERT_TRUE(store_->Upsert("t", b).ok());
  ASSERT_TRUE(store_->Upsert("t", b).ok());
  EXPECT_EQ(store_->Stats("t", Entity::kEvents)->rows, 3);
  ASSERT_TRUE(store_->Upsert("t", Events({{"e2", "u9", 250, 9.5}})).ok());
  EXPECT_EQ(store_->Stats("t", Entity::kEvents)->rows, 3);
  ScanRequest req;
  req.tenant = "t";
  req.entity = Entity::kEvents;
  req.columns = {"event_id", "user_id", "timestamp", "value", "session_id", "properties"};
  req.ordered = true;
  std::vector<std::string> seen;
  ASSERT_TRUE(store_->Scan(req, [&](const RowView& r) {
    seen.push_back(std::string(r.Text(0)) + "/" + std::string(r.Text(1)) + "/" +
                   std::to_string(r.Int(2)) + "/" + std::to_string(r.Real(3)));
    EXPECT_TRUE(r.IsNull(4));
    EXPECT_EQ(r.Text(5), "{\"k\":\"v\"}");
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"e1/u1/100/1.000000", "e2/u9/250/9.500000",
                                            "e3/u2/300/3.000000"}));
}

TEST_P(StoreConformanceTest, TenantsAreIsolated) {
  ASSERT_TRUE(store_->Upsert("a", Events({{"e1", "u1", 100, 1}})).ok());
  ASSERT_TRUE(store_->Upsert("b", Events({{"e1", "u1", 100, 1}, {"e2", "u2", 100, 1}})).ok());
  EXPECT_EQ(ScanIds("a"), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(ScanIds("b"), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(*store_->Tenants(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*store_->Truncate("b", Entity::kEvents), 2);
  EXPECT_TRUE(ScanIds("b").empty());
  EXPECT_EQ(ScanIds("a").size(), 1u);
}

TEST_P(StoreConformanceTest, TimeFilterAndStats) {
  ASSERT_TRUE(store_->Upsert("t", Events({{"e1", "u", 100, 0}, {"e2", "u", 200, 0}, {"e3", "u", 300, 0}})).ok());
  ScanRequest req;
  req.tenant = "t";
  req.entity = Entity::kEvents;
  req.columns = {"event_id"};
  req.since = 200;
  req.until = 300;
  std::vector<std::string> ids;
  ASSERT_TRUE(store_->Scan(req, [&](const RowView& r) {
    ids.emplace_back(r.Text(0));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"e2"}));
  auto st = store_->Stats("t", Entity::kEvents);
  EXPECT_EQ(st->rows, 3);
  EXPECT_EQ(*st->min_time, 100);
  EXPECT_EQ(*st->max_time, 300);
  EXPECT_FALSE(store_->Stats("t", Entity::kItems)->min_time.has_value());
  req.columns = {"no_such_column"};
  EXPECT_EQ(store_->Scan(req, [](const RowView&) { return Status::Ok(); }).code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, AFailingBatchLeavesNothingBehind) {
  RowBatch b = Events({{"e1", "u1", 100, 1}, {"e2", "u1", 100, 1}, {"e3", "u1", 100, 1}});
  b.values[2 * b.width() + 1] = Value::Null();  // user_id is NOT NULL: the third row fails
  Status st = store_->Upsert("t", b);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(store_->Stats("t", Entity::kEvents)->rows, 0);
  // The store is usable afterwards.
  ASSERT_TRUE(store_->Upsert("t", Events({{"e9", "u", 1, 1}})).ok());
  EXPECT_EQ(store_->Stats("t", Entity::kEvents)->rows, 1);
}

TEST_P(StoreConformanceTest, CallbackErrorsStopAScan) {
  ASSERT_TRUE(store_->Upsert("t", Events({{"e1", "u", 1, 1}, {"e2", "u", 2, 1}})).ok());
  ScanRequest req;
  req.tenant = "t";
  int calls = 0;
  Status st = store_->Scan(req, [&](const RowView&) {
    ++calls;
    return Internal("stop");
  });
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_EQ(calls, 1);
}

TEST_P(StoreConformanceTest, DataSurvivesReopen) {
  ASSERT_TRUE(store_->Upsert("t", Events({{"e1", "u", 1, 1}})).ok());
  store_.reset();
  store_ = Open();
  EXPECT_EQ(ScanIds("t"), (std::vector<std::string>{"e1"}));
}

TEST_P(StoreConformanceTest, LoadHistory) {
  LoadRecord r;
  r.tenant = "t";
  r.entity = "events";
  r.source = "a.csv";
  r.status = "running";
  r.started_at = 10;
  ASSERT_TRUE(store_->StartLoad(&r).ok());
  EXPECT_GT(r.id, 0);
  r.status = "done";
  r.rows_read = 5;
  r.rows_loaded = 4;
  r.rows_rejected = 1;
  r.finished_at = 12;
  ASSERT_TRUE(store_->FinishLoad(r).ok());
  auto loads = store_->RecentLoads("t", 5);
  ASSERT_EQ(loads->size(), 1u);
  EXPECT_EQ((*loads)[0].status, "done");
  EXPECT_EQ((*loads)[0].rows_rejected, 1);
  EXPECT_TRUE(store_->RecentLoads("other", 5)->empty());
}

TEST_P(StoreConformanceTest, ApiKeys) {
  ApiKeyRecord k{"abc", "hash", "salt", "write", "ci", 5, false};
  ASSERT_TRUE(store_->PutApiKey(k).ok());
  EXPECT_EQ(store_->PutApiKey(k).code(), StatusCode::kAlreadyExists);
  auto got = store_->GetApiKey("abc");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->role, "write");
  EXPECT_EQ(got->secret_hash, "hash");
  EXPECT_EQ(store_->GetApiKey("nope").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->RevokeApiKey("abc").ok());
  EXPECT_TRUE(store_->GetApiKey("abc")->revoked);
  EXPECT_EQ(store_->RevokeApiKey("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ListApiKeys()->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest,
                         ::testing::Range<size_t>(0, Backends().size()),
                         [](const ::testing::TestParamInfo<size_t>& p) {
                           return Backends()[p.param].name;
                         });

}  // namespace
}  // namespace opspilot
