// Driver for scripts/fuzz_detector_states.sh: save states of every detector,
// overwrite 8 bytes at a time with extremes, load, and keep scoring.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "anomaly/detectors.h"
#include "anomaly/nab.h"

using namespace opspilot::anomaly;

int main() {
  GeneratorOptions g;
  g.length = 2500;
  g.anomalies = 3;
  const auto s = GenerateSeries(g).series;
  long loaded = 0, tried = 0;
  for (const std::string& name : DetectorNames()) {
    auto made = MakeDetector(name, DetectorOptions{});
    for (size_t i = 0; i < s.y.size(); ++i) (*made)->Update(s.time[i], s.y[i]);
    const std::string good = (*made)->SaveState();
    const size_t stride = name == "forecast" ? 61 : 13;
    for (size_t at = 0; at + 8 <= good.size(); at += stride) {
      for (const uint64_t v : {~uint64_t{0}, uint64_t{0x7fefffffffffffff}, uint64_t{2}, uint64_t{1} << 63, uint64_t{0}}) {
        std::string bad = good;
        std::memcpy(bad.data() + at, &v, 8);
        ++tried;
        auto d = LoadDetector(bad);
        if (!d.ok()) continue;
        ++loaded;
        const int n = name == "forecast" ? 40 : 200;
        for (int i = 0; i < n; ++i) {
          const double sc = (*d)->Update(s.time.back() + 300 * (i + 1), s.y[static_cast<size_t>(i)]);
          if (!(sc >= 0 && sc <= 1)) { std::printf("%s at %zu: score %g\n", name.c_str(), at, sc); return 1; }
        }
        (void)(*d)->SaveState();
      }
    }
    std::printf("%s: %zu bytes, done\n", name.c_str(), good.size());
  }
  std::printf("tried %ld, loaded %ld\n", tried, loaded);
  return 0;
}
