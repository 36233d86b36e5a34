// Redis exchange -> span, following the OpenTelemetry database and Redis
// semantic conventions (https://opentelemetry.io/docs/specs/semconv/db/redis/).
//
// Name: the command name upper-cased ("GET", "CLIENT", "MULTI"), or "redis"
// when the command name was not captured.
//
// Attributes (each only when known): db.system.name ("redis"),
// db.operation.name (the command name upper-cased: clients differ in case,
// ioredis sends "get", redis-py "GET"), db.query.text, db.namespace (the
// SELECTed database index as a string, left out when the connection
// predates sonde and no SELECT was seen), db.response.status_code and
// error.type (the error prefix, "ERR", "WRONGTYPE", for '-' and '!' replies),
// server.address/server.port/network.peer.*/client.address (see db_span.h),
// sonde.request.incomplete (true only: the command's framing was lost).
//
// db.query.text: the command in redis-cli syntax. With sanitize_query every
// argument is "?" (the name, and the subcommand of container commands such
// as CLIENT or CONFIG, stay: "CLIENT SETNAME ?"); otherwise arguments are as
// sent, quoted when needed. Either way arguments that were never kept are
// "?" (secrets: AUTH, HELLO's AUTH, ACL SETUSER rules, ...), only the first
// few are shown (then "..."), and each is cut to a bounded length.
//
// Status: Error with the error text as message for error replies; Error with
// error.type "response_missing" when the connection ended before a reply
// (not when CLIENT REPLY OFF/SKIP asked for none). Unset otherwise.
#pragma once

#include <memory>

#include "decoders/message.h"
#include "spans/db_span.h"

namespace sonde {

Span BuildRedisSpan(const ConnInfo& conn, const RedisExchange& ex, const DbSpanOptions& opts,
                    int64_t mono_to_unix_offset_ns, IdGenerator* ids,
                    std::shared_ptr<const Resource> resource);

// db.query.text for a command (exposed for tests).
std::string RedisQueryText(const RedisCommand& cmd, bool sanitize);

}  // namespace sonde
