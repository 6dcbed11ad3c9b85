#include "ml/nn.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace opspilot::ml {

Status ValidateTrainerOptions(const TrainerOptions& o) {
  if (o.epochs < 1 || o.epochs > 100000) return InvalidArgument("epochs must be 1..100000");
  if (o.batch_size < 1) return InvalidArgument("batch size must be >= 1");
  if (!(o.learning_rate > 0)) return InvalidArgument("learning rate must be > 0");
  if (o.weight_decay < 0) return InvalidArgument("weight decay must be >= 0");
  if (o.warmup_epochs < 0 || o.step_epochs < 1 || !(o.gamma > 0 && o.gamma <= 1)) {
    return InvalidArgument("schedule: warm-up >= 0, step epochs >= 1, gamma in (0, 1]");
  }
  if (o.grad_clip_norm < 0 || o.early_stopping_patience < 0) {
    return InvalidArgument("gradient clip and patience must be >= 0");
  }
  if (!o.class_weight.empty() && o.class_weight != "balanced") {
    return InvalidArgument("class weight must be empty or 'balanced'");
  }
  return Status::Ok();
}

StatusOr<OptimizerKind> ParseOptimizer(std::string_view n) {
  if (n == "adam") return OptimizerKind::kAdam;
  if (n == "adamw") return OptimizerKind::kAdamW;
  if (n == "sgd") return OptimizerKind::kSgd;
  return InvalidArgument("optimizer must be adam, adamw or sgd");
}

StatusOr<ScheduleKind> ParseSchedule(std::string_view n) {
  if (n == "constant") return ScheduleKind::kConstant;
  if (n == "cosine") return ScheduleKind::kWarmupCosine;
  if (n == "step") return ScheduleKind::kStep;
  if (n == "plateau") return ScheduleKind::kPlateau;
  return InvalidArgument("schedule must be constant, cosine, step or plateau");
}

namespace nn {

StatusOr<torch::Device> DeviceOf(const Context& ctx) {
  const std::string& d = ctx.device();
  if (d == "cpu") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available()) return Unavailable("device '" + d + "' asked for, but CUDA is not available");
  try {
    return torch::Device(d);
  } catch (const std::exception& e) {
    return InvalidArgument("bad device '" + d + "': " + e.what());
  }
}

void SetUpTorch(const Context& ctx) {
  torch::manual_seed(ctx.seed());
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(ctx.seed());
  torch::set_num_threads(ctx.threads());
}

// ---- Blocks ----

MlpImpl::MlpImpl(const MlpOptions& o) {
  net_ = register_module("net", torch::nn::Sequential());
  int64_t in = o.in;
  for (int64_t h : o.hidden) {
    net_->push_back(torch::nn::Linear(in, h));
    if (o.norm == "batch") net_->push_back(torch::nn::BatchNorm1d(h));
    if (o.norm == "layer") net_->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
    net_->push_back(torch::nn::ReLU());
    if (o.dropout > 0) net_->push_back(torch::nn::Dropout(o.dropout));
    in = h;
  }
  net_->push_back(torch::nn::Linear(in, o.out));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return net_->forward(x); }

namespace {
// [N, L, D] averaged over non-padding positions.
torch::Tensor MeanPool(const torch::Tensor& h, const torch::Tensor& tokens) {
  auto mask = tokens.ne(0).unsqueeze(-1).to(h.dtype());
  return (h * mask).sum(1) / mask.sum(1).clamp_min(1);
}
// [N, L, D] at each row's last non-padding position.
torch::Tensor LastPool(const torch::Tensor& h, const torch::Tensor& tokens) {
  auto last = (tokens.ne(0).sum(1) - 1).clamp_min(0);
  auto idx = last.view({-1, 1, 1}).expand({h.size(0), 1, h.size(2)});
  return h.gather(1, idx).squeeze(1);
}
}  // namespace

TransformerEncoderNetImpl::TransformerEncoderNetImpl(const SequenceOptions& o) : o_(o) {
  tok_ = register_module("tok", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab, o.dim).padding_idx(0)));
  pos_ = register_module("pos", torch::nn::Embedding(o.max_len, o.dim));
  auto layer = torch::nn::TransformerEncoderLayerOptions(o.dim, o.heads)
                   .dim_feedforward(o.feed_forward)
                   .dropout(o.dropout)
                   .activation(torch::kGELU);
  encoder_ = register_module("encoder", torch::nn::TransformerEncoder(
                                            torch::nn::TransformerEncoderOptions(layer, o.layers)));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim})));
}

torch::Tensor TransformerEncoderNetImpl::encode_all(const torch::Tensor& tokens) {
  const int64_t len = tokens.size(1);
  auto positions = torch::arange(len, tokens.options()).unsqueeze(0);
  auto x = tok_->forward(tokens) + pos_->forward(positions);
  auto padding = tokens.eq(0);  // true = ignore
  torch::Tensor attn_mask;
  if (o_.causal) {
    attn_mask = torch::triu(torch::full({len, len}, -std::numeric_limits<float>::infinity(),
                                        x.options()), 1);
  }
  // A row that is all padding would give NaN attention: let it see position 0.
  padding.index_put_({torch::indexing::Slice(), 0}, false);
  auto h = encoder_->forward(x.transpose(0, 1), attn_mask, padding).transpose(0, 1);
  return norm_->forward(h);
}

torch::Tensor TransformerEncoderNetImpl::forward(const torch::Tensor& tokens) {
  auto h = encode_all(tokens);
  return o_.pooling == "last" ? LastPool(h, tokens) : MeanPool(h, tokens);
}

RnnNetImpl::RnnNetImpl(const SequenceOptions& o, bool gru) : gru_(gru) {
  tok_ = register_module("tok", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab, o.dim).padding_idx(0)));
  if (gru) {
    gru_net_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(o.dim, o.dim).num_layers(o.layers).batch_first(true)));
  } else {
    lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(o.dim, o.dim).num_layers(o.layers).batch_first(true)));
  }
}

torch::Tensor RnnNetImpl::forward(const torch::Tensor& tokens) {
  auto x = tok_->forward(tokens);
  auto h = gru_ ? std::get<0>(gru_net_->forward(x)) : std::get<0>(lstm_->forward(x));
  return LastPool(h, tokens);
}

BagOfEmbeddingsImpl::BagOfEmbeddingsImpl(const SequenceOptions& o) {
  tok_ = register_module("tok", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab, o.dim).padding_idx(0)));
}

torch::Tensor BagOfEmbeddingsImpl::forward(const torch::Tensor& tokens) { return MeanPool(tok_->forward(tokens), tokens); }

Cnn1dImpl::Cnn1dImpl(const SequenceOptions& o, std::vector<int64_t> widths, int64_t filters) {
  tok_ = register_module("tok", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab, o.dim).padding_idx(0)));
  convs_ = register_module("convs", torch::nn::ModuleList());
  for (int64_t w : widths) {
    convs_->push_back(torch::nn::Conv1d(torch::nn::Conv1dOptions(o.dim, filters, w).padding(w / 2)));
  }
  out_dim_ = filters * static_cast<int64_t>(widths.size());
}

torch::Tensor Cnn1dImpl::forward(const torch::Tensor& tokens) {
  auto x = tok_->forward(tokens).transpose(1, 2);  // [N, D, L]
  std::vector<torch::Tensor> pooled;
  for (const auto& m : *convs_) {
    pooled.push_back(torch::relu(m->as<torch::nn::Conv1d>()->forward(x)).amax(2));
  }
  return torch::cat(pooled, 1);
}

Cnn2dImpl::Cnn2dImpl(int64_t in_channels, int64_t channels1, int64_t channels2) {
  c1_ = register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, channels1, 3).padding(1)));
  c2_ = register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels1, channels2, 3).padding(1)));
}

torch::Tensor Cnn2dImpl::forward(const torch::Tensor& images) {
  auto x = torch::max_pool2d(torch::relu(c1_->forward(images)), 2);
  x = torch::max_pool2d(torch::relu(c2_->forward(x)), 2);
  return x.mean({2, 3});
}

// ---- Trainer ----

namespace {

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(torch::nn::Module& m, const TrainerOptions& o) {
  switch (o.optimizer) {
    case OptimizerKind::kAdam:
      return std::make_unique<torch::optim::Adam>(m.parameters(),
                                                  torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
    case OptimizerKind::kAdamW:
      return std::make_unique<torch::optim::AdamW>(m.parameters(),
                                                   torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
    case OptimizerKind::kSgd:
      return std::make_unique<torch::optim::SGD>(
          m.parameters(), torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay));
  }
  return nullptr;
}

void SetLr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

// Learning rate of epoch e (0-based) for the time-based schedules.
double ScheduledLr(const TrainerOptions& o, int e) {
  const double base = o.learning_rate;
  switch (o.schedule) {
    case ScheduleKind::kWarmupCosine: {
      if (e < o.warmup_epochs) return base * (e + 1) / (o.warmup_epochs + 1);
      const double span = std::max(1, o.epochs - o.warmup_epochs);
      const double t = (e - o.warmup_epochs) / span;
      return base * (0.01 + 0.99 * 0.5 * (1 + std::cos(M_PI * t)));
    }
    case ScheduleKind::kStep: return base * std::pow(o.gamma, e / o.step_epochs);
    default: return base;
  }
}

using State = std::vector<std::pair<std::string, torch::Tensor>>;

State Snapshot(torch::nn::Module& m) {
  State s;
  torch::NoGradGuard ng;
  for (const auto& p : m.named_parameters()) s.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : m.named_buffers()) s.emplace_back(b.key(), b.value().detach().clone());
  return s;
}

void Restore(torch::nn::Module& m, const State& s) {
  torch::NoGradGuard ng;
  auto params = m.named_parameters();
  auto buffers = m.named_buffers();
  for (const auto& [k, v] : s) {
    if (auto* p = params.find(k)) {
      p->copy_(v);
    } else if (auto* b = buffers.find(k)) {
      b->copy_(v);
    }
  }
}

struct EvalResult {
  double loss = 0, metric = 0;
};

EvalResult Evaluate(torch::nn::Module& module, const Forward& forward, const TensorData& data, LossKind kind,
                    const torch::Tensor& weights, int64_t batch, torch::Device device) {
  torch::NoGradGuard ng;
  module.eval();
  double loss = 0, correct = 0, sq = 0;
  const int64_t n = data.size();
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t e = std::min(n, b + batch);
    auto x = data.x.slice(0, b, e).to(device);
    auto y = data.y.slice(0, b, e).to(device);
    auto out = forward(x);
    if (kind == LossKind::kCrossEntropy) {
      auto opts = torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum);
      if (weights.defined()) opts.weight(weights);
      loss += torch::nn::functional::cross_entropy(out, y, opts).item<double>();
      correct += out.argmax(1).eq(y).sum().item<double>();
    } else {
      const double s = torch::mse_loss(out.view_as(y), y, torch::Reduction::Sum).item<double>();
      loss += s;
      sq += s;
    }
  }
  EvalResult r;
  if (kind == LossKind::kCrossEntropy && weights.defined()) {
    // Weighted sum over the weighted count, as cross_entropy's mean does.
    auto w = weights.to(torch::kCPU).index_select(0, data.y.to(torch::kCPU)).sum().item<double>();
    r.loss = loss / std::max(w, 1e-12);
  } else {
    r.loss = loss / static_cast<double>(std::max<int64_t>(n, 1));
  }
  r.metric = kind == LossKind::kCrossEntropy ? correct / static_cast<double>(std::max<int64_t>(n, 1))
                                             : -sq / static_cast<double>(std::max<int64_t>(n, 1));
  return r;
}

}  // namespace

StatusOr<TrainLog> Train(const Context& ctx, torch::nn::Module& module, const Forward& forward, const TensorData& train,
                         const TensorData* valid, LossKind kind, const TrainerOptions& o) {
  RETURN_IF_ERROR(ValidateTrainerOptions(o));
  if (train.size() == 0) return InvalidArgument("no training examples");
  ASSIGN_OR_RETURN(torch::Device device, DeviceOf(ctx));
  SetUpTorch(ctx);
  module.to(device);
  try {
    auto opt = MakeOptimizer(module, o);
    torch::Tensor weights;
    std::vector<std::vector<int64_t>> by_class;
    if (kind == LossKind::kCrossEntropy) {
      auto y = train.y.to(torch::kCPU).to(torch::kLong);
      const int64_t k = y.max().item<int64_t>() + 1;
      auto counts = torch::bincount(y, {}, k).to(torch::kDouble);
      if (o.class_weight == "balanced") {
        weights = (static_cast<double>(train.size()) / (static_cast<double>(k) * counts.clamp_min(1)))
                      .to(torch::kFloat).to(device);
      }
      if (o.oversample) {
        by_class.resize(static_cast<size_t>(k));
        auto acc = y.accessor<int64_t, 1>();
        for (int64_t i = 0; i < train.size(); ++i) by_class[static_cast<size_t>(acc[i])].push_back(i);
      }
    }
    std::mt19937_64 rng(ctx.seed());
    TrainLog log;
    double best = std::numeric_limits<double>::infinity();
    int since_best = 0, plateau_wait = 0;
    double lr = o.learning_rate;
    State best_state;
    auto progress = ctx.StartProgress("train", o.epochs, "epochs");
    for (int e = 0; e < o.epochs; ++e) {
      const auto start = std::chrono::steady_clock::now();
      if (o.schedule != ScheduleKind::kPlateau) lr = ScheduledLr(o, e);
      SetLr(*opt, lr);
      // The epoch's example order.
      std::vector<int64_t> order;
      if (!by_class.empty()) {
        size_t largest = 0;
        for (const auto& c : by_class) largest = std::max(largest, c.size());
        for (const auto& c : by_class) {
          for (size_t i = 0; i < largest && !c.empty(); ++i) order.push_back(c[rng() % c.size()]);
        }
      } else {
        order.resize(static_cast<size_t>(train.size()));
        std::iota(order.begin(), order.end(), 0);
      }
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
      auto index = torch::tensor(order, torch::kLong);
      module.train();
      double total = 0;
      int64_t seen = 0;
      for (int64_t b = 0; b < static_cast<int64_t>(order.size()); b += o.batch_size) {
        auto idx = index.slice(0, b, std::min<int64_t>(static_cast<int64_t>(order.size()), b + o.batch_size));
        auto x = train.x.index_select(0, idx).to(device);
        auto y = train.y.index_select(0, idx).to(device);
        opt->zero_grad();
        auto out = forward(x);
        torch::Tensor loss;
        if (kind == LossKind::kCrossEntropy) {
          auto opts = torch::nn::functional::CrossEntropyFuncOptions();
          if (weights.defined()) opts.weight(weights);
          loss = torch::nn::functional::cross_entropy(out, y, opts);
        } else {
          loss = torch::mse_loss(out.view_as(y), y);
        }
        loss.backward();
        if (o.grad_clip_norm > 0) torch::nn::utils::clip_grad_norm_(module.parameters(), o.grad_clip_norm);
        opt->step();
        total += loss.item<double>() * static_cast<double>(idx.size(0));
        seen += idx.size(0);
      }
      EpochLog el;
      el.epoch = e + 1;
      el.train_loss = total / static_cast<double>(std::max<int64_t>(seen, 1));
      el.learning_rate = lr;
      el.valid_loss = el.valid_metric = std::numeric_limits<double>::quiet_NaN();
      bool stop = false;
      if (valid) {
        EvalResult v = Evaluate(module, forward, *valid, kind, weights, 512, device);
        el.valid_loss = v.loss;
        el.valid_metric = v.metric;
        if (v.loss < best - 1e-9) {
          best = v.loss;
          log.best_epoch = e + 1;
          best_state = Snapshot(module);
          since_best = plateau_wait = 0;
        } else {
          ++since_best;
          if (o.schedule == ScheduleKind::kPlateau && ++plateau_wait >= o.plateau_patience) {
            lr *= o.gamma;
            plateau_wait = 0;
          }
          stop = o.early_stopping_patience > 0 && since_best >= o.early_stopping_patience;
        }
      } else {
        log.best_epoch = e + 1;
      }
      el.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      log.epochs.push_back(el);
      ctx.logger().Info("epoch", {{"epoch", e + 1}, {"train_loss", el.train_loss}, {"valid_loss", el.valid_loss},
                                  {"valid_metric", el.valid_metric}, {"lr", lr}});
      progress->Update(e + 1);
      if (stop) {
        log.stopped_early = true;
        break;
      }
    }
    progress->Finish();
    if (valid && !best_state.empty()) Restore(module, best_state);
    log.best_valid_loss = valid ? best : std::numeric_limits<double>::quiet_NaN();
    module.eval();
    return log;
  } catch (const c10::Error& e) {
    return Internal(std::string("torch: ") + e.what_without_backtrace());
  }
}

namespace {

template <typename M>  // torch::nn::Module or torch::jit::Module
torch::Device FirstWeightDevice(const M& module) {
  for (const auto& p : module.parameters()) return p.device();
  for (const auto& b : module.buffers()) return b.device();
  return torch::kCPU;
}

}  // namespace

torch::Device DeviceOfModule(const torch::nn::Module& module) { return FirstWeightDevice(module); }
torch::Device DeviceOfModule(const torch::jit::Module& module) { return FirstWeightDevice(module); }

torch::Tensor Predict(torch::nn::Module& module, const Forward& forward, const torch::Tensor& x, int64_t batch_size) {
  torch::NoGradGuard ng;
  module.eval();
  const torch::Device device = DeviceOfModule(module);
  std::vector<torch::Tensor> outs;
  for (int64_t b = 0; b < x.size(0); b += batch_size) {
    outs.push_back(forward(x.slice(0, b, std::min(x.size(0), b + batch_size)).to(device)).to(torch::kCPU));
  }
  return outs.empty() ? torch::Tensor() : torch::cat(outs, 0);
}

torch::Tensor IntegratedGradients(const Forward& forward, const torch::Tensor& input, const torch::Tensor& baseline,
                                  int64_t target, int steps) {
  // Midpoint Riemann sum over the straight path from baseline to input.
  auto alphas = (torch::arange(steps, input.options()) + 0.5) / steps;
  std::vector<int64_t> shape = {steps};
  for (int64_t d = 1; d < input.dim(); ++d) shape.push_back(1);
  auto path = baseline + alphas.view(shape) * (input - baseline);  // [steps, ...]
  path = path.detach().requires_grad_(true);
  auto out = forward(path).select(1, target).sum();
  auto grads = torch::autograd::grad({out}, {path})[0];
  return ((input - baseline) * grads.mean(0, true)).detach().to(torch::kCPU);
}

Status SaveModule(torch::nn::Module& module, const std::string& path) {
  const torch::Device device = DeviceOfModule(module);
  try {
    torch::serialize::OutputArchive ar;
    if (device.is_cpu()) {
      module.save(ar);
    } else {
      module.to(torch::kCPU);
      module.save(ar);
      module.to(device);
    }
    ar.save_to(path);
  } catch (const c10::Error& e) {
    return Internal(std::string("save ") + path + ": " + e.what_without_backtrace());
  }
  return Status::Ok();
}

Status LoadModule(torch::nn::Module& module, const std::string& path) {
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(path, DeviceOfModule(module));
    module.load(ar);
  } catch (const c10::Error& e) {
    return InvalidArgument(std::string("load ") + path + ": " + e.what_without_backtrace());
  }
  return Status::Ok();
}

StatusOr<torch::jit::Module> LoadTorchScript(const std::string& path, const Context& ctx) {
  ASSIGN_OR_RETURN(torch::Device device, DeviceOf(ctx));
  try {
    torch::jit::Module m = torch::jit::load(path, device);
    m.eval();
    return m;
  } catch (const c10::Error& e) {
    return InvalidArgument("TorchScript " + path + ": " + e.what_without_backtrace());
  }
}

}  // namespace nn
}  // namespace opspilot::ml
