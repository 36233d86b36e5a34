// One PostgreSQL query (simple or extended protocol) and its outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sonde {

struct PgError {
  std::string severity;  // "ERROR", "FATAL", ...
  std::string sqlstate;  // five characters, e.g. "42P01"
  std::string message;
};

struct PgExchange {
  std::string query_text;        // as sent (bounded); empty when unknown
  bool text_known = true;        // false: a statement prepared before sonde started
  std::string statement_name;    // extended protocol: the prepared statement's name ("" = unnamed)
  bool extended = false;         // Parse/Bind/Execute rather than Query
  std::string command_tag;       // CommandComplete tag, e.g. "SELECT 3", "INSERT 0 1"
  int64_t rows = -1;             // rows from the tag, -1 when it has none
  std::optional<PgError> error;  // ErrorResponse
  bool response_seen = false;    // false: the connection ended before the answer
  // From the connection's StartupMessage, when it was seen.
  std::string database;
  std::string user;
  std::string application_name;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
  // Stream position of the frontend message that began the exchange, and
  // which statement of a multi-statement Query it is: (pos, pos_part) names
  // one exchange of the connection.
  uint64_t pos = 0;
  uint32_t pos_part = 0;
  bool query_truncated = false;   // query_text is a prefix (cut at the cap, or by a capture hole)
  int64_t data_rows = 0;          // DataRow messages seen for this result (rows returned)
  bool portal_suspended = false;  // Execute stopped at its row limit (PortalSuspended): no tag
};

}  // namespace sonde
