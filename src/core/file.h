// Whole-file reads and crash-safe writes.
#ifndef OPSPILOT_CORE_FILE_H_
#define OPSPILOT_CORE_FILE_H_

#include <functional>
#include <string>

#include "core/status.h"

namespace opspilot {

// Writes `content` to `path` atomically: a temporary file beside it
// (path + ".tmp"), fsync, then rename over `path`. A crash leaves either the
// old file or the new one, never half of one.
Status WriteFileAtomic(const std::string& path, const std::string& content);

// fsyncs a directory, so that renames into it survive a crash (best effort:
// Internal only when it cannot be opened).
Status SyncDirectory(const std::string& dir);

// Writes a directory as a whole: `write` fills a fresh temporary directory
// beside `dir` (".<name>.tmp-<pid>"), which then takes `dir`'s place; an
// older `dir` is moved aside first and removed after. A failed `write` (or a
// crash) leaves the old directory as it was, never a mix of old and new
// files. InvalidArgument when `dir` exists and is not a directory.
Status ReplaceDirAtomic(const std::string& dir, const std::function<Status(const std::string& tmp)>& write);
// The same refusal, checked up front (before a long training): InvalidArgument
// when `dir` exists and is not a directory.
Status CheckDirTarget(const std::string& dir);

// The whole file, bytes as they are. NotFound when it cannot be opened.
StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace opspilot

#endif  // OPSPILOT_CORE_FILE_H_
