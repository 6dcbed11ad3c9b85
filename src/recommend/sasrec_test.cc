// SASRec: users walk a hidden directed chain of items, so the next item is
// the successor of the latest one. Co-occurrence sees an item's successor as
// often as its predecessor; only a model that reads the order can tell which
// one comes next.
#include "recommend/sasrec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "recommend/recommend.h"
#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::recommend {
namespace {

struct Walks {
  Interactions data;
  std::vector<int32_t> next;  // the chain: successor of each item code
};

// `users` walks of 40..80 steps over `items` items arranged in one hidden
// cycle: each step goes to the current item's successor with probability
// 0.8, else to a uniformly random item (so every item is equally popular).
// A history is then a dozen runs along the cycle, and co-occurrence ranks
// the items next to every run alike: only the last run's end is next.
Walks ChainWalks(int users, int items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> cycle(static_cast<size_t>(items));
  for (int i = 0; i < items; ++i) cycle[static_cast<size_t>(i)] = i;
  std::shuffle(cycle.begin(), cycle.end(), rng);
  Walks w;
  w.next.resize(static_cast<size_t>(items));
  for (int k = 0; k < items; ++k) {
    w.next[static_cast<size_t>(cycle[static_cast<size_t>(k)])] =
        cycle[static_cast<size_t>((k + 1) % items)];
  }
  auto item_ids = std::make_shared<Dictionary>();
  for (int i = 0; i < items; ++i) item_ids->Intern(std::to_string(i));  // code i is item i
  InteractionsBuilder b(nullptr, item_ids);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int u = 0; u < users; ++u) {
    const std::string user = std::to_string(u);
    const int steps = 40 + static_cast<int>(rng() % 41);
    auto item = static_cast<int32_t>(rng() % static_cast<uint64_t>(items));
    for (int t = 0; t < steps; ++t) {
      b.Add(user, std::to_string(item), 1, 1700000000 + 3600 * t);
      item = unit(rng) < 0.8 ? w.next[static_cast<size_t>(item)]
                             : static_cast<int32_t>(rng() % static_cast<uint64_t>(items));
    }
  }
  w.data = b.Finish();
  return w;
}

std::unique_ptr<Model> Make(const std::string& name, const nlohmann::json& params = {}) {
  RegisterTorchModels();
  auto m = MakeModel(name, params);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

double HitRate(const Context& ctx, Model& model, const Split& split) {
  Status fit = model.Fit(ctx, split.train, Catalog());
  EXPECT_TRUE(fit.ok()) << model.name() << ": " << fit.ToString();
  auto metrics = Evaluate(ctx, model, split.train, split.test, EvalOptions());
  EXPECT_TRUE(metrics.ok()) << metrics.status().ToString();
  return metrics.ok() ? metrics->at("hr@10") : 0;
}

TEST(SasRecTest, PredictsTheNextItemOfAChainWhereCoOccurrenceCannot) {
  Context ctx(testing::QuietOptions());
  const Walks walks = ChainWalks(500, 200, 3);
  SplitOptions so;
  so.protocol = "loo";
  so.validation = false;  // the test item follows the last train item directly
  auto split = SplitInteractions(walks.data, so);
  ASSERT_TRUE(split.ok()) << split.status().ToString();

  const double popular = HitRate(ctx, *Make("popular"), *split);
  const double itemknn = HitRate(ctx, *Make("itemknn"), *split);
  auto sasrec = Make("sasrec");
  const double hr = HitRate(ctx, *sasrec, *split);
  RecordProperty("hr10_popular", std::to_string(popular));
  RecordProperty("hr10_itemknn", std::to_string(itemknn));
  RecordProperty("hr10_sasrec", std::to_string(hr));
  // About 80% of the test items are the chain successor of the last item.
  EXPECT_GT(hr, 0.7) << "sasrec " << hr << " popular " << popular << " itemknn " << itemknn;
  EXPECT_GT(hr, popular + 0.6) << "sasrec " << hr << " popular " << popular;
  EXPECT_GT(hr, itemknn + 0.35) << "sasrec " << hr << " itemknn " << itemknn;
  EXPECT_GT(sasrec->fit_flops(), 0);

  // The reason for the successor of the latest item is that item.
  const History h = HistoryOf(split->train, 0);
  ASSERT_FALSE(h.empty());
  const Reason r = sasrec->Explain(h, walks.next[static_cast<size_t>(h.items.back())]);
  EXPECT_EQ(r.source, "sasrec");
  EXPECT_EQ(r.kind, "next_in_sequence");
  EXPECT_EQ(r.because, h.items.back());
}

TEST(SasRecTest, BinaryCrossEntropyAndSampledSoftmaxLearnTheChainToo) {
  Context ctx(testing::QuietOptions());
  const Walks walks = ChainWalks(300, 100, 5);
  SplitOptions so;
  so.validation = false;
  auto split = SplitInteractions(walks.data, so);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  const double bce = HitRate(ctx, *Make("sasrec", {{"loss", "bce"}, {"epochs", 15}}), *split);
  const double sampled = HitRate(ctx, *Make("sasrec", {{"negatives", 20}, {"epochs", 15}}), *split);
  RecordProperty("hr10_bce", std::to_string(bce));
  RecordProperty("hr10_sampled", std::to_string(sampled));
  EXPECT_GT(bce, 0.6);
  EXPECT_GT(sampled, 0.6);
}

TEST(SasRecTest, SaveLoadKeepsScoresAndScoringIsThreadSafe) {
  Context ctx(testing::QuietOptions());
  const Walks walks = ChainWalks(100, 40, 9);
  auto model = Make("sasrec", {{"epochs", 2}, {"dim", 16}, {"max_len", 20}, {"heads", 2}});
  ASSERT_TRUE(model->Fit(ctx, walks.data, Catalog()).ok());
  testing::TempDir dir;
  ASSERT_TRUE(model->Save(dir.path()).ok());
  auto loaded = Make("sasrec");
  Status st = loaded->Load(dir.path());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded->params(), model->params());

  int dim = 0, loaded_dim = 0;
  const float* e = model->ItemEmbeddings(&dim);
  const float* le = loaded->ItemEmbeddings(&loaded_dim);
  ASSERT_NE(e, nullptr);
  ASSERT_NE(le, nullptr);
  ASSERT_EQ(dim, 16);
  ASSERT_EQ(loaded_dim, 16);
  EXPECT_EQ(std::vector<float>(e, e + 40 * dim), std::vector<float>(le, le + 40 * dim));

  std::vector<std::vector<float>> expected;
  for (int32_t u = 0; u < 8; ++u) {
    const History h = HistoryOf(walks.data, u);
    std::vector<float> a(40), b(40);
    model->Score(h, a);
    loaded->Score(h, b);
    EXPECT_EQ(a, b) << "user " << u;
    // The scores are the user embedding against the item embeddings.
    std::vector<float> user;
    ASSERT_TRUE(loaded->UserEmbedding(h, &user));
    ASSERT_EQ(user.size(), 16u);
    float dot = 0;
    for (int d = 0; d < dim; ++d) dot += user[static_cast<size_t>(d)] * le[7 * dim + d];
    EXPECT_NEAR(dot, b[7], 1e-4 * (1 + std::abs(dot)));
    expected.push_back(b);
  }

  // Concurrent scoring from four threads gives the serial answers.
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> s(40);
      for (int rep = 0; rep < 20; ++rep) {
        for (int32_t u = 0; u < 8; ++u) {
          loaded->Score(HistoryOf(walks.data, u), s);
          mismatches[static_cast<size_t>(t)] += s != expected[static_cast<size_t>(u)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);

  // A grown catalog: items the model never saw get -inf; an empty history
  // still scores every known item.
  std::vector<float> wide(45);
  loaded->Score(History(), wide);
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(std::isfinite(wide[static_cast<size_t>(i)])) << i;
  for (int i = 40; i < 45; ++i) EXPECT_EQ(wide[static_cast<size_t>(i)], -INFINITY) << i;
}

TEST(SasRecTest, RejectsBadParamsAndBadDirectories) {
  RegisterTorchModels();
  EXPECT_EQ(MakeModel("sasrec", {{"heads", 3}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeModel("sasrec", {{"loss", "hinge"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeModel("sasrec", {{"max_len", "long"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeModel("sasrec", {{"hidden", 64}}).status().code(), StatusCode::kInvalidArgument);
  auto m = Make("sasrec");
  testing::TempDir dir;
  EXPECT_EQ(m->Save(dir.path()).code(), StatusCode::kFailedPrecondition);  // not fitted
  EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kNotFound);
  dir.Write("sasrec_params.json", "{\"num_items\": 5, \"dim\": ");
  EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kInvalidArgument);
  dir.Write("sasrec_params.json", "{\"num_items\": 5}");
  EXPECT_EQ(m->Load(dir.path()).code(), StatusCode::kInvalidArgument);  // no weights
  std::vector<float> s(5);
  m->Score(History(), s);  // unfitted: nothing known
  EXPECT_EQ(s[0], -INFINITY);
}

}  // namespace
}  // namespace opspilot::recommend
