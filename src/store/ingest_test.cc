#include "store/ingest.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "core/csv.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot {
namespace {

using testing::ReadFile;
using testing::TempDir;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(OpenSqliteStore(dir_.file("store.db"))).value();
    options_.reject_dir = dir_.file("rejects");
  }

  IngestReport Load(Entity e, const std::string& path, Status* st = nullptr) {
    Ingestor ing(ctx_, *store_, options_);
    IngestReport r;
    Status s = ing.IngestFile(e, path, &r);
    if (st) *st = s;
    else EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  std::vector<std::vector<std::string>> Rows(Entity e, std::vector<std::string> cols) {
    std::vector<std::vector<std::string>> out;
    ScanRequest req;
    req.entity = e;
    req.columns = cols;
    req.ordered = true;
    EXPECT_TRUE(store_->Scan(req, [&](const RowView& r) {
      std::vector<std::string> row;
      for (size_t i = 0; i < cols.size(); ++i) {
        row.push_back(r.IsNull(static_cast<int>(i)) ? "NULL" : std::string(r.Text(static_cast<int>(i))));
      }
      out.push_back(row);
      return Status::Ok();
    }).ok());
    return out;
  }

  TempDir dir_;
  Context ctx_{testing::QuietOptions(0)};
  std::unique_ptr<Store> store_;
  IngestOptions options_;
};

TEST_F(IngestTest, MalformedRowsGoToTheRejectFileAndValidRowsSurvive) {
  Load(Entity::kItems, dir_.Write("items.csv", "item_id,title,price\ni1,Longjing,88\ni2,Kettle,120.5\n"));
  const std::string huge(2000, '9');
  const std::string path = dir_.Write(
      "events.csv",
      "event_id,user_id,event_type,item_id,timestamp,session_id,value,channel\n"
      "e1,u1,view,i1,2025-01-01T00:00:00Z,s1,,app\n"                    // 2 ok
      "e2,u1,view,i1,not-a-time,s1,,app\n"                              // 3 bad timestamp
      "e3,u1,add_to_cart,i2,2025-01-01T00:01:00Z,s1,abc,app\n"          // 4 bad number
      "e4,,view,i1,2025-01-01T00:02:00Z,s1,,app\n"                      // 5 missing user
      "e5,u2,view,i1,2025-01-01T00:03:00Z\n"                            // 6 short row
      "e6,u2,vi\"ew,i1,2025-01-01T00:04:00Z,s2,,app\n"                  // 7 stray quote
      "e7,u2,view,i1,2025-01-01T00:05:00Z,s2,,\xff\xfe\n"               // 8 invalid UTF-8
      "e8,u2,view,i9,2025-01-01T00:06:00Z,s2,,app\n"                    // 9 unknown item
      "e9,u3,view,i2,1735689600000,s3,,app\n"                           // 10 milliseconds
      "e1,u1,view,i2,2025-01-01T00:00:00Z,s1,,web\n"                    // 11 duplicate id: wins
      "e10,u3,view,i1,2025-01-02T08:00:00+08:00,s3,,\"app, \"\"beta\"\"\nch\"\n"  // 12-13 ok
      "e11,u3,view,i1,2025-01-02T00:00:00Z,s3," + huge + ",app\n");     // 14 huge field
  options_.max_field_bytes = 1024;
  IngestReport r = Load(Entity::kEvents, path);
  EXPECT_EQ(r.rows_read, 12);
  EXPECT_EQ(r.rows_loaded, 3);
  EXPECT_EQ(r.rows_rejected, 9);

  const std::vector<std::tuple<int64_t, std::string, std::string>> want = {
      {3, "timestamp", "invalid timestamp 'not-a-time': expected ISO-8601 or unix seconds"},
      {4, "value", "expected a number, got 'abc'"},
      {5, "user_id", "required field is missing or empty"},
      {6, "", "expected 8 fields, found 5"},
      {7, "event_type", "quote inside an unquoted field"},
      {8, "channel", "invalid UTF-8 at byte 0"},
      {9, "item_id", "unknown item_id 'i9' (not in items; load items first or use --no-check-refs)"},
      {10, "timestamp",
       "timestamp '1735689600000' looks like milliseconds; unix timestamps must be seconds"},
      {14, "value", "field exceeds 1024 bytes"},
  };
  ASSERT_EQ(r.rejects.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.rejects[i].file, path);
    EXPECT_EQ(r.rejects[i].line, std::get<0>(want[i]));
    EXPECT_EQ(r.rejects[i].field, std::get<1>(want[i]));
    EXPECT_EQ(r.rejects[i].reason, std::get<2>(want[i]));
  }
  // The reject file holds the same records, plus the raw record to fix and reload.
  ASSERT_FALSE(r.reject_file.empty());
  CsvReader reader(std::move(OpenFileSource(r.reject_file)).value());
  CsvRecord rec;
  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_EQ(rec.field(0), "file");
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(reader.Next(&rec));
    ASSERT_EQ(rec.num_fields, 5u);
    EXPECT_EQ(rec.field(1), std::to_string(std::get<0>(want[i])));
    EXPECT_EQ(rec.field(2), std::get<1>(want[i]));
    EXPECT_EQ(rec.field(3), std::get<2>(want[i]));
  }
  EXPECT_FALSE(reader.Next(&rec));
  EXPECT_NE(ReadFile(r.reject_file).find("e2,u1,view,i1,not-a-time,s1,,app"), std::string::npos);

  // What was valid is there, typed and normalised; extra columns went to properties.
  auto rows = Rows(Entity::kEvents, {"event_id", "item_id", "timestamp", "value", "properties"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"e1", "i2", "1735689600", "NULL", "{\"channel\":\"web\"}"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"e10", "i1", "1735776000", "NULL",
                                               "{\"channel\":\"app, \\\"beta\\\"\\nch\"}"}));
  auto loads = store_->RecentLoads("default", 1);
  EXPECT_EQ((*loads)[0].rows_rejected, 9);
  EXPECT_EQ((*loads)[0].status, "done");
}

TEST_F(IngestTest, TruncatedFileKeepsEveryCompleteRow) {
  IngestReport r = Load(Entity::kItems, dir_.Write("items.csv",
                                                   "item_id,title,text\ni1,A,\"fine\"\ni2,B,\"cut off in the mid"));
  EXPECT_EQ(r.rows_loaded, 1);
  ASSERT_EQ(r.rows_rejected, 1);
  EXPECT_EQ(r.rejects[0].line, 3);
  EXPECT_EQ(r.rejects[0].reason, "unterminated quoted field at end of input (truncated file?)");
}

TEST_F(IngestTest, HeaderProblemsStopTheFileWithAClearError) {
  Status st;
  IngestReport r = Load(Entity::kEvents,
                        dir_.Write("events.csv", "event_id,event_type,timestamp\ne1,view,2025-01-01\n"), &st);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("events.csv:1: field 'user_id': required column missing from the header"),
            std::string::npos) << st.message();
  EXPECT_EQ(r.rows_loaded, 0);
  Load(Entity::kItems, dir_.Write("dup.csv", "item_id,title,title\ni1,a,b\n"), &st);
  EXPECT_NE(st.message().find("appears twice"), std::string::npos);
  Load(Entity::kItems, dir_.Write("empty.csv", ""), &st);
  EXPECT_NE(st.message().find("empty file"), std::string::npos);
  Load(Entity::kItems, dir_.file("missing.csv"), &st);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  Load(Entity::kItems, dir_.Write("items.parquet", "x"), &st);
  EXPECT_NE(st.message().find("--format"), std::string::npos);
  EXPECT_EQ(store_->Stats("default", Entity::kItems)->rows, 0);
}

TEST_F(IngestTest, JsonLinesWithTypesNestedBagsAndBadLines) {
  const std::string path = dir_.Write(
      "tickets.jsonl",
      "{\"ticket_id\":\"t1\",\"timestamp\":\"2025-02-01T10:00:00Z\",\"text\":\"我的订单在哪里\","
      "\"language\":\"zh\",\"resolved\":true,\"sentiment\":\"negative\",\"order_id\":\"o1\","
      "\"attributes\":{\"vip\":true}}\n"
      "{\"ticket_id\":2,\"timestamp\":1738404000,\"text\":\"where is my parcel\",\"resolved\":\"no\"}\n"
      "\n"
      "{\"ticket_id\":\"t3\",\"timestamp\":\"2025-02-01\",\"text\":\"x\",\"sentiment\":\"angry\"}\n"
      "{\"ticket_id\":\"t4\",\"timestamp\":\"2025-02-01\",\"text\":\"x\",\"resolved\":\"maybe\"}\n"
      "{\"ticket_id\":\"t5\", broken\n"
      "[1,2,3]\n"
      "{\"ticket_id\":\"t7\",\"timestamp\":\"2025-02-01\",\"text\":{\"nested\":1}}\n");
  IngestReport r = Load(Entity::kTickets, path);
  EXPECT_EQ(r.rows_loaded, 2);
  ASSERT_EQ(r.rows_rejected, 5);
  EXPECT_EQ(r.rejects[0].line, 4);
  EXPECT_EQ(r.rejects[0].field, "sentiment");
  EXPECT_EQ(r.rejects[0].reason, "value 'angry' is not one of negative|neutral|positive");
  EXPECT_EQ(r.rejects[1].field, "resolved");
  EXPECT_EQ(r.rejects[2].line, 6);
  EXPECT_EQ(r.rejects[2].reason.rfind("invalid JSON: ", 0), 0u) << r.rejects[2].reason;
  EXPECT_EQ(r.rejects[3].reason, "expected a JSON object");
  EXPECT_EQ(r.rejects[4].field, "text");
  EXPECT_EQ(r.rejects[4].reason, "expected a scalar, got a JSON object");
  auto rows = Rows(Entity::kTickets, {"ticket_id", "timestamp", "resolved", "attributes", "text"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"2", "1738404000", "0", "NULL", "where is my parcel"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"t1", "1738404000", "1",
                                               "{\"order_id\":\"o1\",\"vip\":true}", "我的订单在哪里"}));
}

TEST_F(IngestTest, LoadingTwiceLeavesTheSameDataAndIdsAreDeterministic) {
  const std::string path = dir_.Write(
      "events.csv",
      "user_id,event,timestamp,value\nu1,login,2025-01-01T00:00:00Z,\nu1,purchase,2025-01-01T00:05:00Z,9.5\n"
      "u2,login,2025-01-01T00:00:00Z,\n");
  options_.check_references = false;
  Load(Entity::kEvents, path);
  auto first = Rows(Entity::kEvents, {"event_id", "user_id", "event_type", "timestamp", "value"});
  Load(Entity::kEvents, path);
  auto second = Rows(Entity::kEvents, {"event_id", "user_id", "event_type", "timestamp", "value"});
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first, second);
  for (const auto& row : first) {
    EXPECT_EQ(row[0].size(), 32u);
    EXPECT_EQ(row[0].find_first_not_of("0123456789abcdef"), std::string::npos);
  }
  // The same content in JSONL gets the same ids: the formats agree.
  TempDir other;
  auto store2 = std::move(OpenSqliteStore(other.file("s.db"))).value();
  Ingestor ing(ctx_, *store2, options_);
  IngestReport r;
  ASSERT_TRUE(ing.IngestFile(Entity::kEvents,
                             other.Write("e.jsonl",
                                         "{\"user_id\":\"u2\",\"event\":\"login\",\"timestamp\":\"2025-01-01T00:00:00Z\"}\n"),
                             &r).ok());
  ScanRequest req;
  req.columns = {"event_id", "user_id"};
  std::string id;
  ASSERT_TRUE(store2->Scan(req, [&](const RowView& row) {
    id = std::string(row.Text(0));
    return Status::Ok();
  }).ok());
  bool found = false;
  for (const auto& row : first) found = found || (row[0] == id && row[1] == "u2");
  EXPECT_TRUE(found);
}

TEST_F(IngestTest, BodyFormatsForHttp) {
  Ingestor ing(ctx_, *store_, options_);
  IngestReport r;
  ASSERT_TRUE(ing.IngestBody(Entity::kUsers, "http", "[{\"user_id\":\"a\",\"country\":\"CN\"},{\"user_id\":\"\"}]",
                             "application/json", &r).ok());
  EXPECT_EQ(r.rows_loaded, 1);
  EXPECT_EQ(r.rows_rejected, 1);
  EXPECT_EQ(r.rejects[0].line, 2);
  IngestReport r2;
  ASSERT_TRUE(ing.IngestBody(Entity::kUsers, "http", "user_id,created_at\nb,2025-01-01\n", "text/csv", &r2).ok());
  EXPECT_EQ(r2.rows_loaded, 1);
  IngestReport r3;
  EXPECT_EQ(ing.IngestBody(Entity::kUsers, "http", "[{\"user_id\":", "application/json", &r3).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Rows(Entity::kUsers, {"user_id", "attributes"}),
            (std::vector<std::vector<std::string>>{{"a", "{\"country\":\"CN\"}"}, {"b", "NULL"}}));
}

// A load killed mid-way keeps every committed batch whole and nothing else;
// loading again completes it without duplicates.
TEST_F(IngestTest, KillDuringIngestLosesNothingCommittedAndLeavesNoHalfBatch) {
  constexpr int kRows = 300000, kBatch = 500;
  std::string csv = "event_id,user_id,event_type,timestamp\n";
  for (int i = 0; i < kRows; ++i) {
    csv += "e" + std::to_string(1000000 + i) + ",u" + std::to_string(i % 977) + ",view," +
           std::to_string(1735689600 + i) + "\n";
  }
  const std::string path = dir_.Write("big.csv", csv);
  const std::string db = dir_.file("kill.db");
  ASSERT_TRUE(OpenSqliteStore(db).ok());  // create the schema before forking
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = OpenSqliteStore(db);
    if (!s.ok()) _exit(3);
    IngestOptions o;
    o.batch_rows = kBatch;
    o.show_progress = false;
    Context c(testing::QuietOptions(0));
    Ingestor ing(c, **s, o);
    IngestReport r;
    Status st = ing.IngestFile(Entity::kEvents, path, &r);
    _exit(st.ok() ? 0 : 4);
  }
  auto watcher = std::move(OpenSqliteStore(db)).value();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = watcher->Stats("default", Entity::kEvents);
    if (st.ok() && st->rows >= 20 * kBatch) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(child, SIGKILL);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the load finished before it could be killed";

  auto store = std::move(OpenSqliteStore(db)).value();
  std::vector<std::string> ids;
  ScanRequest req;
  req.columns = {"event_id"};
  req.ordered = true;
  ASSERT_TRUE(store->Scan(req, [&](const RowView& r) {
    ids.emplace_back(r.Text(0));
    return Status::Ok();
  }).ok());
  ASSERT_GE(ids.size(), static_cast<size_t>(20 * kBatch));
  ASSERT_LT(ids.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(ids.size() % kBatch, 0u) << "a half-written batch is visible";
  // Batches commit in file order: what is there is exactly the file's prefix.
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], "e" + std::to_string(1000000 + i));

  IngestOptions o;
  o.show_progress = false;
  Ingestor again(ctx_, *store, o);
  IngestReport r;
  ASSERT_TRUE(again.IngestFile(Entity::kEvents, path, &r).ok());
  EXPECT_EQ(store->Stats("default", Entity::kEvents)->rows, kRows);
}

}  // namespace
}  // namespace opspilot
