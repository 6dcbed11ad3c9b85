// An OpenAI-compatible chat-completions client (llama.cpp server, vLLM,
// Ollama, hosted APIs): POST {base_url}/chat/completions. Timeouts, retries
// with back-off on transport errors, 429 and 5xx, a token budget over the
// client's life, and refusals reported as errors so callers fall back.
#ifndef OPSPILOT_SUPPORT_LLM_H_
#define OPSPILOT_SUPPORT_LLM_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace opspilot::support {

struct LlmOptions {
  std::string base_url;     // "http://127.0.0.1:8080/v1"; empty = no LLM
  std::string api_key;      // sent as "Authorization: Bearer ..." when set
  std::string model = "default";
  int timeout_ms = 8000;    // per attempt (connect, read and write)
  int retries = 2;          // extra attempts after the first
  int backoff_ms = 200;     // doubled per retry
  int max_tokens = 300;     // per reply
  int64_t token_budget = 1000000;  // prompt + completion tokens over the client's life
  double temperature = 0.2;
};

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

// Rough token count for budgeting before a call: a CJK character is about
// one token, Latin text about four bytes per token.
int64_t EstimateTokens(const std::string& text);

class LlmClient {
 public:
  explicit LlmClient(LlmOptions options);
  bool enabled() const { return !options_.base_url.empty(); }

  // The assistant's text. Errors: Unavailable (timeouts, connection
  // failures, 429/5xx after the retries), Internal (malformed responses),
  // FailedPrecondition (refusals, content filters, an exhausted budget,
  // 4xx). Thread-safe.
  StatusOr<std::string> Complete(const std::vector<ChatMessage>& messages);

  int64_t tokens_used() const { return tokens_used_.load(); }
  const LlmOptions& options() const { return options_; }

 private:
  LlmOptions options_;
  std::string scheme_host_port_, path_prefix_;
  std::atomic<int64_t> tokens_used_{0};
};

}  // namespace opspilot::support

#endif  // OPSPILOT_SUPPORT_LLM_H_
