#include "nlp/retrieval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "nlp/text.h"
#include "testing/temp_dir.h"

namespace opspilot::nlp {
namespace {

std::vector<FaqEntry> Faq() {
  auto e = [](std::string id, std::string q, std::string a, std::vector<std::string> alts = {}) {
    FaqEntry f;
    f.id = std::move(id), f.question = std::move(q), f.answer = std::move(a), f.alternatives = std::move(alts);
    f.language = DetectLanguage(f.question);
    return f;
  };
  return {
      e("refund_time", "How long does a refund take?", "Refunds reach your card within 3-5 working days."),
      e("return_policy", "What is your return policy?", "You can return unopened items within 7 days."),
      e("shipping_cost", "How much is shipping?", "Shipping is free above 99 yuan, otherwise 8 yuan."),
      e("invoice", "How do I get an invoice?", "Request an invoice under My Orders > Invoice."),
      e("change_address", "Can I change my delivery address?", "You can change the address before the order ships."),
      e("payment_methods", "Which payment methods do you accept?", "We accept Alipay, WeChat Pay and credit cards."),
      e("cancel", "How do I cancel an order?", "Cancel it under My Orders before it ships."),
      e("tea_storage", "How should I store green tea?", "Keep it sealed, dry and cool, away from light."),
      e("zh_refund_time", "退款多久到账？", "退款会在3-5个工作日内原路退回。"),
      e("zh_shipping", "运费怎么算？", "满99元包邮，否则运费8元。"),
      e("zh_invoice", "怎么开发票？", "在我的订单里申请电子发票。"),
      e("zh_cancel", "怎么取消订单？", "发货前可以在我的订单里取消。"),
  };
}

TEST(Retrieval, ReturnsThePlantedFaqForParaphrasedQuestions) {
  const FaqIndex index(Faq());
  const std::map<std::string, std::string> paraphrases = {
      {"when will I get my money back after a refund", "refund_time"},
      {"how many days until the refund arrives on my card", "refund_time"},
      {"can i send back an item i bought", "return_policy"},
      {"is shipping free? what does delivery cost", "shipping_cost"},
      {"i need an invoice for my company", "invoice"},
      {"wrong delivery address, can it be changed", "change_address"},
      {"do you accept credit cards or alipay", "payment_methods"},
      {"please cancel my order", "cancel"},
      {"best way to keep green tea fresh, store it in the fridge?", "tea_storage"},
      {"我的退款几天能到账", "zh_refund_time"},
      {"运费多少钱", "zh_shipping"},
      {"发票怎么申请", "zh_invoice"},
      {"我想取消这个订单", "zh_cancel"},
  };
  int right = 0;
  for (const auto& [q, want] : paraphrases) {
    const auto hits = index.Search(q, 3);
    ASSERT_FALSE(hits.empty()) << q;
    const bool ok = index.entries()[hits[0].index].id == want;
    right += ok;
    EXPECT_TRUE(ok) << q << " -> " << index.entries()[hits[0].index].id;
    EXPECT_GT(hits[0].confidence, 0.1) << q;
    EXPECT_LE(hits[0].confidence, 1.0) << q;
  }
  EXPECT_EQ(right, static_cast<int>(paraphrases.size()));
  // Language filter, and an unrelated question matches nothing well.
  for (const auto& h : index.Search("退款", 10, "zh")) EXPECT_EQ(index.entries()[h.index].language, "zh");
  const auto off = index.Search("what is the capital of peru", 1);
  EXPECT_TRUE(off.empty() || off[0].confidence < 0.3);
}

TEST(Retrieval, Bm25MatchesAHandComputation) {
  // Two documents; the query "refund" appears once in the first (3 tokens).
  FaqEntry a, b;
  a.question = "refund card late", a.answer = "x";
  b.question = "shipping cost", b.answer = "y";
  const FaqIndex index({a, b});
  const auto hits = index.Search("refund", 2);
  ASSERT_EQ(hits.size(), 1u);
  // Token counts: question words weigh 1, the answer's 0.3.
  const double len_a = 3 + 0.3, len_b = 2 + 0.3, mean = (len_a + len_b) / 2;
  const double idf = std::log(1 + (2 - 1 + 0.5) / (1 + 0.5));
  const double want = idf * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * len_a / mean));
  EXPECT_NEAR(hits[0].bm25, want, 1e-9);
  EXPECT_NEAR(hits[0].coverage, 1.0, 1e-12);
}

TEST(Retrieval, DenseEmbeddingsRescueASynonymThatBm25Misses) {
  // A toy embedding that knows "parcel" ~ "package" ~ "shipment": what a
  // trained encoder provides.
  const std::map<std::string, int> concept_of = {{"parcel", 0}, {"package", 0}, {"shipment", 0}, {"track", 1},
                                                 {"trace", 1}, {"where", 1}, {"refund", 2}, {"money", 2}};
  EmbedFn embed = [&](const std::vector<std::string>& texts) {
    std::vector<std::vector<float>> out;
    for (const auto& t : texts) {
      std::vector<float> v(4, 0.f);
      for (const auto& tok : RetrievalTokens(t)) {
        const auto it = concept_of.find(tok);
        v[it == concept_of.end() ? 3 : static_cast<size_t>(it->second)] += 1;
      }
      float n = 0;
      for (float x : v) n += x * x;
      for (float& x : v) x /= std::sqrt(std::max(n, 1e-12f));
      out.push_back(v);
    }
    return out;
  };
  FaqEntry track, refund;
  track.id = "track", track.question = "How can I trace my package?", track.answer = "Use the tracking link.";
  refund.id = "refund", refund.question = "Where is my refund money?", refund.answer = "Refunds take 5 days.";
  const FaqIndex lexical({track, refund});
  const FaqIndex hybrid({track, refund}, embed);
  const std::string q = "where is my parcel";  // shares only "where" with the refund entry
  EXPECT_EQ(lexical.entries()[lexical.Search(q, 1)[0].index].id, "refund");
  const auto h = hybrid.Search(q, 2);
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(hybrid.entries()[h[0].index].id, "track");
  EXPECT_GT(h[0].dense, 0.5);
}

TEST(Retrieval, ReadsFaqFilesWithClearErrors) {
  testing::TempDir dir;
  auto csv = ReadFaq(dir.Write("f.csv", "id,question,answer,alternatives\nq1,\"Refund time?\",3-5 days,how long refund|refund days\n"));
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  EXPECT_EQ((*csv)[0].alternatives.size(), 2u);
  EXPECT_EQ((*csv)[0].language, "en");
  auto jl = ReadFaq(dir.Write("f.jsonl", "{\"question\":\"运费？\",\"answer\":\"8元\",\"alternatives\":[\"邮费\"]}\n"));
  ASSERT_TRUE(jl.ok()) << jl.status().message();
  EXPECT_EQ((*jl)[0].language, "zh");
  auto bad = ReadFaq(dir.Write("b.csv", "question,answer\nhi,\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("b.csv:2: field 'answer'"), std::string::npos) << bad.status().message();
  auto badj = ReadFaq(dir.Write("b.jsonl", "{\"question\":\"x\"}\n"));
  ASSERT_FALSE(badj.ok());
  EXPECT_NE(badj.status().message().find("b.jsonl:1: field 'answer'"), std::string::npos);
}

}  // namespace
}  // namespace opspilot::nlp
