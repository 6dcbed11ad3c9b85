#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/time.h"

namespace opspilot {

LogField::LogField(std::string_view k, double v) : key(k), quoted(false) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  value = buf;
}

bool ParseLogLevel(std::string_view t, LogLevel* level) {
  if (t == "debug") *level = LogLevel::kDebug;
  else if (t == "info") *level = LogLevel::kInfo;
  else if (t == "warn" || t == "warning") *level = LogLevel::kWarn;
  else if (t == "error") *level = LogLevel::kError;
  else if (t == "off") *level = LogLevel::kOff;
  else return false;
  return true;
}

namespace {
const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') return true;
  }
  return false;
}
}  // namespace

Logger::Logger(const LogOptions& options) : options_(options) {
  static std::atomic<int> counter{0};
  // Each Logger owns an unregistered spdlog logger so tests can make many.
  sink_ = std::make_shared<spdlog::logger>("opspilot" + std::to_string(counter++),
                                           std::make_shared<spdlog::sinks::stderr_sink_mt>());
  sink_->set_pattern("%v");
  sink_->set_level(spdlog::level::trace);
}

Logger::~Logger() = default;

std::string Logger::Format(LogLevel level, std::string_view message,
                           std::initializer_list<LogField> fields) const {
  const auto now = std::chrono::system_clock::now();
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         now.time_since_epoch()).count();
  std::string ts = FormatTimestamp(ms / 1000);
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(ms % 1000));
  ts.insert(ts.size() - 1, frac);
  if (options_.json) {
    nlohmann::ordered_json j;
    j["ts"] = ts;
    j["level"] = LevelName(level);
    j["msg"] = message;
    for (const auto& f : fields) {
      if (f.quoted) {
        j[std::string(f.key)] = f.value;
      } else {
        j[std::string(f.key)] = nlohmann::json::parse(f.value, nullptr, false);
      }
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = ts;
  out += ' ';
  out += LevelName(level);
  out += ' ';
  out += message;
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (f.quoted && NeedsQuotes(f.value)) {
      out += nlohmann::json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      out += f.value;
    }
  }
  return out;
}

void Logger::Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (level < options_.level || options_.level == LogLevel::kOff) return;
  sink_->info(Format(level, message, fields));
}

}  // namespace opspilot
