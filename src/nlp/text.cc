#include "nlp/text.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

namespace opspilot::nlp {

char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto c = static_cast<unsigned char>(s[*i]);
  auto cont = [&](size_t k) { return *i + k < s.size() && (static_cast<unsigned char>(s[*i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) {
    ++*i;
    return c;
  }
  int len = 0;
  char32_t cp = 0;
  if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
  for (int k = 1; k < len; ++k) {
    if (!cont(static_cast<size_t>(k))) len = 0;
  }
  if (len == 0) {
    ++*i;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[*i + static_cast<size_t>(k)]) & 0x3F);
  *i += static_cast<size_t>(len);
  return cp;
}

void AppendUtf8(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t FoldWidth(char32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFEE0;  // full-width ASCII
  if (cp == 0x3000) return ' ';                           // ideographic space
  switch (cp) {
    case 0x3001: return ',';  // 、
    case 0x3002: return '.';  // 。
    case 0x201C: case 0x201D: return '"';
    case 0x2018: case 0x2019: return '\'';
    default: return cp;
  }
}

namespace {

bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '\''; }

// Replaces URLs, emails and digit runs in ASCII-folded text.
std::string Placeholders(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    // A token up to white space, to look for URLs and emails.
    if (s.compare(i, 7, "http://") == 0 || s.compare(i, 8, "https://") == 0 || s.compare(i, 4, "www.") == 0) {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && static_cast<unsigned char>(s[i]) < 0x80) ++i;
      out += " <url> ";
      continue;
    }
    if (std::isalnum(static_cast<unsigned char>(s[i])) && (i == 0 || !WordChar(s[i - 1]))) {
      size_t j = i;
      while (j < s.size() && (WordChar(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+')) ++j;
      if (j < s.size() && s[j] == '@') {
        size_t k = j + 1;
        while (k < s.size() && (WordChar(s[k]) || s[k] == '.' || s[k] == '-')) ++k;
        if (s.substr(j + 1, k - j - 1).find('.') != std::string::npos) {
          out += " <email> ";
          i = k;
          continue;
        }
      }
    }
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) ||
                              ((s[i] == '.' || s[i] == ',') && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))))) {
        ++i;
      }
      out += " <num> ";
      continue;
    }
    out.push_back(s[i++]);
  }
  return out;
}

}  // namespace

bool IsCjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

// Traditional -> simplified for the characters common in shop messages
// (orders, delivery, payment, refunds, complaints, tea): cheap, and
// enough that 訂單還沒發貨 and 订单还没发货 share features. Not a full
// conversion (OpenCC's tables run to thousands of entries and phrases).
char32_t Simplify(char32_t cp) {
  static constexpr std::pair<char32_t, char32_t> kPairs[] = {
    {0x4E26, 0x5E76}, {0x4F86, 0x6765}, {0x4FC2, 0x7CFB}, {0x5009, 0x4ED3}, {0x500B, 0x4E2A}, {0x5011, 0x4EEC},
    {0x50B3, 0x4F20}, {0x50F9, 0x4EF7}, {0x511F, 0x507F}, {0x512A, 0x4F18}, {0x5167, 0x5185}, {0x5225, 0x522B},
    {0x5247, 0x5219}, {0x5283, 0x5212}, {0x52B5, 0x5238}, {0x52D5, 0x52A8}, {0x52D9, 0x52A1}, {0x5340, 0x533A},
    {0x53E2, 0x4E1B}, {0x54E1, 0x5458}, {0x5504, 0x5457}, {0x554F, 0x95EE}, {0x555F, 0x542F}, {0x55AE, 0x5355},
    {0x55CE, 0x5417}, {0x56B4, 0x4E25}, {0x570B, 0x56FD}, {0x570D, 0x56F4}, {0x5716, 0x56FE}, {0x5718, 0x56E2},
    {0x5831, 0x62A5}, {0x58D3, 0x538B}, {0x58DE, 0x574F}, {0x58FA, 0x58F6}, {0x58FD, 0x5BFF}, {0x5BE6, 0x5B9E},
    {0x5BEB, 0x5199}, {0x5BF6, 0x5B9D}, {0x5C07, 0x5C06}, {0x5C08, 0x4E13}, {0x5C0D, 0x5BF9}, {0x5C0E, 0x5BFC},
    {0x5E2B, 0x5E08}, {0x5E33, 0x8D26}, {0x5E6B, 0x5E2E}, {0x5EAB, 0x5E93}, {0x5EDA, 0x53A8}, {0x5EE3, 0x5E7F},
    {0x5EF3, 0x5385}, {0x5F35, 0x5F20}, {0x5F8C, 0x540E}, {0x5F9E, 0x4ECE}, {0x614B, 0x6001}, {0x6191, 0x51ED},
    {0x61C9, 0x5E94}, {0x6236, 0x6237}, {0x63DB, 0x6362}, {0x640D, 0x635F}, {0x64CA, 0x51FB}, {0x64DA, 0x636E},
    {0x6578, 0x6570}, {0x65BC, 0x4E8E}, {0x6642, 0x65F6}, {0x66C6, 0x5386}, {0x6703, 0x4F1A}, {0x6771, 0x4E1C},
    {0x689D, 0x6761}, {0x6975, 0x6781}, {0x6A19, 0x6807}, {0x6A23, 0x6837}, {0x6A5F, 0x673A}, {0x6AC3, 0x67DC},
    {0x6B61, 0x6B22}, {0x6B72, 0x5C81}, {0x6B77, 0x5386}, {0x6C23, 0x6C14}, {0x6C92, 0x6CA1}, {0x6CC1, 0x51B5},
    {0x6DBC, 0x51C9}, {0x6E1B, 0x51CF}, {0x6E96, 0x51C6}, {0x6EAB, 0x6E29}, {0x6EFF, 0x6EE1}, {0x6FDF, 0x6D4E},
    {0x7063, 0x6E7E}, {0x70BA, 0x4E3A}, {0x70CF, 0x4E4C}, {0x7121, 0x65E0}, {0x7169, 0x70E6}, {0x71B1, 0x70ED},
    {0x721B, 0x70C2}, {0x72C0, 0x72B6}, {0x73FE, 0x73B0}, {0x7522, 0x4EA7}, {0x7576, 0x5F53}, {0x767C, 0x53D1},
    {0x78BC, 0x7801}, {0x79AE, 0x793C}, {0x7A05, 0x7A0E}, {0x7A2E, 0x79CD}, {0x7BC4, 0x8303}, {0x7D04, 0x7EA6},
    {0x7D05, 0x7EA2}, {0x7D0B, 0x7EB9}, {0x7D19, 0x7EB8}, {0x7D44, 0x7EC4}, {0x7D66, 0x7ED9}, {0x7D71, 0x7EDF},
    {0x7D93, 0x7ECF}, {0x7DA0, 0x7EFF}, {0x7DB2, 0x7F51}, {0x7DDA, 0x7EBF}, {0x7E23, 0x53BF}, {0x7E6B, 0x7CFB},
    {0x7E8C, 0x7EED}, {0x7F70, 0x7F5A}, {0x806F, 0x8054}, {0x81FA, 0x53F0}, {0x8207, 0x4E0E}, {0x820A, 0x65E7},
    {0x8449, 0x53F6}, {0x85DD, 0x827A}, {0x8607, 0x82CF}, {0x862D, 0x5170}, {0x8655, 0x5904}, {0x865F, 0x53F7},
    {0x885B, 0x536B}, {0x88CF, 0x91CC}, {0x88DC, 0x8865}, {0x88DD, 0x88C5}, {0x88E1, 0x91CC}, {0x898F, 0x89C4},
    {0x89C0, 0x89C2}, {0x8A02, 0x8BA2}, {0x8A08, 0x8BA1}, {0x8A2D, 0x8BBE}, {0x8A34, 0x8BC9}, {0x8A62, 0x8BE2},
    {0x8A66, 0x8BD5}, {0x8A71, 0x8BDD}, {0x8A72, 0x8BE5}, {0x8A8D, 0x8BA4}, {0x8AA4, 0x8BEF}, {0x8AAA, 0x8BF4},
    {0x8ACB, 0x8BF7}, {0x8AEE, 0x54A8}, {0x8B1D, 0x8C22}, {0x8B39, 0x8C28}, {0x8B49, 0x8BC1}, {0x8B58, 0x8BC6},
    {0x8B80, 0x8BFB}, {0x8B8A, 0x53D8}, {0x8B93, 0x8BA9}, {0x8C9D, 0x8D1D}, {0x8CA2, 0x8D21}, {0x8CA8, 0x8D27},
    {0x8CB7, 0x4E70}, {0x8CBB, 0x8D39}, {0x8CE0, 0x8D54}, {0x8CE3, 0x5356}, {0x8CEA, 0x8D28}, {0x8CEC, 0x8D26},
    {0x8CFC, 0x8D2D}, {0x8ECA, 0x8F66}, {0x8F38, 0x8F93}, {0x8F49, 0x8F6C}, {0x8FA6, 0x529E}, {0x9019, 0x8FD9},
    {0x9031, 0x5468}, {0x904B, 0x8FD0}, {0x904E, 0x8FC7}, {0x9054, 0x8FBE}, {0x905E, 0x9012}, {0x9084, 0x8FD8},
    {0x90F5, 0x90AE}, {0x9280, 0x94F6}, {0x9304, 0x5F55}, {0x9322, 0x94B1}, {0x932F, 0x9519}, {0x9396, 0x9501},
    {0x9435, 0x94C1}, {0x9577, 0x957F}, {0x9580, 0x95E8}, {0x958B, 0x5F00}, {0x9593, 0x95F4}, {0x95DC, 0x5173},
    {0x9678, 0x9646}, {0x967D, 0x9633}, {0x969B, 0x9645}, {0x96D9, 0x53CC}, {0x96E3, 0x96BE}, {0x96FB, 0x7535},
    {0x9801, 0x9875}, {0x9810, 0x9884}, {0x984C, 0x9898}, {0x984D, 0x989D}, {0x984F, 0x989C}, {0x98F2, 0x996E},
    {0x9918, 0x4F59}, {0x9A19, 0x9A97}, {0x9A57, 0x9A8C}, {0x9AD4, 0x4F53}, {0x9BAE, 0x9C9C}, {0x9CF3, 0x51E4},
    {0x9EBC, 0x4E48}, {0x9EBD, 0x4E48}, {0x9EDE, 0x70B9}, {0x9F8D, 0x9F99}};
  const auto it = std::lower_bound(std::begin(kPairs), std::end(kPairs), cp,
                                   [](const std::pair<char32_t, char32_t>& p, char32_t c) { return p.first < c; });
  return it != std::end(kPairs) && it->first == cp ? it->second : cp;
}

std::string Normalize(std::string_view text, const NormalizeOptions& o) {
  std::string folded;
  folded.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = FoldWidth(NextCodePoint(text, &i));
    if (o.lower && cp < 0x80) cp = static_cast<char32_t>(std::tolower(static_cast<int>(cp)));
    if (o.simplified && cp >= 0x4E00) cp = Simplify(cp);
    AppendUtf8(&folded, cp);
  }
  if (o.placeholders) folded = Placeholders(folded);
  std::string out;
  bool space = false;
  for (char c : folded) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> Tokenize(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '<') {  // a placeholder
      const size_t end = s.find('>', i);
      if (end != std::string_view::npos && end - i <= 7) {
        const std::string_view tag = s.substr(i, end - i + 1);
        if (tag == "<num>" || tag == "<url>" || tag == "<email>") {
          out.emplace_back(tag);
          i = end + 1;
          continue;
        }
      }
    }
    if (c < 0x80 && WordChar(static_cast<char>(c))) {
      const size_t b = i;
      while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80 && WordChar(s[i])) ++i;
      out.emplace_back(s.substr(b, i - b));
      continue;
    }
    const size_t b = i;
    const char32_t cp = NextCodePoint(s, &i);
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') continue;
    out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

std::string DetectLanguage(std::string_view text) {
  int64_t cjk = 0, latin = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char32_t cp = NextCodePoint(text, &i);
    if (IsCjk(cp)) ++cjk;
    else if (cp < 0x80 && std::isalpha(static_cast<int>(cp))) ++latin;
  }
  // A Chinese character carries about as much as a 3-4 letter word.
  if (cjk > 0 && 4 * cjk >= 0.3 * static_cast<double>(4 * cjk + latin)) return "zh";
  if (latin > 0) return "en";
  return cjk > 0 ? "zh" : "";
}

namespace {

// A feature as it grows: its readable string (FeatureStrings) or only its
// FNV-1a hash (Features: no string is built per feature).
struct StringGram {
  std::string s;
  explicit StringGram(std::string_view prefix) : s(prefix) {}
  void Add(std::string_view more) { s.append(more); }
};
struct HashGram {
  uint32_t h;
  explicit HashGram(std::string_view prefix) : h(Fnv1a(prefix)) {}
  void Add(std::string_view more) { h = Fnv1aExtend(h, more); }
};

// Calls emit(gram) for each feature of normalised tokens, in order: word
// n-grams "w:a_b" of runs of Latin words, character n-grams "c:xyz" of runs
// of CJK characters, "s:" + any other non-ASCII symbol.
template <typename Gram, typename Emit>
void VisitFeatures(const std::vector<std::string>& toks, const FeatureOptions& o, Emit&& emit) {
  std::vector<const std::string*> words, run;
  auto flush_words = [&] {
    for (size_t k = 0; k < words.size(); ++k) {
      Gram g("w:");
      g.Add(*words[k]);
      emit(g);
      for (int n = 2; n <= o.word_ngrams && k + static_cast<size_t>(n) <= words.size(); ++n) {
        g.Add("_");
        g.Add(*words[k + static_cast<size_t>(n) - 1]);
        emit(g);
      }
    }
    words.clear();
  };
  auto flush_run = [&] {
    for (size_t k = 0; k < run.size(); ++k) {
      Gram g("c:");
      for (int n = 1; n <= o.cjk_ngrams && k + static_cast<size_t>(n) <= run.size(); ++n) {
        g.Add(*run[k + static_cast<size_t>(n) - 1]);
        emit(g);
      }
    }
    run.clear();
  };
  for (const auto& t : toks) {
    size_t i = 0;
    const char32_t cp = NextCodePoint(t, &i);
    if (IsCjk(cp)) {
      flush_words();
      run.push_back(&t);
    } else if (static_cast<unsigned char>(t[0]) < 0x80 && (WordChar(t[0]) || t[0] == '<')) {
      flush_run();
      words.push_back(&t);
    } else {
      // Punctuation and symbols end a run or phrase; emoji and the like count as words.
      flush_words();
      flush_run();
      if (static_cast<unsigned char>(t[0]) >= 0x80) {
        Gram g("s:");
        g.Add(t);
        emit(g);
      }
    }
  }
  flush_words();
  flush_run();
}

}  // namespace

std::vector<std::string> FeatureStrings(std::string_view text, const FeatureOptions& o) {
  std::vector<std::string> out;
  VisitFeatures<StringGram>(Tokenize(Normalize(text)), o, [&](const StringGram& g) { out.push_back(g.s); });
  return out;
}

void TokenFeatures(const std::vector<std::string>& tokens, const FeatureOptions& o, std::vector<uint32_t>* ids) {
  VisitFeatures<HashGram>(tokens, o, [&](const HashGram& g) { ids->push_back(g.h % o.buckets); });
}

std::vector<uint32_t> Features(std::string_view text, const FeatureOptions& o) {
  std::vector<uint32_t> ids;
  TokenFeatures(Tokenize(Normalize(text)), o, &ids);
  return ids;
}

}  // namespace opspilot::nlp
