#include "cli/text_cmd.h"

namespace opspilot::cli {

void AddTextCommands(CLI::App& app, TextFlags* f) {
  f->cmd = app.add_subcommand("text", "Text classifiers for intents and sentiment (Chinese and English; file mode)");
  f->cmd->require_subcommand(1);
  f->train = f->cmd->add_subcommand("train", "Train on a CSV with text and label columns; write a model directory");
  f->train->add_option("--data", f->data, "CSV: text,label[,id] (other columns ignored)")->required()->check(CLI::ExistingFile);
  f->train->add_option("--task", f->task, "intent | sentiment (a name kept with the model)")->capture_default_str();
  f->train->add_option("--model", f->model, "auto | fasttext")->capture_default_str();
  f->train->add_option("--out", f->out, "Model directory")->required();
  f->train->add_option("--epochs", f->epochs, "Training epochs (early stopping on a hold-out)")->capture_default_str();
  f->train->add_option("--dim", f->dim, "Embedding size")->capture_default_str();
  f->train->add_option("--target-precision", f->target_precision,
                       "Out-of-scope threshold: the lowest confidence whose answers reach this precision on the hold-out")
      ->capture_default_str();
  f->train->add_flag("--no-oos", f->no_oos, "Never refuse (no out-of-scope threshold)");
  f->predict = f->cmd->add_subcommand("predict", "id,label,confidence[,label_2,confidence_2,...] on stdout");
  f->predict->add_option("--model", f->model_dir, "Model directory")->required();
  f->predict->add_option("--input", f->input, "CSV with a text column (id optional)")->required()->check(CLI::ExistingFile);
  f->predict->add_option("--top", f->top, "Labels per text")->capture_default_str();
  f->evaluate = f->cmd->add_subcommand("evaluate", "Accuracy, per-class precision/recall/F1, confusion, out-of-scope recall");
  f->evaluate->add_option("--model", f->model_dir, "Model directory")->required();
  f->evaluate->add_option("--data", f->data, "CSV: text,label")->required()->check(CLI::ExistingFile);
}

}  // namespace opspilot::cli
