// Schema migrations, one SQL script per version, applied in order inside a
// transaction each. The SQL is portable to PostgreSQL except where noted.
// Never edit a released migration: add a new one.
#ifndef OPSPILOT_STORE_MIGRATIONS_H_
#define OPSPILOT_STORE_MIGRATIONS_H_

#include <vector>

namespace opspilot {

struct Migration {
  int version;
  const char* sql;
};

const std::vector<Migration>& Migrations();

}  // namespace opspilot

#endif  // OPSPILOT_STORE_MIGRATIONS_H_
