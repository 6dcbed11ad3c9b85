// FAQ / knowledge-base retrieval: BM25 over the questions (and, weighted
// down, the answers) plus, when an embedding function is given, cosine
// similarity of sentence embeddings; the two are fused into one ranking
// and every hit carries a confidence in [0, 1].
#ifndef OPSPILOT_NLP_RETRIEVAL_H_
#define OPSPILOT_NLP_RETRIEVAL_H_

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace opspilot::nlp {

struct FaqEntry {
  std::string id, question, answer;
  std::string language;                   // "zh" | "en" | "" (detected when empty)
  std::string intent;                     // optional: the intent it answers
  std::vector<std::string> alternatives;  // other phrasings of the question
};

// CSV with `question` and `answer` columns (`id`, `language`, `intent`,
// `alternatives` ('|'-separated) optional), or JSON lines with the same
// keys (`alternatives` an array). Errors name the file, line and field.
StatusOr<std::vector<FaqEntry>> ReadFaq(const std::string& path);

// Sentence embeddings (L2-normalised) of texts, one vector per text.
using EmbedFn = std::function<std::vector<std::vector<float>>(const std::vector<std::string>&)>;

// Retrieval tokens: lower-cased Latin words, lightly stemmed, stop words
// dropped; Chinese characters and character bigrams.
std::vector<std::string> RetrievalTokens(std::string_view text);

struct FaqHit {
  size_t index = 0;       // into entries()
  double score = 0;       // the fused ranking score
  double bm25 = 0;
  double dense = 0;       // cosine; 0 without embeddings
  double coverage = 0;    // share of the query's IDF mass the entry matches
  double confidence = 0;  // [0, 1]
};

class FaqIndex {
 public:
  FaqIndex() = default;
  explicit FaqIndex(std::vector<FaqEntry> entries, EmbedFn embed = nullptr);

  // Best first. `language` non-empty: entries in that language (or with
  // none) only.
  std::vector<FaqHit> Search(std::string_view query, int k, std::string_view language = "") const;
  const std::vector<FaqEntry>& entries() const { return entries_; }
  bool dense() const { return static_cast<bool>(embed_); }

 private:
  std::vector<FaqEntry> entries_;
  EmbedFn embed_;
  std::vector<std::vector<float>> vectors_;
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, float>>> postings_;  // term -> (doc, weighted tf)
  std::vector<float> length_;
  double mean_length_ = 1;
};

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_RETRIEVAL_H_
