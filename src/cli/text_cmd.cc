#include "cli/text_cmd.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/thread_pool.h"
#include "nlp/classifier.h"
#include "nlp/wordpiece.h"

namespace opspilot::cli {

using nlohmann::json;

void AddTextCommands(CLI::App& app, TextFlags* f) {
  f->cmd = app.add_subcommand("text", "Text classifiers for intents and sentiment (Chinese and English; file mode)");
  f->cmd->require_subcommand(1);
  f->train = f->cmd->add_subcommand("train", "Train on a CSV with text and label columns; write a model directory");
  f->train->add_option("--data", f->data, "CSV: text,label[,id] (other columns ignored)")->required()->check(CLI::ExistingFile);
  f->train->add_option("--task", f->task,
                       "intent | sentiment: a sentiment model refuses only when asked (--oos / --target-precision); an "
                       "intent model refuses unsure texts (label oos) when the data has oos rows, or when asked")
      ->check(CLI::IsMember({"intent", "sentiment"}))
      ->capture_default_str();
  f->train->add_option("--model", f->model,
                       "auto (the mean of linear, fasttext and cnn, unless one of them or a smaller mean is clearly better on the hold-out) | linear | fasttext | cnn | transformer | ensemble")
      ->capture_default_str();
  f->train->add_option("--out", f->out, "Model directory")->required();
  f->train->add_option("--epochs", f->epochs, "Training epochs (0: the model's default)")->capture_default_str();
  f->train->add_option("--dim", f->dim, "Embedding size (0: the model's default)")->capture_default_str();
  f->train->add_option("--learning-rate", f->learning_rate, "0: the model's default (fasttext SGD 0.5, cnn Adam 1e-3)")
      ->capture_default_str();
  f->train->add_option("--vocab-size", f->vocab_size, "cnn, transformer: subword vocabulary")->capture_default_str();
  f->train->add_option("--max-len", f->max_len,
                       "cnn, transformer: tokens per text, longer texts are cut (0: the length 99% of the training texts fit in, 16-256)")
      ->capture_default_str();
  AddTokenizerOption(f->train, &f->tokenizer);
  f->train->add_option("--pretrained", f->pretrained, "transformer: an encoder directory from `text pretrain`")
      ->check(CLI::ExistingDirectory);
  f->train->add_option("--encoder", f->encoder, "transformer: a TorchScript encoder (tokens int64 [N, L] -> [N, dim], 0 pads)")
      ->check(CLI::ExistingFile);
  f->train->add_option("--vocab", f->vocab, "with --encoder: its WordPiece vocab.txt (BERT-style); token ids come from it")
      ->check(CLI::ExistingFile);
  f->train->add_flag("--finetune-encoder", f->finetune_encoder,
                     "with --encoder: train its weights too (default: frozen; rate 5e-5 and 4 epochs unless given)");
  f->train->add_option("--cv", f->cv, "Also report K-fold cross-validation (before training on all the data)");
  f->target_precision_option =
      f->train
          ->add_option("--target-precision", f->target_precision,
                       "Out-of-scope threshold: the lowest confidence whose answers reach this precision on the hold-out "
                       "(giving it turns refusal on)")
          ->capture_default_str();
  f->train->add_option("--oos-share", f->oos_share,
                       "Out-of-scope share of traffic the threshold assumes: the hold-out's oos rows are weighted up to it")
      ->capture_default_str();
  CLI::Option* oos = f->train->add_flag("--oos", f->oos, "Refuse unsure texts even when the data has no oos rows");
  f->train->add_flag("--no-oos", f->no_oos, "Never refuse (no out-of-scope threshold)")->excludes(oos)->excludes(f->target_precision_option);
  f->predict = f->cmd->add_subcommand("predict", "id,label,confidence[,label_2,confidence_2,...] on stdout");
  f->predict->add_option("--model", f->model_dir, "Model directory")->required();
  f->predict->add_option("--input", f->input, "CSV with a text column (id optional)")->required()->check(CLI::ExistingFile);
  f->predict->add_option("--top", f->top, "Labels per text")->capture_default_str();
  f->evaluate = f->cmd->add_subcommand(
      "evaluate", "Accuracy, per-class precision/recall/F1, confusion, calibration, out-of-scope recall; or --cv K");
  f->evaluate->add_option("--model", f->model_dir, "Model directory (not with --cv)");
  f->evaluate->add_option("--data", f->data, "CSV: text,label")->required()->check(CLI::ExistingFile);
  f->evaluate->add_option("--cv", f->cv, "K-fold stratified cross-validation on --data: mean and std of accuracy and macro F1");
  f->evaluate->add_option("--kind", f->kind, "--cv: the model to train (auto | linear | fasttext | cnn | transformer | ensemble)")->capture_default_str();
  f->pretrain = f->cmd->add_subcommand("pretrain", "Masked-language-model pre-training of a tokenizer and Transformer encoder");
  f->pretrain->add_option("--corpus", f->corpus, "One text per line, or a CSV with a text column")->required()->check(CLI::ExistingFile);
  f->pretrain->add_option("--out", f->out, "Encoder directory (tokenizer.json, encoder.pt, encoder.json)")
      ->default_val("encoder")->capture_default_str();
  f->pretrain->add_option("--epochs", f->epochs, "Epochs (0: 20)")->capture_default_str();
  f->pretrain->add_option("--dim", f->dim, "Encoder width (0: 128)")->capture_default_str();
  f->pretrain->add_option("--vocab-size", f->vocab_size, "Subword vocabulary")->capture_default_str();
  f->pretrain->add_option("--max-len", f->max_len, "Tokens per text (0: the length 99% of the texts fit in, 16-256)")
      ->capture_default_str();
  AddTokenizerOption(f->pretrain, &f->tokenizer);
  f->tokenize = f->cmd->add_subcommand("tokenize", "The WordPiece pieces of each text under a BERT-style vocab.txt, one line a text");
  f->tokenize->add_option("--vocab", f->vocab, "vocab.txt (one piece a line; [PAD] first)")->required()->check(CLI::ExistingFile);
  f->tokenize->add_option("--input", f->input, "One text per line, or a CSV with a text column")->required()->check(CLI::ExistingFile);
}

void AddTokenizerOption(CLI::App* cmd, std::string* tokenizer) {
  cmd->add_option("--tokenizer", *tokenizer, "cnn, transformer: subword model, bpe or unigram (sentencepiece's two)")
      ->check(CLI::IsMember({"bpe", "unigram"}))
      ->capture_default_str();
}

bool TextNeedsTorch(const TextFlags& f) {
  if (*f.train || *f.pretrain || f.cv > 0) return true;
  return nlp::ClassifierNeedsTorch(f.model_dir);
}

namespace {

// `text predict`: streams the input in batches, so memory is bounded by a
// batch whatever the file's size. A regular file is checked whole first, so
// that a bad row is reported before any prediction is written (stdout never
// holds half an answer); a pipe is read once, and a bad row stops it there.
Status PredictFile(const Context& ctx, const nlp::TextClassifier& model, bool parallel, const std::string& input, int top) {
  constexpr size_t kBatch = 8192;
  std::error_code ec;
  std::vector<nlp::LabelledText> batch;
  if (std::filesystem::is_regular_file(input, ec)) {
    ASSIGN_OR_RETURN(auto check, nlp::TextCsvReader::Open(input, false));
    do {
      RETURN_IF_ERROR(check->Next(kBatch, &batch));
    } while (!batch.empty());
    if (check->rows_read() == 0) return InvalidArgument(input + ": no rows");
  }
  ASSIGN_OR_RETURN(auto reader, nlp::TextCsvReader::Open(input, false));
  std::vector<std::string> header = {"id", "label", "confidence"};
  for (int k = 2; k <= top; ++k) {
    header.push_back("label_" + std::to_string(k));
    header.push_back("confidence_" + std::to_string(k));
  }
  std::string out = CsvLine(header) + "\n";
  std::vector<std::string> texts;
  for (;;) {
    RETURN_IF_ERROR(reader->Next(kBatch, &batch));
    if (batch.empty()) break;
    texts.clear();
    for (const auto& r : batch) texts.push_back(r.text);
    // Torch-free models predict on the context's threads, a slice each (a
    // classifier is immutable, Predict thread-safe); torch models use
    // libtorch's own threads.
    std::vector<nlp::Prediction> preds(texts.size());
    ctx.pool().ParallelFor(static_cast<int64_t>(texts.size()), parallel ? 512 : static_cast<int64_t>(texts.size()),
                           [&](int64_t lo, int64_t hi) {
                             const std::vector<std::string> slice(texts.begin() + lo, texts.begin() + hi);
                             auto part = model.Predict(slice, top);
                             std::move(part.begin(), part.end(), preds.begin() + lo);
                           });
    char conf[32];
    for (size_t i = 0; i < batch.size(); ++i) {
      std::snprintf(conf, sizeof conf, "%.4f", preds[i].confidence);
      std::vector<std::string> line = {batch[i].id, preds[i].label, conf};
      for (size_t k = 1; k < static_cast<size_t>(top); ++k) {
        if (k < preds[i].top.size()) {
          std::snprintf(conf, sizeof conf, "%.4f", preds[i].top[k].second);
          line.push_back(preds[i].top[k].first);
          line.push_back(conf);
        } else {
          line.push_back("");
          line.push_back("");
        }
      }
      out += CsvLine(line);
      out += '\n';
    }
    std::cout << out;
    out.clear();
  }
  std::cout.flush();
  if (!std::cout) return Internal("text predict: writing to stdout failed");
  if (reader->rows_read() == 0) return InvalidArgument(input + ": no rows");
  return Status::Ok();
}

}  // namespace

Status RunTextInference(const Context& ctx, const TextFlags& f, bool json_out) {
  if (*f.tokenize) {
    ASSIGN_OR_RETURN(nlp::WordPiece wp, nlp::WordPiece::FromVocab(f.vocab));
    ASSIGN_OR_RETURN(auto texts, nlp::ReadCorpus(f.input));
    for (const auto& t : texts) {
      const auto pieces = wp.EncodePieces(t);
      if (json_out) {
        std::cout << json(pieces).dump() << "\n";
        continue;
      }
      std::string line;
      for (const auto& p : pieces) line += (line.empty() ? "" : " ") + p;
      std::cout << line << "\n";
    }
    return Status::Ok();
  }
  if (f.model_dir.empty()) return InvalidArgument("text " + std::string(*f.predict ? "predict" : "evaluate") + ": --model DIR is required");
  ASSIGN_OR_RETURN(auto model, nlp::LoadClassifier(f.model_dir));
  if (*f.predict) return PredictFile(ctx, *model, !nlp::ClassifierNeedsTorch(f.model_dir), f.input, f.top);
  ASSIGN_OR_RETURN(auto data, nlp::ReadTextCsv(f.data, true));
  const json report = nlp::EvaluateClassifier(*model, data);
  if (json_out) {
    std::cout << report.dump(2) << "\n";
    return Status::Ok();
  }
  std::printf("%zu texts (%s model): accuracy %.4f, macro F1 %.4f, calibration error %.4f", data.size(), model->model().c_str(),
              report["accuracy"].get<double>(), report["macro_f1"].get<double>(), report["ece"].get<double>());
  if (report.contains("oos_recall")) {
    std::printf(", in-scope accuracy %.4f, out-of-scope recall %.4f precision %.4f", report["in_scope_accuracy"].get<double>(),
                report["oos_recall"].get<double>(), report["oos_precision"].get<double>());
  }
  std::printf("\n%-24s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support");
  for (const auto& [label, m] : report["per_class"].items()) {
    std::printf("%-24s %9.4f %9.4f %9.4f %8lld\n", label.c_str(), m["precision"].get<double>(), m["recall"].get<double>(),
                m["f1"].get<double>(), static_cast<long long>(m["support"].get<int64_t>()));
  }
  std::printf("\nreliability (in-scope rows)\n%-11s %7s %10s %9s\n", "confidence", "count", "mean conf", "accuracy");
  for (const auto& bin : report["reliability"]) {
    if (bin["count"].get<int64_t>() == 0) continue;
    std::printf("%.1f - %.1f  %7lld %10.4f %9.4f\n", bin["low"].get<double>(), bin["high"].get<double>(),
                static_cast<long long>(bin["count"].get<int64_t>()), bin["confidence"].get<double>(), bin["accuracy"].get<double>());
  }
  return Status::Ok();
}

}  // namespace opspilot::cli
