// Small string helpers for human-readable output.
#ifndef OPSPILOT_CORE_STRINGS_H_
#define OPSPILOT_CORE_STRINGS_H_

#include <algorithm>
#include <cctype>
#include <cmath>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace opspilot {

// 1234567 -> "1,234,567".
inline std::string WithCommas(int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// ASCII lower case.
inline std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Without leading and trailing spaces, tabs, CR and LF.
inline std::string_view Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The whole of `s` (spaces around allowed) as a finite double.
inline bool ParseDouble(std::string_view s, double* v) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*v);
}

}  // namespace opspilot

#endif  // OPSPILOT_CORE_STRINGS_H_
