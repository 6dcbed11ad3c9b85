#include "nlp/entities.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "nlp/text.h"

namespace opspilot::nlp {
namespace {

bool Digit(char32_t c) { return c >= '0' && c <= '9'; }
bool Alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool Alnum(char32_t c) { return Digit(c) || Alpha(c); }
char32_t Lower(char32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

std::u32string FoldedLower(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) out.push_back(Lower(FoldWidth(NextCodePoint(s, &i))));
  return out;
}

std::string Utf8(const std::u32string& s, size_t b, size_t e) {
  std::string out;
  for (size_t k = b; k < e && k < s.size(); ++k) AppendUtf8(&out, s[k]);
  return out;
}

bool ValidDate(int y, int m, int d) {
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return false;
  return std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                     std::chrono::day(static_cast<unsigned>(d))).ok();
}

std::string IsoDate(int y, int m, int d) {
  char buf[16];
  if (y == 0) std::snprintf(buf, sizeof buf, "--%02d-%02d", m, d);
  else std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

// The reference date shifted by `days`; "" when the reference is not YYYY-MM-DD.
std::string ShiftDate(const std::string& ref, int days) {
  int y = 0, m = 0, d = 0;
  if (ref.size() != 10 || std::sscanf(ref.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || !ValidDate(y, m, d)) return "";
  const std::chrono::sys_days t = std::chrono::sys_days(std::chrono::year_month_day(
                                      std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                      std::chrono::day(static_cast<unsigned>(d)))) + std::chrono::days(days);
  const std::chrono::year_month_day r(t);
  return IsoDate(static_cast<int>(r.year()), static_cast<int>(static_cast<unsigned>(r.month())),
                 static_cast<int>(static_cast<unsigned>(r.day())));
}

int ReferenceYear(const std::string& ref) {
  int y = 0, m = 0, d = 0;
  return ref.size() == 10 && std::sscanf(ref.c_str(), "%4d-%2d-%2d", &y, &m, &d) == 3 ? y : 0;
}

// One message being scanned: folded, lower-cased code points and what is taken.
class Scan {
 public:
  Scan(std::string_view text, const EntityOptions& options) : text_(text), options_(options) {
    for (size_t i = 0; i < text.size();) {
      bytes_.push_back(i);
      const char32_t cp = FoldWidth(NextCodePoint(text, &i));
      raw_.push_back(cp);
      s_.push_back(Lower(cp));
    }
    bytes_.push_back(text.size());
    taken_.assign(s_.size(), false);
  }

  size_t size() const { return s_.size(); }
  char32_t at(size_t k) const { return k < s_.size() ? s_[k] : 0; }
  bool Free(size_t b, size_t e) const {
    for (size_t k = b; k < e; ++k) {
      if (taken_[k]) return false;
    }
    return e > b;
  }
  bool StartsWith(size_t k, std::u32string_view w) const {
    return k + w.size() <= s_.size() && std::u32string_view(s_).substr(k, w.size()) == w;
  }
  // An ASCII word boundary before k / at e.
  bool WordStart(size_t k) const { return k == 0 || !Alnum(s_[k - 1]); }
  bool WordEnd(size_t e) const { return e >= s_.size() || !Alnum(s_[e]); }
  std::string Folded(size_t b, size_t e) const { return Utf8(raw_, b, e); }
  std::string Lowered(size_t b, size_t e) const { return Utf8(s_, b, e); }

  bool Add(const char* type, size_t b, size_t e, std::string value) {
    if (!Free(b, e)) return false;
    std::fill(taken_.begin() + static_cast<std::ptrdiff_t>(b), taken_.begin() + static_cast<std::ptrdiff_t>(e), true);
    EntitySpan span;
    span.type = type;
    span.begin = bytes_[b];
    span.end = bytes_[e];
    span.text = std::string(text_.substr(span.begin, span.end - span.begin));
    span.value = std::move(value);
    span.char_begin = b;
    span.char_end = e;
    out_.push_back(std::move(span));
    return true;
  }

  std::vector<EntitySpan> Take() {
    std::sort(out_.begin(), out_.end(), [](const EntitySpan& a, const EntitySpan& b) { return a.begin < b.begin; });
    return std::move(out_);
  }

  const EntityOptions& options() const { return options_; }

 private:
  std::string_view text_;
  const EntityOptions& options_;
  std::u32string raw_, s_;
  std::vector<size_t> bytes_;
  std::vector<bool> taken_;
  std::vector<EntitySpan> out_;
};

bool StopsUrl(char32_t c) { return c <= ' ' || IsCjk(c) || (c >= 0x3000 && c < 0x3040) || c >= 0xFF00; }

void Urls(Scan& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!s.WordStart(i) || !(s.StartsWith(i, U"http://") || s.StartsWith(i, U"https://") || s.StartsWith(i, U"www."))) continue;
    size_t e = i;
    while (e < s.size() && !StopsUrl(s.at(e))) ++e;
    while (e > i && std::u32string_view(U".,;:!?)'\"]").find(s.at(e - 1)) != std::u32string_view::npos) --e;
    if (e - i > 8 && s.Add("url", i, e, s.Folded(i, e))) i = e;
  }
}

bool EmailLocal(char32_t c) { return Alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }

void Emails(Scan& s) {
  for (size_t k = 0; k < s.size(); ++k) {
    if (s.at(k) != '@') continue;
    size_t b = k, e = k + 1;
    while (b > 0 && EmailLocal(s.at(b - 1))) --b;
    while (e < s.size() && (Alnum(s.at(e)) || s.at(e) == '.' || s.at(e) == '-')) ++e;
    while (e > k + 1 && (s.at(e - 1) == '.' || s.at(e - 1) == '-')) --e;
    if (b == k || e == k + 1) continue;
    const std::string domain = s.Lowered(k + 1, e);
    const auto dot = domain.rfind('.');
    if (dot == std::string::npos || dot == 0 || domain.size() - dot - 1 < 2) continue;
    if (!std::all_of(domain.begin() + static_cast<std::ptrdiff_t>(dot) + 1, domain.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) continue;
    s.Add("email", b, e, s.Lowered(b, e));
  }
}

bool TokenChar(char32_t c) { return Alnum(c) || c == '-' || c == '_'; }

// Letter-led tokens with enough digits ("O20250304-1234", "SO-88123"),
// '#'-led digit runs ("#123456"), and the store's known order ids.
void OrderTokens(Scan& s, const std::unordered_set<std::string>& known) {
  for (size_t i = 0; i < s.size();) {
    if (!TokenChar(s.at(i)) || !s.WordStart(i) || (i > 0 && (s.at(i - 1) == '-' || s.at(i - 1) == '_'))) {
      ++i;
      continue;
    }
    size_t e = i;
    while (e < s.size() && TokenChar(s.at(e))) ++e;
    size_t end = e;
    while (end > i && (s.at(end - 1) == '-' || s.at(end - 1) == '_')) --end;
    const std::string token = s.Folded(i, end);
    const std::string lower = s.Lowered(i, end);
    const bool hash = i > 0 && s.at(i - 1) == '#';
    int digits = 0, letters = 0;
    for (size_t k = i; k < end; ++k) digits += Digit(s.at(k)), letters += Alpha(s.at(k));
    if (known.count(lower)) {
      s.Add("order_id", i, end, token);
    } else if (hash && letters == 0 && digits >= s.options().min_order_digits) {
      s.Add("order_id", i - 1, end, token);
    } else if (Alpha(s.at(i)) && letters <= 6 && digits >= s.options().min_order_digits && end - i <= 32) {
      s.Add("order_id", i, end, token);
    }
    i = e;
  }
}

// A digit run (6+ digits, '-' allowed inside) right after "order", "order
// number", "订单", "单号", "订单号" (with ':', '#', "no." between).
void OrderAfterKeyword(Scan& s) {
  static const std::vector<std::u32string> kKeys = {U"order", U"ordernumber", U"orderno", U"ordernum", U"orderid",
                                                    U"订单", U"订单号", U"单号", U"订单编号", U"orders",
                                                    U"訂單", U"訂單號", U"單號", U"訂單編號"};
  for (size_t i = 0; i < s.size(); ++i) {
    if (!Digit(s.at(i)) || (i > 0 && (Alnum(s.at(i - 1)) || s.at(i - 1) == '.'))) continue;
    size_t e = i;
    int digits = 0;
    while (e < s.size() && (Digit(s.at(e)) || (s.at(e) == '-' && Digit(s.at(e + 1))))) digits += Digit(s.at(e)), ++e;
    if (digits < 6 || (e < s.size() && Alpha(s.at(e)))) {
      i = e;
      continue;
    }
    std::u32string before;
    for (size_t k = i; k > 0 && i - k < 18; --k) {
      const char32_t c = s.at(k - 1);
      if (c != ' ' && c != ':' && c != '#' && c != '.' && c != '-') before.insert(before.begin(), c);
    }
    bool hit = false;
    for (const auto& key : kKeys) {
      if (before.size() >= key.size() && before.compare(before.size() - key.size(), key.size(), key) == 0) hit = true;
    }
    if (hit) s.Add("order_id", i, e, s.Folded(i, e));
    i = e;
  }
}

void Phones(Scan& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c0 = s.at(i);
    if (!(Digit(c0) || c0 == '+' || c0 == '(') || (i > 0 && (Alnum(s.at(i - 1)) || s.at(i - 1) == '.'))) continue;
    size_t e = i + 1;
    std::string digits;
    bool separators = false;
    if (Digit(c0)) digits.push_back(static_cast<char>(c0));
    while (e < s.size()) {
      const char32_t c = s.at(e);
      if (Digit(c)) {
        digits.push_back(static_cast<char>(c));
      } else if ((c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') && e + 1 < s.size() &&
                 (Digit(s.at(e + 1)) || s.at(e + 1) == '(' || (c == ')' && s.at(e + 1) == ' '))) {
        separators = true;
      } else {
        break;
      }
      ++e;
    }
    if (e < s.size() && Alpha(s.at(e))) {
      i = e;
      continue;
    }
    const bool plus = c0 == '+';
    std::string local = digits;
    if ((plus || digits.size() == 13) && digits.rfind("86", 0) == 0) local = digits.substr(2);
    const bool cn_mobile = local.size() == 11 && local[0] == '1' && local[1] >= '3' && local[1] <= '9';
    const bool international = plus && digits.size() >= 8 && digits.size() <= 15;
    const bool us = separators && digits.size() == 10 && digits[0] != '0' && digits[0] != '1';
    const bool landline = separators && digits[0] == '0' && digits.size() >= 10 && digits.size() <= 12;
    if (cn_mobile || international || us || landline) s.Add("phone", i, e, (plus ? "+" : "") + digits);
    i = e - 1;
  }
}

// A number at k ("1,299.50", "128"): its end, and the value.
bool Number(const Scan& s, size_t k, size_t* end, double* value) {
  if (!Digit(s.at(k))) return false;
  std::string v;
  size_t e = k;
  while (e < s.size() && (Digit(s.at(e)) || (s.at(e) == ',' && Digit(s.at(e + 1)) && Digit(s.at(e + 2)) && Digit(s.at(e + 3))))) {
    if (s.at(e) != ',') v.push_back(static_cast<char>(s.at(e)));
    ++e;
  }
  if (s.at(e) == '.' && Digit(s.at(e + 1))) {
    v.push_back('.');
    ++e;
    while (e < s.size() && Digit(s.at(e))) v.push_back(static_cast<char>(s.at(e++)));
  }
  *end = e;
  *value = std::stod(v);
  return true;
}

std::string Money(const char* currency, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %.2f", currency, v);
  return buf;
}

void Amounts(Scan& s) {
  struct Prefix {
    std::u32string_view text;
    const char* currency;
    bool word;  // needs a word boundary before it
  };
  static const Prefix kPrefixes[] = {{U"¥", "CNY", false}, {U"￥", "CNY", false}, {U"$", "USD", false},
                                     {U"€", "EUR", false}, {U"£", "GBP", false}, {U"rmb", "CNY", true},
                                     {U"cny", "CNY", true}, {U"usd", "USD", true}, {U"eur", "EUR", true},
                                     {U"hkd", "HKD", true}, {U"gbp", "GBP", true}, {U"us$", "USD", true}};
  static const Prefix kSuffixes[] = {{U"块钱", "CNY", false}, {U"美元", "USD", false}, {U"元", "CNY", false},
                                     {U"块", "CNY", false},   {U"yuan", "CNY", true},  {U"rmb", "CNY", true},
                                     {U"cny", "CNY", true},   {U"usd", "USD", true},   {U"dollars", "USD", true},
                                     {U"dollar", "USD", true}, {U"euros", "EUR", true}, {U"eur", "EUR", true}};
  for (size_t i = 0; i < s.size(); ++i) {
    for (const auto& p : kPrefixes) {
      if (!s.StartsWith(i, p.text) || (p.word && !s.WordStart(i))) continue;
      size_t k = i + p.text.size();
      if (s.at(k) == ' ') ++k;
      size_t e = 0;
      double v = 0;
      if (!Number(s, k, &e, &v) || (e < s.size() && Alpha(s.at(e)))) continue;
      if (s.StartsWith(e, U"元")) ++e;  // "¥128元"
      if (s.Add("amount", i, e, Money(p.currency, v))) i = e - 1;
      break;
    }
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (!Digit(s.at(i)) || (i > 0 && (Alnum(s.at(i - 1)) || s.at(i - 1) == '.' || s.at(i - 1) == ','))) continue;
    size_t e = 0;
    double v = 0;
    Number(s, i, &e, &v);
    size_t k = e;
    if (s.at(k) == ' ') ++k;
    for (const auto& p : kSuffixes) {
      if (!s.StartsWith(k, p.text) || (p.word && !s.WordEnd(k + p.text.size()))) continue;
      s.Add("amount", i, k + p.text.size(), Money(p.currency, v));
      break;
    }
    i = e;
  }
}

// Digits at k (at most `max`): the value, or -1.
int ReadInt(const Scan& s, size_t k, size_t max, size_t* end) {
  int v = 0;
  size_t e = k;
  while (e < s.size() && e - k < max && Digit(s.at(e))) v = v * 10 + static_cast<int>(s.at(e++) - '0');
  *end = e;
  return e == k || (e < s.size() && Digit(s.at(e))) ? -1 : v;
}

void Dates(Scan& s) {
  const std::string& ref = s.options().reference_date;
  const int ref_year = ReferenceYear(ref);
  auto yearless = [&](int m, int d) { return IsoDate(ref_year, m, d); };
  // 2025-03-04, 2025/3/4, 2025.03.04.
  for (size_t i = 0; i < s.size(); ++i) {
    if (!Digit(s.at(i)) || (i > 0 && Alnum(s.at(i - 1)))) continue;
    size_t e1 = 0, e2 = 0, e3 = 0;
    const int y = ReadInt(s, i, 4, &e1);
    if (y < 0 || e1 - i != 4) continue;
    const char32_t sep = s.at(e1);
    if (sep != '-' && sep != '/' && sep != '.') continue;
    const int m = ReadInt(s, e1 + 1, 2, &e2);
    if (m < 0 || s.at(e2) != sep) continue;
    const int d = ReadInt(s, e2 + 1, 2, &e3);
    if (d < 0 || (e3 < s.size() && Alnum(s.at(e3))) || !ValidDate(y, m, d)) continue;
    s.Add("date", i, e3, IsoDate(y, m, d));
  }
  // 2025年3月4日, 3月4日, 3月4号.
  for (size_t i = 0; i < s.size(); ++i) {
    if (!Digit(s.at(i)) || (i > 0 && Digit(s.at(i - 1)))) continue;
    size_t b = i, e = 0;
    int y = 0, v = ReadInt(s, i, 4, &e);
    if (v < 0) continue;
    if (s.at(e) == U'年' && e - i == 4) {
      y = v;
      v = ReadInt(s, e + 1, 2, &e);
      if (v < 0) continue;
    }
    if (s.at(e) != U'月') continue;
    const int m = v;
    const int d = ReadInt(s, e + 1, 2, &e);
    if (d < 0 || (s.at(e) != U'日' && s.at(e) != U'号')) continue;
    ++e;
    if (y == 0 ? (m < 1 || m > 12 || d < 1 || d > 31 || (ref_year && !ValidDate(ref_year, m, d))) : !ValidDate(y, m, d)) continue;
    s.Add("date", b, e, y ? IsoDate(y, m, d) : yearless(m, d));
    i = e - 1;
  }
  // March 4, Mar 4th 2025, 4 March 2025.
  static const std::u32string_view kMonths[] = {U"january", U"february", U"march", U"april", U"may", U"june",
                                                U"july", U"august", U"september", U"october", U"november", U"december"};
  auto month_at = [&](size_t k, size_t* end) {
    if (!s.WordStart(k)) return 0;
    for (int m = 0; m < 12; ++m) {
      const auto full = kMonths[m];
      for (size_t len : {full.size(), size_t{3}}) {
        if (s.StartsWith(k, full.substr(0, len)) && s.WordEnd(k + len)) {
          *end = k + len + (s.at(k + len) == '.' ? 1 : 0);
          return m + 1;
        }
      }
    }
    return 0;
  };
  auto day_at = [&](size_t k, size_t* end) {
    const int d = ReadInt(s, k, 2, end);
    if (d < 1 || d > 31) return -1;
    for (std::u32string_view suffix : {U"st", U"nd", U"rd", U"th"}) {
      if (s.StartsWith(*end, suffix)) *end += 2;
    }
    return s.WordEnd(*end) ? d : -1;
  };
  auto year_after = [&](size_t k, size_t* end) {
    size_t j = k;
    if (s.at(j) == ',') ++j;
    if (s.at(j) == ' ') ++j;
    size_t e = 0;
    const int y = ReadInt(s, j, 4, &e);
    if (y >= 1900 && e - j == 4 && s.WordEnd(e)) {
      *end = e;
      return y;
    }
    return 0;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    size_t e = 0, e2 = 0;
    if (const int m = month_at(i, &e); m) {
      if (s.at(e) != ' ') continue;
      const int d = day_at(e + 1, &e2);
      if (d < 0) continue;
      const int y = year_after(e2, &e2);
      if (y ? ValidDate(y, m, d) : ValidDate(ref_year ? ref_year : 2000, m, d)) s.Add("date", i, e2, y ? IsoDate(y, m, d) : yearless(m, d));
    } else if (Digit(s.at(i)) && s.WordStart(i)) {
      const int d = day_at(i, &e);
      if (d < 0 || s.at(e) != ' ') continue;
      size_t k = e + 1;
      if (s.StartsWith(k, U"of ")) k += 3;
      const int mm = month_at(k, &e2);
      if (!mm) continue;
      const int y = year_after(e2, &e2);
      if (y ? ValidDate(y, mm, d) : ValidDate(ref_year ? ref_year : 2000, mm, d)) s.Add("date", i, e2, y ? IsoDate(y, mm, d) : yearless(mm, d));
    }
  }
  // Relative days, only with a reference date.
  if (ref_year == 0) return;
  static const std::pair<std::u32string_view, int> kRelative[] = {
      {U"the day before yesterday", -2}, {U"yesterday", -1}, {U"today", 0}, {U"tomorrow", 1},
      {U"前天", -2}, {U"昨天", -1}, {U"今天", 0}, {U"明天", 1}, {U"后天", 2}};
  for (size_t i = 0; i < s.size(); ++i) {
    for (const auto& [w, days] : kRelative) {
      const bool latin = Alpha(w[0]);
      if (s.StartsWith(i, w) && (!latin || (s.WordStart(i) && s.WordEnd(i + w.size())))) {
        s.Add("date", i, i + w.size(), ShiftDate(ref, days));
        break;
      }
    }
  }
}

}  // namespace

void EntityExtractor::AddProduct(std::string_view name, std::string_view id) {
  std::u32string folded = FoldedLower(name);
  while (!folded.empty() && folded.back() == ' ') folded.pop_back();
  if (folded.size() < 2 && !(folded.size() == 1 && IsCjk(folded[0]))) return;
  auto& list = products_[folded[0]];
  for (const auto& n : list) {
    if (n.folded == folded) return;  // the first id given for a name keeps it
  }
  list.push_back(Name{folded, std::string(id)});
  std::stable_sort(list.begin(), list.end(), [](const Name& a, const Name& b) { return a.folded.size() > b.folded.size(); });
  ++product_count_;
}

void EntityExtractor::AddOrderId(std::string_view id) {
  std::string lower;
  for (char c : id) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (!lower.empty()) orders_.insert(lower);
}

std::vector<EntitySpan> EntityExtractor::Extract(std::string_view text, const EntityOptions& options) const {
  Scan s(text, options);
  Urls(s);
  Emails(s);
  OrderTokens(s, orders_);
  OrderAfterKeyword(s);
  Phones(s);
  Amounts(s);
  Dates(s);
  if (!products_.empty()) {
    for (size_t i = 0; i < s.size(); ++i) {
      const auto it = products_.find(s.at(i));
      if (it == products_.end()) continue;
      for (const auto& n : it->second) {
        const size_t e = i + n.folded.size();
        if (!s.StartsWith(i, n.folded)) continue;
        if (Alnum(n.folded.front()) && !s.WordStart(i)) continue;
        if (Alnum(n.folded.back()) && !s.WordEnd(e)) continue;
        if (s.Add("product", i, e, n.id)) {
          i = e - 1;
          break;
        }
      }
    }
  }
  return s.Take();
}

}  // namespace opspilot::nlp
