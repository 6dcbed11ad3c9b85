// A subword tokenizer trained on the user's own corpus (Chinese, English,
// mixed), either of sentencepiece's two models:
//   bpe      byte-pair encoding: merges learned most-frequent-pair first,
//            applied in the order learned;
//   unigram  a unigram language model over pieces (Kudo 2018): a seed of
//            frequent substrings, EM on the piece probabilities (expected
//            counts by forward-backward over each word's lattice), pruning
//            the pieces whose loss costs the corpus likelihood least until
//            the vocabulary fits; Encode is the Viterbi (most probable)
//            segmentation.
// Text is normalised
// (nlp::Normalize: width, case, placeholders), split where the script
// changes (Latin words, CJK runs, single symbols) and at spaces, a space
// becoming the "▁" that starts the next piece; BPE merges are learned within
// those words, so Chinese runs get multi-character pieces (退款, 订单) and
// English words whole-word or subword pieces (▁refund, ▁deliver + ed). With
// split_cjk every Chinese character is a word of its own, as in BERT's
// Chinese models: the text classifiers train their tokenizers that way (a
// TextCNN on generated Chinese reviews: 93.1% with single characters, 78.2%
// with a 4000-piece vocabulary of merged runs, whose unseen phrasings become
// unseen pieces).
// Decode(Encode(t)) gives Normalize(t) back when every character of t is in
// the vocabulary (rarer ones become <unk>).
//
// Why not libsentencepiece: Debian's libsentencepiece 0.1.97 carries its
// own protobuf 3.14 and exports it; in a process that also loads libtorch's
// libprotobuf 3.21 the two collide at start-up (abort or segfault), and the
// sequence models need both in opspilot-nn.
//
// Torch-free. A Tokenizer is immutable after Train/Load: Encode and Decode
// may run on many threads at once.
#ifndef OPSPILOT_NLP_TOKENIZER_H_
#define OPSPILOT_NLP_TOKENIZER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace opspilot::nlp {

struct TokenizerOptions {
  int vocab_size = 4000;              // pieces including the specials and the base characters
  int min_frequency = 2;              // a merge needs its pair this often in the corpus
  double character_coverage = 0.9995; // base characters: the most frequent covering this share; the rest are <unk>
  bool split_cjk = false;             // each CJK character a word: no merges across Chinese characters
  std::string model = "bpe";          // bpe | unigram
  int max_piece_length = 16;          // unigram: characters per piece
};

class Tokenizer {
 public:
  static constexpr int32_t kPad = 0, kUnk = 1, kMask = 2;  // ids of <pad>, <unk>, <mask>

  // InvalidArgument when `texts` has no characters or the options are out of range.
  static StatusOr<Tokenizer> Train(const std::vector<std::string>& texts, const TokenizerOptions& options = {});
  // A JSON file written by Save: {"format": "opspilot-bpe-1", "pieces": [...], "merges": [[left, right], ...],
  // "split_cjk": bool} (absent: false), or {"format": "opspilot-unigram-1", "pieces", "scores" (log
  // probabilities, one per piece), "split_cjk"}.
  // NotFound without the file, InvalidArgument naming it when damaged.
  static StatusOr<Tokenizer> Load(const std::string& path);
  Status Save(const std::string& path) const;

  std::vector<int32_t> Encode(std::string_view text) const;  // ids in [0, vocab_size()), never kPad or kMask
  std::vector<std::string> EncodePieces(std::string_view text) const;
  std::string Decode(const std::vector<int32_t>& ids) const;  // skips <pad> and <mask>
  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  const std::string& piece(int32_t id) const { return pieces_.at(static_cast<size_t>(id)); }
  const std::string& model() const { return model_; }  // bpe | unigram
  // unigram: the piece's log probability (0 for the specials); bpe: 0.
  float score(int32_t id) const { return scores_.empty() ? 0.f : scores_.at(static_cast<size_t>(id)); }

 private:
  void Index();
  std::vector<int32_t> EncodeWord(const std::vector<std::string>& chars) const;
  std::vector<int32_t> ViterbiWord(const std::vector<std::string>& chars) const;
  static void TrainUnigram(const std::map<std::vector<std::string>, int64_t>& word_count, const TokenizerOptions& o,
                           Tokenizer* tok);

  std::string model_ = "bpe";
  std::vector<float> scores_;     // unigram: per piece
  int max_piece_chars_ = 1;       // unigram: the longest piece, in characters
  double unk_score_ = -10;        // unigram: an unknown character's score
  bool split_cjk_ = false;
  std::vector<std::string> pieces_;
  std::vector<std::pair<int32_t, int32_t>> merges_;             // in rank order; merge r makes piece merged_[r]
  std::vector<int32_t> merged_;
  std::map<std::string, int32_t> id_;                           // piece -> id
  std::map<std::pair<int32_t, int32_t>, int32_t> rank_;         // pair -> merge rank
};

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_TOKENIZER_H_
