// Saved detector states with field values overwritten: each corrupt state
// must be refused by LoadDetector, or make a detector that keeps scoring in
// [0, 1] (nothing it trusts leads it out of its arrays). Used by the test
// suite and by scripts/fuzz_detector_states.sh (the same under ASan and UBSan).
#ifndef OPSPILOT_TESTING_STATE_FUZZ_H_
#define OPSPILOT_TESTING_STATE_FUZZ_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "anomaly/detectors.h"
#include "forecast/forecast.h"

namespace opspilot::testing {

struct StateFuzzOptions {
  size_t first = 0;    // the first byte overwritten
  size_t stride = 97;  // bytes between overwrites
  std::vector<uint64_t> values = {~uint64_t{0}, uint64_t{0x7fefffffffffffff}, uint64_t{2}};  // 8 bytes each time
  int updates = 300;   // points scored by each state that loads
};

struct StateFuzzResult {
  size_t state_bytes = 0;
  int64_t tried = 0, loaded = 0;
  std::string failure;  // "" when every state was refused or kept scoring in [0, 1]
};

// Runs detector `name` over `s`, saves it, and tries each corrupted copy of the state.
inline StateFuzzResult FuzzDetectorState(const std::string& name, const forecast::Series& s, const StateFuzzOptions& o) {
  StateFuzzResult r;
  auto made = anomaly::MakeDetector(name, anomaly::DetectorOptions{});
  if (!made.ok()) {
    r.failure = made.status().ToString();
    return r;
  }
  for (size_t i = 0; i < s.y.size(); ++i) (*made)->Update(s.time[i], s.y[i]);
  const std::string good = (*made)->SaveState();
  r.state_bytes = good.size();
  for (size_t at = o.first; at + 8 <= good.size(); at += o.stride) {
    for (const uint64_t v : o.values) {
      std::string bad = good;
      std::memcpy(bad.data() + at, &v, 8);
      ++r.tried;
      auto fuzzed = anomaly::LoadDetector(bad);
      if (!fuzzed.ok()) continue;
      ++r.loaded;
      for (int i = 0; i < o.updates; ++i) {
        const double score = (*fuzzed)->Update(s.time.back() + 300 * (i + 1), s.y[static_cast<size_t>(i) % s.y.size()]);
        if (!(score >= 0 && score <= 1)) {
          r.failure = name + " with 8 bytes at " + std::to_string(at) + " overwritten scored " + std::to_string(score);
          return r;
        }
      }
      (void)(*fuzzed)->SaveState();
    }
  }
  return r;
}

}  // namespace opspilot::testing

#endif  // OPSPILOT_TESTING_STATE_FUZZ_H_
