// What the HTTP and gRPC span builders share, for one HttpExchange: span kind
// and times, trace-context continuation, the server/client/peer endpoint
// rules, header lookups and the HTTP/2 stream flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/message.h"
#include "spans/id_generator.h"
#include "spans/span.h"
#include "spans/trace_context.h"

namespace sonde {

// error.type when the connection (or the stream) ended before any response
// (gRPC: before any status) was seen.
inline constexpr std::string_view kErrorResponseMissing = "response_missing";

// sonde.parent.source values.
inline constexpr std::string_view kParentSourceHeader = "header";          // incoming traceparent
inline constexpr std::string_view kParentSourceInProcess = "in_process";   // Build()'s parent argument
inline constexpr std::string_view kParentSourceNone = "none";              // a new trace
inline constexpr std::string_view kParentSourceAsyncTask = "async_task";   // an event loop's task or callback

void AddStr(Attributes* a, std::string_view key, std::string value);
void AddInt(Attributes* a, std::string_view key, int64_t value);
void AddBool(Attributes* a, std::string_view key, bool value);

std::string LowerAscii(std::string_view s);
// Strips HTTP optional whitespace (spaces and tabs) at both ends.
std::string_view TrimOws(std::string_view s);
// The first item of a comma list, trimmed ("a, b" -> "a").
std::string_view FirstListItem(std::string_view s);
bool EqualsNoCase(std::string_view a, std::string_view b);

// Values of every field called `name` (case-insensitive), in wire order.
std::vector<std::string> HeaderValues(const HeaderList& headers, std::string_view name);
// The same values joined as one comma list; nullopt when there are none.
std::optional<std::string> JoinedHeader(const HeaderList& headers, std::string_view name);

struct HostPort {
  std::string host;
  uint16_t port = 0;  // 0: none given
};
// Parses a Host-header-style "host[:port]" ("[::1]:8080" -> "::1", 8080).
HostPort ParseHostPort(std::string_view s);

uint16_t DefaultPort(std::string_view scheme);  // 443 for "https", else 80

// The authority the request names: HTTP/2's ":authority" pseudo-header
// (where HTTP/1 has Host), else the Host header; trimmed, empty when neither.
std::string_view RequestAuthority(const HttpRequest& req);

SpanKind KindForRole(Role role);

// The server a request was sent to, for server.address/server.port: the
// authority "host[:port]" when given (port defaulting to the scheme's), else
// the socket: the local end on a SERVER connection, the peer on a CLIENT one
// (nothing when the role is unknown).
struct ServerEndpoint {
  std::string address;
  uint16_t port = 0;
};
ServerEndpoint ResolveServer(const ConnInfo& conn, std::string_view authority, std::string_view scheme);

// server.address and (when known) server.port.
void AddServerAttributes(Attributes* a, const ServerEndpoint& server);
// client.address (call for SERVER spans only): the first X-Forwarded-For
// entry, else the peer.
void AddClientAddress(Attributes* a, const ConnInfo& conn, const HeaderList& request_headers);
// network.peer.address and network.peer.port, when known.
void AddPeerAttributes(Attributes* a, const ConnInfo& conn);

// Sets the span's trace id, parent, trace state and a new span id, and
// returns the sonde.parent.source value. A SERVER span continues the trace of
// a valid incoming traceparent (its tracestate kept): only then may request
// headers be trusted, on a CLIENT connection they were written by the traced
// process itself. Otherwise `parent`, when given, is used (the hook for
// linking a CLIENT span to the SERVER span the process is handling),
// otherwise a new trace starts.
std::string_view AssignTraceContext(Span* s, const ConnInfo& conn, const HeaderList& request_headers,
                                    const std::optional<TraceContext>& parent, IdGenerator* ids);

// unix_ns = monotonic_ns + offset, never below 0.
uint64_t MonoToUnix(uint64_t mono_ns, int64_t mono_to_unix_offset_ns);
// Start at the request's first byte; end at the response's last byte (for
// HTTP/2 that includes the trailers), else at the request's; never before
// the start.
void SetExchangeTimes(Span* s, const HttpExchange& ex, int64_t mono_to_unix_offset_ns);

// True when a header block of either side could not be decoded in full.
bool HeadersPartial(const HttpExchange& ex);

// The flags every HTTP-based span ends with: sonde.http.headers_partial
// (true only), sonde.http2.rst_error_code (when the stream was reset),
// sonde.connection.role_inferred (true only), sonde.request.incomplete
// (true only) and sonde.parent.source.
void AddExchangeFlags(Attributes* a, const ConnInfo& conn, const HttpExchange& ex,
                      std::string_view parent_source);

}  // namespace sonde
