#include "store/schema.h"

#include <array>

namespace opspilot {
namespace {

ColumnSpec Col(std::string name, ColumnType type, bool required = false, bool key = false) {
  ColumnSpec c;
  c.name = std::move(name);
  c.type = type;
  c.required = required;
  c.key = key;
  return c;
}

ColumnSpec Range(ColumnSpec c, double min, double max = std::numeric_limits<double>::infinity()) {
  c.min = min;
  c.max = max;
  return c;
}

ColumnSpec Ref(ColumnSpec c, Entity target) {
  c.has_reference = true;
  c.references = target;
  return c;
}

ColumnSpec Alias(ColumnSpec c, std::vector<std::string> aliases) {
  c.aliases = std::move(aliases);
  return c;
}

EntitySchema Make(Entity e, std::string name, std::vector<ColumnSpec> cols) {
  EntitySchema s{e, std::move(name), std::move(cols), -1, -1, {}};
  for (size_t i = 0; i < s.columns.size(); ++i) {
    if (s.columns[i].type == ColumnType::kJson) s.bag_column = static_cast<int>(i);
  }
  return s;
}

using T = ColumnType;
constexpr bool kReq = true, kKey = true;

std::array<EntitySchema, kNumEntities> BuildSchemas() {
  EntitySchema users = Make(Entity::kUsers, "users",
                            {Col("user_id", T::kText, kReq, kKey),
                             Alias(Col("created_at", T::kTimestamp), {"signup_time", "signup_at"}),
                             Col("attributes", T::kJson)});
  EntitySchema items = Make(Entity::kItems, "items",
                            {Col("item_id", T::kText, kReq, kKey), Col("title", T::kText),
                             Col("category", T::kText), Range(Col("price", T::kReal), 0),
                             Alias(Col("text", T::kText), {"description"}),
                             Col("attributes", T::kJson)});
  EntitySchema events = Make(
      Entity::kEvents, "events",
      {Col("event_id", T::kText, false, kKey), Col("user_id", T::kText, kReq),
       Alias(Col("event_type", T::kText, kReq), {"event", "type"}),
       Ref(Col("item_id", T::kText), Entity::kItems),
       Alias(Col("timestamp", T::kTimestamp, kReq), {"ts", "time"}),
       Alias(Col("session_id", T::kText), {"session"}), Col("value", T::kReal),
       Col("properties", T::kJson)});
  events.hash_key_column = 0;
  EntitySchema orders = Make(
      Entity::kOrders, "orders",
      {Col("order_id", T::kText, kReq, kKey), Col("user_id", T::kText),
       Ref(Col("item_id", T::kText, kReq, kKey), Entity::kItems),
       Col("quantity", T::kReal, kReq), Range(Col("unit_price", T::kReal, kReq), 0),
       Alias(Col("timestamp", T::kTimestamp, kReq), {"ts", "time"}), Col("attributes", T::kJson)});
  EntitySchema inventory = Make(
      Entity::kInventory, "inventory",
      {Ref(Col("item_id", T::kText, kReq, kKey), Entity::kItems), Col("date", T::kDate, kReq, kKey),
       Range(Col("on_hand", T::kReal, kReq), 0), Range(Col("on_order", T::kReal), 0),
       Range(Col("lead_time_days", T::kReal), 0, 3650), Range(Col("unit_cost", T::kReal), 0),
       Col("attributes", T::kJson)});
  ColumnSpec sentiment = Col("sentiment", T::kText);
  sentiment.allowed = {"negative", "neutral", "positive"};
  EntitySchema tickets = Make(
      Entity::kTickets, "tickets",
      {Col("ticket_id", T::kText, kReq, kKey), Col("user_id", T::kText), Col("channel", T::kText),
       Alias(Col("timestamp", T::kTimestamp, kReq), {"ts", "time"}), Col("text", T::kText, kReq),
       Alias(Col("language", T::kText), {"lang"}), Col("resolved", T::kBool),
       Col("intent", T::kText), sentiment, Col("attributes", T::kJson)});
  EntitySchema metrics = Make(
      Entity::kMetrics, "metrics",
      {Alias(Col("name", T::kText, kReq, kKey), {"metric"}),
       Alias(Col("timestamp", T::kTimestamp, kReq, kKey), {"ts", "time"}),
       Col("value", T::kReal, kReq), Col("dimensions", T::kJson, false, kKey)});
  EntitySchema competitor_prices = Make(
      Entity::kCompetitorPrices, "competitor_prices",
      {Col("competitor", T::kText, kReq, kKey), Col("item_id", T::kText, false, kKey),
       Col("category", T::kText, false, kKey),
       Alias(Col("timestamp", T::kTimestamp, kReq, kKey), {"ts", "time"}),
       Range(Col("price", T::kReal, kReq), 0), Col("attributes", T::kJson)});
  competitor_prices.one_of = {{1, 2}};
  EntitySchema reviews = Make(
      Entity::kReviews, "reviews",
      {Col("review_id", T::kText, false, kKey), Col("source", T::kText, kReq),
       Col("subject", T::kText, kReq), Alias(Col("timestamp", T::kTimestamp, kReq), {"ts", "time"}),
       Range(Col("rating", T::kReal), 1, 5), Col("text", T::kText), Col("attributes", T::kJson)});
  reviews.hash_key_column = 0;
  return {std::move(users),   std::move(items),   std::move(events),
          std::move(orders),  std::move(inventory), std::move(tickets),
          std::move(metrics), std::move(competitor_prices), std::move(reviews)};
}

const std::array<EntitySchema, kNumEntities>& Schemas() {
  static const auto* const kSchemas = new std::array<EntitySchema, kNumEntities>(BuildSchemas());
  return *kSchemas;
}

}  // namespace

int EntitySchema::ColumnIndex(std::string_view n) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == n) return static_cast<int>(i);
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    for (const auto& a : columns[i].aliases) {
      if (a == n) return static_cast<int>(i);
    }
  }
  return -1;
}

std::vector<int> EntitySchema::KeyColumns() const {
  std::vector<int> out;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].key) out.push_back(static_cast<int>(i));
  }
  return out;
}

const EntitySchema& GetSchema(Entity e) { return Schemas()[static_cast<size_t>(e)]; }

std::string_view EntityName(Entity e) { return GetSchema(e).name; }

StatusOr<Entity> ParseEntity(std::string_view name) {
  for (const auto& s : Schemas()) {
    if (s.name == name) return s.entity;
  }
  std::string known;
  for (const auto& s : Schemas()) known += (known.empty() ? "" : ", ") + s.name;
  return InvalidArgument("unknown entity '" + std::string(name) + "' (known: " + known + ")");
}

const std::vector<Entity>& AllEntities() {
  static const auto* const kAll = new std::vector<Entity>{
      Entity::kItems,   Entity::kUsers,   Entity::kEvents,           Entity::kOrders,
      Entity::kInventory, Entity::kTickets, Entity::kMetrics, Entity::kCompetitorPrices,
      Entity::kReviews};
  return *kAll;
}

bool Value::operator==(const Value& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::kNull: return true;
    case Kind::kInt: return i == o.i;
    case Kind::kReal: return r == o.r;
    case Kind::kText: return s == o.s;
  }
  return false;
}

}  // namespace opspilot
