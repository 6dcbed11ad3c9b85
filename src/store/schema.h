// The data model: one EntitySchema per table, declared once and used by the
// validators, the store backends, the snapshot loader and the HTTP API.
//
// Every table also has a leading `tenant_id` column (not listed in `columns`);
// the natural key is (tenant_id, key columns...). Timestamps are stored as
// int64 unix seconds UTC, booleans as 0/1, JSON bags as canonical text
// (sorted keys). Optional key columns are stored as '' (never NULL) so keys
// stay comparable. See docs/formats.md for the table reference.
#ifndef OPSPILOT_STORE_SCHEMA_H_
#define OPSPILOT_STORE_SCHEMA_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace opspilot {

enum class Entity {
  kUsers,
  kItems,
  kEvents,
  kOrders,
  kInventory,
  kTickets,
  kMetrics,
  kCompetitorPrices,
  kReviews,
};
inline constexpr int kNumEntities = 9;

enum class ColumnType {
  kText,       // UTF-8 string
  kReal,       // finite double
  kTimestamp,  // ISO-8601 or unix seconds in, int64 unix seconds stored
  kDate,       // like kTimestamp, truncated to the UTC day
  kBool,       // true/false/1/0/yes/no in, 0/1 stored
  kJson,       // a JSON object, stored as canonical text
};

struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::kText;
  bool required = false;
  bool key = false;                 // part of the natural key
  double min = -std::numeric_limits<double>::infinity();  // inclusive, numbers only
  double max = std::numeric_limits<double>::infinity();   // inclusive, numbers only
  std::vector<std::string> allowed;  // allowed text values; empty = any
  std::vector<std::string> aliases;  // other input names accepted for this column
  Entity references = Entity::kUsers;  // meaningful when has_reference
  bool has_reference = false;       // value must exist as a key of `references` (when loaded)
};

struct EntitySchema {
  Entity entity;
  std::string name;                 // table name and CLI/HTTP name: "events"
  std::vector<ColumnSpec> columns;  // without tenant_id
  int bag_column = -1;              // JSON column receiving unknown input fields
  int hash_key_column = -1;         // key filled with a content hash when missing
  // Groups of columns of which at least one must be present (e.g. item_id or category).
  std::vector<std::vector<int>> one_of;

  // Index of the column named `name` (or one of its aliases), -1 if none.
  int ColumnIndex(std::string_view name) const;
  std::vector<int> KeyColumns() const;
};

const EntitySchema& GetSchema(Entity entity);
StatusOr<Entity> ParseEntity(std::string_view name);
std::string_view EntityName(Entity entity);
// All entities in load order (items before the tables that reference them).
const std::vector<Entity>& AllEntities();

// One stored value. Text holds text and JSON; kInt holds timestamps and booleans.
struct Value {
  enum class Kind : uint8_t { kNull, kInt, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  double r = 0;
  std::string s;

  static Value Null() { return Value(); }
  static Value Int(int64_t v) { Value x; x.kind = Kind::kInt; x.i = v; return x; }
  static Value Real(double v) { Value x; x.kind = Kind::kReal; x.r = v; return x; }
  static Value Text(std::string v) { Value x; x.kind = Kind::kText; x.s = std::move(v); return x; }
  bool is_null() const { return kind == Kind::kNull; }
  bool operator==(const Value& o) const;
};

// Validated rows of one entity, row-major: row r, column c at
// values[r * width + c]. `lines` (the source position of each row) is the
// row count: values may hold spare slots beyond rows() * width(), kept so a
// reused batch does not reallocate its strings.
struct RowBatch {
  const EntitySchema* schema = nullptr;
  std::vector<Value> values;
  std::vector<int64_t> lines;

  size_t width() const { return schema->columns.size(); }
  size_t rows() const { return lines.size(); }
  const Value& at(size_t row, size_t col) const { return values[row * width() + col]; }
  // Slots for row rows(), reset to NULL (string capacity kept). The row
  // counts only once its line is pushed.
  Value* NextRowSlots() {
    const size_t w = width(), need = (rows() + 1) * w;
    if (values.size() < need) values.resize(need);
    Value* slots = values.data() + rows() * w;
    for (size_t c = 0; c < w; ++c) {
      slots[c].kind = Value::Kind::kNull;
      slots[c].s.clear();
    }
    return slots;
  }
  void Clear() { lines.clear(); }
};

}  // namespace opspilot

#endif  // OPSPILOT_STORE_SCHEMA_H_
