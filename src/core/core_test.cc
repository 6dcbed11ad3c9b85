#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/context.h"
#include "core/dictionary.h"
#include "core/file.h"
#include "core/logging.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "core/time.h"
#include "testing/temp_dir.h"

namespace opspilot {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(FileTest, WriteFileAtomicReplacesWholeFilesAndLeavesNoTemporary) {
  testing::TempDir d;
  const std::string path = d.file("model.json");
  std::string big(3 << 20, 'x');  // several write() calls' worth
  for (size_t i = 0; i < big.size(); i += 4097) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(WriteFileAtomic(path, "old").ok());
  ASSERT_TRUE(WriteFileAtomic(path, big).ok());
  auto back = ReadFile(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, big);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // A target whose temporary cannot be created: an error naming it, the old
  // file untouched.
  const std::string missing = d.file("no/such/dir/model.json");
  const Status s = WriteFileAtomic(missing, "new");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing + ".tmp"), std::string::npos) << s.message();
  // A directory in the way of the rename: the temporary is removed again.
  std::filesystem::create_directory(d.file("taken"));
  std::ofstream(d.file("taken/inside")) << "x";
  EXPECT_FALSE(WriteFileAtomic(d.file("taken"), "new").ok());
  EXPECT_FALSE(std::filesystem::exists(d.file("taken.tmp")));
  EXPECT_EQ(ReadFile(d.file("taken/inside")).value(), "x");
  EXPECT_EQ(ReadFile(d.file("absent")).status().code(), StatusCode::kNotFound);
}

// A directory written as a whole: a failed write leaves the old one exactly as
// it was (no file of the new one in it, none of the old missing), a good one
// replaces it whole (no file of the old one left), and nothing temporary stays.
TEST(FileTest, ReplaceDirAtomicKeepsTheOldDirectoryUntilTheNewOneIsWhole) {
  testing::TempDir d;
  const std::string dir = d.file("model");
  auto write = [](const std::map<std::string, std::string>& files) {
    return [files](const std::string& tmp) -> Status {
      for (const auto& [name, text] : files) RETURN_IF_ERROR(WriteFileAtomic(tmp + "/" + name, text));
      return Status::Ok();
    };
  };
  ASSERT_TRUE(ReplaceDirAtomic(dir, write({{"model.json", "v1"}, {"fasttext.bin", "w1"}})).ok());
  EXPECT_EQ(ReadFile(dir + "/model.json").value(), "v1");
  // The second write fails after its first file: the old directory is intact.
  const Status failed = ReplaceDirAtomic(dir, [](const std::string& tmp) -> Status {
    RETURN_IF_ERROR(WriteFileAtomic(tmp + "/model.json", "v2"));
    return Internal("disk full");
  });
  EXPECT_EQ(failed.message(), "disk full");
  EXPECT_EQ(ReadFile(dir + "/model.json").value(), "v1");
  EXPECT_EQ(ReadFile(dir + "/fasttext.bin").value(), "w1");
  // A good write of another kind of model: no stale file of the old one.
  ASSERT_TRUE(ReplaceDirAtomic(dir + "/", write({{"model.json", "v3"}, {"linear.bin", "w3"}})).ok());
  EXPECT_EQ(ReadFile(dir + "/model.json").value(), "v3");
  EXPECT_FALSE(std::filesystem::exists(dir + "/fasttext.bin"));
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(d.path())) entries += e.path().filename() != ".keep";
  EXPECT_EQ(entries, 1u);  // only model/: no .model.tmp-* or .model.old-*
  // A file in the way is an error before anything is written.
  std::ofstream(d.file("afile")) << "x";
  bool called = false;
  const Status blocked = ReplaceDirAtomic(d.file("afile"), [&](const std::string&) { called = true; return Status::Ok(); });
  EXPECT_EQ(blocked.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(called);
}

TEST(StatusTest, CodesMessagesAndMacros) {
  EXPECT_TRUE(Status::Ok().ok());
  Status st = NotFound("no such user");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.ToString(), "not_found: no such user");
  EXPECT_EQ(st.WithContext("users.csv").message(), "users.csv: no such user");
  EXPECT_EQ(HttpStatus(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(StatusCode::kResourceExhausted), 413);
  EXPECT_EQ(ExitCode(StatusCode::kOk), 0);
  EXPECT_NE(ExitCode(StatusCode::kInvalidArgument), 0);
  int q = 0;
  EXPECT_TRUE(Quarter(12, &q).ok());
  EXPECT_EQ(q, 3);
  EXPECT_EQ(Quarter(6, &q).code(), StatusCode::kInvalidArgument);
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  StatusOr<int> s = Internal("boom");
  EXPECT_DEATH((void)s.value(), "boom");
}

// Reference: the C library's timegm on the same broken-down time.
int64_t Reference(int y, int mo, int d, int h, int mi, int s) {
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  return static_cast<int64_t>(timegm(&t));
}

TEST(TimeTest, IsoFormsMatchTimegm) {
  EXPECT_EQ(*ParseTimestamp("2025-03-04T10:11:12Z"), Reference(2025, 3, 4, 10, 11, 12));
  EXPECT_EQ(*ParseTimestamp("2025-03-04 10:11:12"), Reference(2025, 3, 4, 10, 11, 12));
  EXPECT_EQ(*ParseTimestamp("2025-03-04"), Reference(2025, 3, 4, 0, 0, 0));
  EXPECT_EQ(*ParseTimestamp("2025-03-04T10:11"), Reference(2025, 3, 4, 10, 11, 0));
  EXPECT_EQ(*ParseTimestamp("2025-03-04T18:11:12+08:00"), Reference(2025, 3, 4, 10, 11, 12));
  EXPECT_EQ(*ParseTimestamp("2025-03-04T05:11:12.999-0500"), Reference(2025, 3, 4, 10, 11, 12));
  EXPECT_EQ(*ParseTimestamp("1741083072"), 1741083072);
  EXPECT_EQ(*ParseTimestamp("1741083072.75"), 1741083072);
  EXPECT_EQ(*ParseTimestamp("2024-02-29T00:00:00Z"), Reference(2024, 2, 29, 0, 0, 0));
}

TEST(TimeTest, RandomRoundTripAgainstTimegm) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const int64_t t = static_cast<int64_t>(rng() % 4000000000ULL);
    auto parsed = ParseTimestamp(FormatTimestamp(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
    const int off = static_cast<int>(rng() % 1681) - 840;  // -14:00 .. +14:00
    EXPECT_EQ(*ParseTimestamp(FormatTimestamp(t, off)), t) << FormatTimestamp(t, off);
  }
}

// Day, second of day and weekday against gmtime_r, also before 1970 (where
// C++'s truncating % and / go wrong).
TEST(TimeTest, DayPartsMatchGmtimeAlsoBefore1970) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 4000; ++i) {
    const int64_t t = static_cast<int64_t>(rng() % 8000000000ULL) - 4000000000LL;
    const time_t tt = static_cast<time_t>(t);
    std::tm g{};
    ASSERT_NE(gmtime_r(&tt, &g), nullptr);
    EXPECT_EQ(SecondOfDay(t), g.tm_hour * 3600 + g.tm_min * 60 + g.tm_sec) << t;
    EXPECT_EQ(WeekdayOfDay(DayOf(t)), (g.tm_wday + 6) % 7) << t;  // tm_wday: 0 = Sunday
    EXPECT_EQ(DayOf(t), DaysFromCivil(g.tm_year + 1900, static_cast<unsigned>(g.tm_mon + 1), static_cast<unsigned>(g.tm_mday)));
  }
  EXPECT_EQ(SecondOfDay(-1), 86399);
  EXPECT_EQ(WeekdayOfDay(-1), 2);  // 1969-12-31 was a Wednesday
}

TEST(TimeTest, RejectsNonsenseWithReasons) {
  EXPECT_NE(ParseTimestamp("2025-02-30").status().message().find("day out of range"), std::string::npos);
  EXPECT_NE(ParseTimestamp("2025-13-01").status().message().find("month"), std::string::npos);
  EXPECT_FALSE(ParseTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseTimestamp("").ok());
  EXPECT_FALSE(ParseTimestamp("2025-03-04T25:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2025-03-04T10:00:00Zjunk").ok());
  EXPECT_FALSE(ParseTimestamp("2025-03-04T10:00:00+25:00").ok());
  EXPECT_FALSE(ParseTimestamp("12ab").ok());
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(*ParseDuration("86400"), 86400);
  EXPECT_EQ(*ParseDuration("1d"), 86400);
  EXPECT_EQ(*ParseDuration("2h"), 7200);
  EXPECT_EQ(*ParseDuration("15m"), 900);
  EXPECT_EQ(*ParseDuration("1w"), 604800);
  EXPECT_FALSE(ParseDuration("3y").ok());
  EXPECT_FALSE(ParseDuration("h").ok());
}

TEST(DictionaryTest, DenseCodesInInsertionOrder) {
  Dictionary d;
  EXPECT_EQ(d.Intern("b"), 0);
  EXPECT_EQ(d.Intern("a"), 1);
  EXPECT_EQ(d.Intern("b"), 0);
  EXPECT_EQ(d.Find("a"), 1);
  EXPECT_EQ(d.Find("zz"), Dictionary::kMissing);
  EXPECT_EQ(d.Key(1), "a");
  // Keys stay valid as the dictionary grows and after a move.
  for (int i = 0; i < 10000; ++i) d.Intern("k" + std::to_string(i));
  Dictionary moved = std::move(d);
  EXPECT_EQ(moved.size(), 10002);
  EXPECT_EQ(moved.Find("k9999"), 10001);
  EXPECT_EQ(moved.Key(2), "k0");
}

TEST(ThreadPoolTest, ParallelForCoversEveryIndexOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(100000);
  pool.ParallelFor(100000, 1000, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  // Nested use from a worker runs inline instead of deadlocking.
  std::atomic<int64_t> sum{0};
  pool.ParallelFor(4, 1, [&](int64_t b, int64_t e) {
    pool.ParallelFor(10, 1, [&](int64_t b2, int64_t e2) { sum += (e2 - b2) * (e - b); });
  });
  EXPECT_EQ(sum.load(), 40);
}

// --threads 1 means one thread: the context's pool then has no workers and
// every ParallelFor and Submit runs on the calling thread.
TEST(ThreadPoolTest, OneThreadMeansNoWorkers) {
  for (const int threads : {1, 3}) {
    ContextOptions o;
    o.threads = threads;
    Context ctx(o);
    EXPECT_EQ(ctx.pool().size(), threads - 1);
  }
  ThreadPool pool(0);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<int> hits(1000, 0);
  std::atomic<int> elsewhere{0};
  pool.ParallelFor(1000, 1, [&](int64_t b, int64_t e) {
    if (std::this_thread::get_id() != caller) ++elsewhere;
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (int h : hits) ASSERT_EQ(h, 1);
  bool ran = false;
  pool.Submit([&] { ran = std::this_thread::get_id() == caller; });
  EXPECT_TRUE(ran);
  EXPECT_EQ(elsewhere.load(), 0);
}

TEST(ProgressTest, PlainLinesWhenNotATerminalAndSilentWhenQuiet) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("ingest events", 100, "rows", ProgressMode::kLines, f, 0.0);
    p.Update(50);
    p.Finish();
  }
  std::rewind(f);
  char buf[512] = {};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::string out(buf, n);
  EXPECT_NE(out.find("ingest events: 50/100 rows (50%)"), std::string::npos) << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  std::fclose(f);

  f = std::tmpfile();
  {
    Progress p("x", 10, "rows", ProgressMode::kQuiet, f, 0.0);
    p.Update(5);
    p.Finish();
  }
  EXPECT_EQ(std::ftell(f), 0);
  std::fclose(f);
}

TEST(LoggingTest, StructuredFieldsInTextAndJson) {
  Logger text({LogLevel::kInfo, false});
  std::string line = text.Format(LogLevel::kInfo, "loaded", {{"rows", int64_t{42}}, {"file", "a b.csv"}});
  EXPECT_NE(line.find(" info loaded rows=42 file=\"a b.csv\""), std::string::npos) << line;
  Logger js({LogLevel::kInfo, true});
  auto j = nlohmann::json::parse(js.Format(LogLevel::kWarn, "slow", {{"ms", 12.5}, {"who", "x"}}));
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "slow");
  EXPECT_DOUBLE_EQ(j["ms"].get<double>(), 12.5);
  EXPECT_EQ(j["who"], "x");
}

TEST(ContextTest, OptionsAndClock) {
  ContextOptions o;
  o.threads = -1;
  EXPECT_FALSE(ValidateContextOptions(o).ok());
  o.threads = 2;
  o.device = "tpu";
  EXPECT_FALSE(ValidateContextOptions(o).ok());
  o.device = "cuda:0";
  EXPECT_TRUE(ValidateContextOptions(o).ok());
  auto clock = std::make_unique<FakeClock>(1000);
  FakeClock* raw = clock.get();
  Context ctx(o, std::move(clock));
  EXPECT_EQ(ctx.threads(), 2);
  EXPECT_EQ(ctx.clock().NowUnix(), 1000);
  raw->Advance(5);
  EXPECT_EQ(ctx.clock().NowUnix(), 1005);
  std::atomic<int> n{0};
  ctx.pool().ParallelFor(10, 1, [&](int64_t b, int64_t e) { n += static_cast<int>(e - b); });
  EXPECT_EQ(n.load(), 10);
}

}  // namespace
}  // namespace opspilot
