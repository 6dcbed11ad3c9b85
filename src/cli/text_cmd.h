// `opspilot text ...`: train, predict, evaluate and cross-validate text
// classifiers, and pre-train encoders (file mode). The commands are declared
// in both builds. predict and evaluate of a fasttext model run in either
// (RunTextInference, torch-free); everything else runs in opspilot-nn
// (libtorch), which `opspilot` re-runs itself as when TextNeedsTorch says so.
#ifndef OPSPILOT_CLI_TEXT_CMD_H_
#define OPSPILOT_CLI_TEXT_CMD_H_

#include <CLI/CLI.hpp>
#include <string>

#include "core/context.h"
#include "core/status.h"

namespace opspilot::cli {

struct TextFlags {
  CLI::App* cmd = nullptr;
  CLI::App *train = nullptr, *predict = nullptr, *evaluate = nullptr, *pretrain = nullptr, *tokenize = nullptr;
  std::string data, input, model = "auto", task = "intent", out, model_dir, corpus, pretrained, encoder, vocab;
  std::string kind = "fasttext";  // evaluate --cv: the model to cross-validate
  int top = 1;
  int epochs = 0, dim = 0;        // 0: the model's default
  int cv = 0;                     // folds; 0 = no cross-validation
  int vocab_size = 4000;
  int max_len = 0;                // cnn, transformer: tokens per text; 0 = automatic
  std::string tokenizer = "bpe";
  double learning_rate = 0;       // 0: the model's default
  double target_precision = 0.9;
  double oos_share = 0.1;
  bool no_oos = false, oos = false;
  CLI::Option* target_precision_option = nullptr;  // given: refusal wanted
  bool finetune_encoder = false;
};

void AddTextCommands(CLI::App& app, TextFlags* f);

// `--tokenizer bpe|unigram` on `cmd` (text train and pretrain, support train).
void AddTokenizerOption(CLI::App* cmd, std::string* tokenizer);

// True when the command needs libtorch: train, pretrain, cross-validation, or
// a model directory holding a cnn or transformer model.
bool TextNeedsTorch(const TextFlags& f);

// `text predict`, `text evaluate` (without --cv) and `text tokenize`: torch-free; models other
// than fasttext need their loaders registered (RegisterTorchTextModels).
Status RunTextInference(const Context& ctx, const TextFlags& f, bool json_out);

// Every text command. Defined only in the libtorch build (text_run.cc).
Status RunText(const Context& ctx, const TextFlags& f, bool json_out);

}  // namespace opspilot::cli

#endif  // OPSPILOT_CLI_TEXT_CMD_H_
