// Driver for scripts/fuzz_detector_states.sh: every detector's state,
// overwritten 8 bytes at a time (testing/state_fuzz.h), more densely than the
// test suite does, for a build under AddressSanitizer and UBSan.
#include <cstdio>

#include "anomaly/nab.h"
#include "testing/state_fuzz.h"

int main() {
  using namespace opspilot;
  anomaly::GeneratorOptions g;
  g.length = 2500;
  g.anomalies = 3;
  const auto s = anomaly::GenerateSeries(g).series;
  int64_t tried = 0, loaded = 0;
  for (const std::string& name : anomaly::DetectorNames()) {
    testing::StateFuzzOptions o;
    o.stride = name == "forecast" ? 61 : 13;  // the forecast detector refits: fewer, shorter runs
    o.values = {~uint64_t{0}, uint64_t{0x7fefffffffffffff}, uint64_t{2}, uint64_t{1} << 63, uint64_t{0}};
    o.updates = name == "forecast" ? 40 : 200;
    const testing::StateFuzzResult r = testing::FuzzDetectorState(name, s, o);
    if (!r.failure.empty()) {
      std::printf("%s\n", r.failure.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes, done\n", name.c_str(), r.state_bytes);
    tried += r.tried;
    loaded += r.loaded;
  }
  std::printf("tried %lld, loaded %lld\n", static_cast<long long>(tried), static_cast<long long>(loaded));
  return 0;
}
