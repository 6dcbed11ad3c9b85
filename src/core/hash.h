// SHA-256 (OpenSSL) for content ids and data fingerprints.
#ifndef OPSPILOT_CORE_HASH_H_
#define OPSPILOT_CORE_HASH_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace opspilot {

// Lower-case hex of n bytes.
std::string HexEncode(const unsigned char* bytes, size_t n);

// Lower-case hex of SHA-256(data), truncated to `hex_chars` (even, <= 64).
std::string Sha256Hex(std::string_view data, size_t hex_chars = 64);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  void Update(std::string_view data);
  std::string HexDigest();  // finalizes; call once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// SHA-256 of a file's bytes, streamed.
StatusOr<std::string> FileFingerprint(const std::string& path);

}  // namespace opspilot

#endif  // OPSPILOT_CORE_HASH_H_
