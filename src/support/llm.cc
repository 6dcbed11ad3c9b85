#include "support/llm.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/strings.h"

namespace opspilot::support {

using nlohmann::json;

int64_t EstimateTokens(const std::string& text) {
  int64_t ascii = 0, other = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) ++ascii;
    else if ((c & 0xC0) != 0x80) ++other;  // one per non-ASCII code point
  }
  return ascii / 4 + other + 1;
}

LlmClient::LlmClient(LlmOptions options) : options_(std::move(options)) {
  // "http://host:port/v1" -> "http://host:port" + "/v1".
  const std::string& url = options_.base_url;
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  scheme_host_port_ = url.substr(0, slash);
  path_prefix_ = slash == std::string::npos ? "" : url.substr(slash);
  while (!path_prefix_.empty() && path_prefix_.back() == '/') path_prefix_.pop_back();
}

namespace {

// Replies that decline instead of answering (some servers do not set the
// `refusal` field or a content-filter finish reason).
bool LooksLikeRefusal(const std::string& text) {
  static const char* kPhrases[] = {"i'm sorry, but i can't", "i am sorry, but i cannot", "i cannot help with",
                                   "i can't help with", "i can't assist", "i cannot assist", "as an ai language model",
                                   "作为一个ai", "作为一个人工智能", "我无法回答", "抱歉，我不能"};
  const std::string lower = ToLower(text.substr(0, 200));
  for (const char* p : kPhrases) {
    if (lower.find(p) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

StatusOr<std::string> LlmClient::Complete(const std::vector<ChatMessage>& messages) {
  if (!enabled()) return FailedPrecondition("no LLM endpoint configured");
  int64_t prompt = 0;
  json msgs = json::array();
  for (const auto& m : messages) {
    msgs.push_back({{"role", m.role}, {"content", m.content}});
    prompt += EstimateTokens(m.content) + 4;
  }
  if (tokens_used_.load() + prompt + options_.max_tokens > options_.token_budget) {
    return FailedPrecondition("LLM token budget exhausted (" + std::to_string(tokens_used_.load()) + " of " +
                              std::to_string(options_.token_budget) + " used)");
  }
  const json body = {{"model", options_.model}, {"messages", msgs}, {"max_tokens", options_.max_tokens},
                     {"temperature", options_.temperature}, {"stream", false}};
  const std::string payload = body.dump();
  Status last = Unavailable("LLM: no attempt made");
  for (int attempt = 0; attempt <= options_.retries; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.backoff_ms << (attempt - 1)));
    httplib::Client cli(scheme_host_port_);
    const auto t = std::chrono::milliseconds(options_.timeout_ms);
    cli.set_connection_timeout(t);
    cli.set_read_timeout(t);
    cli.set_write_timeout(t);
    if (!options_.api_key.empty()) cli.set_bearer_token_auth(options_.api_key);
    const auto start = std::chrono::steady_clock::now();
    const auto res = cli.Post(path_prefix_ + "/chat/completions", payload, "application/json");
    if (!res) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      last = Unavailable("LLM " + scheme_host_port_ + ": " +
                         (waited.count() >= options_.timeout_ms * 9 / 10 ? "timeout after " + std::to_string(waited.count()) + " ms"
                                                                        : httplib::to_string(res.error())));
      continue;
    }
    if (res->status == 429 || res->status >= 500) {
      last = Unavailable("LLM " + scheme_host_port_ + ": HTTP " + std::to_string(res->status));
      continue;
    }
    if (res->status != 200) {
      return FailedPrecondition("LLM " + scheme_host_port_ + ": HTTP " + std::to_string(res->status) + ": " +
                                res->body.substr(0, 200));
    }
    const json j = json::parse(res->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("choices") || !j["choices"].is_array() ||
        j["choices"].empty() || !j["choices"][0].is_object() || !j["choices"][0].contains("message") ||
        !j["choices"][0]["message"].is_object()) {
      return Internal("LLM: malformed response (no choices[0].message): " + res->body.substr(0, 120));
    }
    const json& choice = j["choices"][0];
    const json& msg = choice["message"];
    int64_t used = prompt + options_.max_tokens;
    if (j.contains("usage") && j["usage"].is_object() && j["usage"].contains("total_tokens") &&
        j["usage"]["total_tokens"].is_number_integer()) {
      used = j["usage"]["total_tokens"].get<int64_t>();
    }
    tokens_used_ += used;
    if (msg.contains("refusal") && msg["refusal"].is_string() && !msg["refusal"].get<std::string>().empty()) {
      return FailedPrecondition("LLM refused: " + msg["refusal"].get<std::string>().substr(0, 120));
    }
    if (choice.value("finish_reason", "") == "content_filter") return FailedPrecondition("LLM reply was filtered");
    if (!msg.contains("content") || !msg["content"].is_string()) return Internal("LLM: malformed response (content is not text)");
    const std::string text(Trim(msg["content"].get<std::string>()));
    if (text.empty()) return FailedPrecondition("LLM returned an empty reply");
    if (LooksLikeRefusal(text)) return FailedPrecondition("LLM refused: " + text.substr(0, 120));
    return text;
  }
  return last;
}

}  // namespace opspilot::support
