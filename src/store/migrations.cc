#include "store/migrations.h"

namespace opspilot {

namespace {
// Version 1: the nine entity tables, ingestion history and API keys.
// Natural keys lead with tenant_id so the schema can be hash-partitioned on it.
constexpr const char* kV1 = R"sql(
CREATE TABLE users (
  tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, created_at INTEGER, attributes TEXT,
  PRIMARY KEY (tenant_id, user_id));
CREATE TABLE items (
  tenant_id TEXT NOT NULL, item_id TEXT NOT NULL, title TEXT, category TEXT, price REAL,
  text TEXT, attributes TEXT,
  PRIMARY KEY (tenant_id, item_id));
CREATE TABLE events (
  tenant_id TEXT NOT NULL, event_id TEXT NOT NULL, user_id TEXT NOT NULL,
  event_type TEXT NOT NULL, item_id TEXT, timestamp INTEGER NOT NULL, session_id TEXT,
  value REAL, properties TEXT,
  PRIMARY KEY (tenant_id, event_id));
CREATE TABLE orders (
  tenant_id TEXT NOT NULL, order_id TEXT NOT NULL, user_id TEXT, item_id TEXT NOT NULL,
  quantity REAL NOT NULL, unit_price REAL NOT NULL, timestamp INTEGER NOT NULL, attributes TEXT,
  PRIMARY KEY (tenant_id, order_id, item_id));
CREATE TABLE inventory (
  tenant_id TEXT NOT NULL, item_id TEXT NOT NULL, date INTEGER NOT NULL, on_hand REAL NOT NULL,
  on_order REAL, lead_time_days REAL, unit_cost REAL, attributes TEXT,
  PRIMARY KEY (tenant_id, item_id, date));
CREATE TABLE tickets (
  tenant_id TEXT NOT NULL, ticket_id TEXT NOT NULL, user_id TEXT, channel TEXT,
  timestamp INTEGER NOT NULL, text TEXT NOT NULL, language TEXT, resolved INTEGER, intent TEXT,
  sentiment TEXT, attributes TEXT,
  PRIMARY KEY (tenant_id, ticket_id));
CREATE TABLE metrics (
  tenant_id TEXT NOT NULL, name TEXT NOT NULL, timestamp INTEGER NOT NULL, value REAL NOT NULL,
  dimensions TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name, timestamp, dimensions));
CREATE TABLE competitor_prices (
  tenant_id TEXT NOT NULL, competitor TEXT NOT NULL, item_id TEXT NOT NULL,
  category TEXT NOT NULL, timestamp INTEGER NOT NULL, price REAL NOT NULL, attributes TEXT,
  PRIMARY KEY (tenant_id, competitor, item_id, category, timestamp));
CREATE TABLE reviews (
  tenant_id TEXT NOT NULL, review_id TEXT NOT NULL, source TEXT NOT NULL, subject TEXT NOT NULL,
  timestamp INTEGER NOT NULL, rating REAL, text TEXT, attributes TEXT,
  PRIMARY KEY (tenant_id, review_id));
CREATE TABLE ingest_loads (
  id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, entity TEXT NOT NULL, source TEXT NOT NULL,
  status TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER,
  rows_read INTEGER NOT NULL DEFAULT 0, rows_loaded INTEGER NOT NULL DEFAULT 0,
  rows_rejected INTEGER NOT NULL DEFAULT 0, reject_file TEXT);
CREATE TABLE api_keys (
  key_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, salt TEXT NOT NULL, role TEXT NOT NULL,
  name TEXT, created_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
)sql";
}  // namespace

const std::vector<Migration>& Migrations() {
  static const auto* const kAll = new std::vector<Migration>{{1, kV1}};
  return *kAll;
}

}  // namespace opspilot
