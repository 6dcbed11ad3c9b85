#include "store/snapshot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

namespace opspilot {

const Column* Table::find(std::string_view name) const {
  for (const auto& c : columns_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const Column& Table::col(std::string_view name) const {
  const Column* c = find(name);
  OP_CHECK(c != nullptr) << "column not loaded: " << name;
  return *c;
}

const Table* Snapshot::find(Entity e) const {
  for (const auto& [entity, t] : tables) {
    if (entity == e) return &t;
  }
  return nullptr;
}

const Table& Snapshot::table(Entity e) const {
  const Table* t = find(e);
  OP_CHECK(t != nullptr) << "table not in snapshot: " << EntityName(e);
  return *t;
}

EventLogBuilder::EventLogBuilder(std::shared_ptr<Dictionary> users, std::shared_ptr<Dictionary> items)
    : users_(std::move(users)), items_(std::move(items)) {}

Status EventLogBuilder::Add(std::string_view user, std::string_view type, std::string_view item, int64_t time,
                            std::string_view session, float value, std::optional<std::string_view> property) {
  if (property) {
    log_.property.push_back(property->empty() ? -1 : log_.property_values.Intern(*property));
  }
  const int32_t t = log_.event_types.Intern(type);
  if (t >= std::numeric_limits<int16_t>::max()) return ResourceExhausted("more than 32766 distinct event types");
  if (user_.size() >= UINT32_MAX) return ResourceExhausted("more than 4G events in one event log");
  user_.push_back(users_->Intern(user));
  log_.type.push_back(static_cast<int16_t>(t));
  log_.item.push_back(item.empty() ? -1 : items_->Intern(item));
  log_.time.push_back(time);
  log_.session.push_back(session.empty() ? -1 : log_.sessions.Intern(session));
  log_.value.push_back(value);
  return Status::Ok();
}

EventLog EventLogBuilder::Finish() {
  EventLog& log = log_;
  const size_t n = user_.size();
  const auto nu = static_cast<size_t>(users_->size());
  log.user_begin.assign(nu + 1, 0);
  for (int32_t u : user_) ++log.user_begin[static_cast<size_t>(u) + 1];
  std::partial_sum(log.user_begin.begin(), log.user_begin.end(), log.user_begin.begin());
  std::vector<int64_t> next(log.user_begin.begin(), log.user_begin.end() - 1);
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[static_cast<size_t>(next[static_cast<size_t>(user_[i])]++)] = static_cast<uint32_t>(i);
  user_.clear();
  user_.shrink_to_fit();
  for (size_t u = 0; u < nu; ++u) {
    auto b = order.begin() + log.user_begin[u], e = order.begin() + log.user_begin[u + 1];
    std::stable_sort(b, e, [&](uint32_t x, uint32_t y) { return log.time[x] < log.time[y]; });
  }
  auto permute = [&](auto& v) {
    std::remove_reference_t<decltype(v)> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = v[order[i]];
    v.swap(out);
  };
  permute(log.item);
  permute(log.type);
  permute(log.time);
  permute(log.session);
  permute(log.value);
  if (!log.property.empty()) permute(log.property);
  EventLog out = std::move(log_);
  log_ = EventLog();
  return out;
}

class SnapshotLoader {
 public:
  SnapshotLoader(Store& store, const SnapshotSpec& spec, Snapshot* snap)
      : store_(store), spec_(spec), snap_(snap) {}

  Status LoadTable(Entity e, Table* t) {
    const EntitySchema& schema = GetSchema(e);
    ScanRequest req;
    req.tenant = spec_.tenant;
    req.entity = e;
    if (!TimeColumn(e).empty()) {
      req.since = spec_.since;
      req.until = spec_.until;
    }
    for (const auto& c : schema.columns) {
      Column col;
      col.name = c.name;
      col.type = c.type;
      if (c.type == ColumnType::kText || c.type == ColumnType::kJson) {
        if (c.name == "user_id") {
          col.dict = snap_->users;
        } else if (c.name == "item_id" || (e == Entity::kReviews && c.name == "subject")) {
          col.dict = snap_->items;
        } else {
          col.dict = std::make_shared<Dictionary>();
        }
      }
      t->columns_.push_back(std::move(col));
    }
    return store_.Scan(req, [t](const RowView& row) {
      for (size_t i = 0; i < t->columns_.size(); ++i) {
        Column& c = t->columns_[i];
        const int ci = static_cast<int>(i);
        const bool null = row.IsNull(ci);
        c.valid.push_back(null ? 0 : 1);
        switch (c.type) {
          case ColumnType::kText:
          case ColumnType::kJson:
            c.codes.push_back(null ? Dictionary::kMissing : c.dict->Intern(row.Text(ci)));
            break;
          case ColumnType::kReal:
            c.reals.push_back(null ? std::numeric_limits<double>::quiet_NaN() : row.Real(ci));
            break;
          default: c.ints.push_back(null ? 0 : row.Int(ci)); break;
        }
      }
      ++t->rows_;
      return Status::Ok();
    });
  }

  Status LoadEvents(EventLog* log) {
    ScanRequest req;
    req.tenant = spec_.tenant;
    req.entity = Entity::kEvents;
    req.columns = {"user_id", "event_type", "item_id", "timestamp", "session_id", "value"};
    const std::string& key = spec_.event_property;
    if (!key.empty()) req.columns.push_back("properties");
    req.since = spec_.since;
    req.until = spec_.until;
    EventLogBuilder builder(snap_->users, snap_->items);
    const auto& wanted = spec_.event_types;
    const std::string quoted_key = "\"" + key + "\"";
    std::string prop;
    RETURN_IF_ERROR(store_.Scan(req, [&](const RowView& row) {
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), row.Text(1)) == wanted.end()) {
        return Status::Ok();
      }
      std::optional<std::string_view> p;
      if (!key.empty()) {
        prop.clear();
        const std::string_view bag = row.IsNull(6) ? std::string_view() : row.Text(6);
        if (bag.find(quoted_key) != std::string_view::npos) {  // parse only bags that hold the key
          nlohmann::json j = nlohmann::json::parse(bag, nullptr, false);
          if (j.is_object() && j.contains(key) && !j[key].is_null()) {
            prop = j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
          }
        }
        p = prop;
      }
      return builder.Add(row.Text(0), row.Text(1), row.IsNull(2) ? std::string_view() : row.Text(2), row.Int(3),
                         row.IsNull(4) ? std::string_view() : row.Text(4),
                         row.IsNull(5) ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(row.Real(5)), p);
    }));
    *log = builder.Finish();
    log->property_name = key;
    return Status::Ok();
  }

 private:
  Store& store_;
  const SnapshotSpec& spec_;
  Snapshot* snap_;
};

StatusOr<Snapshot> LoadSnapshot(const Context& ctx, Store& store, const SnapshotSpec& spec) {
  Snapshot snap;
  SnapshotLoader loader(store, spec, &snap);
  // Items and users first so their codes follow the catalogue order.
  std::vector<Entity> order = spec.tables;
  std::stable_sort(order.begin(), order.end(), [](Entity a, Entity b) {
    auto rank = [](Entity e) { return e == Entity::kItems ? 0 : e == Entity::kUsers ? 1 : 2; };
    return rank(a) < rank(b);
  });
  for (Entity e : order) {
    if (e == Entity::kEvents) continue;
    Table t;
    RETURN_IF_ERROR(loader.LoadTable(e, &t));
    snap.tables.emplace_back(e, std::move(t));
  }
  if (spec.events) {
    EventLog log;
    RETURN_IF_ERROR(loader.LoadEvents(&log));
    ctx.logger().Debug("snapshot events loaded", {{"events", log.size()}, {"users", static_cast<int64_t>(snap.users->size())}});
    snap.events = std::move(log);
  }
  return snap;
}

std::vector<std::map<std::string, std::string>> JsonStringFields(const Column& column) {
  std::vector<std::map<std::string, std::string>> out;
  if (!column.dict) return out;
  out.resize(static_cast<size_t>(column.dict->size()));
  for (int32_t c = 0; c < column.dict->size(); ++c) {
    const nlohmann::json j = nlohmann::json::parse(column.dict->Key(c), nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) out[static_cast<size_t>(c)][k] = v.get<std::string>();
    }
  }
  return out;
}

// The category of each item code ("" where unknown), from the items table.
std::vector<std::string> ItemCategories(const Snapshot& snap) {
  std::vector<std::string> out(static_cast<size_t>(snap.items->size()));
  if (const Table* found = snap.find(Entity::kItems)) {
    const Table& table = *found;
    const Column& id = table.col("item_id");
    const Column& cat = table.col("category");
    for (int64_t r = 0; r < table.rows(); ++r) {
      const auto i = static_cast<size_t>(r);
      if (cat.codes[i] >= 0 && id.codes[i] >= 0 && static_cast<size_t>(id.codes[i]) < out.size()) {
        out[static_cast<size_t>(id.codes[i])] = cat.dict->Key(cat.codes[i]);
      }
    }
  }
  return out;
}


}  // namespace opspilot
