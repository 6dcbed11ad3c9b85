// Progress reporting for long jobs: a redrawn bar when stderr is a terminal,
// a plain line every few seconds otherwise, nothing when quiet.
// Update() is cheap (a clock read) and may be called per row; not thread-safe.
#ifndef OPSPILOT_CORE_PROGRESS_H_
#define OPSPILOT_CORE_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace opspilot {

enum class ProgressMode { kAuto, kBar, kLines, kQuiet };

class Progress {
 public:
  // total <= 0: unknown total (counts only). `unit` names what is counted.
  Progress(std::string label, int64_t total, std::string unit, ProgressMode mode,
           std::FILE* out = stderr, double line_interval_s = 5.0);
  ~Progress();

  void Update(int64_t done);
  // Prints the final state once (not in quiet mode).
  void Finish();

 private:
  void Print(bool final);
  double Elapsed() const;

  std::string label_, unit_;
  int64_t total_, done_ = 0;
  ProgressMode mode_;
  std::FILE* out_;
  double line_interval_s_;
  int64_t start_us_, last_print_us_;
  bool finished_ = false;
};

}  // namespace opspilot

#endif  // OPSPILOT_CORE_PROGRESS_H_
