#include "nlp/wordpiece.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace opspilot::nlp {
namespace {

using Words = std::vector<std::string>;

std::string VocabFile(testing::TempDir& dir, const std::string& name, const Words& pieces) {
  std::string text;
  for (const auto& p : pieces) text += p + "\n";
  return dir.Write(name, text);
}

WordPiece Make(testing::TempDir& dir, const Words& pieces) {
  auto wp = WordPiece::FromVocab(VocabFile(dir, "vocab.txt", pieces));
  EXPECT_TRUE(wp.ok()) << wp.status().message();
  return std::move(*wp);
}

const Words kSpecials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};

Words With(Words extra) {
  Words v = kSpecials;
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

// BERT's basic tokenization, each step with a case worked out by hand from
// the algorithm in wordpiece.h.
TEST(WordPiece, SplitsLikeBertsBasicTokenizer) {
  testing::TempDir dir;
  // bert-base-chinese's <S> and <T>, and a few stray capitals, leave a
  // vocabulary uncased.
  const WordPiece uncased = Make(dir, With({"hello", "<S>", "<T>", "OK", "Ａ"}));
  EXPECT_TRUE(uncased.lower_case());
  // White space of every kind splits; punctuation stands alone; case folds.
  EXPECT_EQ(uncased.Split(" \tHeLLo!how  \n Are yoU?  "), (Words{"hello", "!", "how", "are", "you", "?"}));
  // Accents go with the case (NFD, then the non-spacing marks dropped).
  EXPECT_EQ(uncased.Split("H\u00E9llo na\u0308ive"), (Words{"hello", "naive"}));
  // Every CJK ideograph is a word; kana and full-width punctuation too
  // (kana is not an ideograph, so it stays with its run; ！ is punctuation).
  EXPECT_EQ(uncased.Split("ah\u535A\u63A8zz"), (Words{"ah", "\u535A", "\u63A8", "zz"}));
  EXPECT_EQ(uncased.Split("我要退款！订单123"), (Words{"我", "要", "退", "款", "！", "订", "单", "123"}));
  EXPECT_EQ(uncased.Split("カタカナ"), (Words{"カタカナ"}));
  // NUL, control and format characters vanish without splitting; the
  // ideographic space (Zs) splits.
  EXPECT_EQ(uncased.Split(std::string("a\0b", 3) + "\x01" + "c\u200Bd\u3000e"), (Words{"abcd", "e"}));
  // An apostrophe and a hyphen are punctuation; an emoji (So) is not.
  EXPECT_EQ(uncased.Split("don't e-mail 😀ok"), (Words{"don", "'", "t", "e", "-", "mail", "😀ok"}));
  // Invalid UTF-8 becomes U+FFFD, which is dropped.
  EXPECT_EQ(uncased.Split("ab\xff" "cd"), (Words{"abcd"}));

  Words capitals = {"hello"};
  for (char c = 'A'; c < 'A' + 19; ++c) capitals.push_back(std::string(1, c) + "ey");
  EXPECT_TRUE(Make(dir, With(capitals)).lower_case());  // 19 capitalised pieces
  capitals.push_back("Tey");
  const WordPiece cased = Make(dir, With(capitals));  // 20
  EXPECT_FALSE(cased.lower_case());
  EXPECT_EQ(cased.Split("HeLLo H\u00E9llo"), (Words{"HeLLo", "H\u00E9llo"}));
}

TEST(WordPiece, SplitsWordsGreedilyLongestPieceFirst) {
  testing::TempDir dir;
  const WordPiece wp = Make(dir, With({"want", "##want", "##ed", "wa", "un", "runn", "##ing", "退", "款"}));
  EXPECT_EQ(wp.EncodePieces("unwanted running"), (Words{"un", "##want", "##ed", "runn", "##ing"}));
  // A word with a part no piece covers is [UNK] as a whole.
  EXPECT_EQ(wp.EncodePieces("unwantedX running"), (Words{"[UNK]", "runn", "##ing"}));
  EXPECT_EQ(wp.EncodePieces("wa want wan"), (Words{"wa", "want", "[UNK]"}));
  EXPECT_EQ(wp.EncodePieces(""), Words{});
  EXPECT_EQ(wp.EncodePieces("退款了"), (Words{"退", "款", "[UNK]"}));
  // Ids: [CLS] .. [SEP], each piece its line number.
  EXPECT_EQ(wp.Encode("unwanted running"), (std::vector<int32_t>{2, 8, 5, 6, 9, 10, 3}));
  EXPECT_EQ(wp.Encode(""), (std::vector<int32_t>{2, 3}));
  // More than 100 characters: [UNK], even when pieces would cover it.
  const WordPiece a = Make(dir, With({"a", "##a"}));
  EXPECT_EQ(a.EncodePieces(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(a.EncodePieces(std::string(101, 'a')), Words{"[UNK]"});
}

TEST(WordPiece, ReadsVocabFilesAndSavesItself) {
  testing::TempDir dir;
  // CRLF lines; a repeated piece takes its later line's id.
  const std::string path = dir.Write("v.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nok\r\nfine\r\nok\r\n");
  auto wp = WordPiece::FromVocab(path);
  ASSERT_TRUE(wp.ok()) << wp.status().message();
  EXPECT_EQ(wp->vocab_size(), 7);
  EXPECT_EQ(wp->Encode("OK fine"), (std::vector<int32_t>{2, 6, 5, 3}));
  ASSERT_TRUE(wp->Save(dir.file("tok.json")).ok());
  EXPECT_TRUE(WordPiece::IsWordPieceFile(dir.file("tok.json")));
  EXPECT_FALSE(WordPiece::IsWordPieceFile(path));
  auto back = WordPiece::Load(dir.file("tok.json"));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->Encode("OK fine ??"), wp->Encode("OK fine ??"));
  EXPECT_EQ(back->lower_case(), wp->lower_case());

  EXPECT_EQ(WordPiece::FromVocab(dir.file("missing.txt")).status().code(), StatusCode::kNotFound);
  auto no_pad = WordPiece::FromVocab(VocabFile(dir, "a.txt", {"[UNK]", "[PAD]", "[CLS]", "[SEP]"}));
  ASSERT_FALSE(no_pad.ok());
  EXPECT_NE(no_pad.status().message().find("a.txt: line 1 must be [PAD]"), std::string::npos) << no_pad.status().message();
  auto no_sep = WordPiece::FromVocab(VocabFile(dir, "b.txt", {"[PAD]", "[UNK]", "[CLS]"}));
  ASSERT_FALSE(no_sep.ok());
  EXPECT_NE(no_sep.status().message().find("b.txt: no [SEP]"), std::string::npos) << no_sep.status().message();
  EXPECT_FALSE(WordPiece::Load(path).ok());  // a vocab.txt is not a saved tokenizer
}

}  // namespace
}  // namespace opspilot::nlp
