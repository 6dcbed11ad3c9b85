// RFC 4180 CSV: a streaming reader with bounded memory and precise error
// positions, and a field writer. Also a bounded line reader for JSON Lines.
#ifndef OPSPILOT_CORE_CSV_H_
#define OPSPILOT_CORE_CSV_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace opspilot {

// A source of bytes: a file or a string in memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buf; returns 0 at end of input or on error.
  virtual size_t Read(char* buf, size_t n) = 0;
  virtual Status status() const { return Status::Ok(); }
  // Total size in bytes if known, else -1 (for progress).
  virtual int64_t size() const { return -1; }
};

StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path);
std::unique_ptr<ByteSource> StringSource(std::string data);

struct CsvOptions {
  char delimiter = ',';
  size_t max_field_bytes = 1 << 20;    // longer fields make the record an error
  size_t max_record_bytes = 16 << 20;  // past this the reader resynchronises at a newline
  size_t buffer_bytes = 1 << 20;
};

struct CsvRecord {
  std::vector<std::string> fields;  // only the first num_fields are meaningful
  size_t num_fields = 0;
  int64_t line = 0;     // 1-based physical line where the record starts
  std::string error;    // structural problem, empty if none
  int error_field = -1; // 0-based field where the problem was found
  std::string_view field(size_t i) const { return fields[i]; }
};

// Streams records from a ByteSource. Fields may contain newlines when
// quoted; "" inside quotes is a quote. A UTF-8 BOM is skipped, CRLF accepted,
// blank lines skipped. Structural errors (a stray quote in an unquoted
// field, text after a closing quote, an unterminated quote at end of input,
// an over-long field) are reported on the record, and reading goes on.
class CsvReader {
 public:
  CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options = {});

  // Fills `rec` with the next record; false at end of input.
  bool Next(CsvRecord* rec);
  // I/O status of the source, checked after Next returns false.
  Status status() const { return source_->status(); }
  int64_t bytes_read() const { return consumed_; }
  int64_t total_bytes() const { return source_->size(); }

 private:
  int Get();  // next byte or -1
  int Peek();
  bool Refill();

  std::unique_ptr<ByteSource> source_;
  CsvOptions options_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  int64_t line_ = 1;
  int64_t consumed_ = 0;
  bool eof_ = false, started_ = false;
};

// Reads lines of at most max_line_bytes (longer lines are reported as
// truncated and skipped to their end). Strips "\r\n" / "\n".
class LineReader {
 public:
  LineReader(std::unique_ptr<ByteSource> source, size_t max_line_bytes = 16 << 20);
  // False at end of input. *too_long is set when the line exceeded the limit.
  bool Next(std::string* line, int64_t* line_no, bool* too_long);
  Status status() const { return source_->status(); }
  int64_t bytes_read() const { return consumed_; }
  int64_t total_bytes() const { return source_->size(); }

 private:
  std::unique_ptr<ByteSource> source_;
  size_t max_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  int64_t line_ = 0, consumed_ = 0;
};

// Appends `field` to `out`, quoted when it holds a delimiter, quote or newline.
void AppendCsvField(std::string* out, std::string_view field, char delimiter = ',');
// Joins fields into one CSV line (no trailing newline).
std::string CsvLine(const std::vector<std::string>& fields);

// True if `s` is valid UTF-8; otherwise sets *bad_offset to the first bad byte.
bool ValidUtf8(std::string_view s, size_t* bad_offset);

// A header row's names must be distinct: "PATH:LINE: column 'x' appears
// twice (fields 2 and 4)" otherwise (a reader would silently take one).
Status CheckCsvHeader(const std::string& path, const CsvRecord& header);
// A data row must have as many fields as the header: more means an unquoted
// delimiter inside a field, which would otherwise shift or cut it silently.
Status CheckCsvFieldCount(const std::string& path, const CsvRecord& rec, size_t header_fields);

}  // namespace opspilot

#endif  // OPSPILOT_CORE_CSV_H_
