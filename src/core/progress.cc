#include "core/progress.h"

#include <unistd.h>

#include <chrono>

namespace opspilot {
namespace {
int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit, ProgressMode mode,
                   std::FILE* out, double line_interval_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), mode_(mode), out_(out),
      line_interval_s_(line_interval_s) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = isatty(fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLines;
  }
  start_us_ = last_print_us_ = NowMicros();
}

Progress::~Progress() {
  if (!finished_ && mode_ == ProgressMode::kBar && done_ > 0) std::fputc('\n', out_);
}

double Progress::Elapsed() const { return static_cast<double>(NowMicros() - start_us_) / 1e6; }

void Progress::Update(int64_t done) {
  done_ = done;
  if (mode_ == ProgressMode::kQuiet) return;
  const int64_t now = NowMicros();
  const double interval = mode_ == ProgressMode::kBar ? 0.1 : line_interval_s_;
  if (static_cast<double>(now - last_print_us_) / 1e6 < interval) return;
  last_print_us_ = now;
  Print(false);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ == ProgressMode::kQuiet) return;
  Print(true);
}

void Progress::Print(bool final) {
  const double secs = Elapsed();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0.0;
  if (mode_ == ProgressMode::kBar) {
    if (total_ > 0) {
      const double frac = done_ >= total_ ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
      const int width = 30, filled = static_cast<int>(frac * width);
      std::string bar(static_cast<size_t>(filled), '#');
      bar.append(static_cast<size_t>(width - filled), '.');
      std::fprintf(out_, "\r%s [%s] %3.0f%% %lld %s %.0f/s ", label_.c_str(), bar.c_str(),
                   frac * 100, static_cast<long long>(done_), unit_.c_str(), rate);
    } else {
      std::fprintf(out_, "\r%s %lld %s %.0f/s ", label_.c_str(), static_cast<long long>(done_),
                   unit_.c_str(), rate);
    }
    if (final) std::fputc('\n', out_);
  } else {
    if (total_ > 0) {
      std::fprintf(out_, "%s: %lld/%lld %s (%.0f%%) %.1fs %.0f/s%s\n", label_.c_str(),
                   static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(),
                   100.0 * static_cast<double>(done_) / static_cast<double>(total_), secs, rate,
                   final ? " done" : "");
    } else {
      std::fprintf(out_, "%s: %lld %s %.1fs %.0f/s%s\n", label_.c_str(),
                   static_cast<long long>(done_), unit_.c_str(), secs, rate, final ? " done" : "");
    }
  }
  std::fflush(out_);
}

}  // namespace opspilot
