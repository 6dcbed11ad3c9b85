// Whole-file reads and crash-safe writes.
#ifndef OPSPILOT_CORE_FILE_H_
#define OPSPILOT_CORE_FILE_H_

#include <string>

#include "core/status.h"

namespace opspilot {

// Writes `content` to `path` atomically: a temporary file beside it
// (path + ".tmp"), fsync, then rename over `path`. A crash leaves either the
// old file or the new one, never half of one.
Status WriteFileAtomic(const std::string& path, const std::string& content);

// The whole file, bytes as they are. NotFound when it cannot be opened.
StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace opspilot

#endif  // OPSPILOT_CORE_FILE_H_
