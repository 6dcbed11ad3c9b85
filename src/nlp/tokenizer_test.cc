#include "nlp/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "nlp/text.h"
#include "testing/temp_dir.h"

namespace opspilot::nlp {
namespace {

// Support messages in both languages with a few frequent words planted.
std::vector<std::string> Corpus(int n, uint64_t seed) {
  const std::vector<std::string> en = {"i want a refund for my order", "where is my order", "please refund the teapot",
                                       "the delivery was late again", "can i change the delivery address",
                                       "refunded twice but nothing arrived", "thanks for the quick delivery"};
  const std::vector<std::string> zh = {"我要退款", "订单到哪了", "退款什么时候到账", "快递太慢了", "我想改收货地址",
                                       "谢谢 服务很好", "这个茶杯质量太差 要退款"};
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  for (int k = 0; k < n; ++k) {
    std::string t = rng() % 2 ? en[rng() % en.size()] : zh[rng() % zh.size()];
    if (rng() % 3 == 0) t += " 订单" + std::to_string(100000 + rng() % 900000);
    if (rng() % 4 == 0) t += " " + zh[rng() % zh.size()];
    out.push_back(t);
  }
  return out;
}

TEST(Tokenizer, RoundTripsAndLearnsFrequentWordsAsPieces) {
  const auto corpus = Corpus(2000, 1);
  auto tok = Tokenizer::Train(corpus, {.vocab_size = 300});
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_LE(tok->vocab_size(), 300);
  EXPECT_GT(tok->vocab_size(), 100);
  for (const auto& t : Corpus(200, 2)) {
    const auto ids = tok->Encode(t);
    EXPECT_EQ(tok->Decode(ids), Normalize(t)) << t;
    EXPECT_TRUE(std::none_of(ids.begin(), ids.end(), [](int32_t id) { return id == Tokenizer::kUnk || id == Tokenizer::kPad; }));
  }
  // New sentences of known characters round-trip too.
  EXPECT_EQ(tok->Decode(tok->Encode("Refund the ORDER 退款到哪了")), Normalize("Refund the ORDER 退款到哪了"));
  // Frequent words become whole pieces; Chinese runs are cut into multi-character pieces.
  EXPECT_EQ(tok->EncodePieces("refund"), std::vector<std::string>{"\xE2\x96\x81refund"});
  const auto zh = tok->EncodePieces("我要退款");
  EXPECT_LT(zh.size(), 4u);
  EXPECT_EQ(tok->EncodePieces("refunded teapot 订单123").back(), "\xE2\x96\x81<num>");  // digits: a placeholder after a space
  // Characters never seen are <unk>.
  const auto unk = tok->Encode("zebra 鲸");
  EXPECT_NE(std::find(unk.begin(), unk.end(), Tokenizer::kUnk), unk.end());
}

// split_cjk: Chinese characters stay single pieces (a space may still merge
// into the first), English words still merge, and the choice survives Save/Load.
TEST(Tokenizer, SplitCjkKeepsChineseCharactersSingleAndSurvivesSaving) {
  const auto corpus = Corpus(2000, 1);
  TokenizerOptions o;
  o.vocab_size = 300;
  o.split_cjk = true;
  auto tok = Tokenizer::Train(corpus, o);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const auto zh = tok->EncodePieces("我要退款 订单到哪了");
  for (const auto& p : zh) {
    std::string rest = p;
    if (rest.rfind("\xE2\x96\x81", 0) == 0) rest.erase(0, 3);  // a leading "▁"
    EXPECT_EQ(rest.size(), 3u) << p;                             // one CJK character in UTF-8
  }
  EXPECT_EQ(zh.size(), 9u);
  EXPECT_EQ(tok->EncodePieces("refund"), std::vector<std::string>{"\xE2\x96\x81refund"});
  EXPECT_EQ(tok->Decode(tok->Encode("Refund the ORDER 退款到哪了")), Normalize("Refund the ORDER 退款到哪了"));
  testing::TempDir dir;
  ASSERT_TRUE(tok->Save(dir.file("t.json")).ok());
  auto back = Tokenizer::Load(dir.file("t.json"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->EncodePieces("我要退款 订单到哪了"), zh);
  // The same corpus without the option merges Chinese runs.
  o.split_cjk = false;
  auto merged = Tokenizer::Train(corpus, o);
  ASSERT_TRUE(merged.ok());
  EXPECT_LT(merged->EncodePieces("我要退款 订单到哪了").size(), zh.size());
}

TEST(Tokenizer, SavesLoadsAndTrainsDeterministically) {
  const auto corpus = Corpus(1000, 3);
  auto a = Tokenizer::Train(corpus, {.vocab_size = 200});
  auto b = Tokenizer::Train(corpus, {.vocab_size = 200});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->vocab_size(), b->vocab_size());
  for (int32_t k = 0; k < a->vocab_size(); ++k) EXPECT_EQ(a->piece(k), b->piece(k));
  testing::TempDir dir;
  ASSERT_TRUE(a->Save(dir.file("tok.json")).ok());
  auto c = Tokenizer::Load(dir.file("tok.json"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  for (const auto& t : Corpus(100, 4)) EXPECT_EQ(c->Encode(t), a->Encode(t));
  EXPECT_FALSE(Tokenizer::Load(dir.Write("bad.json", R"({"format": "opspilot-bpe-1", "pieces": ["a"], "merges": []})")).ok());
  EXPECT_EQ(Tokenizer::Load(dir.file("none.json")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(Tokenizer::Train({"", "   "}).ok());
}

// The best score of any split of `word` (code points) into pieces of `tok`,
// by trying them all: what Encode's Viterbi must reach.
double BestSplit(const Tokenizer& tok, const std::vector<std::string>& chars, size_t at,
                 const std::map<std::string, int32_t>& ids) {
  if (at == chars.size()) return 0;
  double best = -1e300;
  std::string acc;
  for (size_t j = at; j < chars.size(); ++j) {
    acc += chars[j];
    const auto it = ids.find(acc);
    if (it == ids.end()) continue;
    best = std::max(best, tok.score(it->second) + BestSplit(tok, chars, j + 1, ids));
  }
  return best;
}

TEST(Tokenizer, UnigramLearnsFrequentWordsAndEncodesTheMostProbableSplit) {
  const auto corpus = Corpus(2000, 1);
  TokenizerOptions o;
  o.model = "unigram";
  o.vocab_size = 300;
  auto tok = Tokenizer::Train(corpus, o);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ(tok->model(), "unigram");
  EXPECT_LE(tok->vocab_size(), 300);
  EXPECT_GT(tok->vocab_size(), 150);
  for (const auto& t : Corpus(200, 2)) EXPECT_EQ(tok->Decode(tok->Encode(t)), Normalize(t)) << t;
  // The planted frequent words are single pieces.
  EXPECT_EQ(tok->EncodePieces("refund delivery"), (std::vector<std::string>{"▁refund", "▁delivery"}));
  EXPECT_LE(tok->EncodePieces("我要退款").size(), 2u);
  // Scores are log probabilities: the pieces' probabilities sum to 1.
  double mass = 0;
  for (int32_t id = 3; id < tok->vocab_size(); ++id) {
    EXPECT_LE(tok->score(id), 0.f);
    mass += std::exp(static_cast<double>(tok->score(id)));
  }
  EXPECT_NEAR(mass, 1.0, 0.01);
  // Viterbi: no split of the word scores higher than the one Encode gives.
  std::map<std::string, int32_t> ids;
  for (int32_t id = 3; id < tok->vocab_size(); ++id) ids.emplace(tok->piece(id), id);
  for (const std::string word : {"refunded", "deliveries", "teapots", "addressed", "退款什么时候到账", "改收货地址"}) {
    std::vector<std::string> chars = {"▁"};
    for (size_t i = 0; i < word.size();) {
      const size_t m = (static_cast<unsigned char>(word[i]) >= 0xE0) ? 3 : 1;
      chars.push_back(word.substr(i, m));
      i += m;
    }
    double got = 0;
    for (int32_t id : tok->Encode(word)) got += tok->score(id);
    EXPECT_NEAR(got, BestSplit(*tok, chars, 0, ids), 1e-4) << word;
  }
  // Saved and loaded: the same pieces and splits; a damaged file is refused by name.
  testing::TempDir dir;
  ASSERT_TRUE(tok->Save(dir.file("u.json")).ok());
  auto back = Tokenizer::Load(dir.file("u.json"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->model(), "unigram");
  for (const auto& t : Corpus(50, 3)) EXPECT_EQ(back->Encode(t), tok->Encode(t)) << t;
  {
    std::ofstream f(dir.file("bad.json"));
    f << R"({"format": "opspilot-unigram-1", "pieces": ["<pad>", "<unk>", "<mask>", "a"], "scores": [0, 0, 0]})";
  }
  auto bad = Tokenizer::Load(dir.file("bad.json"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.json: 3 scores for 4 pieces"), std::string::npos) << bad.status().message();
  o.model = "wordpiece";
  EXPECT_FALSE(Tokenizer::Train(corpus, o).ok());
}

}  // namespace
}  // namespace opspilot::nlp
