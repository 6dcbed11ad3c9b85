// Text normalisation and features for Chinese, English and mixed messages:
// the front end of the support classifiers (issue 9). No spaces separate
// Chinese words, so Chinese runs give character n-grams (on short Chinese
// queries character uni- to tri-grams beat dictionary word segmentation);
// Latin runs give lower-cased words and word n-grams. Features are hashed
// (FNV-1a) into a fixed number of buckets, as fastText does, so the model's
// size does not grow with the vocabulary.
#ifndef OPSPILOT_NLP_TEXT_H_
#define OPSPILOT_NLP_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opspilot::nlp {

struct NormalizeOptions {
  bool lower = true;            // ASCII lower case
  bool placeholders = true;     // URLs -> <url>, emails -> <email>, digit runs -> <num>
  bool simplified = true;       // common traditional Chinese characters -> simplified (訂單 -> 订单)
};

// Full-width ASCII (Ａ１！) -> half-width, the ideographic space -> a space,
// common full-width punctuation (，。！？：；（）) -> ASCII, common traditional
// Chinese characters -> simplified, lower case,
// placeholders, runs of white space -> one space, trimmed. Invalid UTF-8
// bytes become U+FFFD.
std::string Normalize(std::string_view text, const NormalizeOptions& options = {});

// Tokens of normalised text: ASCII words (letters, digits, '_', '\'', and
// placeholders like <num>), each CJK character, and each other non-space
// symbol (emoji, punctuation) as its own token.
std::vector<std::string> Tokenize(std::string_view normalized);

// Decodes the UTF-8 code point at s[*i] and advances *i; invalid bytes give
// U+FFFD (one byte consumed).
char32_t NextCodePoint(std::string_view s, size_t* i);
void AppendUtf8(std::string* out, char32_t cp);
// Full-width ASCII -> ASCII, the ideographic space -> ' ', 、。“”‘’ -> ,."'.
char32_t FoldWidth(char32_t cp);

// 32-bit FNV-1a: the hash behind the feature buckets. Fnv1aExtend(h, s)
// continues a hash over more bytes: Fnv1a(a + b) == Fnv1aExtend(Fnv1a(a), b),
// so n-grams can be hashed as they grow, without building their strings.
inline constexpr uint32_t kFnv1aBasis = 2166136261u;
inline uint32_t Fnv1aExtend(uint32_t h, std::string_view s) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}
inline uint32_t Fnv1a(std::string_view s) { return Fnv1aExtend(kFnv1aBasis, s); }

// True for a code point in the CJK ideograph, kana or hangul ranges.
bool IsCjk(char32_t cp);

// "zh" when at least 30% of the letters are CJK, "en" when there are
// Latin letters, else "" (no letters).
std::string DetectLanguage(std::string_view text);

struct FeatureOptions {
  int word_ngrams = 2;      // Latin words: unigrams .. this
  int cjk_ngrams = 3;       // Chinese characters: unigrams .. this (within a run)
  uint32_t buckets = 2000000;
};

// Hashed feature ids in [0, buckets), in order of appearance (repeats kept:
// bag-of-features models average them): Fnv1a of each FeatureStrings string.
std::vector<uint32_t> Features(std::string_view text, const FeatureOptions& options = {});
// The same, of tokens already normalised and tokenized (Tokenize(Normalize(text))),
// appended to `ids`: for callers that need the tokens for more features.
void TokenFeatures(const std::vector<std::string>& tokens, const FeatureOptions& options, std::vector<uint32_t>* ids);

// The readable features (for tests and explanations): "w:refund",
// "w:my_order", "c:退款", ...
std::vector<std::string> FeatureStrings(std::string_view text, const FeatureOptions& options = {});

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_TEXT_H_
