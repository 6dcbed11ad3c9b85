// Interactions and catalogs: readers for the common file layouts, the store
// snapshot, and the evaluation splits.
#include <algorithm>
#include <filesystem>
#include <cmath>
#include <numeric>
#include <random>

#include "core/csv.h"
#include "core/strings.h"
#include "core/time.h"
#include "recommend/internal.h"
#include "recommend/recommend.h"
#include "store/snapshot.h"

namespace opspilot::recommend {

History HistoryOf(const Interactions& data, int32_t user) {
  History h;
  if (user < 0 || user >= data.num_users()) return h;
  const int64_t b = data.begin[static_cast<size_t>(user)], e = data.begin[static_cast<size_t>(user) + 1];
  h.items.assign(data.item.begin() + b, data.item.begin() + e);
  h.weights.assign(data.weight.begin() + b, data.weight.begin() + e);
  h.times.assign(data.time.begin() + b, data.time.begin() + e);
  return h;
}

InteractionsBuilder::InteractionsBuilder(std::shared_ptr<Dictionary> users, std::shared_ptr<Dictionary> items) {
  if (users) out_.users = std::move(users);
  if (items) out_.items = std::move(items);
}

void InteractionsBuilder::Add(int32_t user, int32_t item, float weight, int64_t time) {
  user_.push_back(user);
  out_.item.push_back(item);
  out_.weight.push_back(weight);
  out_.time.push_back(time);
}

void InteractionsBuilder::Add(std::string_view user, std::string_view item, float weight, int64_t time) {
  Add(out_.users->Intern(user), out_.items->Intern(item), weight, time);
}

Interactions InteractionsBuilder::Finish() {
  const size_t n = user_.size();
  const int32_t nu = out_.users->size();
  std::vector<int64_t> begin(static_cast<size_t>(nu) + 1, 0);
  for (int32_t u : user_) ++begin[static_cast<size_t>(u) + 1];
  for (int32_t u = 0; u < nu; ++u) begin[static_cast<size_t>(u) + 1] += begin[static_cast<size_t>(u)];
  std::vector<int64_t> pos(begin.begin(), begin.end() - 1);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[static_cast<size_t>(pos[static_cast<size_t>(user_[i])]++)] = i;
  Interactions r;
  r.users = out_.users;
  r.items = out_.items;
  r.begin = begin;
  r.item.resize(n);
  r.weight.resize(n);
  r.time.resize(n);
  for (int32_t u = 0; u < nu; ++u) {
    auto first = order.begin() + begin[static_cast<size_t>(u)], last = order.begin() + begin[static_cast<size_t>(u) + 1];
    std::stable_sort(first, last, [&](size_t a, size_t b) { return out_.time[a] < out_.time[b]; });
  }
  for (size_t k = 0; k < n; ++k) {
    r.item[k] = out_.item[order[k]];
    r.weight[k] = out_.weight[order[k]];
    r.time[k] = out_.time[order[k]];
  }
  out_ = Interactions{};
  user_.clear();
  return r;
}

void Catalog::Resize(int32_t n) {
  const auto s = static_cast<size_t>(n);
  title.resize(s);
  category.resize(s);
  text.resize(s);
  price.resize(s, std::nanf(""));
  in_stock.resize(s, 1);
}

std::string Catalog::Name(const Dictionary& items, int32_t item) const {
  if (item >= 0 && static_cast<size_t>(item) < title.size() && !title[static_cast<size_t>(item)].empty()) {
    return title[static_cast<size_t>(item)];
  }
  return item >= 0 && item < items.size() ? items.Key(item) : std::string("?");
}

std::map<std::string, float> DefaultEventWeights() {
  return {{"view", 1.f}, {"click", 1.f}, {"add_to_cart", 3.f}, {"cart", 3.f}, {"wishlist", 2.f},
          {"purchase", 5.f}, {"order", 5.f}, {"rate", 2.f}};
}

namespace {

std::string Where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

// Splits on runs of spaces/tabs, or on "::" (MovieLens ratings.dat).
std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> out;
  if (line.find("::") != std::string_view::npos) {
    size_t start = 0;
    while (true) {
      const size_t p = line.find("::", start);
      out.push_back(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
      if (p == std::string_view::npos) break;
      start = p + 2;
    }
    return out;
  }
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == ',')) ++i;
    const size_t s = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != ',') ++i;
    if (i > s) out.push_back(line.substr(s, i - s));
  }
  return out;
}

StatusOr<std::string> DetectFormat(const std::string& path) {
  const std::string base = std::filesystem::path(path).filename().string();
  if (base == "u.data" || base == "ratings.dat") return std::string("movielens");
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  LineReader lines(std::move(src));
  std::string line;
  int64_t no = 0;
  bool too_long = false;
  if (!lines.Next(&line, &no, &too_long)) return InvalidArgument(path + ": the file is empty");
  if (line.find("user_id") != std::string::npos && line.find(',') != std::string::npos) return std::string("csv");
  if (line.find("::") != std::string::npos) return std::string("movielens");
  const auto toks = Tokens(line);
  if (toks.size() == 2) return std::string("pairs");
  if (toks.size() == 4 && line.find('\t') != std::string::npos) return std::string("movielens");
  if (toks.size() >= 2) return std::string("lines");
  return InvalidArgument(path + ":1: cannot tell the format from the first line; pass --format csv|movielens|pairs|lines");
}

StatusOr<double> Number(std::string_view s, const std::string& where, const char* field) {
  double v = 0;
  if (!ParseDouble(s, &v)) {
    return InvalidArgument(where + ": field '" + field + "': '" + std::string(s.substr(0, 40)) + "' is not a number");
  }
  return v;
}

StatusOr<Interactions> ReadCsv(const std::string& path, const ReadOptions& o, InteractionsBuilder& b) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": the file is empty");
  int cu = -1, ci = -1, ct = -1, ce = -1, cv = -1;
  for (size_t f = 0; f < rec.num_fields; ++f) {
    const std::string name = ToLower(Trim(rec.field(f)));
    if (name == "user_id" || name == "user") cu = static_cast<int>(f);
    else if (name == "item_id" || name == "item") ci = static_cast<int>(f);
    else if (name == "timestamp" || name == "time" || name == "ts") ct = static_cast<int>(f);
    else if (name == "event" || name == "event_type" || name == "type") ce = static_cast<int>(f);
    else if (name == "value" || name == "rating" || name == "weight") cv = static_cast<int>(f);
  }
  if (cu < 0 || ci < 0) return InvalidArgument(path + ":1: the header needs user_id and item_id columns");
  int64_t seq = 0;
  while (reader.Next(&rec)) {
    const std::string where = Where(path, rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    const int need = std::max({cu, ci, ct, ce, cv});
    if (static_cast<int>(rec.num_fields) <= need) {
      return InvalidArgument(where + ": expected " + std::to_string(need + 1) + " fields, found " +
                             std::to_string(rec.num_fields));
    }
    const std::string_view user = rec.field(static_cast<size_t>(cu)), item = rec.field(static_cast<size_t>(ci));
    if (user.empty()) return InvalidArgument(where + ": field 'user_id': empty");
    if (item.empty()) return InvalidArgument(where + ": field 'item_id': empty");
    int64_t t = seq++;
    if (ct >= 0) {
      auto ts = ParseTimestamp(rec.field(static_cast<size_t>(ct)));
      if (!ts.ok()) return InvalidArgument(where + ": field 'timestamp': " + ts.status().message());
      t = *ts;
    }
    float w = 1.f;
    if (ce >= 0 && !o.event_weights.empty()) {
      auto it = o.event_weights.find(std::string(rec.field(static_cast<size_t>(ce))));
      if (it != o.event_weights.end()) w = it->second;
      if (w <= 0) continue;
    }
    if (cv >= 0 && !rec.field(static_cast<size_t>(cv)).empty()) {
      ASSIGN_OR_RETURN(double v, Number(rec.field(static_cast<size_t>(cv)), where, "value"));
      if (v < o.min_value) continue;
      if (o.use_value_as_weight) w = static_cast<float>(v);
    }
    b.Add(user, item, w, t);
  }
  RETURN_IF_ERROR(reader.status());
  return b.Finish();
}

StatusOr<Interactions> ReadText(const std::string& path, const std::string& format, const ReadOptions& o,
                                InteractionsBuilder& b) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  LineReader lines(std::move(src));
  std::string line;
  int64_t no = 0, seq = 0;
  bool too_long = false;
  while (lines.Next(&line, &no, &too_long)) {
    const std::string where = Where(path, no);
    if (too_long) return InvalidArgument(where + ": line too long");
    const auto toks = Tokens(line);
    if (toks.empty()) continue;
    if (format == "movielens") {
      if (toks.size() < 3) return InvalidArgument(where + ": expected 'user item rating [time]'");
      ASSIGN_OR_RETURN(double rating, Number(toks[2], where, "rating"));
      int64_t t = seq++;
      if (toks.size() >= 4) {
        ASSIGN_OR_RETURN(double ts, Number(toks[3], where, "timestamp"));
        t = static_cast<int64_t>(ts);
      }
      if (rating < o.min_value) continue;
      b.Add(toks[0], toks[1], o.use_value_as_weight ? static_cast<float>(rating) : 1.f, t);
    } else if (format == "pairs") {
      if (toks.size() < 2) return InvalidArgument(where + ": expected 'user item'");
      b.Add(toks[0], toks[1], 1.f, seq++);
    } else {  // lines
      if (toks.size() < 2) continue;  // a user with no items
      for (size_t k = 1; k < toks.size(); ++k) b.Add(toks[0], toks[k], 1.f, seq++);
    }
  }
  RETURN_IF_ERROR(lines.status());
  return b.Finish();
}

}  // namespace

StatusOr<Interactions> ReadInteractions(const std::string& path, const ReadOptions& options,
                                        std::shared_ptr<Dictionary> items, std::shared_ptr<Dictionary> users) {
  std::string format = options.format;
  if (format == "auto") {
    ASSIGN_OR_RETURN(format, DetectFormat(path));
  }
  InteractionsBuilder b(std::move(users), std::move(items));
  StatusOr<Interactions> r = InvalidArgument("unknown format '" + format + "': use csv, movielens, pairs or lines");
  if (format == "csv") {
    r = ReadCsv(path, options, b);
  } else if (format == "movielens" || format == "pairs" || format == "lines") {
    r = ReadText(path, format, options, b);
  }
  if (r.ok() && r->size() == 0) return InvalidArgument(path + ": no interactions left after filtering");
  return r;
}

StatusOr<Catalog> ReadCatalog(const std::string& path, Dictionary& items) {
  ASSIGN_OR_RETURN(auto src, OpenFileSource(path));
  CsvReader reader(std::move(src));
  CsvRecord rec;
  if (!reader.Next(&rec)) return InvalidArgument(path + ": the file is empty");
  std::vector<std::string> names;
  int cid = -1, ctitle = -1, ccat = -1, cprice = -1, ctext = -1, cstock = -1;
  for (size_t f = 0; f < rec.num_fields; ++f) {
    names.push_back(ToLower(Trim(rec.field(f))));
    const std::string& n = names.back();
    const int fi = static_cast<int>(f);
    if (n == "item_id" || n == "item") cid = fi;
    else if (n == "title" || n == "name") ctitle = fi;
    else if (n == "category") ccat = fi;
    else if (n == "price") cprice = fi;
    else if (n == "text" || n == "description") ctext = fi;
    else if (n == "in_stock") cstock = fi;
  }
  if (cid < 0) return InvalidArgument(path + ":1: the header needs an item_id column");
  struct Row {
    int32_t code;
    std::string title, category, text;
    float price;
    uint8_t stock;
  };
  std::vector<Row> rows;
  while (reader.Next(&rec)) {
    const std::string where = Where(path, rec.line);
    if (!rec.error.empty()) return InvalidArgument(where + ": " + rec.error);
    if (rec.num_fields != names.size()) {
      return InvalidArgument(where + ": expected " + std::to_string(names.size()) + " fields, found " +
                             std::to_string(rec.num_fields));
    }
    if (rec.field(static_cast<size_t>(cid)).empty()) return InvalidArgument(where + ": field 'item_id': empty");
    Row row{items.Intern(rec.field(static_cast<size_t>(cid))), "", "", "", std::nanf(""), 1};
    if (ctitle >= 0) row.title = rec.field(static_cast<size_t>(ctitle));
    if (ccat >= 0) row.category = rec.field(static_cast<size_t>(ccat));
    if (cprice >= 0 && !rec.field(static_cast<size_t>(cprice)).empty()) {
      ASSIGN_OR_RETURN(double p, Number(rec.field(static_cast<size_t>(cprice)), where, "price"));
      if (p < 0) return InvalidArgument(where + ": field 'price': negative");
      row.price = static_cast<float>(p);
    }
    if (cstock >= 0) {
      const std::string s = ToLower(rec.field(static_cast<size_t>(cstock)));
      if (s == "0" || s == "false" || s == "no") row.stock = 0;
      else if (!(s.empty() || s == "1" || s == "true" || s == "yes")) {
        return InvalidArgument(where + ": field 'in_stock': expected 0/1 or true/false");
      }
    }
    std::string text = ctext >= 0 ? std::string(rec.field(static_cast<size_t>(ctext))) : "";
    for (size_t f = 0; f < rec.num_fields; ++f) {
      const int fi = static_cast<int>(f);
      if (fi == cid || fi == ctitle || fi == ccat || fi == cprice || fi == ctext || fi == cstock) continue;
      if (rec.field(f).empty()) continue;
      text += " " + names[f] + "=" + std::string(rec.field(f));
    }
    row.text = std::move(text);
    rows.push_back(std::move(row));
  }
  RETURN_IF_ERROR(reader.status());
  Catalog c;
  c.Resize(items.size());
  for (auto& r : rows) {
    const auto i = static_cast<size_t>(r.code);
    c.title[i] = std::move(r.title);
    c.category[i] = std::move(r.category);
    c.text[i] = std::move(r.text);
    c.price[i] = r.price;
    c.in_stock[i] = r.stock;
  }
  return c;
}

std::vector<int32_t> ItemCodeMap(const Dictionary& from, const Dictionary& to) {
  std::vector<int32_t> map(static_cast<size_t>(from.size()), -1);
  for (int32_t i = 0; i < from.size(); ++i) map[static_cast<size_t>(i)] = to.Find(from.Key(i));
  return map;
}

std::vector<float> EventTypeWeights(const EventLog& ev, const std::map<std::string, float>& weights) {
  std::vector<float> type_weight(static_cast<size_t>(ev.event_types.size()), 0.f);
  for (int32_t t = 0; t < ev.event_types.size(); ++t) {
    auto it = weights.find(ev.event_types.Key(t));
    if (it != weights.end()) type_weight[static_cast<size_t>(t)] = it->second;
  }
  return type_weight;
}

History HistoryFromEvents(const EventLog& ev, int32_t user, const std::vector<int32_t>& item_map,
                          const std::vector<float>& type_weight) {
  History h;
  if (user < 0 || user >= ev.num_users()) return h;
  for (int64_t k = ev.user_begin[static_cast<size_t>(user)]; k < ev.user_begin[static_cast<size_t>(user) + 1]; ++k) {
    const auto kk = static_cast<size_t>(k);
    if (ev.item[kk] < 0 || static_cast<size_t>(ev.item[kk]) >= item_map.size()) continue;
    const int32_t i = item_map[static_cast<size_t>(ev.item[kk])];
    const float w = type_weight[static_cast<size_t>(ev.type[kk])];
    if (i < 0 || w <= 0) continue;
    h.items.push_back(i);
    h.weights.push_back(w);
    h.times.push_back(ev.time[kk]);
  }
  return h;
}

std::vector<std::string> ItemsWithEventTypes(const EventLog& ev, int32_t user, const Dictionary& items,
                                             const std::vector<std::string>& types) {
  std::vector<std::string> out;
  if (user < 0 || user >= ev.num_users()) return out;
  std::vector<uint8_t> wanted(static_cast<size_t>(ev.event_types.size()), 0);
  for (const auto& t : types) {
    const int32_t code = ev.event_types.Find(t);
    if (code >= 0) wanted[static_cast<size_t>(code)] = 1;
  }
  for (int64_t k = ev.user_begin[static_cast<size_t>(user)]; k < ev.user_begin[static_cast<size_t>(user) + 1]; ++k) {
    const auto kk = static_cast<size_t>(k);
    if (ev.item[kk] >= 0 && wanted[static_cast<size_t>(ev.type[kk])]) out.push_back(items.Key(ev.item[kk]));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

StatusOr<SnapshotData> FromSnapshot(const Snapshot& snap, const std::map<std::string, float>& event_weights) {
  if (!snap.events) return FailedPrecondition("the snapshot has no events");
  const EventLog& ev = *snap.events;
  const std::vector<float> type_weight = EventTypeWeights(ev, event_weights);
  SnapshotData out;
  InteractionsBuilder b(snap.users, snap.items);
  for (int32_t u = 0; u < ev.num_users(); ++u) {
    for (int64_t k = ev.user_begin[static_cast<size_t>(u)]; k < ev.user_begin[static_cast<size_t>(u) + 1]; ++k) {
      const auto kk = static_cast<size_t>(k);
      if (ev.item[kk] < 0) continue;
      const float w = type_weight[static_cast<size_t>(ev.type[kk])];
      if (w <= 0) continue;
      b.Add(u, ev.item[kk], w, ev.time[kk]);
    }
  }
  out.data = b.Finish();
  if (out.data.size() == 0) return FailedPrecondition("no item events with a positive weight in the store");
  out.catalog.Resize(snap.items->size());
  if (const Table* items = snap.find(Entity::kItems)) {
    const Column& id = items->col("item_id");
    const Column* title = items->find("title");
    const Column* cat = items->find("category");
    const Column* price = items->find("price");
    const Column* text = items->find("text");
    for (int64_t r = 0; r < items->rows(); ++r) {
      const auto rr = static_cast<size_t>(r);
      const int32_t code = id.codes[rr];
      if (code < 0) continue;
      const auto c = static_cast<size_t>(code);
      auto str = [&](const Column* col) -> std::string {
        return col && col->valid[rr] && col->codes[rr] >= 0 ? col->dict->Key(col->codes[rr]) : std::string();
      };
      out.catalog.title[c] = str(title);
      out.catalog.category[c] = str(cat);
      out.catalog.text[c] = str(text);
      if (price && price->valid[rr]) out.catalog.price[c] = static_cast<float>(price->reals[rr]);
    }
  }
  // Latest stock per item: on_hand == 0 on the latest date is out of stock.
  if (const Table* inv = snap.find(Entity::kInventory)) {
    const Column& id = inv->col("item_id");
    const Column& date = inv->col("date");
    const Column& on_hand = inv->col("on_hand");
    std::vector<int64_t> latest(out.catalog.in_stock.size(), INT64_MIN);
    for (int64_t r = 0; r < inv->rows(); ++r) {
      const auto rr = static_cast<size_t>(r);
      const int32_t code = id.codes[rr];
      if (code < 0 || static_cast<size_t>(code) >= latest.size()) continue;
      const auto c = static_cast<size_t>(code);
      if (date.ints[rr] < latest[c]) continue;
      latest[c] = date.ints[rr];
      out.catalog.in_stock[c] = on_hand.reals[rr] > 0 ? 1 : 0;
    }
  }
  return out;
}

UserItems Aggregate(const Interactions& data, int max_per_user) {
  UserItems out;
  out.begin.reserve(static_cast<size_t>(data.num_users()) + 1);
  std::vector<std::pair<int32_t, float>> tmp;
  for (int32_t u = 0; u < data.num_users(); ++u) {
    int64_t b = data.begin[static_cast<size_t>(u)];
    const int64_t e = data.begin[static_cast<size_t>(u) + 1];
    tmp.clear();
    for (int64_t k = b; k < e; ++k) tmp.emplace_back(data.item[static_cast<size_t>(k)], data.weight[static_cast<size_t>(k)]);
    internal::MergeRepeats(&tmp);
    if (max_per_user > 0 && tmp.size() > static_cast<size_t>(max_per_user)) {
      // Keep the latest distinct items.
      std::vector<int32_t> latest;
      for (int64_t k = e - 1; k >= b && latest.size() < static_cast<size_t>(max_per_user); --k) {
        const int32_t it = data.item[static_cast<size_t>(k)];
        if (std::find(latest.begin(), latest.end(), it) == latest.end()) latest.push_back(it);
      }
      std::sort(latest.begin(), latest.end());
      std::vector<std::pair<int32_t, float>> kept;
      for (auto& p : tmp) {
        if (std::binary_search(latest.begin(), latest.end(), p.first)) kept.push_back(p);
      }
      tmp.swap(kept);
    }
    for (auto& p : tmp) {
      out.item.push_back(p.first);
      out.weight.push_back(p.second);
    }
    out.begin.push_back(static_cast<int64_t>(out.item.size()));
  }
  return out;
}

StatusOr<Split> SplitInteractions(const Interactions& data, const SplitOptions& o) {
  if (o.protocol != "loo" && o.protocol != "temporal" && o.protocol != "random") {
    return InvalidArgument("unknown protocol '" + o.protocol + "': use loo, temporal or random");
  }
  if (o.valid_fraction < 0 || o.test_fraction <= 0 || o.valid_fraction + o.test_fraction >= 1) {
    return InvalidArgument("split fractions must be >= 0, test > 0 and sum below 1");
  }
  const int32_t nu = data.num_users();
  Split s;
  s.valid.assign(static_cast<size_t>(nu), {});
  s.test.assign(static_cast<size_t>(nu), {});
  // Which events stay in train: 0 train, 1 valid, 2 test.
  std::vector<uint8_t> part(static_cast<size_t>(data.size()), 0);
  int64_t cut_test = INT64_MAX, cut_valid = INT64_MAX;
  if (o.protocol == "temporal") {
    std::vector<int64_t> times(data.time);
    std::sort(times.begin(), times.end());
    auto at = [&](double q) { return times[std::min(times.size() - 1, static_cast<size_t>(q * static_cast<double>(times.size())))]; };
    cut_test = at(1 - o.test_fraction);
    cut_valid = o.validation ? at(1 - o.test_fraction - o.valid_fraction) : cut_test;
  }
  std::mt19937_64 rng(o.seed);
  std::vector<int32_t> distinct;
  for (int32_t u = 0; u < nu; ++u) {
    const int64_t b = data.begin[static_cast<size_t>(u)], e = data.begin[static_cast<size_t>(u) + 1];
    distinct.clear();
    for (int64_t k = b; k < e; ++k) distinct.push_back(data.item[static_cast<size_t>(k)]);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (static_cast<int>(distinct.size()) < o.min_user_items) continue;
    if (o.protocol == "temporal") {
      for (int64_t k = b; k < e; ++k) {
        const int64_t t = data.time[static_cast<size_t>(k)];
        part[static_cast<size_t>(k)] = t >= cut_test ? 2 : (t >= cut_valid ? 1 : 0);
      }
    } else if (o.protocol == "loo") {
      // The last distinct item is test, the one before valid; every event of
      // a held-out item at or after its last occurrence leaves train.
      int64_t k = e - 1;
      const int32_t test_item = data.item[static_cast<size_t>(k)];
      for (int64_t j = b; j < e; ++j) {
        if (data.item[static_cast<size_t>(j)] == test_item) part[static_cast<size_t>(j)] = 2;
      }
      if (o.validation && distinct.size() >= 3) {
        int32_t valid_item = -1;
        for (int64_t j = e - 1; j >= b; --j) {
          if (data.item[static_cast<size_t>(j)] != test_item) {
            valid_item = data.item[static_cast<size_t>(j)];
            break;
          }
        }
        for (int64_t j = b; j < e; ++j) {
          if (data.item[static_cast<size_t>(j)] == valid_item) part[static_cast<size_t>(j)] = 1;
        }
      }
    } else {
      // random: each distinct item goes to test / valid / train with the fractions
      // (at least one test item; train never empty).
      std::vector<int32_t> shuffled(distinct);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      const double n = static_cast<double>(shuffled.size());
      size_t ntest = std::max<size_t>(1, static_cast<size_t>(std::lround(n * o.test_fraction)));
      size_t nvalid = o.validation ? static_cast<size_t>(std::lround(n * o.valid_fraction)) : 0;
      if (o.validation && nvalid == 0 && shuffled.size() >= 3) nvalid = 1;
      while (ntest + nvalid >= shuffled.size() && (nvalid > 0 || ntest > 1)) (nvalid > 0 ? nvalid : ntest)--;
      std::vector<std::pair<int32_t, uint8_t>> where;
      for (size_t k = 0; k < shuffled.size(); ++k) {
        where.emplace_back(shuffled[k], k < ntest ? 2 : (k < ntest + nvalid ? 1 : 0));
      }
      std::sort(where.begin(), where.end());
      for (int64_t k = b; k < e; ++k) {
        auto it = std::lower_bound(where.begin(), where.end(), std::make_pair(data.item[static_cast<size_t>(k)], uint8_t{0}));
        part[static_cast<size_t>(k)] = it->second;
      }
    }
  }
  InteractionsBuilder tb(data.users, data.items);
  std::vector<int32_t> train_items;
  for (int32_t u = 0; u < nu; ++u) {
    const int64_t b = data.begin[static_cast<size_t>(u)], e = data.begin[static_cast<size_t>(u) + 1];
    train_items.clear();
    for (int64_t k = b; k < e; ++k) {
      const auto kk = static_cast<size_t>(k);
      if (part[kk] == 0) {
        tb.Add(u, data.item[kk], data.weight[kk], data.time[kk]);
        train_items.push_back(data.item[kk]);
      }
    }
    std::sort(train_items.begin(), train_items.end());
    for (int64_t k = b; k < e; ++k) {
      const auto kk = static_cast<size_t>(k);
      if (part[kk] == 0 || std::binary_search(train_items.begin(), train_items.end(), data.item[kk])) continue;
      auto& dst = part[kk] == 1 ? s.valid[static_cast<size_t>(u)] : s.test[static_cast<size_t>(u)];
      dst.push_back(data.item[kk]);
    }
    for (auto* v : {&s.valid[static_cast<size_t>(u)], &s.test[static_cast<size_t>(u)]}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    // An item both in valid and test (temporal) counts for valid only.
    auto& t = s.test[static_cast<size_t>(u)];
    const auto& va = s.valid[static_cast<size_t>(u)];
    t.erase(std::remove_if(t.begin(), t.end(), [&](int32_t i) { return std::binary_search(va.begin(), va.end(), i); }),
            t.end());
  }
  s.train = tb.Finish();
  return s;
}

}  // namespace opspilot::recommend
