#include "server/auth.h"

#include "core/hash.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace opspilot {
namespace {

StatusOr<std::string> RandomHex(size_t bytes) {
  unsigned char buf[64];
  if (bytes > sizeof(buf) || RAND_bytes(buf, static_cast<int>(bytes)) != 1) {
    return Internal("the system random generator failed");
  }
  return HexEncode(buf, bytes);
}

std::string HashSecret(std::string_view salt, std::string_view secret) {
  std::string in(salt);
  in += secret;
  return Sha256Hex(in);
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

StatusOr<Role> ParseRole(std::string_view name) {
  if (name == "read") return Role::kRead;
  if (name == "write") return Role::kWrite;
  if (name == "admin") return Role::kAdmin;
  return InvalidArgument("role must be admin, write or read, got '" + std::string(name) + "'");
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kRead: return "read";
    case Role::kWrite: return "write";
    case Role::kAdmin: return "admin";
  }
  return "read";
}

StatusOr<CreatedKey> CreateApiKey(const Context& ctx, Store& store, Role role, std::string_view name) {
  CreatedKey out;
  ASSIGN_OR_RETURN(out.record.key_id, RandomHex(6));
  ASSIGN_OR_RETURN(std::string secret, RandomHex(20));
  ASSIGN_OR_RETURN(out.record.salt, RandomHex(16));
  out.record.secret_hash = HashSecret(out.record.salt, secret);
  out.record.role = std::string(RoleName(role));
  out.record.name = std::string(name);
  out.record.created_at = ctx.clock().NowUnix();
  RETURN_IF_ERROR(store.PutApiKey(out.record));
  out.key = "opk_" + out.record.key_id + "_" + secret;
  return out;
}

StatusOr<ApiKeyRecord> VerifyApiKey(Store& store, std::string_view key) {
  const Status bad = Unauthenticated("invalid or revoked API key");
  if (key.size() != 4 + 12 + 1 + 40 || key.substr(0, 4) != "opk_" || key[16] != '_') return bad;
  const std::string_view id = key.substr(4, 12), secret = key.substr(17);
  if (!IsHex(id) || !IsHex(secret)) return bad;
  auto rec = store.GetApiKey(id);
  if (!rec.ok()) return rec.status().code() == StatusCode::kNotFound ? bad : rec.status();
  const std::string hash = HashSecret(rec->salt, secret);
  if (hash.size() != rec->secret_hash.size() ||
      CRYPTO_memcmp(hash.data(), rec->secret_hash.data(), hash.size()) != 0 || rec->revoked) {
    return bad;
  }
  return rec;
}

bool RoleAllows(std::string_view have, Role need) {
  auto role = ParseRole(have);
  return role.ok() && static_cast<int>(*role) >= static_cast<int>(need);
}

}  // namespace opspilot
