// Structured logging: a message plus key=value fields, as text or JSON lines,
// written to stderr through spdlog. Thread-safe.
#ifndef OPSPILOT_CORE_LOGGING_H_
#define OPSPILOT_CORE_LOGGING_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace opspilot {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };

// Parses "debug", "info", "warn", "error", "off"; false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);

// One structured field; numbers are kept unquoted in JSON.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v), quoted(true) {}
  LogField(std::string_view k, const char* v) : key(k), value(v), quoted(true) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  LogField(std::string_view k, int64_t v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(std::string_view k, double v);
  std::string_view key;
  std::string value;
  bool quoted;
};

struct LogOptions {
  LogLevel level = LogLevel::kInfo;  // messages below this are dropped
  bool json = false;                 // JSON lines instead of "ts level msg k=v"
};

class Logger {
 public:
  explicit Logger(const LogOptions& options);
  ~Logger();

  void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
  void Debug(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, m, f); }
  void Info(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, m, f); }
  void Warn(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, m, f); }
  void Error(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, m, f); }

  // Formats one record without writing it (used by Log and by tests).
  std::string Format(LogLevel level, std::string_view message,
                     std::initializer_list<LogField> fields) const;

 private:
  LogOptions options_;
  std::shared_ptr<spdlog::logger> sink_;
};

}  // namespace opspilot

#endif  // OPSPILOT_CORE_LOGGING_H_
