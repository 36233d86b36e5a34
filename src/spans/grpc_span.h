// One gRPC call (an HTTP/2 stream whose content-type is application/grpc)
// -> one OpenTelemetry span, following the gRPC semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/rpc/grpc/) in their v1.37
// form (rpc.system, rpc.service, rpc.method, rpc.grpc.status_code), the form
// instrumentations emit by default while the RPC conventions are not
// stable. RED metrics map them to the newer names (red_metrics.h).
//
// Span kind: SERVER / CLIENT / INTERNAL from the connection role, as HTTP.
//
// Name: "package.Service/Method" from :path "/package.Service/Method";
// "grpc" when the path was not decoded or is not of that form (then no
// rpc.service / rpc.method).
//
// Attributes (each only when known):
//   rpc.system ("grpc"), rpc.service, rpc.method, rpc.grpc.status_code (int),
//   server.address, server.port, client.address (SERVER),
//   network.peer.address, network.peer.port, network.protocol.name ("http"),
//   network.protocol.version ("2"), sonde.grpc.request_messages,
//   sonde.grpc.response_messages (ints, gRPC messages seen per direction;
//   HTTP/2 only), rpc.grpc.request.metadata.<key>,
//   rpc.grpc.response.metadata.<key> (string arrays, every value in wire
//   order, response headers then trailers; keys from
//   HttpSpanOptions::capture_request_headers / capture_response_headers,
//   lower-cased; pseudo-headers are not metadata), error.type,
//   sonde.http.headers_partial (true only), sonde.http2.rst_error_code (int),
//   sonde.connection.role_inferred (true only), sonde.request.incomplete
//   (true only), sonde.parent.source ("header", "in_process", "none"; the agent
//   sets "thread" for in-process links, see thread_links.h).
//
// rpc.grpc.status_code: grpc-status from the trailers, else from the
// response headers (a Trailers-Only response). A response that has neither
// but an HTTP :status other than 200 (a proxy's error page) gets the code a
// gRPC client derives from it (gRPC's HTTP-to-gRPC status mapping: 400 ->
// INTERNAL, 401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED, 404 ->
// UNIMPLEMENTED, 429/502/503/504 -> UNAVAILABLE, any other -> UNKNOWN).
//
// Status, per the conventions' table: CLIENT spans are Error for any code
// but OK(0); SERVER (and INTERNAL) spans only for UNKNOWN(2),
// DEADLINE_EXCEEDED(4), UNIMPLEMENTED(12), INTERNAL(13), UNAVAILABLE(14) and
// DATA_LOSS(15). When Error, error.type is the numeric code ("14") and the
// status message the percent-decoded grpc-message, when one was sent.
// error.type values: a status code; "_OTHER" when grpc-status is not a
// number; kErrorResponseMissing when no status was seen because the
// connection ended or the stream was reset (CLIENT and SERVER alike). When
// no status was seen only because the response's header blocks were not
// decoded in full (sonde.http.headers_partial), the outcome is unknown and
// no error is claimed.
//
// server.address/server.port: :authority (port defaulting to 443 over TLS,
// else to the :scheme's), else the socket: the local end for SERVER, the
// peer for CLIENT. client.address: the first X-Forwarded-For entry, else the
// peer. Trace context and times as HTTP (http_common.h): a SERVER span
// continues a valid incoming traceparent metadata entry; the span ends with
// the response's last byte (the trailers).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/message.h"
#include "spans/http_span_builder.h"
#include "spans/id_generator.h"
#include "spans/span.h"
#include "spans/trace_context.h"

namespace sonde {

// True when the exchange is a gRPC call: the request content-type (or, when
// the request's header block was partial and has none, the response's) is
// "application/grpc", optionally followed by "+format" or parameters.
// gRPC-Web ("application/grpc-web...") is a different wire format and stays
// an HTTP span.
bool IsGrpcExchange(const HttpExchange& ex);

struct GrpcMethod {
  std::string service;  // "package.Service"
  std::string method;   // "Method"
};
// "/package.Service/Method" -> {"package.Service", "Method"}; nullopt for
// anything else.
std::optional<GrpcMethod> ParseGrpcPath(std::string_view path);

// Decodes a grpc-message value: "%XX" is the byte 0xXX; a '%' not followed
// by two hex digits is kept as is (gRPC: never drop a malformed message).
std::string PercentDecodeGrpcMessage(std::string_view value);

// Whether a gRPC status code makes a span of this kind an Error.
bool GrpcStatusIsError(int64_t code, SpanKind kind);

// gRPC's mapping of an HTTP status of a response without grpc-status.
int64_t GrpcStatusFromHttpStatus(int http_status);

class GrpcSpanBuilder {
 public:
  // Uses the metadata capture lists of `opts`. `ids` must outlive the
  // builder; both are used from one thread.
  GrpcSpanBuilder(const HttpSpanOptions& opts, IdGenerator* ids, int64_t mono_to_unix_offset_ns);

  Span Build(const Message& m, std::shared_ptr<const Resource> resource,
             const std::optional<TraceContext>& parent = std::nullopt);

 private:
  std::vector<std::string> request_metadata_;
  std::vector<std::string> response_metadata_;
  IdGenerator* ids_;
  int64_t offset_ns_;
};

}  // namespace sonde
