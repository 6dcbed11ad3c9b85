// SQLite backend of Store: one connection in WAL mode, guarded by a mutex;
// prepared statements cached per entity; one transaction per batch.
#include <sqlite3.h>

#include <map>
#include <memory>
#include <mutex>

#include "store/migrations.h"
#include "store/store.h"

namespace opspilot {

std::string_view TimeColumn(Entity e) {
  switch (e) {
    case Entity::kUsers: return "created_at";
    case Entity::kItems: return "";
    case Entity::kInventory: return "date";
    default: return "timestamp";
  }
}

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status SqlError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Unavailable(std::move(msg));
  if (primary == SQLITE_FULL) return ResourceExhausted(std::move(msg));
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM) {
    return FailedPrecondition(std::move(msg));
  }
  if (primary == SQLITE_CONSTRAINT) return InvalidArgument(std::move(msg));
  return Internal(std::move(msg));
}

class SqliteRowView final : public RowView {
 public:
  explicit SqliteRowView(sqlite3_stmt* s) : s_(s) {}
  bool IsNull(int c) const override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t Int(int c) const override { return sqlite3_column_int64(s_, c); }
  double Real(int c) const override { return sqlite3_column_double(s_, c); }
  std::string_view Text(int c) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, c)))
             : std::string_view();
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(DbPtr db) : db_(std::move(db)) {}

  Status Init(const SqliteOptions& o) {
    RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(Exec(o.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(Exec("PRAGMA cache_size=-" + std::to_string(o.cache_mib * 1024)));
    RETURN_IF_ERROR(Exec("PRAGMA temp_store=MEMORY"));
    sqlite3_busy_timeout(db_.get(), o.busy_timeout_ms);
    return Migrate();
  }

  Status Upsert(std::string_view tenant, const RowBatch& batch) override {
    if (batch.schema == nullptr || batch.rows() == 0) return Status::Ok();
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, UpsertStatement(*batch.schema));
    RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
    const size_t width = batch.width();
    for (size_t r = 0; r < batch.rows(); ++r) {
      sqlite3_bind_text(stmt, 1, tenant.data(), static_cast<int>(tenant.size()), SQLITE_STATIC);
      for (size_t c = 0; c < width; ++c) {
        const Value& v = batch.values[r * width + c];
        const int idx = static_cast<int>(c) + 2;
        switch (v.kind) {
          case Value::Kind::kNull: sqlite3_bind_null(stmt, idx); break;
          case Value::Kind::kInt: sqlite3_bind_int64(stmt, idx, v.i); break;
          case Value::Kind::kReal: sqlite3_bind_double(stmt, idx, v.r); break;
          case Value::Kind::kText:
            sqlite3_bind_text(stmt, idx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
            break;
        }
      }
      const int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) {
        Status st = SqlError(db_.get(), rc, "upsert into " + batch.schema->name);
        (void)ExecLocked("ROLLBACK");
        return st;
      }
    }
    return ExecLocked("COMMIT");
  }

  Status Scan(const ScanRequest& req, const RowCallback& fn) override {
    const EntitySchema& schema = GetSchema(req.entity);
    std::vector<std::string> cols = req.columns;
    if (cols.empty()) {
      for (const auto& c : schema.columns) cols.push_back(c.name);
    }
    std::string sql = "SELECT ";
    for (size_t i = 0; i < cols.size(); ++i) {
      if (schema.ColumnIndex(cols[i]) < 0 || (cols[i] != schema.columns[static_cast<size_t>(schema.ColumnIndex(cols[i]))].name)) {
        return InvalidArgument("no column '" + cols[i] + "' in " + schema.name);
      }
      sql += (i ? ", \"" : "\"") + cols[i] + "\"";
    }
    sql += " FROM " + schema.name + " WHERE tenant_id = ?1";
    const std::string_view tcol = TimeColumn(req.entity);
    if ((req.since || req.until) && tcol.empty()) {
      return InvalidArgument(schema.name + " has no time column to filter on");
    }
    if (req.since) sql += " AND \"" + std::string(tcol) + "\" >= ?2";
    if (req.until) sql += " AND \"" + std::string(tcol) + "\" < ?3";
    if (req.ordered) {
      sql += " ORDER BY ";
      auto keys = schema.KeyColumns();
      for (size_t i = 0; i < keys.size(); ++i) {
        sql += (i ? ", \"" : "\"") + schema.columns[static_cast<size_t>(keys[i])].name + "\"";
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(sql));
    sqlite3_bind_text(stmt.get(), 1, req.tenant.data(), static_cast<int>(req.tenant.size()),
                      SQLITE_STATIC);
    if (req.since) sqlite3_bind_int64(stmt.get(), 2, *req.since);
    if (req.until) sqlite3_bind_int64(stmt.get(), 3, *req.until);
    SqliteRowView view(stmt.get());
    for (;;) {
      const int rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqlError(db_.get(), rc, "scan " + schema.name);
      RETURN_IF_ERROR(fn(view));
    }
    return Status::Ok();
  }

  StatusOr<TableStats> Stats(std::string_view tenant, Entity e) override {
    const EntitySchema& schema = GetSchema(e);
    const std::string_view tcol = TimeColumn(e);
    std::string sql = "SELECT COUNT(*)";
    if (!tcol.empty()) {
      sql += ", MIN(\"" + std::string(tcol) + "\"), MAX(\"" + std::string(tcol) + "\")";
    }
    sql += " FROM " + schema.name + " WHERE tenant_id = ?1";
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(sql));
    sqlite3_bind_text(stmt.get(), 1, tenant.data(), static_cast<int>(tenant.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) return SqlError(db_.get(), rc, "stats " + schema.name);
    TableStats st;
    st.rows = sqlite3_column_int64(stmt.get(), 0);
    if (!tcol.empty() && sqlite3_column_type(stmt.get(), 1) != SQLITE_NULL) {
      st.min_time = sqlite3_column_int64(stmt.get(), 1);
      st.max_time = sqlite3_column_int64(stmt.get(), 2);
    }
    return st;
  }

  StatusOr<std::vector<std::string>> Tenants() override {
    std::string sql;
    for (Entity e : AllEntities()) {
      sql += (sql.empty() ? "" : " UNION ") + std::string("SELECT DISTINCT tenant_id FROM ") +
             std::string(EntityName(e));
    }
    sql += " ORDER BY 1";
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(sql));
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)));
    }
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "list tenants");
    return out;
  }

  StatusOr<int64_t> Truncate(std::string_view tenant, Entity e) override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt,
                     Prepare("DELETE FROM " + std::string(EntityName(e)) + " WHERE tenant_id = ?1"));
    sqlite3_bind_text(stmt.get(), 1, tenant.data(), static_cast<int>(tenant.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "truncate");
    return static_cast<int64_t>(sqlite3_changes(db_.get()));
  }

  Status StartLoad(LoadRecord* r) override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt,
                     Prepare("INSERT INTO ingest_loads(tenant_id, entity, source, status, "
                             "started_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
    BindText(stmt.get(), 1, r->tenant);
    BindText(stmt.get(), 2, r->entity);
    BindText(stmt.get(), 3, r->source);
    BindText(stmt.get(), 4, r->status);
    sqlite3_bind_int64(stmt.get(), 5, r->started_at);
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "record load");
    r->id = sqlite3_last_insert_rowid(db_.get());
    return Status::Ok();
  }

  Status FinishLoad(const LoadRecord& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt,
                     Prepare("UPDATE ingest_loads SET status=?2, finished_at=?3, rows_read=?4, "
                             "rows_loaded=?5, rows_rejected=?6, reject_file=?7 WHERE id=?1"));
    sqlite3_bind_int64(stmt.get(), 1, r.id);
    BindText(stmt.get(), 2, r.status);
    sqlite3_bind_int64(stmt.get(), 3, r.finished_at);
    sqlite3_bind_int64(stmt.get(), 4, r.rows_read);
    sqlite3_bind_int64(stmt.get(), 5, r.rows_loaded);
    sqlite3_bind_int64(stmt.get(), 6, r.rows_rejected);
    BindText(stmt.get(), 7, r.reject_file);
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "finish load");
    return Status::Ok();
  }

  StatusOr<std::vector<LoadRecord>> RecentLoads(std::string_view tenant, int limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt,
                     Prepare("SELECT id, tenant_id, entity, source, status, started_at, "
                             "COALESCE(finished_at, 0), rows_read, rows_loaded, rows_rejected, "
                             "COALESCE(reject_file, '') FROM ingest_loads WHERE tenant_id = ?1 "
                             "ORDER BY id DESC LIMIT ?2"));
    BindText(stmt.get(), 1, tenant);
    sqlite3_bind_int(stmt.get(), 2, limit);
    std::vector<LoadRecord> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      LoadRecord r;
      r.id = sqlite3_column_int64(stmt.get(), 0);
      r.tenant = ColText(stmt.get(), 1);
      r.entity = ColText(stmt.get(), 2);
      r.source = ColText(stmt.get(), 3);
      r.status = ColText(stmt.get(), 4);
      r.started_at = sqlite3_column_int64(stmt.get(), 5);
      r.finished_at = sqlite3_column_int64(stmt.get(), 6);
      r.rows_read = sqlite3_column_int64(stmt.get(), 7);
      r.rows_loaded = sqlite3_column_int64(stmt.get(), 8);
      r.rows_rejected = sqlite3_column_int64(stmt.get(), 9);
      r.reject_file = ColText(stmt.get(), 10);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "list loads");
    return out;
  }

  Status PutApiKey(const ApiKeyRecord& k) override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt,
                     Prepare("INSERT INTO api_keys(key_id, secret_hash, salt, role, name, "
                             "created_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    BindText(stmt.get(), 1, k.key_id);
    BindText(stmt.get(), 2, k.secret_hash);
    BindText(stmt.get(), 3, k.salt);
    BindText(stmt.get(), 4, k.role);
    BindText(stmt.get(), 5, k.name);
    sqlite3_bind_int64(stmt.get(), 6, k.created_at);
    sqlite3_bind_int(stmt.get(), 7, k.revoked ? 1 : 0);
    const int rc = sqlite3_step(stmt.get());
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return AlreadyExists("api key " + k.key_id + " exists");
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "store api key");
    return Status::Ok();
  }

  StatusOr<ApiKeyRecord> GetApiKey(std::string_view key_id) override {
    ASSIGN_OR_RETURN(auto keys, QueryKeys("WHERE key_id = ?1", key_id));
    if (keys.empty()) return NotFound("no api key '" + std::string(key_id) + "'");
    return std::move(keys[0]);
  }

  StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() override {
    return QueryKeys("ORDER BY created_at, key_id", "");
  }

  Status RevokeApiKey(std::string_view key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt, Prepare("UPDATE api_keys SET revoked = 1 WHERE key_id = ?1"));
    BindText(stmt.get(), 1, key_id);
    const int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "revoke api key");
    if (sqlite3_changes(db_.get()) == 0) return NotFound("no api key '" + std::string(key_id) + "'");
    return Status::Ok();
  }

  int SchemaVersion() override {
    std::lock_guard<std::mutex> lock(mu_);
    return UserVersion();
  }

  std::string_view Backend() const override { return "sqlite"; }

 private:
  static void BindText(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string ColText(sqlite3_stmt* s, int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }

  StatusOr<std::vector<ApiKeyRecord>> QueryKeys(const std::string& where, std::string_view arg) {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(StmtPtr stmt, Prepare("SELECT key_id, secret_hash, salt, role, "
                                           "COALESCE(name, ''), created_at, revoked FROM "
                                           "api_keys " + where));
    if (!arg.empty()) BindText(stmt.get(), 1, arg);
    std::vector<ApiKeyRecord> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      ApiKeyRecord k;
      k.key_id = ColText(stmt.get(), 0);
      k.secret_hash = ColText(stmt.get(), 1);
      k.salt = ColText(stmt.get(), 2);
      k.role = ColText(stmt.get(), 3);
      k.name = ColText(stmt.get(), 4);
      k.created_at = sqlite3_column_int64(stmt.get(), 5);
      k.revoked = sqlite3_column_int(stmt.get(), 6) != 0;
      out.push_back(std::move(k));
    }
    if (rc != SQLITE_DONE) return SqlError(db_.get(), rc, "list api keys");
    return out;
  }

  Status Exec(const std::string& sql) {
    std::lock_guard<std::mutex> lock(mu_);
    return ExecLocked(sql);
  }
  Status ExecLocked(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return SqlError(nullptr, rc, sql.substr(0, 40) + "...: " + msg);
    }
    return Status::Ok();
  }

  StatusOr<StmtPtr> Prepare(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw,
                                      nullptr);
    if (rc != SQLITE_OK) return SqlError(db_.get(), rc, "prepare");
    return StmtPtr(raw);
  }

  // REQUIRES: mu_ held.
  StatusOr<sqlite3_stmt*> UpsertStatement(const EntitySchema& schema) {
    auto it = upserts_.find(schema.entity);
    if (it != upserts_.end()) return it->second.get();
    std::string cols = "tenant_id", params = "?1", updates;
    for (size_t i = 0; i < schema.columns.size(); ++i) {
      const std::string& n = schema.columns[i].name;
      cols += ", \"" + n + "\"";
      params += ", ?" + std::to_string(i + 2);
      if (!schema.columns[i].key) {
        updates += (updates.empty() ? "\"" : ", \"") + n + "\" = excluded.\"" + n + "\"";
      }
    }
    std::string conflict = "tenant_id";
    for (int k : schema.KeyColumns()) {
      conflict += ", \"" + schema.columns[static_cast<size_t>(k)].name + "\"";
    }
    std::string sql = "INSERT INTO " + schema.name + " (" + cols + ") VALUES (" + params +
                      ") ON CONFLICT (" + conflict + ") DO " +
                      (updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
    ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(sql));
    sqlite3_stmt* raw = stmt.get();
    upserts_.emplace(schema.entity, std::move(stmt));
    return raw;
  }

  int UserVersion() {
    sqlite3_stmt* raw = nullptr;
    int v = -1;
    if (sqlite3_prepare_v2(db_.get(), "PRAGMA user_version", -1, &raw, nullptr) == SQLITE_OK) {
      StmtPtr stmt(raw);
      if (sqlite3_step(raw) == SQLITE_ROW) v = sqlite3_column_int(raw, 0);
    }
    return v;
  }

  Status Migrate() {
    std::lock_guard<std::mutex> lock(mu_);
    const int current = UserVersion();
    if (current < 0) return Internal("cannot read the schema version");
    const int latest = Migrations().back().version;
    if (current > latest) {
      return FailedPrecondition("the data directory has schema version " +
                                std::to_string(current) + ", newer than this build's " +
                                std::to_string(latest) + ": upgrade opspilot");
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) continue;
      RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
      Status st = ExecLocked(m.sql);
      if (st.ok()) st = ExecLocked("PRAGMA user_version = " + std::to_string(m.version));
      if (!st.ok()) {
        (void)ExecLocked("ROLLBACK");
        return st.WithContext("migration " + std::to_string(m.version));
      }
      RETURN_IF_ERROR(ExecLocked("COMMIT"));
    }
    return Status::Ok();
  }

  DbPtr db_;
  std::mutex mu_;
  std::map<Entity, StmtPtr> upserts_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const SqliteOptions& options) {
  // Memory statistics take a global mutex on every allocation; we never read them.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "open " + path);
  auto store = std::make_unique<SqliteStore>(std::move(db));
  Status st = store->Init(options);
  if (!st.ok()) return st.WithContext(path);
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace opspilot
