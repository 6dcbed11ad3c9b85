// Snapshots: the tables a job needs, read once from the Store into columnar,
// dictionary-encoded arrays. Every capability reads snapshots, never rows.
//
// Ids become dense int32 codes through Dictionaries shared across the tables
// of one Snapshot (users, items), so events.user and orders.user agree.
// Events are grouped by user and sorted by time (CSR layout), so a funnel,
// retention or path query is one linear pass per user.
//
// Memory: EventLog holds 4 (item) + 2 (type) + 8 (time) + 4 (value) +
// 4 (session) = 22 bytes per event plus 8 bytes per user and the
// dictionaries: about 2.3 GB for 100M events.
#ifndef OPSPILOT_STORE_SNAPSHOT_H_
#define OPSPILOT_STORE_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/dictionary.h"
#include "store/store.h"

namespace opspilot {

// One column of a Table. Exactly one of the vectors is filled, by `type`:
// kText and kJson -> codes (into dict), kReal -> reals, kTimestamp, kDate
// and kBool -> ints. `valid[r]` is 0 where the stored value was NULL.
struct Column {
  std::string name;
  ColumnType type = ColumnType::kText;
  std::vector<int32_t> codes;
  std::vector<double> reals;
  std::vector<int64_t> ints;
  std::vector<uint8_t> valid;
  std::shared_ptr<Dictionary> dict;  // shared with the Snapshot for user/item ids
};

class Table {
 public:
  int64_t rows() const { return rows_; }
  // REQUIRES: the column was loaded.
  const Column& col(std::string_view name) const;
  const Column* find(std::string_view name) const;
  const std::vector<Column>& columns() const { return columns_; }

 private:
  friend class SnapshotLoader;
  int64_t rows_ = 0;
  std::vector<Column> columns_;
};

// Events grouped by user (user codes 0..users.size()-1) and sorted by time
// within each user. Events of user u are [user_begin[u], user_begin[u+1]).
struct EventLog {
  std::vector<int64_t> user_begin;  // size users + 1
  std::vector<int32_t> item;        // item code or -1
  std::vector<int16_t> type;        // code into event_types
  std::vector<int64_t> time;        // unix seconds
  std::vector<float> value;         // NaN where absent
  std::vector<int32_t> session;     // code into sessions or -1
  Dictionary event_types, sessions;
  // One event property, loaded on request (SnapshotSpec::event_property):
  // code into property_values per event, -1 where absent; empty otherwise.
  std::vector<int32_t> property;
  Dictionary property_values;
  std::string property_name;

  int64_t size() const { return static_cast<int64_t>(time.size()); }
  int32_t num_users() const { return static_cast<int32_t>(user_begin.size()) - 1; }
};

// Accumulates events in any order and lays them out grouped by user and
// sorted by time (a counting sort by user, then a stable sort per user).
// Used by the snapshot loader and by file-mode readers of event CSVs.
class EventLogBuilder {
 public:
  EventLogBuilder(std::shared_ptr<Dictionary> users, std::shared_ptr<Dictionary> items);
  // `item` and `session` may be empty (none); `value` NaN when absent.
  // ResourceExhausted past 32766 distinct event types or 4G events.
  // `property`: the value of the log's one loaded property ("" = absent);
  // pass it for every event or for none.
  Status Add(std::string_view user, std::string_view type, std::string_view item, int64_t time,
             std::string_view session, float value, std::optional<std::string_view> property = std::nullopt);
  int64_t size() const { return static_cast<int64_t>(user_.size()); }
  // The finished log; the builder is empty afterwards.
  EventLog Finish();

 private:
  std::shared_ptr<Dictionary> users_, items_;
  EventLog log_;
  std::vector<int32_t> user_;
};

struct SnapshotSpec {
  std::string tenant = "default";
  bool events = true;
  std::vector<Entity> tables;             // other entities to load as Tables
  std::optional<int64_t> since, until;    // time window for events and the tables' time column
  std::vector<std::string> event_types;   // empty = all types
  std::string event_property;             // also load this key of events.properties ("" = none)
};

struct Snapshot {
  // Shared id spaces (shared_ptr so Columns keep them across moves).
  std::shared_ptr<Dictionary> users = std::make_shared<Dictionary>();
  std::shared_ptr<Dictionary> items = std::make_shared<Dictionary>();
  std::optional<EventLog> events;
  std::vector<std::pair<Entity, Table>> tables;

  // REQUIRES: the entity was in SnapshotSpec::tables.
  const Table& table(Entity e) const;
  // The table of `e`, or null when it was not loaded.
  const Table* find(Entity e) const;
};

StatusOr<Snapshot> LoadSnapshot(const Context& ctx, Store& store, const SnapshotSpec& spec);

// The string fields of each distinct value of a JSON column (such as an
// `attributes` bag), indexed by dictionary code: decode once per value, not
// per row. Values that are not objects, and non-string fields, give nothing.
std::vector<std::map<std::string, std::string>> JsonStringFields(const Column& column);

// The category of each item code ("" where unknown or the items table was not loaded).
std::vector<std::string> ItemCategories(const Snapshot& snap);

}  // namespace opspilot

#endif  // OPSPILOT_STORE_SNAPSHOT_H_
