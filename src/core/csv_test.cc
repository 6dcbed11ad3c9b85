#include "core/csv.h"

#include <gtest/gtest.h>

namespace opspilot {
namespace {

struct Rec {
  std::vector<std::string> fields;
  int64_t line;
  std::string error;
  int error_field;
};

std::vector<Rec> ReadAll(std::string data, CsvOptions o = {}) {
  o.buffer_bytes = 7;  // tiny buffer: every state crosses a refill
  CsvReader r(StringSource(std::move(data)), o);
  CsvRecord rec;
  std::vector<Rec> out;
  while (r.Next(&rec)) {
    out.push_back({std::vector<std::string>(rec.fields.begin(), rec.fields.begin() + static_cast<long>(rec.num_fields)),
                   rec.line, rec.error, rec.error_field});
  }
  return out;
}

TEST(CsvReaderTest, Rfc4180Quoting) {
  auto recs = ReadAll("\xEF\xBB\xBFid,text\r\n1,\"a, \"\"quoted\"\"\nline\"\r\n\n2,plain\n3,\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].fields, (std::vector<std::string>{"id", "text"}));
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"1", "a, \"quoted\"\nline"}));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[2].fields, (std::vector<std::string>{"2", "plain"}));
  EXPECT_EQ(recs[2].line, 5);  // after the embedded newline and the blank line
  EXPECT_EQ(recs[3].fields, (std::vector<std::string>{"3", ""}));
  for (const auto& r : recs) EXPECT_EQ(r.error, "");
}

TEST(CsvReaderTest, NoTrailingNewlineAndEmptyQuoted) {
  auto recs = ReadAll("a,b\n\"\",x");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"", "x"}));
}

TEST(CsvReaderTest, StructuralErrorsAreReportedAndReadingGoesOn) {
  auto recs = ReadAll("a,b\n1,x\"y\n2,\"ok\"junk\n3,fine\n4,\"never closed\n");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[1].error, "quote inside an unquoted field");
  EXPECT_EQ(recs[1].error_field, 1);
  EXPECT_EQ(recs[2].error, "unexpected character after a closing quote");
  EXPECT_EQ(recs[2].line, 3);
  EXPECT_EQ(recs[3].error, "");
  EXPECT_EQ(recs[3].fields[1], "fine");
  EXPECT_EQ(recs[4].error, "unterminated quoted field at end of input (truncated file?)");
  EXPECT_EQ(recs[4].line, 5);
}

TEST(CsvReaderTest, HugeFieldsAreBoundedAndFlagged) {
  CsvOptions o;
  o.max_field_bytes = 100;
  std::string big(5000, 'z');
  auto recs = ReadAll("a,b\n1," + big + "\n2,ok\n", o);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].error, "field exceeds 100 bytes");
  EXPECT_EQ(recs[1].fields[1].size(), 100u);
  EXPECT_EQ(recs[2].fields[1], "ok");
}

TEST(CsvReaderTest, RunawayQuoteResynchronises) {
  CsvOptions o;
  o.max_record_bytes = 64;
  std::string data = "a,b\n1,\"open" + std::string(100, 'x') + "\n2,ok\n";
  auto recs = ReadAll(data, o);
  ASSERT_GE(recs.size(), 3u);
  EXPECT_NE(recs[1].error.find("record exceeds"), std::string::npos);
  EXPECT_EQ(recs.back().fields, (std::vector<std::string>{"2", "ok"}));
}

TEST(CsvWriterTest, RoundTrip) {
  std::vector<std::string> fields = {"plain", "with,comma", "with \"quote\"", "multi\nline", ""};
  std::string line = CsvLine(fields) + "\n";
  auto recs = ReadAll(line);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].fields, fields);
}

TEST(LineReaderTest, LinesAndOverlongLines) {
  LineReader r(StringSource("{\"a\":1}\r\n" + std::string(50, 'x') + "\nlast"), 20);
  std::string line;
  int64_t no = 0;
  bool too_long = false;
  ASSERT_TRUE(r.Next(&line, &no, &too_long));
  EXPECT_EQ(line, "{\"a\":1}");
  EXPECT_FALSE(too_long);
  ASSERT_TRUE(r.Next(&line, &no, &too_long));
  EXPECT_TRUE(too_long);
  EXPECT_EQ(no, 2);
  ASSERT_TRUE(r.Next(&line, &no, &too_long));
  EXPECT_EQ(line, "last");
  EXPECT_FALSE(r.Next(&line, &no, &too_long));
}

TEST(Utf8Test, ValidAndInvalid) {
  size_t bad = 0;
  EXPECT_TRUE(ValidUtf8("plain ascii text, long enough for the fast path", &bad));
  EXPECT_TRUE(ValidUtf8("西湖龙井 Longjing 🍵", &bad));
  EXPECT_FALSE(ValidUtf8("abc\xff", &bad));
  EXPECT_EQ(bad, 3u);
  EXPECT_FALSE(ValidUtf8("\xc0\xaf", &bad));          // overlong
  EXPECT_FALSE(ValidUtf8("\xed\xa0\x80", &bad));      // surrogate
  EXPECT_FALSE(ValidUtf8("ok\xe4\xb8", &bad));        // truncated sequence
  EXPECT_EQ(bad, 2u);
}

}  // namespace
}  // namespace opspilot
