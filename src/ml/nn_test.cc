// The libtorch layer: each block must learn the structure planted for it,
// and a model that cannot see that structure must fail on the same data.
#include "ml/nn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/context.h"
#include "testing/temp_dir.h"

namespace opspilot::ml::nn {
namespace {

double Accuracy(const torch::Tensor& logits, const torch::Tensor& y) {
  return logits.argmax(1).eq(y).to(torch::kDouble).mean().item<double>();
}

// Points in [-1, 1]^2, class 1 inside the circle of radius 0.7: not linearly separable.
TensorData Circles(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  auto x = torch::empty({n, 2});
  auto y = torch::empty({n}, torch::kLong);
  for (int i = 0; i < n; ++i) {
    const float a = u(rng), b = u(rng);
    x[i][0] = a;
    x[i][1] = b;
    y[i] = static_cast<int64_t>(a * a + b * b < 0.49f);
  }
  return {x, y};
}

TEST(NnTest, MlpSeparatesCirclesDeterministically) {
  Context ctx(testing::QuietOptions());
  TensorData train = Circles(2000, 1), valid = Circles(500, 2), test = Circles(1000, 3);
  TrainerOptions o;
  o.epochs = 40;
  o.learning_rate = 0.01;
  o.early_stopping_patience = 0;
  auto run = [&](std::vector<double>* losses) {
    SetUpTorch(ctx);  // before construction: initial weights follow the seed
    Mlp mlp(MlpOptions{2, 2, {32, 32}, 0.0, "none"});
    auto fwd = [&](const torch::Tensor& x) { return mlp->forward(x); };
    auto log = Train(ctx, *mlp, fwd, train, &valid, LossKind::kCrossEntropy, o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    for (const auto& e : log->epochs) losses->push_back(e.train_loss);
    return Accuracy(Predict(*mlp, fwd, test.x), test.y);
  };
  std::vector<double> l1, l2;
  const double acc = run(&l1);
  EXPECT_GT(acc, 0.95);
  run(&l2);
  EXPECT_EQ(l1, l2) << "same seed and threads must give the same training";
}

// Sequences holding tokens 1 and 2 once each among noise tokens; class 1 iff
// 1 comes before 2. Both classes have the same bag of tokens.
TensorData Order(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  constexpr int kMaxLen = 12;
  auto x = torch::zeros({n, kMaxLen}, torch::kLong);
  auto y = torch::empty({n}, torch::kLong);
  for (int i = 0; i < n; ++i) {
    const int len = 6 + static_cast<int>(rng() % 7);
    std::vector<int64_t> seq;
    for (int k = 0; k < len - 2; ++k) seq.push_back(3 + static_cast<int64_t>(rng() % 17));
    const auto pa = static_cast<long>(rng() % (seq.size() + 1));
    seq.insert(seq.begin() + pa, 1);
    const auto pb = static_cast<long>(rng() % (seq.size() + 1));
    seq.insert(seq.begin() + pb, 2);
    int64_t a = 0, b = 0;
    for (size_t k = 0; k < seq.size(); ++k) {
      x[i][static_cast<int64_t>(k)] = seq[k];
      if (seq[k] == 1) a = static_cast<int64_t>(k);
      if (seq[k] == 2) b = static_cast<int64_t>(k);
    }
    y[i] = static_cast<int64_t>(a < b);
  }
  return {x, y};
}

template <typename Encoder>
double TrainOrder(Encoder enc, int64_t dim, int epochs) {
  Context ctx(testing::QuietOptions());
  TensorData train = Order(4000, 11), valid = Order(500, 12), test = Order(1000, 13);
  torch::nn::Linear head(dim, 2);
  enc->register_module("head", head);
  auto fwd = [&](const torch::Tensor& x) { return head->forward(enc->forward(x)); };
  TrainerOptions o;
  o.epochs = epochs;
  o.learning_rate = 3e-3;
  o.batch_size = 64;
  o.early_stopping_patience = 0;
  auto log = Train(ctx, *enc, fwd, train, &valid, LossKind::kCrossEntropy, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return Accuracy(Predict(*enc, fwd, test.x), test.y);
}

TEST(NnTest, LstmAndTransformerLearnAnOrderRuleABagCannot) {
  SequenceOptions so;
  so.vocab = 20;
  so.dim = 32;
  so.layers = 1;
  so.heads = 2;
  so.feed_forward = 64;
  so.dropout = 0.0;
  so.max_len = 12;
  const double bag = TrainOrder(BagOfEmbeddings(so), so.dim, 6);
  const double lstm = TrainOrder(RnnNet(so, false), so.dim, 12);
  const double transformer = TrainOrder(TransformerEncoderNet(so), so.dim, 12);
  EXPECT_LT(bag, 0.6) << "a bag of tokens cannot see order";
  EXPECT_GT(lstm, 0.9);
  EXPECT_GT(transformer, 0.9);
}

TEST(NnTest, Cnn2dSeparatesBarOrientations) {
  Context ctx(testing::QuietOptions());
  auto make = [](int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g(0, 0.5f);
    auto x = torch::empty({n, 1, 12, 12});
    auto y = torch::empty({n}, torch::kLong);
    auto acc = x.accessor<float, 4>();
    for (int i = 0; i < n; ++i) {
      const bool vertical = rng() % 2;
      const int at = static_cast<int>(rng() % 12);
      for (int r = 0; r < 12; ++r) {
        for (int c = 0; c < 12; ++c) acc[i][0][r][c] = g(rng) + ((vertical ? c : r) == at ? 1.5f : 0.f);
      }
      y[i] = static_cast<int64_t>(vertical);
    }
    return TensorData{x, y};
  };
  TensorData train = make(1500, 1), test = make(500, 2);
  Cnn2d cnn(1, 8, 16);
  torch::nn::Linear head(16, 2);
  cnn->register_module("head", head);
  auto fwd = [&](const torch::Tensor& x) { return head->forward(cnn->forward(x)); };
  TrainerOptions o;
  o.epochs = 10;
  o.learning_rate = 0.01;
  ASSERT_TRUE(Train(ctx, *cnn, fwd, train, nullptr, LossKind::kCrossEntropy, o).ok());
  EXPECT_GT(Accuracy(Predict(*cnn, fwd, test.x), test.y), 0.95);
}

TEST(NnTest, EarlyStoppingRestoresTheBestEpoch) {
  Context ctx(testing::QuietOptions());
  // Labels are noise: validation loss rises once the network memorises.
  TensorData train = Circles(200, 5), valid = Circles(200, 6);
  train.y = torch::randint(0, 2, {200}, torch::kLong);
  Mlp mlp(MlpOptions{2, 2, {256, 256}, 0.0, "none"});
  auto fwd = [&](const torch::Tensor& x) { return mlp->forward(x); };
  TrainerOptions o;
  o.epochs = 200;
  o.learning_rate = 0.01;
  o.early_stopping_patience = 5;
  auto log = Train(ctx, *mlp, fwd, train, &valid, LossKind::kCrossEntropy, o);
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->stopped_early);
  EXPECT_EQ(static_cast<int>(log->epochs.size()), log->best_epoch + o.early_stopping_patience);
  // The weights kept are the best epoch's: evaluating them gives its loss.
  auto out = Predict(*mlp, fwd, valid.x);
  const double loss = torch::nn::functional::cross_entropy(out, valid.y).item<double>();
  EXPECT_NEAR(loss, log->best_valid_loss, 1e-4);
  EXPECT_LT(loss, log->epochs.back().valid_loss);
}

TEST(NnTest, ClassWeightsAndOversamplingRaiseMinorityRecall) {
  Context ctx(testing::QuietOptions());
  std::mt19937_64 rng(9);
  std::normal_distribution<float> g(0, 1);
  auto make = [&](int n) {
    auto x = torch::empty({n, 2});
    auto y = torch::empty({n}, torch::kLong);
    for (int i = 0; i < n; ++i) {
      const bool minority = rng() % 20 == 0;
      x[i][0] = g(rng) + (minority ? 1.5f : 0.f);
      x[i][1] = g(rng);
      y[i] = static_cast<int64_t>(minority);
    }
    return TensorData{x, y};
  };
  TensorData train = make(4000), test = make(4000);
  auto recall = [&](const std::string& cw, bool oversample) {
    Mlp mlp(MlpOptions{2, 2, {16}, 0.0, "none"});
    auto fwd = [&](const torch::Tensor& x) { return mlp->forward(x); };
    TrainerOptions o;
    o.epochs = 8;
    o.learning_rate = 0.01;
    o.class_weight = cw;
    o.oversample = oversample;
    EXPECT_TRUE(Train(ctx, *mlp, fwd, train, nullptr, LossKind::kCrossEntropy, o).ok());
    auto pred = Predict(*mlp, fwd, test.x).argmax(1);
    auto pos = test.y.eq(1);
    return pred.masked_select(pos).eq(1).to(torch::kDouble).mean().item<double>();
  };
  const double plain = recall("", false);
  EXPECT_GT(recall("balanced", false), plain + 0.3);
  EXPECT_GT(recall("", true), plain + 0.3);
}

TEST(NnTest, SchedulesFollowTheirShape) {
  Context ctx(testing::QuietOptions(1));
  TensorData d = Circles(64, 1);
  Mlp mlp(MlpOptions{2, 2, {4}, 0.0, "none"});
  auto fwd = [&](const torch::Tensor& x) { return mlp->forward(x); };
  TrainerOptions o;
  o.epochs = 10;
  o.learning_rate = 0.1;
  o.schedule = ScheduleKind::kWarmupCosine;
  o.warmup_epochs = 2;
  auto log = Train(ctx, *mlp, fwd, d, nullptr, LossKind::kCrossEntropy, o);
  ASSERT_TRUE(log.ok());
  EXPECT_LT(log->epochs[0].learning_rate, log->epochs[1].learning_rate);
  EXPECT_NEAR(log->epochs[2].learning_rate, 0.1, 1e-12);
  EXPECT_LT(log->epochs[9].learning_rate, 0.02);
  o.schedule = ScheduleKind::kStep;
  o.step_epochs = 3;
  log = Train(ctx, *mlp, fwd, d, nullptr, LossKind::kCrossEntropy, o);
  EXPECT_NEAR(log->epochs[3].learning_rate, 0.05, 1e-12);
  EXPECT_NEAR(log->epochs[9].learning_rate, 0.0125, 1e-12);
  o.learning_rate = -1;
  EXPECT_FALSE(Train(ctx, *mlp, fwd, d, nullptr, LossKind::kCrossEntropy, o).ok());
}

TEST(NnTest, RegressionSaveLoadAndIntegratedGradients) {
  Context ctx(testing::QuietOptions());
  auto x = torch::rand({1000, 3}) * 2 - 1;
  auto y = (x.select(1, 0) * 2 - x.select(1, 2)).unsqueeze(1);  // ignores feature 1
  Mlp mlp(MlpOptions{3, 1, {32}, 0.0, "layer"});
  auto fwd = [&](const torch::Tensor& t) { return mlp->forward(t); };
  TrainerOptions o;
  o.epochs = 30;
  o.learning_rate = 0.01;
  TensorData d{x, y};
  ASSERT_TRUE(Train(ctx, *mlp, fwd, d, nullptr, LossKind::kMse, o).ok());
  EXPECT_LT(torch::mse_loss(Predict(*mlp, fwd, x), y).item<double>(), 0.01);
  // The model stays on the Context's device (a GPU under OPSPILOT_DEVICE=cuda).
  const torch::Device device = mlp->parameters()[0].device();
  EXPECT_EQ(device.type(), DeviceOf(ctx)->type());

  // The file holds CPU tensors: it loads into a CPU module and stays there.
  testing::TempDir dir;
  ASSERT_TRUE(SaveModule(*mlp, dir.file("w.pt")).ok());
  EXPECT_EQ(mlp->parameters()[0].device(), device);
  Mlp again(MlpOptions{3, 1, {32}, 0.0, "layer"});
  ASSERT_TRUE(LoadModule(*again, dir.file("w.pt")).ok());
  EXPECT_TRUE(again->parameters()[0].device().is_cpu());
  auto fwd2 = [&](const torch::Tensor& t) { return again->forward(t); };
  EXPECT_TRUE(torch::allclose(Predict(*again, fwd2, x), Predict(*mlp, fwd, x), 1e-4, 1e-5));  // CPU vs GPU sums
  EXPECT_FALSE(LoadModule(*again, dir.file("missing.pt")).ok());

  // Attributions: completeness, and the ignored feature gets almost nothing.
  auto input = torch::tensor({{0.8f, 0.9f, -0.6f}});
  auto base = torch::zeros({1, 3});
  auto attr = IntegratedGradients(fwd, input.to(device), base.to(device), 0, 128);
  const double gap = (fwd(input.to(device)) - fwd(base.to(device))).item<double>();
  EXPECT_NEAR(attr.sum().item<double>(), gap, 0.02);
  EXPECT_LT(std::abs(attr[0][1].item<double>()), 0.1 * std::abs(attr[0][0].item<double>()));
  // For a linear map IG is exact: (x - baseline) * w.
  torch::nn::Linear lin(3, 2);
  auto lf = [&](const torch::Tensor& t) { return lin->forward(t); };
  auto exact = (input - base) * lin->weight[1].detach();
  EXPECT_TRUE(torch::allclose(IntegratedGradients(lf, input, base, 1, 4), exact, 1e-5, 1e-6));
}

TEST(NnTest, LoadsATorchScriptModule) {
  Context ctx(testing::QuietOptions());
  testing::TempDir dir;
  torch::jit::Module m("Doubler");
  m.register_parameter("scale", torch::tensor({2.0f}), false);
  m.define(R"(
def forward(self, x):
    return x * self.scale + 1
)");
  m.save(dir.file("m.pt"));
  auto loaded = LoadTorchScript(dir.file("m.pt"), ctx);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  // Loaded onto the Context's device: the input goes there, the output comes back.
  const torch::Device device = *DeviceOf(ctx);
  EXPECT_EQ(loaded->attr("scale").toTensor().device().type(), device.type());
  auto out = loaded->forward({torch::tensor({1.0f, 3.0f}).to(device)}).toTensor().to(torch::kCPU);
  EXPECT_TRUE(torch::allclose(out, torch::tensor({3.0f, 7.0f})));
  EXPECT_EQ(LoadTorchScript(dir.file("nope.pt"), ctx).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace opspilot::ml::nn
