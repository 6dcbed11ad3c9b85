#include "nlp/wordpiece.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file.h"

namespace opspilot::nlp {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "opspilot-wordpiece-1";
constexpr size_t kMaxWordChars = 100;

bool IsWhitespace(UChar32 c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(c) == U_SPACE_SEPARATOR;
}

bool IsControl(UChar32 c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_UNASSIGNED:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

bool IsPunctuation(UChar32 c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  switch (u_charType(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// BERT's "Chinese character" ranges: the CJK Unified Ideographs blocks and
// their extensions and compatibility blocks (not kana or hangul).
bool IsCjkIdeograph(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::string Utf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

// An ASCII upper-case letter, outside a bracketed special ([CLS], [unused1],
// and bert-base-chinese's <S> and <T>).
bool HasUpperCase(const std::string& piece) {
  if (piece.size() >= 2 && ((piece.front() == '[' && piece.back() == ']') || (piece.front() == '<' && piece.back() == '>'))) {
    return false;
  }
  return std::any_of(piece.begin(), piece.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A cased vocabulary has many upper-case pieces (bert-base-cased: thousands);
// a stray one in an uncased vocabulary does not make it cased.
constexpr int kCasedPieces = 20;

}  // namespace

Status WordPiece::Index(const std::string& path) {
  UErrorCode err = U_ZERO_ERROR;
  icu::Normalizer2::getNFCInstance(err);
  icu::Normalizer2::getNFDInstance(err);
  if (U_FAILURE(err)) return Internal(path + ": ICU's normalisation data is missing (" + u_errorName(err) + ")");
  id_.clear();
  int upper = 0;
  for (size_t k = 0; k < pieces_.size(); ++k) {
    id_[pieces_[k]] = static_cast<int32_t>(k);  // a repeated piece: the later id
    upper += HasUpperCase(pieces_[k]);
  }
  lower_case_ = upper < kCasedPieces;
  if (pieces_.empty() || pieces_[0] != "[PAD]") {
    return InvalidArgument(path + ": line 1 must be [PAD] (the classifiers pad with id 0)");
  }
  for (const char* special : {"[UNK]", "[CLS]", "[SEP]"}) {
    if (!id_.count(special)) return InvalidArgument(path + ": no " + std::string(special) + " piece");
  }
  unk_ = id_.at("[UNK]");
  cls_ = id_.at("[CLS]");
  sep_ = id_.at("[SEP]");
  return Status::Ok();
}

StatusOr<WordPiece> WordPiece::FromVocab(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot open " + path);
  WordPiece wp;
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    wp.pieces_.push_back(line);
  }
  if (f.bad()) return Internal("cannot read " + path);
  RETURN_IF_ERROR(wp.Index(path));
  return wp;
}

bool WordPiece::IsWordPieceFile(const std::string& path) {
  std::ifstream f(path);
  const json j = json::parse(f, nullptr, false);
  return j.is_object() && j.value("format", "") == kFormat;
}

StatusOr<WordPiece> WordPiece::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("cannot open " + path);
  const json j = json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kFormat) {
    return InvalidArgument(path + ": not an opspilot WordPiece tokenizer");
  }
  WordPiece wp;
  try {
    wp.pieces_ = j.at("pieces").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  RETURN_IF_ERROR(wp.Index(path));
  if (j.contains("lower_case") && j["lower_case"].is_boolean() && j["lower_case"].get<bool>() != wp.lower_case_) {
    return InvalidArgument(path + ": lower_case disagrees with the pieces");
  }
  return wp;
}

Status WordPiece::Save(const std::string& path) const {
  return WriteFileAtomic(path, json{{"format", kFormat}, {"pieces", pieces_}, {"lower_case", lower_case_}}.dump());
}

std::vector<std::string> WordPiece::Split(std::string_view text) const {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(err);
  if (U_FAILURE(err)) return {};  // not reached: FromVocab and Load checked the data
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  s = nfc->normalize(s, err);
  // Steps 1-2: white-space words, CJK ideographs alone.
  std::vector<icu::UnicodeString> words;
  icu::UnicodeString cur;
  auto flush = [&] {
    if (!cur.isEmpty()) words.push_back(cur), cur.remove();
  };
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
    if (IsWhitespace(c)) {
      flush();
    } else if (IsCjkIdeograph(c)) {
      flush();
      words.emplace_back(c);
    } else {
      cur.append(c);
    }
  }
  flush();
  // Steps 3-4: case and accents, then punctuation alone.
  std::vector<std::string> out;
  for (auto& w : words) {
    if (lower_case_) {
      w.toLower(icu::Locale::getRoot());
      const icu::UnicodeString d = nfd->normalize(w, err);
      w.remove();
      for (int32_t i = 0; i < d.length(); i = d.moveIndex32(i, 1)) {
        const UChar32 c = d.char32At(i);
        if (u_charType(c) != U_NON_SPACING_MARK) w.append(c);
      }
    }
    icu::UnicodeString part;
    for (int32_t i = 0; i < w.length(); i = w.moveIndex32(i, 1)) {
      const UChar32 c = w.char32At(i);
      if (IsPunctuation(c)) {
        if (!part.isEmpty()) out.push_back(Utf8(part)), part.remove();
        out.push_back(Utf8(icu::UnicodeString(c)));
      } else {
        part.append(c);
      }
    }
    if (!part.isEmpty()) out.push_back(Utf8(part));
  }
  return out;
}

// Step 5 for one word: greedy longest match, "##" on every piece after the first.
void WordPiece::SplitWord(const std::string& word, std::vector<int32_t>* ids) const {
  // Code point boundaries (byte offsets), so pieces never cut a character.
  std::vector<size_t> at;
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) at.push_back(i);
  }
  at.push_back(word.size());
  const size_t chars = at.size() - 1;
  if (chars > kMaxWordChars) {
    ids->push_back(unk_);
    return;
  }
  std::vector<int32_t> pieces;
  size_t start = 0;
  std::string key;
  while (start < chars) {
    int32_t found = -1;
    size_t end = chars;
    for (; end > start; --end) {
      key.assign(start > 0 ? "##" : "");
      key.append(word, at[start], at[end] - at[start]);
      if (auto it = id_.find(key); it != id_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      ids->push_back(unk_);  // the whole word, as BERT does
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  ids->insert(ids->end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPiece::EncodePieces(std::string_view text) const {
  std::vector<int32_t> ids;
  for (const auto& w : Split(text)) SplitWord(w, &ids);
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.push_back(pieces_[static_cast<size_t>(id)]);
  return out;
}

std::vector<int32_t> WordPiece::Encode(std::string_view text) const {
  std::vector<int32_t> ids{cls_};
  for (const auto& w : Split(text)) SplitWord(w, &ids);
  ids.push_back(sep_);
  return ids;
}

}  // namespace opspilot::nlp
