#include "nlp/text.h"

#include <cctype>

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

uint32_t Fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

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

std::string Normalize(std::string_view text, const NormalizeOptions& o) {
  std::string folded;
  folded.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = FoldWidth(NextCodePoint(text, &i));
    if (o.lower && cp < 0x80) cp = static_cast<char32_t>(std::tolower(static_cast<int>(cp)));
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

std::vector<std::string> FeatureStrings(std::string_view text, const FeatureOptions& o) {
  const std::string norm = Normalize(text);
  const std::vector<std::string> toks = Tokenize(norm);
  std::vector<std::string> out;
  std::vector<std::string> words, run;
  auto flush_words = [&] {
    for (size_t k = 0; k < words.size(); ++k) {
      std::string g = "w:" + words[k];
      out.push_back(g);
      for (int n = 2; n <= o.word_ngrams && k + static_cast<size_t>(n) <= words.size(); ++n) {
        g += "_" + words[k + static_cast<size_t>(n) - 1];
        out.push_back(g);
      }
    }
    words.clear();
  };
  auto flush_run = [&] {
    for (size_t k = 0; k < run.size(); ++k) {
      std::string g = "c:";
      for (int n = 1; n <= o.cjk_ngrams && k + static_cast<size_t>(n) <= run.size(); ++n) {
        g += run[k + static_cast<size_t>(n) - 1];
        out.push_back(g);
      }
    }
    run.clear();
  };
  for (const auto& t : toks) {
    size_t i = 0;
    const char32_t cp = NextCodePoint(t, &i);
    if (IsCjk(cp)) {
      flush_words();
      run.push_back(t);
    } else if (static_cast<unsigned char>(t[0]) < 0x80 && (WordChar(t[0]) || t[0] == '<')) {
      flush_run();
      words.push_back(t);
    } else {
      // Punctuation and symbols end a run or phrase; emoji and the like count as words.
      flush_words();
      flush_run();
      if (static_cast<unsigned char>(t[0]) >= 0x80) out.push_back("s:" + t);
    }
  }
  flush_words();
  flush_run();
  return out;
}

std::vector<uint32_t> Features(std::string_view text, const FeatureOptions& o) {
  std::vector<uint32_t> ids;
  for (const auto& f : FeatureStrings(text, o)) ids.push_back(Fnv1a(f) % o.buckets);
  return ids;
}

}  // namespace opspilot::nlp
