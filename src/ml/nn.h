// The libtorch layer: building blocks, the trainer, prediction, integrated
// gradients, save/load and TorchScript loading. This header includes torch:
// include it from .cc files only (they build with a precompiled header),
// never from a public header.
//
// Shapes: tokens are int64 [N, L] with 0 as padding; images float
// [N, C, H, W]; tabular float [N, F]. Classification targets are int64 [N]
// class indexes; regression targets float [N] or [N, D].
#ifndef OPSPILOT_ML_NN_H_
#define OPSPILOT_ML_NN_H_

#include <torch/script.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/context.h"
#include "ml/neural.h"

namespace opspilot::ml::nn {

// "cpu", "cuda" or "cuda:N" from the Context; Unavailable when CUDA is asked
// for but absent.
StatusOr<torch::Device> DeviceOf(const Context& ctx);
// Where a module's weights are: its first parameter's (else buffer's) device; the CPU for none.
torch::Device DeviceOfModule(const torch::nn::Module& module);
torch::Device DeviceOfModule(const torch::jit::Module& module);
// Seeds torch's generators and sets its CPU threads from the Context. Call it
// before constructing modules so their initial weights follow the seed too.
void SetUpTorch(const Context& ctx);

// ---- Building blocks ----

struct MlpOptions {
  int64_t in = 0, out = 0;
  std::vector<int64_t> hidden = {64, 64};
  double dropout = 0;
  std::string norm = "none";  // none | batch | layer
};
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // [N, in] -> [N, out]

 private:
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(Mlp);

struct SequenceOptions {
  int64_t vocab = 0;        // token ids 1..vocab-1; 0 is padding
  int64_t dim = 64;
  int64_t max_len = 256;
  int64_t heads = 4;        // transformer
  int64_t layers = 2;
  int64_t feed_forward = 128;
  double dropout = 0.1;
  bool causal = false;      // transformer: position i attends to <= i only
  std::string pooling = "mean";  // mean | last (the last non-padding position)
};

// Token ids -> pooled [N, dim] (or per position [N, L, dim] with encode_all).
class TransformerEncoderNetImpl : public torch::nn::Module {
 public:
  explicit TransformerEncoderNetImpl(const SequenceOptions& o);
  torch::Tensor forward(const torch::Tensor& tokens);
  torch::Tensor encode_all(const torch::Tensor& tokens);

 private:
  SequenceOptions o_;
  torch::nn::Embedding tok_{nullptr}, pos_{nullptr};
  torch::nn::TransformerEncoder encoder_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(TransformerEncoderNet);

// Embedding + LSTM or GRU; the state at the last non-padding position.
class RnnNetImpl : public torch::nn::Module {
 public:
  RnnNetImpl(const SequenceOptions& o, bool gru);
  torch::Tensor forward(const torch::Tensor& tokens);  // [N, L] -> [N, dim]

 private:
  bool gru_;
  torch::nn::Embedding tok_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_net_{nullptr};
};
TORCH_MODULE(RnnNet);

// Mean of token embeddings (order-blind: the baseline sequence models must beat).
class BagOfEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BagOfEmbeddingsImpl(const SequenceOptions& o);
  torch::Tensor forward(const torch::Tensor& tokens);  // [N, L] -> [N, dim]

 private:
  torch::nn::Embedding tok_{nullptr};
};
TORCH_MODULE(BagOfEmbeddings);

// TextCNN: convolutions of several widths over token embeddings, max-pooled.
class Cnn1dImpl : public torch::nn::Module {
 public:
  Cnn1dImpl(const SequenceOptions& o, std::vector<int64_t> widths, int64_t filters);
  torch::Tensor forward(const torch::Tensor& tokens);  // [N, L] -> [N, filters * widths]
  int64_t out_dim() const { return out_dim_; }

 private:
  torch::nn::Embedding tok_{nullptr};
  torch::nn::ModuleList convs_{nullptr};
  int64_t out_dim_ = 0;
};
TORCH_MODULE(Cnn1d);

// Two conv-relu-maxpool blocks and global average pooling: [N, C, H, W] -> [N, channels2].
class Cnn2dImpl : public torch::nn::Module {
 public:
  Cnn2dImpl(int64_t in_channels, int64_t channels1, int64_t channels2);
  torch::Tensor forward(const torch::Tensor& images);

 private:
  torch::nn::Conv2d c1_{nullptr}, c2_{nullptr};
};
TORCH_MODULE(Cnn2d);

// ---- Training ----

enum class LossKind { kCrossEntropy, kMse };

struct TensorData {
  torch::Tensor x, y;  // first dimension = examples
  int64_t size() const { return x.size(0); }
};

using Forward = std::function<torch::Tensor(const torch::Tensor& x)>;

// Trains `module` (already holding its parameters) through `forward`. With
// `valid`, stops early on its loss and restores the best epoch's weights.
// Batches are shuffled by a generator seeded from the Context; on CPU the
// same seed and thread count give the same weights. The module is left on the
// Context's device.
StatusOr<TrainLog> Train(const Context& ctx, torch::nn::Module& module, const Forward& forward,
                         const TensorData& train, const TensorData* valid, LossKind loss,
                         const TrainerOptions& options);

// forward() over x in eval mode without gradients, in batches; [N, ...] out on the CPU.
torch::Tensor Predict(torch::nn::Module& module, const Forward& forward, const torch::Tensor& x,
                      int64_t batch_size = 512);

// Integrated gradients of output[:, target] with respect to a float input
// [1, ...], from `baseline` (same shape) in `steps` Riemann steps. The
// attributions sum to f(input) - f(baseline) up to the step error. input and
// baseline live on the device forward() runs on; the result is on the CPU.
torch::Tensor IntegratedGradients(const Forward& forward, const torch::Tensor& input,
                                  const torch::Tensor& baseline, int64_t target, int steps = 64);

// Weights in torch's archive format; callers store their configuration beside them.
// The file always holds CPU tensors, so a model trained on a GPU loads on a machine
// without one; LoadModule puts them on the device the module is on.
Status SaveModule(torch::nn::Module& module, const std::string& path);
Status LoadModule(torch::nn::Module& module, const std::string& path);

// A TorchScript module exported elsewhere (torch.jit.save).
StatusOr<torch::jit::Module> LoadTorchScript(const std::string& path, const Context& ctx);

}  // namespace opspilot::ml::nn

#endif  // OPSPILOT_ML_NN_H_
