// API keys: "opk_<key_id>_<secret>". Only a salted SHA-256 of the secret is
// stored; the full key is shown once, at creation. Roles nest:
// admin > write > read.
#ifndef OPSPILOT_SERVER_AUTH_H_
#define OPSPILOT_SERVER_AUTH_H_

#include <string>
#include <string_view>

#include "core/context.h"
#include "store/store.h"

namespace opspilot {

enum class Role { kRead = 0, kWrite = 1, kAdmin = 2 };

StatusOr<Role> ParseRole(std::string_view name);
std::string_view RoleName(Role role);

struct CreatedKey {
  std::string key;  // the full key; not recoverable later
  ApiKeyRecord record;
};

StatusOr<CreatedKey> CreateApiKey(const Context& ctx, Store& store, Role role, std::string_view name);

// Checks a presented key. Unauthenticated for malformed, unknown, wrong or
// revoked keys (one message for all, so callers learn nothing).
StatusOr<ApiKeyRecord> VerifyApiKey(Store& store, std::string_view presented);

// True if a key of role `have` may do what needs `need`.
bool RoleAllows(std::string_view have, Role need);

}  // namespace opspilot

#endif  // OPSPILOT_SERVER_AUTH_H_
