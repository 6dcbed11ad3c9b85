// The text commands that need libtorch: training, pre-training and
// cross-validation (predict and evaluate are in text_cmd.cc).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/text_cmd.h"
#include "core/file.h"
#include "nlp/classifier.h"

namespace opspilot::cli {

using nlohmann::json;

namespace {

nlp::ClassifierOptions Options(const TextFlags& f, const std::string& model, const std::vector<nlp::LabelledText>& data) {
  nlp::ClassifierOptions o;
  o.model = model;
  o.epochs = f.epochs;
  o.dim = f.dim;
  o.learning_rate = f.learning_rate;
  o.vocab_size = f.vocab_size;
  o.max_len = f.max_len;
  o.tokenizer = f.tokenizer;
  o.pretrained = f.pretrained;
  o.encoder = f.encoder;
  o.vocab = f.vocab;
  o.finetune_encoder = f.finetune_encoder;
  o.target_precision = f.target_precision;
  o.oos_share = f.oos_share;
  const bool asked = f.oos || (f.target_precision_option != nullptr && f.target_precision_option->count() > 0);
  o.out_of_scope = !f.no_oos && (asked || nlp::RefusesByDefault(f.task, data));
  return o;
}

void PrintCv(const json& r) {
  std::printf("%d-fold cross-validation (%s, %lld texts):\n", r["k"].get<int>(), r["model"].get<std::string>().c_str(),
              static_cast<long long>(r["examples"].get<int64_t>()));
  for (const auto& f : r["folds"]) {
    std::printf("  fold %d: %lld texts, accuracy %.4f, macro F1 %.4f (%.1f s)\n", f["fold"].get<int>(),
                static_cast<long long>(f["examples"].get<int64_t>()), f["accuracy"].get<double>(), f["macro_f1"].get<double>(),
                f["seconds"].get<double>());
  }
  std::printf("  accuracy %.4f ± %.4f, macro F1 %.4f ± %.4f (mean ± std over folds)\n", r["accuracy_mean"].get<double>(),
              r["accuracy_std"].get<double>(), r["macro_f1_mean"].get<double>(), r["macro_f1_std"].get<double>());
}

}  // namespace

Status RunText(const Context& ctx, const TextFlags& f, bool json_out) {
  if (*f.pretrain) {
    RETURN_IF_ERROR(CheckDirTarget(f.out));
    ASSIGN_OR_RETURN(auto texts, nlp::ReadCorpus(f.corpus));
    nlp::PretrainOptions po;
    if (f.epochs > 0) po.epochs = f.epochs;
    if (f.dim > 0) po.dim = f.dim;
    po.vocab_size = f.vocab_size;
    po.max_len = f.max_len;
    po.tokenizer = f.tokenizer;
    json report;
    RETURN_IF_ERROR(ReplaceDirAtomic(f.out, [&](const std::string& tmp) -> Status {
      ASSIGN_OR_RETURN(report, nlp::PretrainEncoder(ctx, texts, po, tmp));
      return Status::Ok();
    }));
    report.erase("epochs");
    if (json_out) {
      std::cout << json{{"encoder_dir", f.out}, {"report", report}}.dump(2) << "\n";
    } else {
      std::printf("pre-trained on %zu texts -> %s: masked-token loss %.3f -> %.3f (context-free %.3f)\n", texts.size(),
                  f.out.c_str(), report["initial_loss"].get<double>(), report["final_loss"].get<double>(),
                  report["unigram_loss"].get<double>());
    }
    return Status::Ok();
  }
  if (*f.train) {
    RETURN_IF_ERROR(CheckDirTarget(f.out));
    ASSIGN_OR_RETURN(auto data, nlp::ReadTextCsv(f.data, true));
    if (std::all_of(data.begin(), data.end(), [&](const nlp::LabelledText& t) { return t.label == data.front().label; })) {
      return InvalidArgument(f.data + ": every row has the label '" + data.front().label + "'; training needs at least two");
    }
    const nlp::ClassifierOptions o = Options(f, f.model, data);
    json cv;
    if (f.cv > 0) {
      ASSIGN_OR_RETURN(cv, nlp::CrossValidateClassifier(ctx, data, o, f.cv));
      if (!json_out) PrintCv(cv);
    }
    ASSIGN_OR_RETURN(auto model, nlp::TrainClassifier(ctx, data, o));
    RETURN_IF_ERROR(ReplaceDirAtomic(f.out, [&](const std::string& tmp) { return model->Save(tmp); }));
    const json r = model->report();
    if (json_out) {
      json out = {{"model_dir", f.out}, {"task", f.task}, {"model", model->model()}, {"report", r}};
      if (!cv.is_null()) out["cv"] = cv;
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("trained %s on %zu texts, %zu labels -> %s; hold-out accuracy %.3f, temperature %.3f, "
                  "out-of-scope below confidence %.3f\n",
                  model->model().c_str(), data.size(), model->labels().size(), f.out.c_str(),
                  r.value("valid_accuracy", 0.0), model->temperature(), model->threshold());
    }
    return Status::Ok();
  }
  if (*f.evaluate && f.cv > 0) {
    if (!f.model_dir.empty()) return InvalidArgument("text evaluate: --cv trains its own models; drop --model (use --kind)");
    ASSIGN_OR_RETURN(auto data, nlp::ReadTextCsv(f.data, true));
    ASSIGN_OR_RETURN(json cv, nlp::CrossValidateClassifier(ctx, data, Options(f, f.kind, data), f.cv));
    if (json_out) {
      std::cout << cv.dump(2) << "\n";
    } else {
      PrintCv(cv);
    }
    return Status::Ok();
  }
  return RunTextInference(ctx, f, json_out);
}

}  // namespace opspilot::cli
