// Micro-benchmarks of core parsing against the C library doing the same job.
//   build/bench_core
#include <benchmark/benchmark.h>

#include <ctime>
#include <string>
#include <vector>

#include "core/csv.h"
#include "core/time.h"

namespace {

std::vector<std::string> Stamps() {
  std::vector<std::string> v;
  for (int64_t t = 1735689600; v.size() < 4096; t += 7919) v.push_back(opspilot::FormatTimestamp(t));
  return v;
}

void BM_ParseTimestamp(benchmark::State& state) {
  const auto stamps = Stamps();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(opspilot::ParseTimestamp(stamps[i++ & 4095]));
  }
}
BENCHMARK(BM_ParseTimestamp);

// Peer: strptime + timegm, the usual C way.
void BM_StrptimeTimegm(benchmark::State& state) {
  const auto stamps = Stamps();
  size_t i = 0;
  for (auto _ : state) {
    std::tm tm{};
    strptime(stamps[i++ & 4095].c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    benchmark::DoNotOptimize(timegm(&tm));
  }
}
BENCHMARK(BM_StrptimeTimegm);

void BM_CsvReader(benchmark::State& state) {
  std::string data = "event_id,user_id,event_type,item_id,timestamp,session_id,value,channel,region\n";
  for (int i = 0; i < 20000; ++i) {
    data += "e" + std::to_string(i) + ",u" + std::to_string(i % 997) +
            ",view,i0042,2025-03-04T10:11:12Z,s" + std::to_string(i / 9) + ",,app,east\n";
  }
  for (auto _ : state) {
    opspilot::CsvReader r(opspilot::StringSource(data));
    opspilot::CsvRecord rec;
    int64_t n = 0;
    while (r.Next(&rec)) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_CsvReader);

}  // namespace

BENCHMARK_MAIN();
