// The "mlp" ranker: planted taste (users keep to one or two genres, the
// catalog's categories) must lift it far above popularity; a planted budget
// (users never buy above a price of their own) must be read from the
// catalog's prices; saved models score as the fitted one did.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <thread>

#include "recommend/recommend.h"
#include "recommend/sasrec.h"
#include "recommend/synthetic.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::recommend {
namespace {

std::unique_ptr<Model> Make(const std::string& name, const nlohmann::json& params = {}) {
  RegisterTorchModels();
  auto m = MakeModel(name, params);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

Split RandomSplit(const Interactions& data) {
  SplitOptions so;
  so.protocol = "random";
  so.validation = false;
  so.test_fraction = 0.2;
  auto split = SplitInteractions(data, so);
  EXPECT_TRUE(split.ok()) << split.status().ToString();
  return std::move(split).value();
}

double Recall(const Context& ctx, Model& model, const Split& split, const Catalog& catalog) {
  Status fit = model.Fit(ctx, split.train, catalog);
  EXPECT_TRUE(fit.ok()) << model.name() << ": " << fit.ToString();
  auto metrics = Evaluate(ctx, model, split.train, split.test, EvalOptions());
  EXPECT_TRUE(metrics.ok()) << metrics.status().ToString();
  return metrics.ok() ? metrics->at("recall@10") : 0;
}

std::vector<int32_t> Top(const Model& model, const History& h, int32_t num_items, size_t k) {
  std::vector<float> s(static_cast<size_t>(num_items));
  model.Score(h, s);
  for (int32_t i : h.items) s[static_cast<size_t>(i)] = -INFINITY;
  std::vector<int32_t> idx(s.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
  std::partial_sort(
      idx.begin(), idx.begin() + static_cast<ptrdiff_t>(k), idx.end(),
      [&](int32_t a, int32_t b) { return s[static_cast<size_t>(a)] > s[static_cast<size_t>(b)]; });
  idx.resize(k);
  return idx;
}

// The genre with the largest share of the latest 50 items, weighted by
// recency as the model weighs them (half-life 25 items).
int TopGenre(const SyntheticData& s, const History& h) {
  std::vector<double> share(
      static_cast<size_t>(*std::max_element(s.item_genre.begin(), s.item_genre.end())) + 1, 0);
  for (size_t age = 0; age < std::min<size_t>(50, h.size()); ++age) {
    const int32_t item = h.items[h.size() - 1 - age];
    share[static_cast<size_t>(s.item_genre[static_cast<size_t>(item)])] +=
        std::exp2(-static_cast<double>(age) / 25);
  }
  return static_cast<int>(std::max_element(share.begin(), share.end()) - share.begin());
}

SyntheticOptions TasteOptions() {
  SyntheticOptions so;
  so.users = 800;
  so.items = 400;
  so.genres = 12;
  so.mean_items_per_user = 40;
  so.seed = 11;
  return so;
}

TEST(MlpRankerTest, LearnsPlantedTasteFarBeyondPopularity) {
  Context ctx(testing::QuietOptions(1));
  const SyntheticData s = GenerateTaste(TasteOptions());
  const Split split = RandomSplit(s.data);

  const double popular = Recall(ctx, *Make("popular"), split, s.catalog);
  const double ease = Recall(ctx, *Make("ease"), split, s.catalog);
  auto mlp = Make("mlp", {{"epochs", 8}});
  const double recall = Recall(ctx, *mlp, split, s.catalog);
  RecordProperty("recall10_popular", std::to_string(popular));
  RecordProperty("recall10_ease", std::to_string(ease));
  RecordProperty("recall10_mlp", std::to_string(recall));
  EXPECT_GT(recall, popular + 0.15)
      << "mlp " << recall << " popular " << popular << " ease " << ease;
  EXPECT_GT(recall, 0.8 * ease) << "mlp " << recall << " ease " << ease;
  EXPECT_GT(mlp->fit_flops(), 0);

  // The top items keep to the planted genres (a fifth of the data follows
  // global popularity instead, more for long histories that run out of
  // genre items), and the reasons point at the history or at the user's
  // top category.
  int in_genre = 0, total = 0, by_category = 0;
  for (int32_t u = 0; u < 40; ++u) {
    const History h = HistoryOf(split.train, u);
    const auto& genres = s.user_genres[static_cast<size_t>(u)];
    const std::vector<int32_t> top = Top(*mlp, h, s.data.num_items(), 10);
    const std::vector<Reason> reasons = mlp->ExplainMany(h, top);
    ASSERT_EQ(reasons.size(), top.size());
    for (size_t k = 0; k < top.size(); ++k) {
      const int32_t item = top[k];
      const int g = s.item_genre[static_cast<size_t>(item)];
      in_genre += std::find(genres.begin(), genres.end(), g) != genres.end();
      ++total;
      const Reason r = mlp->Explain(h, item);
      EXPECT_EQ(r.kind, reasons[k].kind) << "user " << u << " item " << item;
      EXPECT_EQ(r.because, reasons[k].because) << "user " << u << " item " << item;
      EXPECT_EQ(r.source, "mlp");
      if (r.kind == "also_liked") {
        EXPECT_NE(std::find(h.items.begin(), h.items.end(), r.because), h.items.end())
            << "user " << u;
      } else {
        EXPECT_EQ(r.kind, "popular_in_category") << "user " << u;
        ++by_category;
        EXPECT_EQ(r.because, -1);
        EXPECT_EQ(g, TopGenre(s, h)) << "user " << u << " item " << item;
      }
    }
  }
  RecordProperty("top10_in_genre", std::to_string(static_cast<double>(in_genre) / total));
  RecordProperty("reasons_by_category",
                 std::to_string(by_category) + " of " + std::to_string(total));
  EXPECT_GT(in_genre, 0.6 * total);
  EXPECT_EQ(mlp->Explain(History(), 0).kind, "popular");
}

TEST(MlpRankerTest, LearnsTasteFromItemEmbeddingsWithoutACatalog) {
  Context ctx(testing::QuietOptions(1));
  const SyntheticData s = GenerateTaste(TasteOptions());
  const Split split = RandomSplit(s.data);
  const double popular = Recall(ctx, *Make("popular"), split, Catalog());
  // Item embeddings alone: from small random ones (init "random") the fit
  // stops on the plateau before the product block learns taste, near popular.
  const double recall = Recall(ctx, *Make("mlp", {{"epochs", 8}}), split, Catalog());
  RecordProperty("recall10_mlp_no_catalog", std::to_string(recall));
  EXPECT_GT(recall, popular + 0.1) << "mlp " << recall << " popular " << popular;
}

// Items get log-uniform prices; a third of the users buy nothing above the
// 30% price quantile, a third nothing above the 60% one, the rest anything.
struct Budgeted {
  SyntheticData s;
  std::vector<float> limit;  // per user
};

Budgeted Budgets() {
  SyntheticOptions so = TasteOptions();
  so.users = 800;
  so.mean_items_per_user = 60;
  Budgeted b{GenerateTaste(so), {}};
  SyntheticData& s = b.s;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  const int32_t n = s.data.num_items();
  for (int32_t i = 0; i < n; ++i) {
    s.catalog.price[static_cast<size_t>(i)] =
        static_cast<float>(5 * std::exp(unit(rng) * std::log(40.0)));
  }
  std::vector<float> sorted = s.catalog.price;
  std::sort(sorted.begin(), sorted.end());
  InteractionsBuilder builder(s.data.users, s.data.items);
  for (int32_t u = 0; u < s.data.num_users(); ++u) {
    const int kind = static_cast<int>(rng() % 3);
    const float limit =
        kind == 2 ? INFINITY : sorted[static_cast<size_t>((kind == 0 ? 0.3 : 0.6) * n)];
    b.limit.push_back(limit);
    for (int64_t k = s.data.begin[static_cast<size_t>(u)];
         k < s.data.begin[static_cast<size_t>(u) + 1]; ++k) {
      const int32_t item = s.data.item[static_cast<size_t>(k)];
      if (s.catalog.price[static_cast<size_t>(item)] <= limit) {
        builder.Add(u, item, 1, s.data.time[static_cast<size_t>(k)]);
      }
    }
  }
  s.data = builder.Finish();
  return b;
}

// Over budgeted users: the share of the 10 best-scored new items priced above the user's budget.
double OverBudget(const Model& model, const Budgeted& b, const Interactions& train,
                  const std::vector<uint8_t>& fresh) {
  int over = 0, total = 0;
  std::vector<float> scores(static_cast<size_t>(train.num_items()));
  std::vector<int32_t> items;
  for (int32_t i = 0; i < train.num_items(); ++i) {
    if (fresh[static_cast<size_t>(i)]) items.push_back(i);
  }
  for (int32_t u = 0; u < train.num_users(); ++u) {
    if (std::isinf(b.limit[static_cast<size_t>(u)]) || train.begin[u + 1] == train.begin[u])
      continue;
    model.Score(HistoryOf(train, u), scores);
    std::partial_sort(items.begin(), items.begin() + 10, items.end(), [&](int32_t x, int32_t y) {
      return scores[static_cast<size_t>(x)] > scores[static_cast<size_t>(y)];
    });
    for (size_t k = 0; k < 10; ++k) {
      over += b.s.catalog.price[static_cast<size_t>(items[k])] > b.limit[static_cast<size_t>(u)];
      ++total;
    }
  }
  return static_cast<double>(over) / std::max(total, 1);
}

// Items with interactions teach their price range through co-occurrence
// alone; items new to the model (none of their interactions trained on)
// can only be placed by what the catalog says of them.
TEST(MlpRankerTest, PlacesNewItemsWithinTheUsersBudgetByCatalogPrice) {
  Context ctx(testing::QuietOptions(1));
  const Budgeted b = Budgets();
  const Interactions& data = b.s.data;
  std::vector<uint8_t> fresh(static_cast<size_t>(data.num_items()), 0);
  for (size_t i = 0; i < fresh.size(); i += 5) fresh[i] = 1;
  InteractionsBuilder builder(data.users, data.items);
  for (int32_t u = 0; u < data.num_users(); ++u) {
    for (int64_t k = data.begin[static_cast<size_t>(u)]; k < data.begin[static_cast<size_t>(u) + 1];
         ++k) {
      const int32_t item = data.item[static_cast<size_t>(k)];
      if (!fresh[static_cast<size_t>(item)])
        builder.Add(u, item, 1, data.time[static_cast<size_t>(k)]);
    }
  }
  const Interactions train = builder.Finish();
  Catalog unpriced = b.s.catalog;
  std::fill(unpriced.price.begin(), unpriced.price.end(), NAN);
  const nlohmann::json params = {{"epochs", 8}};
  auto priced = Make("mlp", params), blind = Make("mlp", params);
  ASSERT_TRUE(priced->Fit(ctx, train, b.s.catalog).ok());
  ASSERT_TRUE(blind->Fit(ctx, train, unpriced).ok());
  const double over_priced = OverBudget(*priced, b, train, fresh);
  const double over_blind = OverBudget(*blind, b, train, fresh);
  RecordProperty("new_items_over_budget_prices", std::to_string(over_priced));
  RecordProperty("new_items_over_budget_no_prices", std::to_string(over_blind));
  // Blind to prices, about the share of new items above the budgets (55%).
  EXPECT_GT(over_blind, 0.3);
  EXPECT_LT(over_priced, 0.5 * over_blind)
      << "with prices " << over_priced << " without " << over_blind;
}

TEST(MlpRankerTest, SaveLoadKeepsScoresAndScoringIsThreadSafe) {
  Context ctx(testing::QuietOptions(1));
  SyntheticOptions so;
  so.users = 150;
  so.items = 60;
  so.genres = 4;
  so.mean_items_per_user = 12;
  SyntheticData s = GenerateTaste(so);
  for (size_t i = 0; i < s.catalog.price.size(); i += 2) s.catalog.price[i] = static_cast<float>(i);
  const nlohmann::json params = {{"epochs", 2}, {"dim", 8}, {"hidden", {16, 8}}, {"recent", 10}};
  auto model = Make("mlp", params);
  ASSERT_TRUE(model->Fit(ctx, s.data, s.catalog).ok());
  // The same seed and thread count give the same model on the CPU; a GPU's
  // parallel gradient sums are reproducible only to rounding.
  auto again = Make("mlp", params);
  ASSERT_TRUE(again->Fit(ctx, s.data, s.catalog).ok());
  std::vector<float> first(60), second(60);
  model->Score(HistoryOf(s.data, 3), first);
  again->Score(HistoryOf(s.data, 3), second);
  if (ctx.device() == "cpu") {
    EXPECT_EQ(first, second);
  } else {
    for (size_t i = 0; i < first.size(); ++i) EXPECT_NEAR(first[i], second[i], 1e-4 * (1 + std::abs(first[i])));
  }

  testing::TempDir dir;
  ASSERT_TRUE(model->Save(dir.path()).ok());
  auto loaded = Make("mlp");
  Status st = loaded->Load(dir.path());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded->params(), model->params());

  std::vector<std::vector<float>> expected;
  for (int32_t u = 0; u < 8; ++u) {
    const History h = HistoryOf(s.data, u);
    std::vector<float> a(60), b(60);
    model->Score(h, a);
    loaded->Score(h, b);
    EXPECT_EQ(a, b) << "user " << u;
    for (float x : b) EXPECT_TRUE(std::isfinite(x));
    for (int32_t item : {0, 17, 59}) {
      const Reason ra = model->Explain(h, item), rb = loaded->Explain(h, item);
      EXPECT_EQ(ra.kind, rb.kind);
      EXPECT_EQ(ra.because, rb.because);
    }
    expected.push_back(b);
  }

  // Concurrent scoring from four threads gives the serial answers.
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> sc(60);
      for (int rep = 0; rep < 20; ++rep) {
        for (int32_t u = 0; u < 8; ++u) {
          loaded->Score(HistoryOf(s.data, u), sc);
          mismatches[static_cast<size_t>(t)] += sc != expected[static_cast<size_t>(u)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);

  // A grown catalog: items the model never saw get -inf, and so do history
  // items it never saw (skipped); a shorter span gets the first items.
  History h = HistoryOf(s.data, 0);
  std::vector<float> wide(65), narrow(30);
  h.items.push_back(63);
  h.weights.push_back(1);
  loaded->Score(h, wide);
  loaded->Score(h, narrow);
  for (int i = 0; i < 60; ++i)
    EXPECT_EQ(wide[static_cast<size_t>(i)], expected[0][static_cast<size_t>(i)]) << i;
  for (int i = 60; i < 65; ++i) EXPECT_EQ(wide[static_cast<size_t>(i)], -INFINITY) << i;
  EXPECT_EQ(narrow, std::vector<float>(expected[0].begin(), expected[0].begin() + 30));
  // No history: popularity, finite for every known item.
  loaded->Score(History(), wide);
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(std::isfinite(wide[static_cast<size_t>(i)])) << i;
}

TEST(MlpRankerTest, RejectsBadParamsAndBadDirectories) {
  RegisterTorchModels();
  for (const nlohmann::json& bad :
       {nlohmann::json{{"hidden", nlohmann::json::array()}}, nlohmann::json{{"hidden", {64, 0}}},
        nlohmann::json{{"hidden", "wide"}}, nlohmann::json{{"sampling", "hard"}},
        nlohmann::json{{"negatives", 0}}, nlohmann::json{{"recent", 0}},
        nlohmann::json{{"half_life", -1}}, nlohmann::json{{"layers", 2}},
        nlohmann::json{{"dim", "big"}}, nlohmann::json::array()}) {
    EXPECT_EQ(MakeModel("mlp", bad).status().code(), StatusCode::kInvalidArgument) << bad.dump();
  }
  auto m = Make("mlp");
  const nlohmann::json p = m->params();
  EXPECT_EQ(p.at("recent"), 50);
  EXPECT_EQ(p.at("negatives"), 4);
  EXPECT_EQ(p.at("sampling"), "uniform");
  Context ctx(testing::QuietOptions(1));
  InteractionsBuilder one;
  one.Add("u", "a", 1, 1);
  one.Add("v", "b", 1, 2);
  EXPECT_EQ(m->Fit(ctx, one.Finish(), Catalog()).code(),
            StatusCode::kInvalidArgument);  // no targets

  testing::TempDir dir;
  EXPECT_EQ(m->Save(dir.path()).code(), StatusCode::kFailedPrecondition);  // not fitted
  EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kNotFound);
  dir.Write("mlp_params.json", "{\"num_items\": 5, \"dim\": ");
  EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kInvalidArgument);
  dir.Write("mlp_params.json", "{\"num_items\": 5, \"categories\": 1, \"prices\": 1}");
  EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kInvalidArgument);  // no weights
  std::vector<float> s(5);
  m->Score(History(), s);  // unfitted: nothing known
  EXPECT_EQ(s[0], -INFINITY);

  // Weights of another shape than the params say.
  SyntheticOptions so;
  so.users = 60;
  so.items = 30;
  so.mean_items_per_user = 8;
  const SyntheticData data = GenerateTaste(so);
  auto small = Make("mlp", {{"epochs", 1}, {"dim", 8}, {"hidden", {8}}});
  ASSERT_TRUE(small->Fit(ctx, data.data, data.catalog).ok());
  ASSERT_TRUE(small->Save(dir.path()).ok());
  nlohmann::json saved = nlohmann::json::parse(testing::ReadFile(dir.file("mlp_params.json")));
  for (const auto& [key, value] : {std::pair<std::string, nlohmann::json>{"dim", 16},
                                   {"hidden", {16}},
                                   {"hidden", {8, 8}},
                                   {"num_items", 31}}) {
    nlohmann::json edited = saved;
    edited[key] = value;
    dir.Write("mlp_params.json", edited.dump());
    EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kInvalidArgument)
        << key << " " << value.dump();
  }
  dir.Write("mlp_params.json", saved.dump());
  EXPECT_TRUE(m->Load(dir.path()).ok());
}

}  // namespace
}  // namespace opspilot::recommend
