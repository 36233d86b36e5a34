// One HTTP/1.x or HTTP/2 exchange -> one OpenTelemetry span, following the
// stable HTTP semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/). gRPC
// exchanges go to grpc_span.h instead (SpanBuilder dispatches).
//
// Span kind: SERVER when the traced process accepted the connection, CLIENT
// when it connected; INTERNAL when the role is unknown (then no
// server/client-specific attributes and no trace context from headers).
//
// Name: "{method} {route}", route = configured pattern, else the heuristic
// route (see route.h); "{method}" alone when the target has no path ("*",
// CONNECT's authority-form, an HTTP/2 :path that was not decoded). A method
// outside RFC 9110 + PATCH is reported as http.request.method="_OTHER" with
// http.request.method_original, and the name is just "HTTP": an unknown
// method often means odd traffic whose path should not leak into names.
// When an HTTP/2 request header block was only partly decoded (connection
// joined mid-stream) and the method is not among what was decoded, nothing
// is invented: no http.request.method, and the name is "HTTP".
//
// Attributes (each only when known):
//   http.request.method, http.request.method_original, url.scheme, url.path,
//   url.query (values redacted by default), url.full (CLIENT only),
//   http.route (SERVER, configured pattern only), http.response.status_code
//   (left out when an HTTP/2 response header block was partial and :status
//   was not decoded), server.address, server.port, client.address (SERVER),
//   network.peer.address, network.peer.port, network.protocol.name ("http"),
//   network.protocol.version ("1.1", "1.0", "2"), user_agent.original,
//   http.request.body.size, http.response.body.size (when non-zero),
//   http.request.header.<name>, http.response.header.<name> (configured
//   names; repeated headers joined with ", "), error.type,
//   sonde.http.headers_partial (true only: a header block of either side was
//   not decoded in full), sonde.http2.rst_error_code (int, the RST_STREAM
//   error code when the stream was reset), sonde.connection.role_inferred
//   (true only), sonde.request.incomplete (true only), sonde.parent.source.
//
// error.type values: the status code ("500") for 5xx, and for 4xx on CLIENT
// spans; "_OTHER" for a status outside 100..599; kErrorResponseMissing when
// the connection ended (or the HTTP/2 stream was reset) before a response.
// Span status is Error exactly when error.type is set, Unset otherwise; no
// status message (it would repeat the status code).
//
// server.address/server.port come from the absolute-form target, else
// (SERVER) X-Forwarded-Host, else the authority (HTTP/2 :authority, else
// Host; port defaulting to the scheme's), else the socket: the local end for
// SERVER, the peer for CLIENT. client.address is the first X-Forwarded-For
// entry, else the peer.
// url.scheme is the absolute-form scheme, else (SERVER) X-Forwarded-Proto
// when it says http or https (the original client's scheme, which the
// conventions prefer), else "https" when the bytes came from TLS, else
// (CLIENT) the HTTP/2 :scheme when http or https, else "http".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/message.h"
#include "spans/http_common.h"
#include "spans/id_generator.h"
#include "spans/route.h"
#include "spans/span.h"
#include "spans/trace_context.h"

namespace sonde {

struct HttpSpanOptions {
  std::vector<std::string> route_patterns;
  // Header names (matched case-insensitively, reported lower-case) captured
  // into http.request.header.<name> / http.response.header.<name>, and for
  // gRPC into rpc.grpc.request.metadata.<name> /
  // rpc.grpc.response.metadata.<name> (see grpc_span.h).
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

class HttpSpanBuilder {
 public:
  // `ids` must outlive the builder and, like it, is used from one thread.
  // unix_ns = monotonic_ns + mono_to_unix_offset_ns.
  HttpSpanBuilder(HttpSpanOptions opts, IdGenerator* ids, int64_t mono_to_unix_offset_ns);

  // One Message -> one Span. Trace context as AssignTraceContext
  // (http_common.h): a valid incoming traceparent on SERVER spans, else
  // `parent` (not wired yet), else a new trace.
  Span Build(const Message& m, std::shared_ptr<const Resource> resource,
             const std::optional<TraceContext>& parent = std::nullopt);

 private:
  bool IsKnownMethod(std::string_view method) const;

  HttpSpanOptions opts_;
  RouteMatcher routes_;
  IdGenerator* ids_;
  int64_t offset_ns_;
};

}  // namespace sonde
