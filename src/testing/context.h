// Context options for tests: no progress output, no logs, a fixed thread count.
#ifndef OPSPILOT_TESTING_CONTEXT_H_
#define OPSPILOT_TESTING_CONTEXT_H_

#include "core/context.h"

namespace opspilot::testing {

inline ContextOptions QuietOptions(int threads = 2) {
  ContextOptions o;
  o.progress = ProgressMode::kQuiet;
  o.log.level = LogLevel::kOff;
  o.threads = threads;
  return o;
}

}  // namespace opspilot::testing

#endif  // OPSPILOT_TESTING_CONTEXT_H_
