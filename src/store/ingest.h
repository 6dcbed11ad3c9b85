// Ingestion: CSV (RFC 4180) and JSON Lines into the Store, streaming with
// bounded memory. Every row is validated against its EntitySchema; a bad row
// goes to the reject file with file, line, field and reason and never stops
// the load. Good rows are upserted in batches, one transaction each, so a
// crash loses at most the batch in flight and never leaves half of one;
// loading the same data again leaves the same rows (natural keys; events and
// reviews without an id get one hashed from their content).
#ifndef OPSPILOT_STORE_INGEST_H_
#define OPSPILOT_STORE_INGEST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/context.h"
#include "core/status.h"
#include "store/schema.h"
#include "store/store.h"

namespace opspilot {

struct IngestOptions {
  std::string tenant = "default";
  int64_t batch_rows = 50000;   // rows per transaction
  int64_t max_errors = 0;       // rejected rows tolerated before the load counts as failed
  std::string format;           // "csv", "jsonl", or "" to decide by file extension
  bool check_references = true; // item_id must exist in items (when items are loaded)
  std::string reject_dir;       // where reject files go; "" = keep rejects in memory only
  size_t max_field_bytes = 1 << 20;  // longer fields are rejected
  size_t keep_rejects = 100;    // reject records kept in the report (all go to the file)
  bool show_progress = true;    // report progress through the Context
};

Status ValidateIngestOptions(const IngestOptions& options);

// Where and why one input row was refused.
struct RejectRecord {
  std::string file;
  int64_t line = 0;
  std::string field;   // "" when the problem is the whole record
  std::string reason;
  std::string record;  // the raw record (CSV) or line (JSONL), truncated to 4 KiB
};

struct IngestReport {
  std::string source;
  std::string entity;
  int64_t rows_read = 0, rows_loaded = 0, rows_rejected = 0;
  std::vector<RejectRecord> rejects;  // the first IngestOptions::keep_rejects
  std::string reject_file;            // "" when nothing was rejected or no reject_dir
  double seconds = 0;
  int64_t load_id = 0;
};

class Ingestor {
 public:
  // `ctx` and `store` must outlive the Ingestor.
  Ingestor(const Context& ctx, Store& store, IngestOptions options);
  ~Ingestor();

  // Loads one CSV or JSONL file. `report` is filled even when an error is
  // returned. Errors are reserved for what stops the whole file: it cannot
  // be read, its header lacks a required column, or the store fails (the
  // batches committed before stay, and are reported as loaded).
  Status IngestFile(Entity entity, const std::string& path, IngestReport* report);

  // Loads an in-memory body (HTTP): a JSON array of objects, JSON Lines, or
  // CSV when `content_type` says text/csv. `source` names it in rejects.
  Status IngestBody(Entity entity, std::string_view source, std::string body,
                    std::string_view content_type, IngestReport* report);

 private:
  class Run;
  Status IngestSource(Entity entity, std::string_view source, std::unique_ptr<class ByteSource> in,
                      bool csv, bool json_array, IngestReport* report);
  Status LoadReferences(Entity entity);

  const Context& ctx_;
  Store& store_;
  IngestOptions options_;
  std::unordered_set<std::string> item_ids_;
  bool item_ids_loaded_ = false;
};

// A content hash for rows without an id: 32 hex characters of SHA-256.
std::string ContentId(std::string_view canonical);

}  // namespace opspilot

#endif  // OPSPILOT_STORE_INGEST_H_
