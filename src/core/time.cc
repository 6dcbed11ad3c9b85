#include "core/time.h"

#include <cstdio>

namespace opspilot {
namespace {

bool ReadDigits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

Status Bad(std::string_view text, std::string_view why) {
  std::string msg = "invalid timestamp '";
  msg.append(text.substr(0, 64));
  msg += "': ";
  msg += why;
  return InvalidArgument(std::move(msg));
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

StatusOr<int64_t> ParseTimestamp(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return Bad(s, "empty");
  // Unix seconds: optional sign, digits, optional fraction.
  if (s.size() < 5 || s[4] != '-') {
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
      neg = s[0] == '-';
      i = 1;
    }
    int64_t v = 0;
    size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (i - start >= 15) return Bad(s, "unix seconds out of range");
      v = v * 10 + (s[i] - '0');
    }
    if (i == start) return Bad(s, "expected ISO-8601 or unix seconds");
    bool frac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t fs = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      if (i == fs) return Bad(s, "expected digits after '.'");
      frac = true;
    }
    if (i != s.size()) return Bad(s, "trailing characters");
    if (neg) v = frac ? -v - 1 : -v;
    return v;
  }
  int64_t y, mo, d;
  if (!ReadDigits(s, 0, 4, &y) || s[4] != '-' || !ReadDigits(s, 5, 2, &mo) || s.size() < 10 ||
      s[7] != '-' || !ReadDigits(s, 8, 2, &d)) {
    return Bad(s, "expected YYYY-MM-DD");
  }
  if (mo < 1 || mo > 12) return Bad(s, "month out of range");
  if (d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo))) return Bad(s, "day out of range");
  int64_t secs = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400;
  size_t i = 10;
  if (i == s.size()) return secs;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return Bad(s, "expected 'T' after the date");
  ++i;
  int64_t hh, mi, ss = 0;
  if (!ReadDigits(s, i, 2, &hh) || i + 2 >= s.size() || s[i + 2] != ':' ||
      !ReadDigits(s, i + 3, 2, &mi)) {
    return Bad(s, "expected HH:MM after the date");
  }
  i += 5;
  if (i < s.size() && s[i] == ':') {
    if (!ReadDigits(s, i + 1, 2, &ss)) return Bad(s, "expected seconds after HH:MM:");
    i += 3;
  }
  if (hh > 23 || mi > 59 || ss > 60) return Bad(s, "time of day out of range");
  if (ss == 60) ss = 59;  // leap second: clamp
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    size_t fs = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == fs) return Bad(s, "expected digits after the decimal point");
  }
  secs += hh * 3600 + mi * 60 + ss;
  if (i == s.size()) return secs;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) return Bad(s, "trailing characters after 'Z'");
    return secs;
  }
  if (s[i] != '+' && s[i] != '-') return Bad(s, "expected 'Z' or a +HH:MM offset");
  const int sign = s[i] == '+' ? 1 : -1;
  ++i;
  int64_t oh, om = 0;
  if (!ReadDigits(s, i, 2, &oh)) return Bad(s, "expected offset hours");
  i += 2;
  if (i < s.size()) {
    if (s[i] == ':') ++i;
    if (!ReadDigits(s, i, 2, &om)) return Bad(s, "expected offset minutes");
    i += 2;
  }
  if (i != s.size()) return Bad(s, "trailing characters after the offset");
  if (oh > 18 || om > 59) return Bad(s, "offset out of range");
  return secs - sign * (oh * 3600 + om * 60);
}

std::string FormatTimestamp(int64_t t) { return FormatTimestamp(t, 0); }

std::string FormatTimestamp(int64_t t, int offset_minutes) {
  const int64_t local = t + int64_t{offset_minutes} * 60;
  int64_t days = DayOf(local);
  int64_t rem = local - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (offset_minutes == 0) {
    out += 'Z';
  } else {
    int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    std::snprintf(buf, sizeof(buf), "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
    out += buf;
  }
  return out;
}

std::string FormatDate(int64_t t) { return FormatTimestamp(t).substr(0, 10); }

StatusOr<int64_t> ParseDuration(std::string_view s) {
  if (s.empty()) return InvalidArgument("empty duration");
  int64_t mult = 1;
  char last = s.back();
  if (last < '0' || last > '9') {
    switch (last) {
      case 's': mult = 1; break;
      case 'm': mult = 60; break;
      case 'h': mult = 3600; break;
      case 'd': mult = 86400; break;
      case 'w': mult = 7 * 86400; break;
      default:
        return InvalidArgument("invalid duration '" + std::string(s) +
                               "': unit must be s, m, h, d or w");
    }
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 12) return InvalidArgument("invalid duration: expected a number");
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return InvalidArgument("invalid duration '" + std::string(s) + "': expected digits");
    }
    v = v * 10 + (c - '0');
  }
  return v * mult;
}

}  // namespace opspilot
