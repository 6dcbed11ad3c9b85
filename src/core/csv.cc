#include "core/csv.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace opspilot {
namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(std::FILE* f, std::string path, int64_t size) : f_(f), path_(std::move(path)), size_(size) {}
  ~FileSource() override { std::fclose(f_); }
  size_t Read(char* buf, size_t n) override {
    const size_t got = std::fread(buf, 1, n, f_);
    if (got < n && std::ferror(f_)) {
      status_ = Unavailable("read " + path_ + ": " + std::strerror(errno));
    }
    return got;
  }
  Status status() const override { return status_; }
  int64_t size() const override { return size_; }

 private:
  std::FILE* f_;
  std::string path_;
  int64_t size_;
  Status status_;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string data) : data_(std::move(data)) {}
  size_t Read(char* buf, size_t n) override {
    const size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  int64_t size() const override { return static_cast<int64_t>(data_.size()); }

 private:
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return (errno == ENOENT ? NotFound(path + ": no such file")
                            : FailedPrecondition(path + ": " + std::strerror(errno)));
  }
  struct stat st {};
  int64_t size = -1;
  if (fstat(fileno(f), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      std::fclose(f);
      return InvalidArgument(path + ": is a directory");
    }
    size = static_cast<int64_t>(st.st_size);
  }
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(f, path, size));
}

std::unique_ptr<ByteSource> StringSource(std::string data) {
  return std::make_unique<MemorySource>(std::move(data));
}

CsvReader::CsvReader(std::unique_ptr<ByteSource> source, CsvOptions options)
    : source_(std::move(source)), options_(options), buf_(options.buffer_bytes) {}

bool CsvReader::Refill() {
  if (eof_) return false;
  end_ = source_->Read(buf_.data(), buf_.size());
  pos_ = 0;
  if (end_ == 0) eof_ = true;
  return end_ > 0;
}

inline int CsvReader::Get() {
  if (pos_ == end_ && !Refill()) return -1;
  ++consumed_;
  return static_cast<unsigned char>(buf_[pos_++]);
}

inline int CsvReader::Peek() {
  if (pos_ == end_ && !Refill()) return -1;
  return static_cast<unsigned char>(buf_[pos_]);
}

bool CsvReader::Next(CsvRecord* rec) {
  if (!started_) {
    started_ = true;
    // Skip a UTF-8 byte-order mark.
    if (Peek() == 0xEF) {
      Get();
      if (Peek() == 0xBB) Get();
      if (Peek() == 0xBF) Get();
    }
  }
  const char delim = options_.delimiter;
  for (;;) {
    int c = Peek();
    if (c == -1) return false;
    rec->num_fields = 0;
    rec->error.clear();
    rec->error_field = -1;
    rec->line = line_;
    size_t record_bytes = 0;
    auto set_error = [&](std::string msg) {
      if (rec->error.empty()) {
        rec->error = std::move(msg);
        rec->error_field = static_cast<int>(rec->num_fields) - 1;
      }
    };
    bool end_of_record = false;
    while (!end_of_record) {
      // Start a new field.
      if (rec->fields.size() <= rec->num_fields) rec->fields.emplace_back();
      std::string& f = rec->fields[rec->num_fields++];
      f.clear();
      bool too_long = false;
      auto append = [&](char ch) {
        if (f.size() < options_.max_field_bytes) {
          f.push_back(ch);
        } else if (!too_long) {
          too_long = true;
          set_error("field exceeds " + std::to_string(options_.max_field_bytes) + " bytes");
        }
      };
      c = Peek();
      if (c == '"') {
        Get();
        bool closed = false;
        for (;;) {
          c = Get();
          if (c == -1) break;
          if (++record_bytes > options_.max_record_bytes) break;
          if (c == '"') {
            if (Peek() == '"') {
              Get();
              append('"');
              continue;
            }
            closed = true;
            break;
          }
          if (c == '\n') ++line_;
          append(static_cast<char>(c));
        }
        if (!closed) {
          if (record_bytes > options_.max_record_bytes) {
            set_error("record exceeds " + std::to_string(options_.max_record_bytes) +
                      " bytes (unterminated quote?)");
            // Resynchronise: skip to the end of the current line.
            while ((c = Get()) != -1 && c != '\n') {}
            if (c == '\n') ++line_;
          } else {
            set_error("unterminated quoted field at end of input (truncated file?)");
          }
          return true;
        }
        // After the closing quote: delimiter, newline or end.
        c = Get();
        if (c == delim) continue;
        if (c == '\r' && Peek() == '\n') c = Get();
        if (c == '\n') {
          ++line_;
          end_of_record = true;
        } else if (c == -1) {
          end_of_record = true;
        } else {
          set_error("unexpected character after a closing quote");
          // Consume the rest of the field as garbage.
          while ((c = Peek()) != -1 && c != delim && c != '\n') Get();
          if (c == delim) {
            Get();
          } else {
            if (c == '\n') {
              Get();
              ++line_;
            }
            end_of_record = true;
          }
        }
      } else {
        for (;;) {
          if (pos_ == end_ && !Refill()) {
            end_of_record = true;
            break;
          }
          // Copy a run of ordinary bytes at once.
          const char* p = buf_.data() + pos_;
          const char* e = buf_.data() + end_;
          const char* q = p;
          while (q < e && *q != delim && *q != '\n' && *q != '\r' && *q != '"') ++q;
          const auto n = static_cast<size_t>(q - p);
          if (n > 0) {
            if (f.size() + n <= options_.max_field_bytes) {
              f.append(p, n);
            } else {
              f.append(p, options_.max_field_bytes - std::min(f.size(), options_.max_field_bytes));
              if (!too_long) {
                too_long = true;
                set_error("field exceeds " + std::to_string(options_.max_field_bytes) + " bytes");
              }
            }
            pos_ += n;
            consumed_ += static_cast<int64_t>(n);
            record_bytes += n;
            if (record_bytes > options_.max_record_bytes) {
              set_error("record exceeds " + std::to_string(options_.max_record_bytes) + " bytes");
            }
          }
          if (q == e) continue;
          c = Get();
          if (c == delim) break;
          if (c == '\n') {
            ++line_;
            end_of_record = true;
            break;
          }
          if (c == '\r' && Peek() == '\n') continue;
          if (c == '"') set_error("quote inside an unquoted field");
          append(static_cast<char>(c));
        }
      }
    }
    // Skip blank lines.
    if (rec->num_fields == 1 && rec->fields[0].empty() && rec->error.empty()) continue;
    return true;
  }
}

LineReader::LineReader(std::unique_ptr<ByteSource> source, size_t max_line_bytes)
    : source_(std::move(source)), max_(max_line_bytes), buf_(1 << 20) {}

bool LineReader::Next(std::string* line, int64_t* line_no, bool* too_long) {
  line->clear();
  *too_long = false;
  bool any = false;
  for (;;) {
    if (pos_ == end_) {
      end_ = source_->Read(buf_.data(), buf_.size());
      pos_ = 0;
      if (end_ == 0) {
        if (!any) return false;
        break;
      }
    }
    any = true;
    const char* start = buf_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const size_t n = nl ? static_cast<size_t>(nl - start) : end_ - pos_;
    if (line->size() + n <= max_) {
      line->append(start, n);
    } else {
      *too_long = true;
      if (line->size() < max_) line->append(start, max_ - line->size());
    }
    pos_ += n + (nl ? 1 : 0);
    consumed_ += static_cast<int64_t>(n + (nl ? 1 : 0));
    if (nl) break;
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  *line_no = ++line_;
  return true;
}

void AppendCsvField(std::string* out, std::string_view field, char delimiter) {
  bool quote = false;
  for (char c : field) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    AppendCsvField(&out, fields[i]);
  }
  return out;
}

Status CheckCsvHeader(const std::string& path, const CsvRecord& header) {
  for (size_t i = 0; i < header.num_fields; ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (header.fields[i] == header.fields[j]) {
        return InvalidArgument(path + ":" + std::to_string(header.line) + ": column '" + header.fields[i] +
                               "' appears twice (fields " + std::to_string(j + 1) + " and " + std::to_string(i + 1) + ")");
      }
    }
  }
  return Status::Ok();
}

Status CheckCsvFieldCount(const std::string& path, const CsvRecord& rec, size_t header_fields) {
  if (rec.num_fields == header_fields) return Status::Ok();
  return InvalidArgument(path + ":" + std::to_string(rec.line) + ": expected " + std::to_string(header_fields) +
                         " fields (as the header), found " + std::to_string(rec.num_fields) +
                         (rec.num_fields > header_fields ? " (quote a field that holds a comma)" : ""));
}

bool ValidUtf8(std::string_view s, size_t* bad_offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path for ASCII runs.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      *bad_offset = i;
      return false;
    }
    if (i + len > n) {
      *bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range code points.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace opspilot
