#include "store/ingest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/hash.h"
#include "core/time.h"

namespace opspilot {

using nlohmann::json;

namespace {

constexpr size_t kMaxRawRecord = 4096;
constexpr int64_t kMinTimestamp = 31536000;    // 1971-01-01
constexpr int64_t kMaxTimestamp = 4102444800;  // 2100-01-01

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string Quoted(std::string_view v) {
  std::string out = "'";
  out.append(v.substr(0, 80));
  if (v.size() > 80) out += "...";
  out += "'";
  return out;
}

// Appends `s` as a JSON string literal, escaping like nlohmann::json::dump.
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// Converts input text to the stored value of `spec`. Returns "" or the reason.
std::string ConvertField(const ColumnSpec& spec, std::string_view text, size_t max_bytes,
                         Value* out) {
  if (text.size() > max_bytes) {
    return "value of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
           std::to_string(max_bytes);
  }
  size_t bad = 0;
  if (!ValidUtf8(text, &bad)) return "invalid UTF-8 at byte " + std::to_string(bad);
  switch (spec.type) {
    case ColumnType::kText: {
      if (!spec.allowed.empty() &&
          std::find(spec.allowed.begin(), spec.allowed.end(), text) == spec.allowed.end()) {
        std::string list;
        for (const auto& a : spec.allowed) list += (list.empty() ? "" : "|") + a;
        return "value " + Quoted(text) + " is not one of " + list;
      }
      out->kind = Value::Kind::kText;
      out->s.assign(text);
      return "";
    }
    case ColumnType::kReal: {
      const std::string t = Trim(text);
      double v = 0;
      const char* b = t.data();
      const char* e = t.data() + t.size();
      if (!t.empty() && *b == '+') ++b;
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e || t.empty()) return "expected a number, got " + Quoted(text);
      if (!std::isfinite(v)) return "expected a finite number, got " + Quoted(text);
      if (v < spec.min || v > spec.max) {
        char buf[96];
        if (std::isinf(spec.max)) {
          std::snprintf(buf, sizeof(buf), "value %g is below the minimum %g", v, spec.min);
        } else {
          std::snprintf(buf, sizeof(buf), "value %g is outside [%g, %g]", v, spec.min, spec.max);
        }
        return buf;
      }
      out->kind = Value::Kind::kReal;
      out->r = v;
      return "";
    }
    case ColumnType::kTimestamp:
    case ColumnType::kDate: {
      auto ts = ParseTimestamp(text);
      if (!ts.ok()) return ts.status().message();
      int64_t v = *ts;
      if (v > kMaxTimestamp) {
        return v > 100000000000LL ? "timestamp " + Quoted(text) +
                                        " looks like milliseconds; unix timestamps must be seconds"
                                  : "timestamp " + Quoted(text) + " is after 2100";
      }
      if (v < kMinTimestamp) return "timestamp " + Quoted(text) + " is before 1971";
      if (spec.type == ColumnType::kDate) v = (v / 86400) * 86400;
      out->kind = Value::Kind::kInt;
      out->i = v;
      return "";
    }
    case ColumnType::kBool: {
      std::string t = Trim(text);
      std::transform(t.begin(), t.end(), t.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
      out->kind = Value::Kind::kInt;
      if (t == "true" || t == "1" || t == "yes" || t == "t" || t == "y") {
        out->i = 1;
      } else if (t == "false" || t == "0" || t == "no" || t == "f" || t == "n") {
        out->i = 0;
      } else {
        return "expected true or false, got " + Quoted(text);
      }
      return "";
    }
    case ColumnType::kJson: {
      json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) return "invalid JSON";
      if (!j.is_object()) return "expected a JSON object";
      out->kind = Value::Kind::kText;
      out->s = j.dump();
      return "";
    }
  }
  return "unsupported column type";
}

// Text form of a JSON scalar for ConvertField; "" reason on success.
std::string JsonScalarText(const json& v, const ColumnSpec& spec, std::string* text) {
  switch (v.type()) {
    case json::value_t::string: *text = v.get_ref<const std::string&>(); return "";
    case json::value_t::boolean: *text = v.get<bool>() ? "true" : "false"; return "";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: *text = v.dump(); return "";
    case json::value_t::object:
    case json::value_t::array:
      if (spec.type == ColumnType::kJson) {
        *text = v.dump();
        return "";
      }
      return std::string("expected a scalar, got a JSON ") + v.type_name();
    default: return "unsupported JSON value";
  }
}

// Validates and assembles one row of an entity from named input fields.
class RowBuilder {
 public:
  RowBuilder(const EntitySchema& schema, const IngestOptions& options,
             const std::unordered_set<std::string>* item_ids)
      : schema_(schema), options_(options), item_ids_(item_ids),
        present_(schema.columns.size(), false) {}

  // Starts a row written into `slots` (width() values, reset to NULL).
  void Reset(Value* slots) {
    values_ = slots;
    std::fill(present_.begin(), present_.end(), false);
    extras_text_.clear();
    extras_json_ = json();
    has_extras_json_ = false;
    error_field_.clear();
    error_.clear();
  }

  bool failed() const { return !error_.empty(); }

  // Sets column `col` from input text. Empty text means absent.
  void Set(int col, std::string_view text) {
    if (failed() || text.empty()) return;
    const ColumnSpec& spec = schema_.columns[static_cast<size_t>(col)];
    std::string why = ConvertField(spec, text, options_.max_field_bytes, &values_[static_cast<size_t>(col)]);
    if (!why.empty()) {
      Fail(spec.name, std::move(why));
      return;
    }
    present_[static_cast<size_t>(col)] = true;
  }

  void SetJson(int col, const json& v) {
    if (failed() || v.is_null()) return;
    const ColumnSpec& spec = schema_.columns[static_cast<size_t>(col)];
    if (col == schema_.bag_column && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) AddExtraJson(it.key(), it.value());
      return;
    }
    std::string text;
    std::string why = JsonScalarText(v, spec, &text);
    if (!why.empty()) {
      Fail(spec.name, std::move(why));
      return;
    }
    if (text.empty() && spec.required) return;
    Set(col, text);
  }

  // CSV extra columns: string values, added in sorted key order.
  void AddExtraText(std::string_view key, std::string_view value) {
    if (failed() || value.empty()) return;
    size_t bad = 0;
    if (!ValidUtf8(value, &bad)) {
      Fail(std::string(key), "invalid UTF-8 at byte " + std::to_string(bad));
      return;
    }
    if (value.size() > options_.max_field_bytes) {
      Fail(std::string(key), "value of " + std::to_string(value.size()) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(options_.max_field_bytes));
      return;
    }
    extras_text_ += extras_text_.empty() ? "{" : ",";
    AppendJsonString(&extras_text_, key);
    extras_text_.push_back(':');
    AppendJsonString(&extras_text_, value);
  }

  void AddExtraJson(const std::string& key, const json& value) {
    if (failed() || value.is_null()) return;
    extras_json_[key] = value;
    has_extras_json_ = true;
  }

  // Completes the row: required fields, references, key defaults, bag, id.
  // Returns true when the row in the slots is valid, else false with the error.
  bool Finish(std::string* field, std::string* reason) {
    if (!failed()) Complete();
    if (failed()) {
      *field = error_field_;
      *reason = error_;
      return false;
    }
    return true;
  }

 private:
  void Fail(std::string field, std::string reason) {
    if (failed()) return;
    error_field_ = std::move(field);
    error_ = std::move(reason);
  }

  void Complete() {
    const auto& cols = schema_.columns;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].required && !present_[i]) {
        Fail(cols[i].name, "required field is missing or empty");
        return;
      }
    }
    for (const auto& group : schema_.one_of) {
      bool any = false;
      std::string names;
      for (int c : group) {
        any = any || present_[static_cast<size_t>(c)];
        names += (names.empty() ? "" : " or ") + cols[static_cast<size_t>(c)].name;
      }
      if (!any) {
        Fail(cols[static_cast<size_t>(group[0])].name, "one of " + names + " is required");
        return;
      }
    }
    if (item_ids_ != nullptr) {
      for (size_t i = 0; i < cols.size(); ++i) {
        if (cols[i].has_reference && cols[i].references == Entity::kItems && present_[i] &&
            item_ids_->count(values_[i].s) == 0) {
          Fail(cols[i].name, "unknown item_id " + Quoted(values_[i].s) +
                                 " (not in items; load items first or use --no-check-refs)");
          return;
        }
      }
    }
    if (schema_.bag_column >= 0) {
      const auto b = static_cast<size_t>(schema_.bag_column);
      if (has_extras_json_ || (present_[b] && !extras_text_.empty())) {
        json merged = present_[b] ? json::parse(values_[b].s) : json::object();
        if (!extras_text_.empty()) {
          json t = json::parse(extras_text_ + "}");
          for (auto it = t.begin(); it != t.end(); ++it) merged[it.key()] = it.value();
        }
        for (auto it = extras_json_.begin(); it != extras_json_.end(); ++it) {
          merged[it.key()] = it.value();
        }
        SetText(&values_[b], merged.dump());
        present_[b] = true;
      } else if (!extras_text_.empty()) {
        SetText(&values_[b], extras_text_);
        values_[b].s.push_back('}');
        present_[b] = true;
      }
    }
    for (size_t i = 0; i < cols.size(); ++i) {
      if (!cols[i].key || present_[i] || static_cast<int>(i) == schema_.hash_key_column) continue;
      SetText(&values_[i], cols[i].type == ColumnType::kJson ? "{}" : "");
    }
    if (schema_.hash_key_column >= 0 && !present_[static_cast<size_t>(schema_.hash_key_column)]) {
      std::string canon;
      for (size_t i = 0; i < cols.size(); ++i) {
        if (static_cast<int>(i) == schema_.hash_key_column) continue;
        const Value& v = values_[i];
        switch (v.kind) {
          case Value::Kind::kNull: canon += "\x01"; break;
          case Value::Kind::kInt: canon += "i" + std::to_string(v.i); break;
          case Value::Kind::kReal: {
            char buf[32];
            std::snprintf(buf, sizeof(buf), "r%.17g", v.r);
            canon += buf;
            break;
          }
          case Value::Kind::kText: canon += "s" + v.s; break;
        }
        canon += '\x1f';
      }
      SetText(&values_[static_cast<size_t>(schema_.hash_key_column)], ContentId(canon));
    }
  }

  const EntitySchema& schema_;
  const IngestOptions& options_;
  const std::unordered_set<std::string>* item_ids_;
  static void SetText(Value* v, std::string_view text) {
    v->kind = Value::Kind::kText;
    v->s.assign(text);
  }

  Value* values_ = nullptr;  // the current row's slots in the batch
  std::vector<bool> present_;
  std::string extras_text_;
  json extras_json_;
  bool has_extras_json_ = false;
  std::string error_field_, error_;
};

std::string Truncated(std::string_view raw) {
  if (raw.size() <= kMaxRawRecord) return std::string(raw);
  return std::string(raw.substr(0, kMaxRawRecord)) + "...";
}

}  // namespace

std::string ContentId(std::string_view canonical) { return Sha256Hex(canonical, 32); }

Status ValidateIngestOptions(const IngestOptions& o) {
  if (o.tenant.empty() || o.tenant.size() > 64) {
    return InvalidArgument("tenant must be 1 to 64 characters");
  }
  if (o.batch_rows < 1 || o.batch_rows > 10000000) {
    return InvalidArgument("batch rows must be between 1 and 10000000");
  }
  if (o.max_errors < 0) return InvalidArgument("max-errors must be >= 0");
  if (!o.format.empty() && o.format != "csv" && o.format != "jsonl") {
    return InvalidArgument("format must be csv or jsonl, got '" + o.format + "'");
  }
  if (o.max_field_bytes < 16) return InvalidArgument("max field bytes must be >= 16");
  return Status::Ok();
}

// One load of one source: batching, the writer in flight, rejects, counts.
class Ingestor::Run {
 public:
  Run(Ingestor& ing, Entity entity, std::string_view source, IngestReport* report)
      : ing_(ing), schema_(GetSchema(entity)), source_(source), report_(report),
        builder_(schema_, ing.options_,
                 ing.options_.check_references && !ing.item_ids_.empty() ? &ing.item_ids_
                                                                         : nullptr) {
    report_->source = std::string(source);
    report_->entity = schema_.name;
    batch_.schema = &schema_;
    inflight_.schema = &schema_;
  }

  ~Run() {
    if (pending_.valid()) pending_.wait();
    if (reject_file_ != nullptr) std::fclose(reject_file_);
  }

  // Starts a new row in the builder, written in place into the batch.
  RowBuilder& NewRow() {
    builder_.Reset(batch_.NextRowSlots());
    return builder_;
  }

  Status Begin() {
    record_.tenant = ing_.options_.tenant;
    record_.entity = schema_.name;
    record_.source = source_;
    record_.status = "running";
    record_.started_at = ing_.ctx_.clock().NowUnix();
    RETURN_IF_ERROR(ing_.store_.StartLoad(&record_));
    report_->load_id = record_.id;
    return Status::Ok();
  }

  // Finishes the row in the builder; `raw` renders the input for a reject.
  template <typename RawFn>
  Status EndRow(int64_t line, const RawFn& raw) {
    ++report_->rows_read;
    std::string field, reason;
    if (!builder_.Finish(&field, &reason)) {
      return Reject(line, std::move(field), std::move(reason), raw());
    }
    batch_.lines.push_back(line);
    if (static_cast<int64_t>(batch_.lines.size()) >= ing_.options_.batch_rows) return Flush();
    return Status::Ok();
  }

  // A record that never became fields (bad structure, bad JSON): counted as read, then rejected.
  Status RejectUnparsed(int64_t line, std::string field, std::string reason, std::string_view raw) {
    ++report_->rows_read;
    return Reject(line, std::move(field), std::move(reason), raw);
  }

  // One JSON object: known keys to their columns, the rest to the bag.
  template <typename RawFn>
  Status AddJsonObject(const json& obj, int64_t line, const RawFn& raw) {
    if (!obj.is_object()) return RejectUnparsed(line, "", "expected a JSON object", raw());
    RowBuilder& b = NewRow();
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const int col = schema_.ColumnIndex(it.key());
      if (col >= 0) {
        b.SetJson(col, it.value());
      } else if (schema_.bag_column >= 0) {
        b.AddExtraJson(it.key(), it.value());
      }
    }
    return EndRow(line, raw);
  }

  Status Reject(int64_t line, std::string field, std::string reason, std::string_view raw) {
    ++report_->rows_rejected;
    RejectRecord r{source_, line, std::move(field), std::move(reason), Truncated(raw)};
    if (!ing_.options_.reject_dir.empty()) RETURN_IF_ERROR(WriteReject(r));
    if (report_->rejects.size() < ing_.options_.keep_rejects) report_->rejects.push_back(std::move(r));
    return Status::Ok();
  }

  // Waits for the batch in flight and starts writing the current one.
  Status Flush() {
    RETURN_IF_ERROR(WaitPending());
    if (batch_.lines.empty()) return Status::Ok();
    std::swap(batch_, inflight_);
    batch_.Clear();
    Store* store = &ing_.store_;
    const std::string* tenant = &ing_.options_.tenant;
    RowBatch* rows = &inflight_;
    pending_ = std::async(std::launch::async, [store, tenant, rows] { return store->Upsert(*tenant, *rows); });
    return Status::Ok();
  }

  // Commits what is left, closes the reject file and records the load.
  Status Finish(Status st) {
    if (st.ok()) st = Flush();
    Status wait = WaitPending();
    if (st.ok()) st = wait;
    if (reject_file_ != nullptr) {
      const bool closed = std::fclose(reject_file_) == 0;
      reject_file_ = nullptr;
      std::error_code ec;
      std::filesystem::rename(reject_tmp_, report_->reject_file, ec);
      if ((!closed || ec) && st.ok()) st = Internal("cannot write reject file " + report_->reject_file);
    }
    record_.status = st.ok() ? "done" : "failed";
    record_.finished_at = ing_.ctx_.clock().NowUnix();
    record_.rows_read = report_->rows_read;
    record_.rows_loaded = report_->rows_loaded;
    record_.rows_rejected = report_->rows_rejected;
    record_.reject_file = report_->reject_file;
    if (record_.id != 0) {
      Status rec = ing_.store_.FinishLoad(record_);
      if (st.ok()) st = rec;
    }
    return st;
  }

 private:
  Status WaitPending() {
    if (!pending_.valid()) return Status::Ok();
    Status st = pending_.get();
    if (!st.ok()) {
      const int64_t first = inflight_.lines.empty() ? 0 : inflight_.lines.front();
      return st.WithContext("writing the batch starting at " + source_ + ":" + std::to_string(first));
    }
    report_->rows_loaded += static_cast<int64_t>(inflight_.lines.size());
    return Status::Ok();
  }

  Status WriteReject(const RejectRecord& r) {
    if (reject_file_ == nullptr) {
      std::error_code ec;
      std::filesystem::create_directories(ing_.options_.reject_dir, ec);
      const std::string stamp = FormatTimestamp(ing_.ctx_.clock().NowUnix());
      std::string compact;
      for (char c : stamp) {
        if (c != '-' && c != ':') compact.push_back(c);
      }
      report_->reject_file = (std::filesystem::path(ing_.options_.reject_dir) /
                              (schema_.name + "-" + compact + "-" + std::to_string(record_.id) + ".csv"))
                                 .string();
      reject_tmp_ = report_->reject_file + ".tmp";
      reject_file_ = std::fopen(reject_tmp_.c_str(), "wb");
      if (reject_file_ == nullptr) {
        return FailedPrecondition("cannot create reject file " + reject_tmp_);
      }
      std::fputs("file,line,field,reason,record\n", reject_file_);
    }
    const std::string line = CsvLine({r.file, std::to_string(r.line), r.field, r.reason, r.record});
    std::fwrite(line.data(), 1, line.size(), reject_file_);
    std::fputc('\n', reject_file_);
    return Status::Ok();
  }

  Ingestor& ing_;
  const EntitySchema& schema_;
  std::string source_;
  IngestReport* report_;
  RowBuilder builder_;
  RowBatch batch_, inflight_;
  std::future<Status> pending_;
  LoadRecord record_;
  std::FILE* reject_file_ = nullptr;
  std::string reject_tmp_;
};

Ingestor::Ingestor(const Context& ctx, Store& store, IngestOptions options)
    : ctx_(ctx), store_(store), options_(std::move(options)) {}

Ingestor::~Ingestor() = default;

Status Ingestor::LoadReferences(Entity entity) {
  if (!options_.check_references || item_ids_loaded_) return Status::Ok();
  bool needs = false;
  for (const auto& c : GetSchema(entity).columns) needs = needs || c.has_reference;
  if (!needs) return Status::Ok();
  item_ids_loaded_ = true;
  ScanRequest req;
  req.tenant = options_.tenant;
  req.entity = Entity::kItems;
  req.columns = {"item_id"};
  return store_.Scan(req, [this](const RowView& row) {
    item_ids_.emplace(row.Text(0));
    return Status::Ok();
  });
}

Status Ingestor::IngestFile(Entity entity, const std::string& path, IngestReport* report) {
  std::string format = options_.format;
  if (format.empty()) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".csv" || ext == ".tsv" || ext == ".txt") {
      format = "csv";
    } else if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") {
      format = "jsonl";
    } else {
      report->source = path;
      return InvalidArgument(path + ": cannot tell the format from the extension '" + ext +
                             "'; use --format csv|jsonl");
    }
  }
  auto src = OpenFileSource(path);
  if (!src.ok()) {
    report->source = path;
    return src.status();
  }
  return IngestSource(entity, path, std::move(src).value(), format == "csv", false, report);
}

Status Ingestor::IngestBody(Entity entity, std::string_view source, std::string body,
                            std::string_view content_type, IngestReport* report) {
  const bool csv = content_type.find("csv") != std::string_view::npos;
  size_t first = body.find_first_not_of(" \t\r\n");
  const bool array = !csv && first != std::string::npos && body[first] == '[';
  return IngestSource(entity, source, StringSource(std::move(body)), csv, array, report);
}

Status Ingestor::IngestSource(Entity entity, std::string_view source,
                              std::unique_ptr<ByteSource> in, bool csv, bool json_array,
                              IngestReport* report) {
  RETURN_IF_ERROR(ValidateIngestOptions(options_));
  const int64_t start_us = ctx_.clock().MonotonicMicros();
  RETURN_IF_ERROR(LoadReferences(entity));
  const EntitySchema& schema = GetSchema(entity);
  Run run(*this, entity, source, report);
  RETURN_IF_ERROR(run.Begin());
  const std::string src(source);
  std::unique_ptr<Progress> progress;
  const int64_t total = in->size();
  if (options_.show_progress) progress = ctx_.StartProgress("ingest " + schema.name, total, "bytes");
  Status st;

  if (csv) {
    CsvOptions copts;
    copts.max_field_bytes = options_.max_field_bytes;
    CsvReader reader(std::move(in), copts);
    CsvRecord rec;
    std::vector<int> col_of;            // header position -> column, or -1 for an extra
    std::vector<std::string> names;     // header names
    std::vector<size_t> extras;         // header positions of extras, sorted by name
    if (!reader.Next(&rec)) {
      st = reader.status();
      if (st.ok()) st = InvalidArgument(src + ": empty file (expected a header row)");
    } else if (!rec.error.empty()) {
      st = InvalidArgument(src + ":" + std::to_string(rec.line) + ": bad header: " + rec.error);
    } else {
      std::vector<bool> seen(schema.columns.size(), false);
      for (size_t i = 0; i < rec.num_fields && st.ok(); ++i) {
        std::string name = Trim(rec.field(i));
        const int col = schema.ColumnIndex(name);
        if (name.empty()) {
          st = InvalidArgument(src + ":1: header column " + std::to_string(i + 1) + " is empty");
        } else if (col >= 0 && seen[static_cast<size_t>(col)]) {
          st = InvalidArgument(src + ":1: column '" + schema.columns[static_cast<size_t>(col)].name +
                               "' appears twice in the header");
        } else if (col < 0 && std::find(names.begin(), names.end(), name) != names.end()) {
          st = InvalidArgument(src + ":1: column '" + name + "' appears twice in the header");
        }
        if (col >= 0) seen[static_cast<size_t>(col)] = true;
        if (col < 0) extras.push_back(i);
        col_of.push_back(col);
        names.push_back(std::move(name));
      }
      for (size_t c = 0; c < schema.columns.size() && st.ok(); ++c) {
        if (schema.columns[c].required && !seen[c]) {
          std::string found;
          for (const auto& n : names) found += (found.empty() ? "" : ",") + n;
          st = InvalidArgument(src + ":1: field '" + schema.columns[c].name +
                               "': required column missing from the header (found: " + found + ")");
        }
      }
      for (const auto& group : schema.one_of) {
        bool any = false;
        for (int c : group) any = any || seen[static_cast<size_t>(c)];
        if (!any && st.ok()) {
          st = InvalidArgument(src + ":1: the header needs column '" +
                               schema.columns[static_cast<size_t>(group[0])].name + "' or '" +
                               schema.columns[static_cast<size_t>(group[1])].name + "'");
        }
      }
      std::sort(extras.begin(), extras.end(), [&](size_t a, size_t c) { return names[a] < names[c]; });
    }
    int64_t n = 0;
    while (st.ok() && reader.Next(&rec)) {
      auto raw = [&] {
        return CsvLine(std::vector<std::string>(rec.fields.begin(),
                                                rec.fields.begin() + static_cast<long>(rec.num_fields)));
      };
      if (!rec.error.empty()) {
        std::string field = rec.error_field >= 0 && static_cast<size_t>(rec.error_field) < names.size()
                                ? names[static_cast<size_t>(rec.error_field)]
                                : "";
        st = run.RejectUnparsed(rec.line, field, rec.error, raw());
        continue;
      }
      if (rec.num_fields != names.size()) {
        st = run.RejectUnparsed(rec.line, "", "expected " + std::to_string(names.size()) + " fields, found " +
                                          std::to_string(rec.num_fields),
                        raw());
        continue;
      }
      RowBuilder& b = run.NewRow();
      for (size_t i = 0; i < names.size(); ++i) {
        if (col_of[i] >= 0) b.Set(col_of[i], rec.field(i));
      }
      if (schema.bag_column >= 0) {
        for (size_t i : extras) b.AddExtraText(names[i], rec.field(i));
      }
      st = run.EndRow(rec.line, raw);
      if (progress && (++n & 1023) == 0) progress->Update(reader.bytes_read());
    }
    if (st.ok()) st = reader.status();
    if (progress) progress->Update(reader.bytes_read());
  } else if (json_array) {
    std::string body(static_cast<size_t>(std::max<int64_t>(0, total)), '\0');
    in->Read(body.data(), body.size());
    json arr = json::parse(body, nullptr, false);
    if (arr.is_discarded() || !arr.is_array()) {
      st = InvalidArgument(src + ": body is not a valid JSON array of objects");
    }
    for (size_t i = 0; st.ok() && i < arr.size(); ++i) {
      const json& obj = arr[i];
      st = run.AddJsonObject(obj, static_cast<int64_t>(i + 1),
                             [&] { return obj.dump(-1, ' ', false, json::error_handler_t::replace); });
    }
  } else {
    LineReader reader(std::move(in), options_.max_field_bytes * 4);
    std::string text;
    int64_t line = 0;
    bool too_long = false;
    while (st.ok() && reader.Next(&text, &line, &too_long)) {
      if (text.find_first_not_of(" \t") == std::string::npos && !too_long) continue;
      if (too_long) {
        st = run.RejectUnparsed(line, "", "line exceeds " + std::to_string(options_.max_field_bytes * 4) + " bytes",
                                text);
        continue;
      }
      json obj;
      try {
        obj = json::parse(text);
      } catch (const json::parse_error& e) {
        std::string what = e.what();
        const size_t p = what.find("] ");
        st = run.RejectUnparsed(line, "", "invalid JSON: " + (p == std::string::npos ? what : what.substr(p + 2)),
                                text);
        continue;
      }
      st = run.AddJsonObject(obj, line, [&] { return text; });
      if (progress && (line & 1023) == 0) progress->Update(reader.bytes_read());
    }
    if (st.ok()) st = reader.status();
    if (progress) progress->Update(reader.bytes_read());
  }
  st = run.Finish(st);
  if (progress) progress->Finish();
  report->seconds = static_cast<double>(ctx_.clock().MonotonicMicros() - start_us) / 1e6;
  // Items just loaded become valid references for later files of this run.
  if (entity == Entity::kItems) item_ids_loaded_ = false, item_ids_.clear();
  return st;
}

}  // namespace opspilot
