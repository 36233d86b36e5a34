// One HTTP/1.x exchange -> one OpenTelemetry span, following the stable HTTP
// semantic conventions (https://opentelemetry.io/docs/specs/semconv/http/http-spans/).
//
// Span kind: SERVER when the traced process accepted the connection, CLIENT
// when it connected; INTERNAL when the role is unknown (then no
// server/client-specific attributes and no trace context from headers).
//
// Name: "{method} {route}", route = configured pattern, else the heuristic
// route (see route.h); "{method}" alone when the target has no path ("*",
// CONNECT's authority-form). A method outside RFC 9110 + PATCH is reported
// as http.request.method="_OTHER" with http.request.method_original, and the
// name is just "HTTP": an unknown method often means odd traffic whose path
// should not leak into names.
//
// Attributes (each only when known):
//   http.request.method, http.request.method_original, url.scheme, url.path,
//   url.query (values redacted by default), url.full (CLIENT only),
//   http.route (SERVER, configured pattern only), http.response.status_code,
//   server.address, server.port, client.address (SERVER),
//   network.peer.address, network.peer.port, network.protocol.name ("http"),
//   network.protocol.version, user_agent.original, http.request.body.size,
//   http.response.body.size (when non-zero), http.request.header.<name>,
//   http.response.header.<name> (configured names; repeated headers joined
//   with ", "), error.type, sonde.connection.role_inferred (true only),
//   sonde.request.incomplete (true only), sonde.parent.source.
//
// error.type values: the status code ("500") for 5xx, and for 4xx on CLIENT
// spans; "_OTHER" for a status outside 100..599; kErrorResponseMissing when
// the connection ended before a response. Span status is Error exactly when
// error.type is set, Unset otherwise; no status message (it would repeat
// the status code).
//
// server.address/server.port come from the absolute-form target, else
// (SERVER) X-Forwarded-Host, else Host (port defaulting to the scheme's),
// else the socket: the local end for SERVER, the peer for CLIENT.
// client.address is the first X-Forwarded-For entry, else the peer.
// url.scheme is the absolute-form scheme, else (SERVER) X-Forwarded-Proto
// when it says http or https, else "http".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/message.h"
#include "spans/id_generator.h"
#include "spans/route.h"
#include "spans/span.h"
#include "spans/trace_context.h"

namespace sonde {

// error.type when the connection ended before any response was seen.
inline constexpr std::string_view kErrorResponseMissing = "response_missing";

// sonde.parent.source values.
inline constexpr std::string_view kParentSourceHeader = "header";          // incoming traceparent
inline constexpr std::string_view kParentSourceInProcess = "in_process";   // Build()'s parent argument
inline constexpr std::string_view kParentSourceNone = "none";              // a new trace

struct HttpSpanOptions {
  std::vector<std::string> route_patterns;
  // Header names (matched case-insensitively, reported lower-case) captured
  // into http.request.header.<name> / http.response.header.<name>.
  std::vector<std::string> capture_request_headers;
  std::vector<std::string> capture_response_headers;
  // url.query "a=1&b=2" -> "a=REDACTED&b=REDACTED". Keys stay; a bare item
  // ("?flag") stays unless it looks like an id or token.
  bool redact_query_values = true;
  // Replaces (does not extend) the default known methods, case-sensitive;
  // empty = RFC 9110 + PATCH. The semantic conventions require this
  // override (OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS, parsed by the agent).
  std::vector<std::string> known_methods;
};

// True for the methods of RFC 9110 and PATCH (RFC 5789), case-sensitive.
bool IsKnownHttpMethod(std::string_view method);

// Redacts every value of a query string, keeping its keys (see
// HttpSpanOptions::redact_query_values).
std::string RedactQueryValues(std::string_view query);

struct HostPort {
  std::string host;
  uint16_t port = 0;  // 0: none given
};
// Parses a Host-header-style "host[:port]" ("[::1]:8080" -> "::1", 8080).
HostPort ParseHostPort(std::string_view s);

class HttpSpanBuilder {
 public:
  // `ids` must outlive the builder and, like it, is used from one thread.
  // unix_ns = monotonic_ns + mono_to_unix_offset_ns.
  HttpSpanBuilder(HttpSpanOptions opts, IdGenerator* ids, int64_t mono_to_unix_offset_ns);

  // One Message -> one Span. SERVER spans continue the trace of a valid
  // incoming traceparent (its tracestate kept); otherwise `parent`, when
  // given, is used: the hook for linking a CLIENT span to the SERVER span
  // the same process is handling (not wired yet); otherwise a new trace.
  Span Build(const Message& m, std::shared_ptr<const Resource> resource,
             const std::optional<TraceContext>& parent = std::nullopt);

 private:
  uint64_t ToUnix(uint64_t mono_ns) const;
  bool IsKnownMethod(std::string_view method) const;

  HttpSpanOptions opts_;
  RouteMatcher routes_;
  IdGenerator* ids_;
  int64_t offset_ns_;
};

}  // namespace sonde
