// Context options for tests: no progress output, no logs, a fixed thread count.
// OPSPILOT_DEVICE (as for the CLI) moves the neural models' tests to a GPU:
// scripts/gpu_check.sh runs the libtorch tests with OPSPILOT_DEVICE=cuda.
#ifndef OPSPILOT_TESTING_CONTEXT_H_
#define OPSPILOT_TESTING_CONTEXT_H_

#include <cstdlib>

#include "core/context.h"

namespace opspilot::testing {

inline ContextOptions QuietOptions(int threads = 2) {
  ContextOptions o;
  o.progress = ProgressMode::kQuiet;
  o.log.level = LogLevel::kOff;
  o.threads = threads;
  if (const char* device = std::getenv("OPSPILOT_DEVICE")) o.device = device;
  return o;
}

}  // namespace opspilot::testing

#endif  // OPSPILOT_TESTING_CONTEXT_H_
