#include "store/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "testing/temp_dir.h"

namespace opspilot {
namespace {

TEST(SnapshotTest, EventsGroupedByUserSortedByTimeAndIdsShared) {
  testing::TempDir dir;
  auto store = std::move(OpenSqliteStore(dir.file("s.db"))).value();
  Context ctx;
  // Random events in random order; the reference is a std::map built here.
  std::mt19937 rng(3);
  RowBatch b;
  b.schema = &GetSchema(Entity::kEvents);
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> want;  // user -> (time, type)
  for (int i = 0; i < 5000; ++i) {
    const std::string user = "u" + std::to_string(rng() % 300);
    const int64_t ts = 1735689600 + static_cast<int64_t>(rng() % 1000000);
    const std::string type = (rng() % 3 == 0) ? "purchase" : "view";
    const bool has_item = rng() % 4 != 0;
    b.values.push_back(Value::Text("e" + std::to_string(i)));
    b.values.push_back(Value::Text(user));
    b.values.push_back(Value::Text(type));
    b.values.push_back(has_item ? Value::Text("i" + std::to_string(rng() % 50)) : Value::Null());
    b.values.push_back(Value::Int(ts));
    b.values.push_back(Value::Text("s" + std::to_string(i / 7)));
    b.values.push_back(type == "purchase" ? Value::Real(2.5) : Value::Null());
    b.values.push_back(Value::Null());
    b.lines.push_back(i);
    want[user].emplace_back(ts, type);
  }
  ASSERT_TRUE(store->Upsert("default", b).ok());
  RowBatch items;
  items.schema = &GetSchema(Entity::kItems);
  for (int i = 0; i < 50; ++i) {
    items.values.push_back(Value::Text("i" + std::to_string(i)));
    items.values.push_back(Value::Text("title"));
    items.values.push_back(Value::Text(i % 2 ? "tea" : "coffee"));
    items.values.push_back(Value::Real(i));
    items.values.push_back(Value::Null());
    items.values.push_back(Value::Null());
    items.lines.push_back(i);
  }
  ASSERT_TRUE(store->Upsert("default", items).ok());

  SnapshotSpec spec;
  spec.tables = {Entity::kItems};
  auto snap = LoadSnapshot(ctx, *store, spec);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const EventLog& ev = *snap->events;
  ASSERT_EQ(ev.size(), 5000);
  ASSERT_EQ(ev.num_users(), static_cast<int32_t>(want.size()));
  for (int32_t u = 0; u < ev.num_users(); ++u) {
    auto expected = want.at(snap->users->Key(u));
    std::stable_sort(expected.begin(), expected.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    const int64_t b0 = ev.user_begin[static_cast<size_t>(u)], b1 = ev.user_begin[static_cast<size_t>(u) + 1];
    ASSERT_EQ(b1 - b0, static_cast<int64_t>(expected.size()));
    for (int64_t k = b0; k < b1; ++k) {
      const auto& [ts, type] = expected[static_cast<size_t>(k - b0)];
      EXPECT_EQ(ev.time[static_cast<size_t>(k)], ts);
      if (k > b0) {
        EXPECT_LE(ev.time[static_cast<size_t>(k - 1)], ev.time[static_cast<size_t>(k)]);
      }
      EXPECT_EQ(ev.event_types.Key(ev.type[static_cast<size_t>(k)]), type);
      EXPECT_EQ(std::isnan(ev.value[static_cast<size_t>(k)]), type != "purchase");
    }
  }
  // Item codes in events and in the items table refer to the same dictionary.
  const Table& t = snap->table(Entity::kItems);
  EXPECT_EQ(t.rows(), 50);
  const Column& id = t.col("item_id");
  const Column& price = t.col("price");
  for (int64_t r = 0; r < t.rows(); ++r) {
    const std::string& key = snap->items->Key(id.codes[static_cast<size_t>(r)]);
    EXPECT_EQ(price.reals[static_cast<size_t>(r)], std::stod(key.substr(1)));
  }
  EXPECT_EQ(t.col("category").dict->size(), 2);

  // A time window and a type filter.
  SnapshotSpec window;
  window.since = 1735689600 + 500000;
  window.event_types = {"purchase"};
  auto w = LoadSnapshot(ctx, *store, window);
  ASSERT_TRUE(w.ok());
  int64_t expect = 0;
  for (const auto& [u, evs] : want) {
    for (const auto& [ts, type] : evs) expect += ts >= *window.since && type == "purchase";
  }
  EXPECT_EQ(w->events->size(), expect);
}

}  // namespace
}  // namespace opspilot
