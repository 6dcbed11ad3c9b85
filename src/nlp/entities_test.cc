#include "nlp/entities.h"

#include <gtest/gtest.h>

namespace opspilot::nlp {
namespace {

struct Want {
  std::string type, text, value;
};

// Every span's bytes are the entity's text, spans are ordered and disjoint,
// and the character offsets agree with the byte offsets.
void CheckSpans(const std::string& msg, const std::vector<EntitySpan>& got) {
  size_t last = 0;
  for (const auto& e : got) {
    EXPECT_EQ(msg.substr(e.begin, e.end - e.begin), e.text) << msg;
    EXPECT_GE(e.begin, last) << msg;
    last = e.end;
    size_t chars = 0;
    for (size_t b = 0; b < e.begin; ++b) chars += (static_cast<unsigned char>(msg[b]) & 0xC0) != 0x80;
    EXPECT_EQ(chars, e.char_begin) << msg;
  }
}

void ExpectEntities(const EntityExtractor& x, const std::string& msg, const std::vector<Want>& want,
                    const EntityOptions& o = {}) {
  const auto got = x.Extract(msg, o);
  CheckSpans(msg, got);
  ASSERT_EQ(got.size(), want.size()) << msg << [&] {
    std::string s = "\n got:";
    for (const auto& e : got) s += " [" + e.type + " '" + e.text + "' " + e.value + "]";
    return s;
  }();
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(got[k].type, want[k].type) << msg;
    EXPECT_EQ(got[k].text, want[k].text) << msg;
    EXPECT_EQ(got[k].value, want[k].value) << msg;
  }
}

EntityExtractor Catalogue() {
  EntityExtractor x;
  x.AddProduct("Longjing green tea", "i001");
  x.AddProduct("西湖龙井", "i001");
  x.AddProduct("green tea", "i002");
  x.AddProduct("紫砂壶", "i003");
  x.AddProduct("Yixing teapot", "i003");
  x.AddProduct("tea", "i009");
  return x;
}

TEST(Entities, ExactSpansOnAFixedSet) {
  const EntityExtractor x = Catalogue();
  EntityOptions o;
  o.reference_date = "2025-03-10";
  ExpectEntities(x, "Where is my order O20250304-1234? I paid ¥128.00 on 2025-03-04.",
                 {{"order_id", "O20250304-1234", "O20250304-1234"}, {"amount", "¥128.00", "CNY 128.00"},
                  {"date", "2025-03-04", "2025-03-04"}}, o);
  ExpectEntities(x, "我的订单号：88123456 还没到，电话13812345678，邮箱 li.wei@example.com",
                 {{"order_id", "88123456", "88123456"}, {"phone", "13812345678", "13812345678"},
                  {"email", "li.wei@example.com", "li.wei@example.com"}}, o);
  // Full-width digits and the full-width yen sign; a Chinese date without a year.
  ExpectEntities(x, "３月４日买的西湖龙井，付了￥２５６元，想退款",
                 {{"date", "３月４日", "2025-03-04"}, {"product", "西湖龙井", "i001"},
                  {"amount", "￥２５６元", "CNY 256.00"}}, o);
  // Longest product name wins; Latin names match on word boundaries only.
  ExpectEntities(x, "The Longjing Green Tea and the Yixing teapot arrived broken; the teaspoon is fine",
                 {{"product", "Longjing Green Tea", "i001"}, {"product", "Yixing teapot", "i003"}}, o);
  ExpectEntities(x, "Call me at +86 138-1234-5678 or (415) 555-0123 about order #554433",
                 {{"phone", "+86 138-1234-5678", "+8613812345678"}, {"phone", "(415) 555-0123", "4155550123"},
                  {"order_id", "#554433", "554433"}}, o);
  ExpectEntities(x, "charged 1,299.50 yuan and USD 20 twice yesterday, see https://shop.example.com/o/77?x=1.",
                 {{"amount", "1,299.50 yuan", "CNY 1299.50"}, {"amount", "USD 20", "USD 20.00"},
                  {"date", "yesterday", "2025-03-09"}, {"url", "https://shop.example.com/o/77?x=1", "https://shop.example.com/o/77?x=1"}}, o);
  ExpectEntities(x, "delivered March 4th, 2025 instead of 7 March; 昨天又问了", 
                 {{"date", "March 4th, 2025", "2025-03-04"}, {"date", "7 March", "2025-03-07"}, {"date", "昨天", "2025-03-09"}}, o);
  ExpectEntities(x, "訂單號 77665544 還沒到", {{"order_id", "77665544", "77665544"}}, o);  // traditional keyword
  ExpectEntities(x, "订单2025年2月30日", {}, o);  // no such day, and the date is not an order number either
  // Nothing in plain text; short numbers are not order ids, dates or phones.
  ExpectEntities(x, "I want 2 cups of 3 sizes, not 12345 or v2", {}, o);
}

TEST(Entities, KnownOrdersAndNoReferenceDate) {
  EntityExtractor x;
  x.AddOrderId("o0001234");
  // A known id with few digits is still found; without a reference date
  // relative days are skipped and yearless dates keep no year.
  ExpectEntities(x, "order O0001234 since yesterday, 3月4号", {{"order_id", "O0001234", "O0001234"}, {"date", "3月4号", "--03-04"}});
  x.AddOrderId("ab12");
  ExpectEntities(x, "ref AB12 please", {{"order_id", "AB12", "AB12"}});
}

}  // namespace
}  // namespace opspilot::nlp
