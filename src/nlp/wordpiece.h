// BERT's WordPiece tokenizer over a given vocab.txt, so that an encoder
// pre-trained elsewhere (bert-base-chinese, chinese-roberta-wwm-ext, RBT3,
// MiniLM, bert-base-uncased, ...) and exported to TorchScript gets the token
// ids it was trained with. A pre-trained encoder is only useful with its
// own vocabulary: ids from a tokenizer trained here would index the wrong
// rows of its embedding table.
//
// The algorithm is BERT's (Devlin et al. 2019; the reference BasicTokenizer
// and WordpieceTokenizer):
//   1. NFC; drop NUL, U+FFFD and control/format characters (tab, newline
//      and carriage return are white space); white space splits words;
//   2. every CJK ideograph (BERT's ranges) is a word of its own;
//   3. uncased vocabularies: lower case (full Unicode mapping), NFD, and
//      the non-spacing marks dropped (é -> e);
//   4. every punctuation character (ASCII symbols and Unicode P*) is a
//      word of its own;
//   5. each word is split greedily, longest vocabulary piece first, later
//      pieces prefixed "##"; a word with a character no piece covers, or
//      longer than 100 characters, becomes [UNK] as a whole.
// Encode adds [CLS] before and [SEP] after. Unicode properties, case and
// normalisation come from ICU.
//
// Whether the vocabulary is cased is read from it: a vocabulary with 20 or
// more pieces holding an ASCII upper-case letter (outside bracketed
// specials like [CLS] and <S>) is cased (bert-base-cased: thousands), else
// texts are lower-cased (bert-base-uncased, bert-base-chinese).
//
// Torch-free; immutable after FromVocab/Load, so Encode may run on many
// threads at once.
#ifndef OPSPILOT_NLP_WORDPIECE_H_
#define OPSPILOT_NLP_WORDPIECE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace opspilot::nlp {

class WordPiece {
 public:
  // vocab.txt: one piece a line, the line number (from 0) its id; when a
  // piece repeats, the later line's id wins (as BERT's loader does). [PAD]
  // must be line 0 (the classifiers pad with id 0), and [UNK], [CLS] and
  // [SEP] must be present. NotFound without the file, InvalidArgument
  // naming it otherwise.
  static StatusOr<WordPiece> FromVocab(const std::string& path);
  // A JSON file written by Save: {"format": "opspilot-wordpiece-1",
  // "pieces": [...], "lower_case": bool}.
  static StatusOr<WordPiece> Load(const std::string& path);
  Status Save(const std::string& path) const;
  // True when `path` holds a tokenizer Save wrote (the format line), so
  // that a model directory's tokenizer.json can be either kind.
  static bool IsWordPieceFile(const std::string& path);

  // Steps 1-4: the words before the vocabulary is consulted.
  std::vector<std::string> Split(std::string_view text) const;
  // The pieces of Split's words (no [CLS]/[SEP]).
  std::vector<std::string> EncodePieces(std::string_view text) const;
  // [CLS] pieces [SEP], as ids.
  std::vector<int32_t> Encode(std::string_view text) const;

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  bool lower_case() const { return lower_case_; }
  int32_t unk_id() const { return unk_; }
  int32_t cls_id() const { return cls_; }
  int32_t sep_id() const { return sep_; }

 private:
  Status Index(const std::string& path);
  void SplitWord(const std::string& word, std::vector<int32_t>* ids) const;

  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int32_t> id_;
  bool lower_case_ = true;
  int32_t unk_ = -1, cls_ = -1, sep_ = -1;
};

}  // namespace opspilot::nlp

#endif  // OPSPILOT_NLP_WORDPIECE_H_
