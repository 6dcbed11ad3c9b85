// Time parsing and formatting. All timestamps inside OpsPilot are int64 unix
// seconds, UTC. Inputs may be ISO-8601 (date, date-time with optional
// fraction and a 'Z' or +HH[:MM] offset, 'T' or space separator) or integer
// unix seconds.
#ifndef OPSPILOT_CORE_TIME_H_
#define OPSPILOT_CORE_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace opspilot {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
// Inverse of DaysFromCivil.
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);
// a / b rounded down (C++ division truncates toward zero): the period, day or
// cycle of a time also before 1970. REQUIRES: b != 0.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
// The UTC day of a unix time: floor(t / 86400), also before 1970.
inline int64_t DayOf(int64_t unix_seconds) { return FloorDiv(unix_seconds, 86400); }
// Seconds since the UTC midnight of a unix time, in [0, 86400), also before 1970.
inline int64_t SecondOfDay(int64_t unix_seconds) { return unix_seconds - DayOf(unix_seconds) * 86400; }
// Day of the week of a day number (DayOf), 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday).
inline int WeekdayOfDay(int64_t day) { return static_cast<int>(day + 3 - FloorDiv(day + 3, 7) * 7); }

// Parses "2025-03-04", "2025-03-04T10:11:12Z", "2025-03-04 10:11:12.5+08:00",
// "2025-03-04T10:11", or "1741083072" (unix seconds; an optional ".fraction"
// is truncated). A date-time without zone is UTC. Fractions are truncated
// towards the past. Errors name what is wrong.
StatusOr<int64_t> ParseTimestamp(std::string_view text);

// "2025-03-04T10:11:12Z".
std::string FormatTimestamp(int64_t unix_seconds);
// "2025-03-04T18:11:12+08:00" for offset_minutes = 480.
std::string FormatTimestamp(int64_t unix_seconds, int offset_minutes);
// "2025-03-04".
std::string FormatDate(int64_t unix_seconds);

// Parses a duration: "86400" (seconds), "90s", "15m", "2h", "1d", "1w".
StatusOr<int64_t> ParseDuration(std::string_view text);

}  // namespace opspilot

#endif  // OPSPILOT_CORE_TIME_H_
