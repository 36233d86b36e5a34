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
  uint64_t stream_pos = 0;   // HTTP/1: offset of the first byte in its direction's stream
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
  HeaderList trailers;  // HTTP/2 trailing HEADERS (gRPC status); HTTP/1 chunked trailers not kept
};

// What an HTTP/2 stream adds to an exchange. The decoder fills
// HttpRequest::method/target from :method/:path and HttpResponse::status from
// :status, and keeps every field it decoded (pseudo-header fields included,
// e.g. ":authority", ":scheme") in the header lists, in wire order.
struct Http2StreamInfo {
  uint32_t stream_id = 0;
  // A header block could not be decoded in full: the connection was joined
  // mid-stream (HPACK dynamic table unknown) or the block was damaged. The
  // fields that could be decoded are kept; nothing is invented for the rest
  // (method/target/status stay empty/0 when not decoded).
  bool request_headers_partial = false;
  bool response_headers_partial = false;
  std::optional<uint32_t> rst_error_code;  // RST_STREAM seen (either side)
  bool goaway = false;                      // ended by GOAWAY before completing
  uint32_t request_data_frames = 0;         // DATA frames carrying payload
  uint32_t response_data_frames = 0;
  // gRPC length-prefixed messages seen per direction (0 for other content).
  uint32_t request_messages = 0;
  uint32_t response_messages = 0;
  // Some DATA bytes of the stream went unseen (not captured, lost events)
  // or its gRPC framing could not be followed: body sizes still count every
  // byte the frames announced, but the message counts are lower bounds.
  bool data_incomplete = false;
};

struct HttpExchange {
  HttpRequest request;
  std::optional<HttpResponse> response;  // absent: connection ended first
  bool request_incomplete = false;       // request body not fully seen
  std::optional<Http2StreamInfo> h2;     // set for HTTP/2 (request.version "2")
};

// A request a traced SERVER has read, reported as soon as it is complete,
// before its response exists: in-process linking (src/spans/thread_links.h)
// needs to know what a thread is handling while it handles it.
struct RequestStart {
  ConnInfo conn;
  uint32_t tid = 0;       // the thread that read the request's first byte
  uint64_t start_ns = 0;  // HttpRequest::start_ns of the same request
  HeaderList trace_headers;  // its traceparent / tracestate fields
  uint64_t stream_pos = 0;   // HttpRequest::stream_pos of the same request
};

struct Message {
  ConnInfo conn;
  std::variant<HttpExchange, RedisExchange, PgExchange> payload;
};

}  // namespace sonde
