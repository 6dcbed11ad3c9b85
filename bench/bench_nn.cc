// One Transformer training epoch on 2 CPU cores at a stated size, through
// the project's trainer. Peer: the same model and loop in PyTorch's Python
// API (bench/nn_peer.py, Debian python3-torch, the same libtorch 1.13).
//
//   build/bench_nn [sequences=8192] [epochs=3]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ml/nn.h"

using namespace opspilot;
using namespace opspilot::ml;

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 8192;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
  ContextOptions co;
  co.threads = 2;
  co.progress = ProgressMode::kQuiet;
  co.log.level = LogLevel::kOff;
  Context ctx(co);
  nn::SetUpTorch(ctx);
  nn::SequenceOptions so;
  so.vocab = 5000;
  so.dim = 64;
  so.heads = 4;
  so.layers = 2;
  so.feed_forward = 128;
  so.max_len = 64;
  so.dropout = 0.1;
  nn::TransformerEncoderNet enc(so);
  torch::nn::Linear head(so.dim, 2);
  enc->register_module("head", head);
  auto x = torch::randint(1, so.vocab, {n, so.max_len}, torch::kLong);
  auto y = torch::randint(0, 2, {n}, torch::kLong);
  nn::TensorData data{x, y};
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 64;
  o.learning_rate = 1e-3;
  o.early_stopping_patience = 0;
  auto fwd = [&](const torch::Tensor& t) { return head->forward(enc->forward(t)); };
  const auto t0 = std::chrono::steady_clock::now();
  auto log = nn::Train(ctx, *enc, fwd, data, nullptr, nn::LossKind::kCrossEntropy, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return 1;
  }
  int64_t params = 0;
  for (const auto& p : enc->parameters()) params += p.numel();
  std::printf("transformer: %lld sequences x %lld tokens, dim %lld, %lld layers, %lld heads, %lld parameters\n",
              static_cast<long long>(n), static_cast<long long>(so.max_len), static_cast<long long>(so.dim),
              static_cast<long long>(so.layers), static_cast<long long>(so.heads), static_cast<long long>(params));
  std::printf("opspilot_seconds_per_epoch %.2f\n", secs / epochs);
  std::printf("opspilot_sequences_per_second %.0f\n", static_cast<double>(n) * epochs / secs);
  return 0;
}
