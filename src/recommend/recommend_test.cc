#include "recommend/recommend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

#include "recommend/synthetic.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::recommend {
namespace {

using nlohmann::json;

Context Ctx() { return Context(testing::QuietOptions(2)); }

SyntheticData Taste(int users = 1500, int items = 600, uint64_t seed = 7) {
  SyntheticOptions o;
  o.users = users;
  o.items = items;
  o.genres = 15;
  o.mean_items_per_user = 30;
  o.seed = seed;
  return GenerateTaste(o);
}

// Random 80/20 per user, no validation part.
SplitOptions RandomHoldout() {
  SplitOptions so;
  so.protocol = "random";
  so.validation = false;
  so.test_fraction = 0.2;
  return so;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// ------------------------------------------------------------------ data

TEST(RecommendData, ReadsTheCommonLayouts) {
  testing::TempDir tmp;
  const std::string ml = tmp.path() + "/u.data";
  WriteFile(ml, "1\t10\t5\t881250949\n1\t11\t2\t881250950\n2\t10\t4\t881250940\n");
  ReadOptions o;
  o.min_value = 3;
  auto a = ReadInteractions(ml, o);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->size(), 2);  // the rating of 2 is dropped
  EXPECT_EQ(a->num_users(), 2);

  const std::string dat = tmp.path() + "/ratings.dat";
  WriteFile(dat, "1::1193::5::978300760\n1::661::3::978302109\n");
  auto b = ReadInteractions(dat, ReadOptions{});
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->size(), 2);
  EXPECT_EQ(b->items->Key(b->item[0]), "1193");

  const std::string pairs = tmp.path() + "/Beauty.txt";
  WriteFile(pairs, "1 5\n1 7\n2 5\n1 9\n");
  auto c = ReadInteractions(pairs, ReadOptions{});
  ASSERT_TRUE(c.ok());
  const History h = HistoryOf(*c, c->users->Find("1"));
  ASSERT_EQ(h.size(), 3u);  // file order is time order
  EXPECT_EQ(c->items->Key(h.items[2]), "9");

  const std::string lines = tmp.path() + "/train.txt";
  WriteFile(lines, "0 1 2 3\n1 3 4\n");
  auto d = ReadInteractions(lines, ReadOptions{});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 5);

  const std::string csv = tmp.path() + "/events.csv";
  WriteFile(csv, "user_id,item_id,timestamp,event\nu1,a,2024-01-02T00:00:00Z,view\nu1,b,2024-01-01T00:00:00Z,purchase\n"
                 "u2,a,2024-01-01T00:00:00Z,hover\n");
  ReadOptions w;
  w.event_weights = {{"view", 1.f}, {"purchase", 5.f}, {"hover", 0.f}};
  auto e = ReadInteractions(csv, w);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->size(), 2);  // hover weighs 0 and is dropped
  const History he = HistoryOf(*e, e->users->Find("u1"));
  EXPECT_EQ(e->items->Key(he.items[0]), "b");  // sorted by time
  EXPECT_FLOAT_EQ(he.weights[0], 5.f);
}

TEST(RecommendData, BadInputNamesFileLineAndField) {
  testing::TempDir tmp;
  const std::string csv = tmp.path() + "/bad.csv";
  WriteFile(csv, "user_id,item_id,timestamp\nu1,a,2024-01-01\nu2,,2024-01-01\n");
  auto r = ReadInteractions(csv, ReadOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.csv:3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("item_id"), std::string::npos);

  WriteFile(csv, "user_id,item_id,timestamp\nu1,a,yesterday\n");
  r = ReadInteractions(csv, ReadOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.csv:2: field 'timestamp'"), std::string::npos) << r.status().message();

  const std::string ml = tmp.path() + "/u.data";
  WriteFile(ml, "1\t2\tfive\t3\n");
  r = ReadInteractions(ml, ReadOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("u.data:1: field 'rating'"), std::string::npos) << r.status().message();

  const std::string items = tmp.path() + "/items.csv";
  WriteFile(items, "item_id,title,price\na,Mug,-3\n");
  Dictionary dict;
  auto c = ReadCatalog(items, dict);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("items.csv:2: field 'price'"), std::string::npos) << c.status().message();
}

TEST(RecommendData, SplitsFollowTheirProtocols) {
  const SyntheticData s = Taste(300, 200);
  SplitOptions o;
  o.protocol = "loo";
  auto loo = SplitInteractions(s.data, o);
  ASSERT_TRUE(loo.ok());
  for (int32_t u = 0; u < s.data.num_users(); ++u) {
    const History all = HistoryOf(s.data, u);
    const History tr = HistoryOf(loo->train, u);
    ASSERT_EQ(loo->test[static_cast<size_t>(u)].size(), 1u);
    EXPECT_EQ(loo->test[static_cast<size_t>(u)][0], all.items.back());  // the last item
    EXPECT_EQ(loo->valid[static_cast<size_t>(u)].size(), 1u);
    EXPECT_EQ(loo->valid[static_cast<size_t>(u)][0], all.items[all.size() - 2]);
    EXPECT_EQ(tr.size() + 2, all.size());
    for (int32_t i : tr.items) EXPECT_NE(i, all.items.back());
  }
  o.protocol = "random";
  o.valid_fraction = 0.1;
  o.test_fraction = 0.1;
  auto rnd = SplitInteractions(s.data, o);
  ASSERT_TRUE(rnd.ok());
  int64_t held = 0;
  for (int32_t u = 0; u < s.data.num_users(); ++u) {
    const History tr = HistoryOf(rnd->train, u);
    std::set<int32_t> train_items(tr.items.begin(), tr.items.end());
    for (int32_t i : rnd->test[static_cast<size_t>(u)]) EXPECT_FALSE(train_items.count(i));
    for (int32_t i : rnd->valid[static_cast<size_t>(u)]) EXPECT_FALSE(train_items.count(i));
    held += static_cast<int64_t>(rnd->test[static_cast<size_t>(u)].size());
  }
  const double share = static_cast<double>(held) / static_cast<double>(s.data.size());
  EXPECT_NEAR(share, 0.1, 0.02);
  o.protocol = "temporal";
  auto tmp = SplitInteractions(s.data, o);
  ASSERT_TRUE(tmp.ok());
  const int64_t last_train = *std::max_element(tmp->train.time.begin(), tmp->train.time.end());
  std::vector<int64_t> times(s.data.time);
  std::sort(times.begin(), times.end());
  EXPECT_LT(last_train, times[static_cast<size_t>(0.8 * static_cast<double>(times.size())) + 1]);
}

// ------------------------------------------------------------------ metrics

// Full-ranking metrics by their definitions, from a full sort: the reference
// Evaluate is checked against.
std::map<std::string, double> BruteForce(const Model& m, const Interactions& train,
                                         const std::vector<std::vector<int32_t>>& test, int k) {
  double recall = 0, ndcg = 0, hr = 0, map = 0, mrr = 0, n = 0;
  std::vector<float> scores(static_cast<size_t>(train.num_items()));
  for (size_t u = 0; u < test.size(); ++u) {
    if (test[u].empty()) continue;
    const History h = HistoryOf(train, static_cast<int32_t>(u));
    m.Score(h, scores);
    std::set<int32_t> seen(h.items.begin(), h.items.end());
    std::vector<int32_t> order;
    for (int32_t i = 0; i < train.num_items(); ++i) {
      if (!seen.count(i)) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return scores[static_cast<size_t>(a)] != scores[static_cast<size_t>(b)]
                 ? scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]
                 : a < b;
    });
    const std::set<int32_t> rel(test[u].begin(), test[u].end());
    double hits = 0, dcg = 0, idcg = 0, ap = 0, first = 0;
    for (size_t r = 0; r < order.size(); ++r) {
      if (!rel.count(order[r])) continue;
      if (first == 0) first = static_cast<double>(r + 1);
      if (r < static_cast<size_t>(k)) {
        hits += 1;
        dcg += 1 / std::log2(static_cast<double>(r) + 2);
        ap += hits / static_cast<double>(r + 1);
      }
    }
    for (size_t r = 0; r < std::min(rel.size(), static_cast<size_t>(k)); ++r) idcg += 1 / std::log2(static_cast<double>(r) + 2);
    recall += hits / static_cast<double>(rel.size());
    ndcg += dcg / idcg;
    hr += hits > 0;
    map += ap / static_cast<double>(std::min(rel.size(), static_cast<size_t>(k)));
    mrr += first > 0 ? 1 / first : 0;
    n += 1;
  }
  const std::string s = std::to_string(k);
  return {{"recall@" + s, recall / n}, {"ndcg@" + s, ndcg / n}, {"hr@" + s, hr / n}, {"map@" + s, map / n}, {"mrr", mrr / n}};
}

TEST(RecommendEval, MetricsMatchABruteForceReference) {
  const Context ctx = Ctx();
  const SyntheticData s = Taste(400, 250);
  auto split = SplitInteractions(s.data, RandomHoldout());
  ASSERT_TRUE(split.ok());
  for (const char* name : {"popular", "itemknn", "als"}) {
    auto m = MakeModel(name);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->Fit(ctx, split->train, s.catalog).ok());
    EvalOptions eo;
    eo.ks = {5, 10};
    auto got = Evaluate(ctx, **m, split->train, split->test, eo);
    ASSERT_TRUE(got.ok());
    for (int k : {5, 10}) {
      for (auto& [key, want] : BruteForce(**m, split->train, split->test, k)) {
        EXPECT_NEAR((*got)[key], want, 1e-9) << name << " " << key;
      }
    }
  }
  // A hand-checked list: relevant {3, 7}, ranking 7 1 3 at k = 3.
  const std::vector<int32_t> ranked = {7, 1, 3}, rel = {3, 7};
  const RankMetrics rm = ScoreRanking(ranked, rel, 3);
  EXPECT_DOUBLE_EQ(rm.recall, 1.0);
  EXPECT_NEAR(rm.ndcg, (1 + 1 / std::log2(4.0)) / (1 + 1 / std::log2(3.0)), 1e-12);
  EXPECT_NEAR(rm.ap, (1.0 + 2.0 / 3.0) / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(rm.rr, 1.0);
}

// ------------------------------------------------------------------ models

TEST(RecommendModels, PlantedTasteBeatsPopularityByAClearMargin) {
  const Context ctx = Ctx();
  const SyntheticData s = Taste();
  auto split = SplitInteractions(s.data, RandomHoldout());
  ASSERT_TRUE(split.ok());
  EvalOptions eo;
  eo.ks = {10};
  eo.sampled_negatives = 100;
  std::map<std::string, double> recall, genre_precision;
  for (const char* name : {"popular", "itemknn", "userknn", "ease", "als", "content", "hybrid"}) {
    // 15 genres: a few factors are enough, and 64 would overfit 1,500 users.
    auto m = MakeModel(name, std::string(name) == "als" ? json{{"factors", 16}} : json::object());
    ASSERT_TRUE(m.ok());
    Status st = (*m)->Fit(ctx, split->train, s.catalog);
    ASSERT_TRUE(st.ok()) << name << ": " << st.message();
    auto r = Evaluate(ctx, **m, split->train, split->test, eo);
    ASSERT_TRUE(r.ok());
    recall[name] = (*r)["recall@10"];
    EXPECT_GT((*r)["sampled100_hr@10"], (*r)["recall@10"]) << name << ": sampled metrics are easier than full ranking";
    // Share of top-10 items in one of the user's planted genres.
    double in_taste = 0, shown = 0;
    for (int32_t u = 0; u < 300; ++u) {
      const auto& gs = s.user_genres[static_cast<size_t>(u)];
      for (int32_t item : TopItems(**m, HistoryOf(split->train, u), s.data.num_items(), 10)) {
        in_taste += std::find(gs.begin(), gs.end(), s.item_genre[static_cast<size_t>(item)]) != gs.end();
        shown += 1;
      }
    }
    genre_precision[name] = in_taste / shown;
  }
  for (const char* name : {"itemknn", "userknn", "ease", "als", "hybrid"}) {
    EXPECT_GT(recall[name], 1.5 * recall["popular"]) << name << " " << recall[name] << " vs popular " << recall["popular"];
  }
  // Content knows only the genres: every item of a genre looks alike to it, so
  // it does not rank by popularity within the genre, but its items are the
  // user's genres far more often than popular items are.
  EXPECT_GT(genre_precision["content"], 0.8);
  EXPECT_LT(genre_precision["popular"], 0.5);
  // The others also recommend popular items (a fifth of the planted behaviour).
  for (const char* name : {"ease", "als", "hybrid"}) EXPECT_GT(genre_precision[name], genre_precision["popular"] + 0.1) << name;
}

TEST(RecommendModels, AlsFoldsInNewEventsWithoutRetraining) {
  const Context ctx = Ctx();
  const SyntheticData s = Taste(800, 400);
  auto m = MakeModel("als", {{"factors", 32}, {"iterations", 10}});
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Fit(ctx, s.data, s.catalog).ok());
  // A user whose history is entirely one genre gets that genre; after new
  // events in another genre, the new genre shows up (no refit).
  auto in_genre = [&](int g, int n) {
    History h;
    for (int32_t i = 0; i < s.data.num_items() && static_cast<int>(h.size()) < n; ++i) {
      if (s.item_genre[static_cast<size_t>(i)] == g) h.items.push_back(i), h.weights.push_back(1), h.times.push_back(0);
    }
    return h;
  };
  auto share = [&](const History& h, int g) {
    int hits = 0;
    for (int32_t item : TopItems(**m, h, s.data.num_items(), 10)) hits += s.item_genre[static_cast<size_t>(item)] == g;
    return hits;
  };
  History h = in_genre(3, 6);
  EXPECT_GE(share(h, 3), 7);
  const History other = in_genre(9, 12);
  for (size_t k = 0; k < other.size(); ++k) h.items.push_back(other.items[k]), h.weights.push_back(1), h.times.push_back(1);
  EXPECT_GE(share(h, 9), 4);
}

// ------------------------------------------------------------------ serving

Recommender Trained(const SyntheticData& s, const std::string& model, Recommender::Options opt = {}) {
  const Context ctx = Ctx();
  auto m = MakeModel(model);
  OP_CHECK(m.ok());
  OP_CHECK((*m)->Fit(ctx, s.data, s.catalog).ok());
  return Recommender(std::move(*m), s.data, s.catalog, opt);
}

TEST(RecommendServe, FiltersAndExclusionsAlwaysHold) {
  SyntheticData s = Taste(600, 300);
  std::mt19937 rng(3);
  for (int32_t i = 0; i < 300; i += 7) s.catalog.in_stock[static_cast<size_t>(i)] = 0;
  const Recommender rec = Trained(s, "ease");
  for (int trial = 0; trial < 200; ++trial) {
    const int32_t u = static_cast<int32_t>(rng() % 600);
    const History h = HistoryOf(s.data, u);
    Request req;
    req.n = 1 + static_cast<int>(rng() % 15);
    req.max_per_category = static_cast<int>(rng() % 3);
    if (trial % 3 == 0) req.categories = {"genre" + std::to_string(rng() % 15), "genre" + std::to_string(rng() % 15)};
    req.exclude = {"i" + std::to_string(rng() % 300), "i" + std::to_string(rng() % 300)};
    // One long page, then the same list in short pages.
    Request all = req;
    all.n = 40;
    auto full = rec.Recommend(h, all);
    ASSERT_TRUE(full.ok());
    std::set<int32_t> seen(h.items.begin(), h.items.end());
    std::map<std::string, int> per_cat;
    std::set<int32_t> distinct;
    for (const auto& r : *full) {
      const auto i = static_cast<size_t>(r.item);
      EXPECT_FALSE(seen.count(r.item)) << "seen item recommended";
      EXPECT_TRUE(s.catalog.in_stock[i]) << "out-of-stock item recommended";
      for (const auto& x : req.exclude) EXPECT_NE(s.data.items->Key(r.item), x);
      if (!req.categories.empty()) {
        EXPECT_TRUE(std::find(req.categories.begin(), req.categories.end(), s.catalog.category[i]) != req.categories.end());
      }
      if (req.max_per_category > 0) {
        EXPECT_LE(++per_cat[s.catalog.category[i]], req.max_per_category);
      }
      EXPECT_TRUE(distinct.insert(r.item).second);
    }
    std::vector<int32_t> paged;
    for (int offset = 0; offset < 40; offset += req.n) {
      Request page = req;
      page.offset = offset;
      page.n = std::min(req.n, 40 - offset);
      auto p = rec.Recommend(h, page);
      ASSERT_TRUE(p.ok());
      for (const auto& r : *p) paged.push_back(r.item);
    }
    ASSERT_EQ(paged.size(), full->size());
    for (size_t k = 0; k < paged.size(); ++k) EXPECT_EQ(paged[k], (*full)[k].item) << "pages differ from the list";
  }
}

TEST(RecommendServe, ReasonsNameTheContributingItem) {
  const SyntheticData s = Taste(600, 300);
  for (const char* name : {"itemknn", "ease", "als"}) {
    const Recommender rec = Trained(s, name);
    const History h = HistoryOf(s.data, 5);
    auto recs = rec.Recommend(h, Request{});
    ASSERT_TRUE(recs.ok());
    ASSERT_FALSE(recs->empty());
    std::vector<float> full(300), without(300);
    for (const auto& r : *recs) {
      EXPECT_EQ(r.reason.source, name);
      ASSERT_GE(r.reason.because, 0) << name;
      EXPECT_TRUE(std::find(h.items.begin(), h.items.end(), r.reason.because) != h.items.end());
      EXPECT_NE(rec.ReasonText(r.reason).find(s.catalog.title[static_cast<size_t>(r.reason.because)]), std::string::npos);
      if (std::string(name) == "als") continue;  // not additive over history items
      // The reason is the history item whose removal costs the score most.
      rec.model().Score(h, full);
      float biggest = 0;
      int32_t argmax = -1;
      for (size_t k = 0; k < h.size(); ++k) {
        History drop = h;
        drop.items.erase(drop.items.begin() + static_cast<std::ptrdiff_t>(k));
        drop.weights.erase(drop.weights.begin() + static_cast<std::ptrdiff_t>(k));
        drop.times.erase(drop.times.begin() + static_cast<std::ptrdiff_t>(k));
        rec.model().Score(drop, without);
        const float loss = full[static_cast<size_t>(r.item)] - without[static_cast<size_t>(r.item)];
        if (loss > biggest + 1e-6f) biggest = loss, argmax = h.items[k];
      }
      EXPECT_EQ(r.reason.because, argmax) << name;
    }
  }
  // Cold start: popular items, labelled as such; in a category when asked.
  const Recommender rec = Trained(s, "ease");
  Request req;
  req.categories = {"genre4"};
  auto cold = rec.Recommend(History{}, req);
  ASSERT_TRUE(cold.ok());
  ASSERT_EQ(cold->size(), 10u);
  for (const auto& r : *cold) {
    EXPECT_EQ(r.reason.kind, "popular_in_category");
    EXPECT_EQ(s.catalog.category[static_cast<size_t>(r.item)], "genre4");
  }
}

TEST(RecommendServe, ColdStartUsersGetTheirSegmentsPopularItems) {
  testing::TempDir tmp;
  const SyntheticData s = Taste(800, 300);
  Recommender rec = Trained(s, "ease");
  // Segment = parity of the user's first genre: each segment's favourites differ.
  std::vector<std::string> seg(static_cast<size_t>(s.data.num_users()));
  for (size_t u = 0; u < seg.size(); ++u) seg[u] = s.user_genres[u][0] % 2 ? "odd" : "even";
  rec.SetSegments("taste", seg);
  ASSERT_TRUE(rec.Save(tmp.path() + "/m").ok());
  auto back = Recommender::Load(tmp.path() + "/m");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->segment_key(), "taste");
  EXPECT_EQ(back->SegmentOf("u3"), seg[3]);
  // Odd-genre items among the top 20 of a list.
  auto odd_items = [&](const std::vector<Recommendation>& recs) {
    int n = 0;
    for (const auto& x : recs) n += s.item_genre[static_cast<size_t>(x.item)] % 2;
    return n;
  };
  Request all;
  all.n = 20;
  auto overall = back->Recommend(History{}, all);
  ASSERT_TRUE(overall.ok());
  std::map<std::string, int> odd;
  for (const char* which : {"odd", "even"}) {
    Request req = all;
    req.segment = which;
    auto r = back->Recommend(History{}, req);
    ASSERT_TRUE(r.ok());
    for (const auto& x : *r) {
      EXPECT_EQ(x.reason.kind, "popular_in_segment");
      EXPECT_NE(back->ReasonText(x.reason).find(std::string("taste=") + which), std::string::npos);
    }
    odd[which] = odd_items(*r);
  }
  // Each segment's list leans to its own genres, more than the overall list does.
  EXPECT_GT(odd["odd"], odd_items(*overall));
  EXPECT_LT(odd["even"], odd_items(*overall));
  EXPECT_GE(odd["odd"] - odd["even"], 8) << odd["odd"] << " vs " << odd["even"];
  // An unknown segment falls back to overall popularity.
  Request req;
  req.segment = "nobody";
  auto r = back->Recommend(History{}, req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].reason.kind, "popular");
}

TEST(RecommendServe, ColdStartItemsSurfaceThroughContent) {
  const Context ctx = Ctx();
  SyntheticData s = Taste(600, 300);
  // A new item with no interactions, in genre 2.
  const int32_t fresh = s.data.items->Intern("new-item");
  s.catalog.Resize(s.data.num_items());
  s.catalog.category[static_cast<size_t>(fresh)] = "genre2";
  s.catalog.title[static_cast<size_t>(fresh)] = "Item new genre2";
  auto m = MakeModel("hybrid", {{"components", json::array({{{"model", "ease"}, {"weight", 1.0}},
                                                            {{"model", "content"}, {"weight", 1.0}}})}});
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Fit(ctx, s.data, s.catalog).ok());
  const Recommender rec(std::move(*m), s.data, s.catalog, {});
  int found = 0, users = 0;
  for (int32_t u = 0; u < s.data.num_users() && users < 20; ++u) {
    if (s.user_genres[static_cast<size_t>(u)] != std::vector<int>{2}) continue;
    ++users;
    Request req;
    req.n = 30;
    auto r = rec.Recommend(HistoryOf(s.data, u), req);
    ASSERT_TRUE(r.ok());
    for (const auto& x : *r) found += x.item == fresh;
  }
  ASSERT_GT(users, 5);
  EXPECT_GE(found, users / 2) << "a new genre-2 item reaches genre-2 fans";
  // EASE alone can never recommend it.
  const Recommender ease = Trained(s, "ease");
  auto r = ease.Recommend(HistoryOf(s.data, 0), Request{});
  ASSERT_TRUE(r.ok());
  for (const auto& x : *r) EXPECT_NE(x.item, fresh);
}

TEST(RecommendServe, SaveLoadGivesTheSameAnswers) {
  testing::TempDir tmp;
  const SyntheticData s = Taste(500, 250);
  for (const char* name : {"popular", "itemknn", "userknn", "ease", "als", "content", "hybrid"}) {
    const Recommender rec = Trained(s, name);
    const std::string dir = tmp.path() + "/" + name;
    ASSERT_TRUE(rec.Save(dir).ok());
    ASSERT_TRUE(rec.Save(dir).ok()) << "saving over a model replaces it";
    auto back = Recommender::Load(dir);
    ASSERT_TRUE(back.ok()) << back.status().message();
    for (int32_t u : {0, 17, 123}) {
      const History h = rec.HistoryOfUser("u" + std::to_string(u));
      auto a = rec.Recommend(h, Request{});
      auto b = back->Recommend(back->HistoryOfUser("u" + std::to_string(u)), Request{});
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->size(), b->size());
      for (size_t k = 0; k < a->size(); ++k) {
        EXPECT_EQ((*a)[k].item, (*b)[k].item) << name;
        EXPECT_NEAR((*a)[k].score, (*b)[k].score, 1e-4) << name;
      }
    }
  }
  auto bad = Recommender::Load(tmp.path());
  EXPECT_FALSE(bad.ok());
}

TEST(RecommendServe, FaissRetrievalAgreesWithExactScoring) {
  const SyntheticData s = Taste(1000, 800);
  Recommender::Options ann;
  ann.ann_min_items = 1;  // force the HNSW path
  const Recommender approx = Trained(s, "als", ann);
  const Recommender exact = Trained(s, "als");
  double overlap = 0, n = 0;
  for (int32_t u = 0; u < 200; ++u) {
    const History h = HistoryOf(s.data, u);
    auto a = approx.Recommend(h, Request{});
    auto b = exact.Recommend(h, Request{});
    ASSERT_TRUE(a.ok() && b.ok());
    std::set<int32_t> want;
    for (const auto& r : *b) want.insert(r.item);
    for (const auto& r : *a) overlap += want.count(r.item);
    n += static_cast<double>(b->size());
  }
  EXPECT_GT(overlap / n, 0.95);
}

TEST(RecommendServe, SimilarItemsAndUsers) {
  const SyntheticData s = Taste(600, 300);
  const Recommender rec = Trained(s, "itemknn");
  int same = 0, total = 0;
  std::vector<int> users_of(300, 0);
  for (int32_t i : s.data.item) ++users_of[static_cast<size_t>(i)];
  for (int32_t i = 0; i < 300; ++i) {
    if (users_of[static_cast<size_t>(i)] < 30) continue;  // too few users to know its neighbours
    auto r = rec.Similar("i" + std::to_string(i), Request{});
    ASSERT_TRUE(r.ok());
    for (const auto& x : *r) {
      EXPECT_NE(x.item, i);
      same += s.item_genre[static_cast<size_t>(x.item)] == s.item_genre[static_cast<size_t>(i)];
      ++total;
    }
  }
  EXPECT_GT(static_cast<double>(same) / total, 0.7);
  EXPECT_FALSE(rec.Similar("nope", Request{}).ok());
  int shared = 0;
  for (int32_t u = 0; u < 50; ++u) {
    auto r = rec.SimilarUsers("u" + std::to_string(u), 5);
    ASSERT_TRUE(r.ok());
    const auto& mine = s.user_genres[static_cast<size_t>(u)];
    for (const auto& [v, score] : *r) {
      const auto& theirs = s.user_genres[static_cast<size_t>(s.data.users->Find(v))];
      shared += std::find(theirs.begin(), theirs.end(), mine[0]) != theirs.end() ||
                std::find(mine.begin(), mine.end(), theirs[0]) != mine.end();
    }
  }
  EXPECT_GT(shared, 50 * 5 * 7 / 10);
}

TEST(RecommendModels, LatestRanksTheNewestItemsFirst) {
  const Context ctx = Ctx();
  InteractionsBuilder b;
  b.Add("u1", "old", 1, 1000);
  b.Add("u2", "old", 1, 5000);
  b.Add("u1", "mid", 1, 3000);
  b.Add("u2", "new", 1, 4000);
  const Interactions data = b.Finish();
  auto m = MakeModel("latest");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Fit(ctx, data, Catalog{}).ok());
  const Recommender rec(std::move(*m), data, Catalog{}, {});
  Request req;
  req.exclude_seen = false;
  auto r = rec.Recommend(HistoryOf(data, 0), req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(rec.items().Key((*r)[0].item), "new");
  EXPECT_EQ(rec.items().Key((*r)[1].item), "mid");
  EXPECT_EQ(rec.items().Key((*r)[2].item), "old");
  EXPECT_EQ(rec.ReasonText((*r)[0].reason), "new in the catalog");
}

TEST(RecommendServe, EaseStatesItsItemLimit) {
  const Context ctx = Ctx();
  const SyntheticData s = Taste(200, 300);
  auto m = MakeModel("ease", {{"max_items", 100}});
  ASSERT_TRUE(m.ok());
  Status st = (*m)->Fit(ctx, s.data, s.catalog);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("max_items"), std::string::npos);
  EXPECT_FALSE(MakeModel("nope").ok());
}

TEST(RecommendTune, PicksOnValidationAndBeatsPopularity) {
  const Context ctx = Ctx();
  const SyntheticData s = Taste(1000, 400);
  auto split = SplitInteractions(s.data, RandomHoldout());
  ASSERT_TRUE(split.ok());
  TuneOptions to;
  to.models = {"popular", "itemknn", "ease"};
  to.grid_points = 3;
  to.split.protocol = "random";
  auto tuned = Tune(ctx, split->train, s.catalog, to);
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  EXPECT_NE(tuned->report["selected"], "popular");
  EXPECT_GT(tuned->report["validation_ndcg@10"].get<double>(), 0.0);
  auto pop = MakeModel("popular");
  ASSERT_TRUE((*pop)->Fit(ctx, split->train, s.catalog).ok());
  EvalOptions eo;
  auto a = Evaluate(ctx, *tuned->model, split->train, split->test, eo);
  auto b = Evaluate(ctx, **pop, split->train, split->test, eo);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT((*a)["ndcg@10"], 1.5 * (*b)["ndcg@10"]);
}

}  // namespace
}  // namespace opspilot::recommend
