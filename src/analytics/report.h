// JSON and CSV forms of analytics results, shared by the CLI and the server.
#ifndef OPSPILOT_ANALYTICS_REPORT_H_
#define OPSPILOT_ANALYTICS_REPORT_H_

#include <nlohmann/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "analytics/analytics.h"

namespace opspilot::analytics {

nlohmann::json ToJson(const FunnelResult& r);
nlohmann::json ToJson(const std::vector<RetentionRow>& rows, int periods);
nlohmann::json ToJson(const std::vector<TrendPoint>& points);
nlohmann::json ToJson(const std::vector<PathEdge>& edges);
nlohmann::json ToJson(const std::vector<LifecyclePoint>& points);
nlohmann::json ToJson(const std::vector<StickinessRow>& rows);

// CSV with a header row.
std::string ToCsv(const FunnelResult& r);
std::string ToCsv(const std::vector<RetentionRow>& rows, int periods);
std::string ToCsv(const std::vector<TrendPoint>& points);
std::string ToCsv(const std::vector<PathEdge>& edges);
std::string ToCsv(const std::vector<LifecyclePoint>& points);
std::string ToCsv(const std::vector<StickinessRow>& rows);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(std::string_view text);

// Query specs from named string parameters (HTTP query strings); `get`
// returns "" for an absent parameter. Errors name the parameter.
using ParamFn = std::function<std::string(const char* name)>;
StatusOr<FunnelSpec> FunnelSpecFromParams(const ParamFn& get);
StatusOr<RetentionSpec> RetentionSpecFromParams(const ParamFn& get);
StatusOr<PathSpec> PathSpecFromParams(const ParamFn& get);
// since/until as unix seconds (INT64_MIN / INT64_MAX when absent).
Status TimeRangeFromParams(const ParamFn& get, int64_t* since, int64_t* until);

// Aligned text tables for a terminal.
std::string ToTable(const FunnelResult& r);
std::string ToTable(const std::vector<RetentionRow>& rows, int periods);

}  // namespace opspilot::analytics

#endif  // OPSPILOT_ANALYTICS_REPORT_H_
