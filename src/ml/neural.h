// Options and logs of the one neural-network trainer. Torch-free: capability
// headers can carry these; the libtorch code lives behind ml/nn.h, which only
// .cc files include.
#ifndef OPSPILOT_ML_NEURAL_H_
#define OPSPILOT_ML_NEURAL_H_

#include <string>
#include <vector>

#include "core/status.h"

namespace opspilot::ml {

enum class OptimizerKind { kAdam, kAdamW, kSgd };
enum class ScheduleKind { kConstant, kWarmupCosine, kStep, kPlateau };

struct TrainerOptions {
  int epochs = 20;
  int batch_size = 64;
  double learning_rate = 1e-3;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double weight_decay = 0;       // L2 (Adam, SGD) or decoupled (AdamW)
  double momentum = 0.9;         // SGD only
  ScheduleKind schedule = ScheduleKind::kConstant;
  int warmup_epochs = 0;         // linear warm-up before cosine decay (kWarmupCosine)
  int step_epochs = 10;          // kStep: multiply by gamma every step_epochs
  double gamma = 0.5;            // kStep and kPlateau factor
  int plateau_patience = 2;      // kPlateau: epochs without validation improvement before reducing
  double grad_clip_norm = 1.0;   // 0 = no clipping
  int early_stopping_patience = 5;  // epochs without validation improvement; 0 = off
  std::string class_weight;      // "" or "balanced" (cross-entropy weights n / (k * n_class))
  bool oversample = false;       // resample each epoch so every class is equally frequent
};

Status ValidateTrainerOptions(const TrainerOptions& options);
StatusOr<OptimizerKind> ParseOptimizer(std::string_view name);    // adam | adamw | sgd
StatusOr<ScheduleKind> ParseSchedule(std::string_view name);      // constant | cosine | step | plateau

struct EpochLog {
  int epoch = 0;            // 1-based
  double train_loss = 0;
  double valid_loss = 0;    // NaN without a validation set
  double valid_metric = 0;  // accuracy (classification) or -MSE (regression); NaN without validation
  double learning_rate = 0;
  double seconds = 0;
};

struct TrainLog {
  std::vector<EpochLog> epochs;
  int best_epoch = 0;        // 1-based; its weights are the ones kept
  double best_valid_loss = 0;
  bool stopped_early = false;
};

}  // namespace opspilot::ml

#endif  // OPSPILOT_ML_NEURAL_H_
