// Small string helpers for human-readable output.
#ifndef OPSPILOT_CORE_STRINGS_H_
#define OPSPILOT_CORE_STRINGS_H_

#include <cstdint>
#include <string>

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

}  // namespace opspilot

#endif  // OPSPILOT_CORE_STRINGS_H_
