// The HTTP API (cpp-httplib): health, batch ingestion through the same
// validation as files, stats, key listing. Every endpoint but /healthz needs
// an API key (Authorization: Bearer <key>, or X-API-Key). Errors are JSON:
// {"error": {"code": "invalid_argument", "message": "..."}}. Models are served
// from the registry: the serving version of a task is loaded on first use and
// reloaded when another version is promoted. The full
// reference is docs/api.md.
#ifndef OPSPILOT_SERVER_SERVER_H_
#define OPSPILOT_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "core/context.h"
#include "store/store.h"
#include "support/llm.h"

namespace opspilot {

struct ServerOptions {
  std::string host = "127.0.0.1";        // bind address
  int port = 8080;                       // 0 picks a free port
  size_t max_body_bytes = 32u << 20;     // larger requests get 413
  std::string reject_dir;                // reject files for HTTP loads ("" = none)
  int threads = 8;                       // request worker threads
  std::string models_dir;                // the model registry root ("" = no model endpoints)
  std::string support_dir;               // support conversations ("" = data-dir-less: /v1/support/conversations off)
  // Streaming anomaly detectors' saved states (POST /v1/anomalies/score), one
  // file per tenant and series, rewritten after every request ("" = kept in
  // memory only, lost when the server stops).
  std::string streams_dir;
  support::LlmOptions llm;               // optional LLM for /v1/support replies (base_url "" = none)
};

Status ValidateServerOptions(const ServerOptions& options);

class Server {
 public:
  // `ctx` and `store` must outlive the Server.
  Server(const Context& ctx, Store& store, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the port and serves on a background thread.
  Status Start();
  // The bound port (after Start).
  int port() const;
  // Stops serving and joins the serving thread; safe to call more than once.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opspilot

#endif  // OPSPILOT_SERVER_SERVER_H_
