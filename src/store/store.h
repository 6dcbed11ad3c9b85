// The Store: where ingested data lives. One interface, several backends
// (SQLite now; PostgreSQL through the same calls later). Callers never see
// SQL. Every backend must pass store/store_conformance_test.cc.
//
// Thread-safety: every method may be called from any thread; a backend
// serializes as it needs. A Scan callback must not call back into the store.
#ifndef OPSPILOT_STORE_STORE_H_
#define OPSPILOT_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/schema.h"

namespace opspilot {

// One row of a scan, valid only during the callback. Column indexes follow
// ScanRequest::columns.
class RowView {
 public:
  virtual ~RowView() = default;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Real(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
};

struct ScanRequest {
  std::string tenant = "default";
  Entity entity = Entity::kEvents;
  std::vector<std::string> columns;  // schema column names; empty = all, in schema order
  // Half-open time range [since, until) on the entity's timestamp/date column.
  std::optional<int64_t> since, until;
  // Rows come in natural-key order when true, storage order otherwise (faster).
  bool ordered = false;
};
using RowCallback = std::function<Status(const RowView&)>;

struct TableStats {
  int64_t rows = 0;
  std::optional<int64_t> min_time, max_time;  // over the timestamp/date column, if any
};

// One ingestion run, recorded for `opspilot stats` and the HTTP API.
struct LoadRecord {
  int64_t id = 0;
  std::string tenant, entity, source, status;  // status: running | done | failed
  int64_t started_at = 0, finished_at = 0;
  int64_t rows_read = 0, rows_loaded = 0, rows_rejected = 0;
  std::string reject_file;
};

struct ApiKeyRecord {
  std::string key_id;       // public part of the key
  std::string secret_hash;  // hex SHA-256 of the salted secret
  std::string salt;         // hex
  std::string role;         // admin | write | read
  std::string name;         // free text
  int64_t created_at = 0;
  bool revoked = false;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts or replaces (by natural key) every row of `batch` atomically:
  // after a crash either the whole batch is visible or none of it.
  virtual Status Upsert(std::string_view tenant, const RowBatch& batch) = 0;
  virtual Status Scan(const ScanRequest& request, const RowCallback& fn) = 0;
  virtual StatusOr<TableStats> Stats(std::string_view tenant, Entity entity) = 0;
  virtual StatusOr<std::vector<std::string>> Tenants() = 0;
  // Deletes every row of `entity` for `tenant`; returns rows deleted.
  virtual StatusOr<int64_t> Truncate(std::string_view tenant, Entity entity) = 0;

  // Ingestion history. StartLoad assigns record->id.
  virtual Status StartLoad(LoadRecord* record) = 0;
  virtual Status FinishLoad(const LoadRecord& record) = 0;
  virtual StatusOr<std::vector<LoadRecord>> RecentLoads(std::string_view tenant, int limit) = 0;

  // API keys (hashed; see server/auth.h).
  virtual Status PutApiKey(const ApiKeyRecord& key) = 0;
  virtual StatusOr<ApiKeyRecord> GetApiKey(std::string_view key_id) = 0;
  virtual StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  virtual Status RevokeApiKey(std::string_view key_id) = 0;

  virtual int SchemaVersion() = 0;
  virtual std::string_view Backend() const = 0;
};

struct SqliteOptions {
  int64_t cache_mib = 256;       // page cache size
  int busy_timeout_ms = 10000;   // wait this long for another writer
  bool synchronous_full = false; // FULL survives power loss; NORMAL (default) survives crashes
};

// Opens (creating if needed) the SQLite database at `path` and migrates its
// schema to the latest version. ":memory:" gives a private in-memory store.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const SqliteOptions& options = {});

// Name of the timestamp/date column of `entity` ("" if none): the column
// ScanRequest::since/until filter on.
std::string_view TimeColumn(Entity entity);

}  // namespace opspilot

#endif  // OPSPILOT_STORE_STORE_H_
