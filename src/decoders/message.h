// The decoders' output: one complete request/response exchange, with the
// connection it was seen on. Span building consumes only this type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/types.h"
#include "decoders/postgres/pg_message.h"
#include "decoders/redis/redis_message.h"

namespace sonde {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; returns nullptr when absent.
const std::string* FindHeader(const HeaderList& headers, std::string_view name);

struct HttpRequest {
  std::string method;
  std::string target;   // request-target as sent ("/a/b?x=1", or absolute-form)
  std::string version;  // "1.1", "1.0"
  HeaderList headers;
  uint64_t body_size = 0;    // bytes of body seen on the wire (captured or not)
  uint64_t start_ns = 0;     // monotonic ts of the first byte
  uint64_t end_ns = 0;       // monotonic ts of the last byte
  uint32_t tid = 0;          // thread that moved the first byte
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::string version;
  HeaderList headers;
  uint64_t body_size = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
};

struct HttpExchange {
  HttpRequest request;
  std::optional<HttpResponse> response;  // absent: connection ended first
  bool request_incomplete = false;       // request body not fully seen
};

struct Message {
  ConnInfo conn;
  std::variant<HttpExchange, RedisExchange, PgExchange> payload;
};

}  // namespace sonde
