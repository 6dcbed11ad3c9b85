#include "nlp/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace opspilot::nlp {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(Text, NormalizesWidthCasePunctuationAndPlaceholders) {
  EXPECT_EQ(Normalize("ＲＥＦＵＮＤ　please！"), "refund please!");
  EXPECT_EQ(Normalize("订单号：123456，谢谢。"), "订单号: <num> ,谢谢.");
  EXPECT_EQ(Normalize("see https://shop.example.com/a?b=1 or mail Li.Wei@example.com"), "see <url> or mail <email>");
  EXPECT_EQ(Normalize("price 12.50 yuan"), "price <num> yuan");
  EXPECT_EQ(Normalize("  a \t\n b  "), "a b");
  NormalizeOptions keep;
  keep.placeholders = false;
  keep.lower = false;
  EXPECT_EQ(Normalize("Order 42", keep), "Order 42");
  // Invalid UTF-8 becomes U+FFFD instead of passing through.
  EXPECT_EQ(Normalize(std::string("a\xff" "b")), "a\xEF\xBF\xBD" "b");
}

TEST(Text, FoldsCommonTraditionalCharactersToSimplified) {
  EXPECT_EQ(Normalize("訂單還沒發貨，請幫我查一下運費"), "订单还没发货,请帮我查一下运费");
  // The same features either way, so one model serves both scripts.
  EXPECT_EQ(FeatureStrings("我要退貨，質量太差"), FeatureStrings("我要退货，质量太差"));
  NormalizeOptions keep;
  keep.simplified = false;
  EXPECT_EQ(Normalize("訂單", keep), "訂單");
  EXPECT_EQ(Normalize("订单 ORDER"), "订单 order");  // simplified and Latin text are untouched
}

TEST(Text, TokenizesChineseByCharacterAndEnglishByWord) {
  const auto t = Tokenize(Normalize("我要退款 for order 12, it's late 😡"));
  const std::vector<std::string> want = {"我", "要", "退", "款", "for", "order", "<num>", ",", "it's", "late", "😡"};
  EXPECT_EQ(t, want);
}

TEST(Text, DetectsTheLanguage) {
  EXPECT_EQ(DetectLanguage("我的订单什么时候到"), "zh");
  EXPECT_EQ(DetectLanguage("where is my order"), "en");
  EXPECT_EQ(DetectLanguage("我的 order 什么时候到"), "zh");
  EXPECT_EQ(DetectLanguage("refund 退款 please for my order today"), "en");
  EXPECT_EQ(DetectLanguage("12345 !!"), "");
}

TEST(Text, FeaturesAreWordAndCharacterNgrams) {
  const auto f = FeatureStrings("我要退款, refund my order");
  for (const char* x : {"c:我", "c:退款", "c:要退款", "w:refund", "w:refund_my", "w:my_order"}) EXPECT_TRUE(Has(f, x)) << x;
  // n-grams stop at punctuation and at a change of script.
  EXPECT_FALSE(Has(f, "c:款,"));
  EXPECT_FALSE(Has(f, "c:退款r"));
  FeatureOptions o;
  o.buckets = 1000;
  const auto ids = Features("我要退款, refund my order", o);
  EXPECT_EQ(ids.size(), f.size());
  for (uint32_t id : ids) EXPECT_LT(id, 1000u);
  // Same text, same ids; a different word, a different id (almost surely).
  EXPECT_EQ(Features("refund", o), Features("REFUND", o));
  EXPECT_NE(Features("refund"), Features("invoice"));
}

// The readable features of a mixed text, exactly and in order (what the
// string-building code before the hashed walk produced).
TEST(Text, FeatureStringsOfAMixedTextInOrder) {
  const std::vector<std::string> want = {"c:我", "c:我要", "c:我要退", "c:要", "c:要退", "c:要退款", "c:退", "c:退款", "c:款",
                                         "w:refund", "w:refund_my", "w:my", "w:my_order", "w:order", "s:😀"};
  EXPECT_EQ(FeatureStrings("我要退款, refund my order 😀"), want);
}

// Features hashes each feature as it grows (no strings); it must equal the
// FNV-1a of every readable feature, in order, on mixed text.
TEST(Text, HashedFeaturesAreTheHashesOfTheReadableOnes) {
  EXPECT_EQ(Fnv1a(""), kFnv1aBasis);
  EXPECT_EQ(Fnv1a("w:ab_cd"), Fnv1aExtend(Fnv1aExtend(Fnv1a("w:ab"), "_"), "cd"));
  EXPECT_EQ(Fnv1a("a"), (kFnv1aBasis ^ 'a') * 16777619u);  // the FNV-1a definition
  FeatureOptions o;
  o.word_ngrams = 3;
  o.buckets = 1u << 31;
  for (const char* text : {"我要退款, refund my order 123 now 😀 ok", "質量太差了！！ where is MY parcel #A-77?", "", "a"}) {
    const auto strings = FeatureStrings(text, o);
    const auto ids = Features(text, o);
    ASSERT_EQ(ids.size(), strings.size()) << text;
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], Fnv1a(strings[i]) % o.buckets) << strings[i];
  }
}

}  // namespace
}  // namespace opspilot::nlp
