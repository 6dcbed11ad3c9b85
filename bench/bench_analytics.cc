// Query time of funnels and retention on an events CSV loaded in memory;
// prints the results as JSON so bench/analytics.sh can check them against
// DuckDB's answers on the same file.
//   build/bench_analytics events.csv
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "analytics/analytics.h"
#include "analytics/report.h"

using namespace opspilot;

template <typename F>
double BestOf(int runs, const F& f) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_analytics events.csv\n");
    return 2;
  }
  ContextOptions co;
  co.threads = 2;
  co.progress = ProgressMode::kQuiet;
  co.log.level = LogLevel::kOff;
  Context ctx(co);
  const auto t0 = std::chrono::steady_clock::now();
  auto snap = analytics::ReadEventsCsv(ctx, argv[1], analytics::EventsCsvOptions{});
  if (!snap.ok()) {
    std::fprintf(stderr, "%s\n", snap.status().ToString().c_str());
    return 1;
  }
  const double load = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const EventLog& log = *snap->events;
  nlohmann::json out;
  out["events"] = log.size();
  out["users"] = log.num_users();
  out["load_seconds"] = load;
  analytics::FunnelSpec f2;
  f2.steps = {"visit", "signup"};
  f2.window = 86400;
  f2.keep_dropped = 0;
  analytics::FunnelSpec f5 = f2;
  f5.steps = {"visit", "signup", "activate", "trial", "pay"};
  StatusOr<analytics::FunnelResult> r2 = Internal(""), r5 = Internal("");
  out["funnel2_seconds"] = BestOf(3, [&] { r2 = analytics::Funnel(ctx, log, *snap->users, f2); });
  out["funnel5_seconds"] = BestOf(3, [&] { r5 = analytics::Funnel(ctx, log, *snap->users, f5); });
  analytics::RetentionSpec rs;
  rs.period = analytics::Period::kWeek;
  rs.periods = 8;
  StatusOr<std::vector<analytics::RetentionRow>> ret = Internal("");
  out["retention_seconds"] = BestOf(3, [&] { ret = analytics::Retention(ctx, log, rs); });
  if (!r2.ok() || !r5.ok() || !ret.ok()) return 1;
  std::vector<int64_t> s2, s5;
  for (const auto& s : r2->steps) s2.push_back(s.users);
  for (const auto& s : r5->steps) s5.push_back(s.users);
  out["funnel2"] = s2;
  out["funnel5"] = s5;
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& row : *ret) {
    for (size_t k = 0; k < row.retained.size(); ++k) {
      if (row.retained[k] > 0) cells.push_back({row.cohort_start, k, row.retained[k]});
    }
  }
  out["retention"] = cells;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
