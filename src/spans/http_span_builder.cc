#include "spans/http_span_builder.h"

#include <array>
#include <variant>

namespace sonde {
namespace {

constexpr std::string_view kRedacted = "REDACTED";

std::string FormatHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

bool IsKnownHttpMethod(std::string_view m) {
  static constexpr std::array<std::string_view, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (std::string_view k : kKnown)
    if (m == k) return true;
  return false;
}

std::string RedactQueryValues(std::string_view query) {
  std::string out;
  out.reserve(query.size());
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view item = query.substr(start, amp - start);
    if (start > 0) out += '&';
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      out += item.substr(0, eq + 1);
      if (eq + 1 < item.size()) out += kRedacted;
    } else if (IsIdLikeSegment(item)) {
      out += kRedacted;  // "?<token>" carries the secret as the bare item
    } else {
      out += item;
    }
    start = amp + 1;
  }
  return out;
}

HttpSpanBuilder::HttpSpanBuilder(HttpSpanOptions opts, IdGenerator* ids,
                                 int64_t mono_to_unix_offset_ns)
    : opts_(std::move(opts)),
      routes_(opts_.route_patterns),
      ids_(ids),
      offset_ns_(mono_to_unix_offset_ns) {
  for (std::string& h : opts_.capture_request_headers) h = LowerAscii(h);
  for (std::string& h : opts_.capture_response_headers) h = LowerAscii(h);
}

bool HttpSpanBuilder::IsKnownMethod(std::string_view method) const {
  if (opts_.known_methods.empty()) return IsKnownHttpMethod(method);
  for (const std::string& m : opts_.known_methods)
    if (m == method) return true;
  return false;
}

Span HttpSpanBuilder::Build(const Message& m, std::shared_ptr<const Resource> resource,
                            const std::optional<TraceContext>& parent) {
  Span s;
  s.resource = std::move(resource);
  const HttpExchange* ex = std::get_if<HttpExchange>(&m.payload);
  if (!ex) return s;
  const ConnInfo& conn = m.conn;
  const HttpRequest& req = ex->request;
  const HttpResponse* resp = ex->response ? &*ex->response : nullptr;
  const bool server = conn.role == Role::kServer;
  const bool client = conn.role == Role::kClient;
  s.kind = KindForRole(conn.role);

  const std::string_view parent_source = AssignTraceContext(&s, conn, req.headers, parent, ids_);
  SetExchangeTimes(&s, *ex, offset_ns_);

  // Name. A partly decoded HTTP/2 header block may lack :method: then there
  // is no method to report, rather than an invented "_OTHER".
  const bool method_missing = req.method.empty() && ex->h2 && ex->h2->request_headers_partial;
  const RequestTarget target = SplitRequestTarget(req.target);
  const bool known_method = !method_missing && IsKnownMethod(req.method);
  const RouteResult route = routes_.MatchPath(target.path);
  if (!known_method) {
    s.name = "HTTP";
  } else if (route.route.empty()) {
    s.name = req.method;
  } else {
    s.name = req.method + " " + route.route;
  }

  Attributes& a = s.attributes;
  // An HTTP span carries ~14 attributes: one allocation, not one per doubling
  // (14 x 72 bytes also stays within glibc's per-thread cache of small chunks).
  a.reserve(a.size() + 14);
  if (!method_missing) {
    AddStr(&a, "http.request.method", known_method ? req.method : "_OTHER");
    if (!known_method && !req.method.empty()) AddStr(&a, "http.request.method_original", req.method);
  }

  std::string scheme = "http";
  std::string forwarded_proto;
  if (server) {
    if (const std::string* proto = FindHeader(req.headers, "x-forwarded-proto"))
      forwarded_proto = LowerAscii(FirstListItem(*proto));
  }
  const std::string* h2_scheme = ex->h2 && client ? FindHeader(req.headers, ":scheme") : nullptr;
  if (!target.scheme.empty()) {
    scheme = LowerAscii(target.scheme);
  } else if (forwarded_proto == "http" || forwarded_proto == "https") {
    scheme = forwarded_proto;
  } else if (conn.tls) {
    scheme = "https";
  } else if (h2_scheme) {
    std::string p = LowerAscii(TrimOws(*h2_scheme));
    if (p == "http" || p == "https") scheme = p;
  }
  AddStr(&a, "url.scheme", scheme);

  std::string query;
  if (target.has_query && !target.query.empty())
    query = opts_.redact_query_values ? RedactQueryValues(target.query) : std::string(target.query);
  if (!target.path.empty()) AddStr(&a, "url.path", std::string(target.path));
  if (!query.empty()) AddStr(&a, "url.query", query);

  // server.address / server.port.
  std::string_view authority = target.authority;
  if (authority.empty() && server) {
    if (const std::string* xfh = FindHeader(req.headers, "x-forwarded-host")) authority = FirstListItem(*xfh);
  }
  if (authority.empty()) authority = RequestAuthority(req);
  const ServerEndpoint endpoint = ResolveServer(conn, authority, scheme);

  if (client && !endpoint.address.empty() && !target.path.empty()) {
    std::string full = scheme + "://" + FormatHost(endpoint.address);
    if (endpoint.port && endpoint.port != DefaultPort(scheme)) full += ":" + std::to_string(endpoint.port);
    full += target.path;
    if (!query.empty()) full += "?" + query;
    AddStr(&a, "url.full", std::move(full));
  }
  if (server && route.configured) AddStr(&a, "http.route", route.route);
  // A partial HTTP/2 response block may lack :status (0): unknown, not invalid.
  const bool status_missing = resp && resp->status == 0 && ex->h2 && ex->h2->response_headers_partial;
  if (resp && !status_missing) AddInt(&a, "http.response.status_code", resp->status);
  AddServerAttributes(&a, endpoint);
  if (server) AddClientAddress(&a, conn, req.headers);
  AddPeerAttributes(&a, conn);
  AddStr(&a, "network.protocol.name", "http");
  const std::string version = ex->h2                ? std::string("2")
                              : !req.version.empty() ? req.version
                              : resp                 ? resp->version
                                                     : std::string();
  if (!version.empty()) AddStr(&a, "network.protocol.version", version);
  if (const std::string* ua = FindHeader(req.headers, "user-agent"))
    AddStr(&a, "user_agent.original", *ua);
  if (req.body_size) AddInt(&a, "http.request.body.size", static_cast<int64_t>(req.body_size));
  if (resp && resp->body_size)
    AddInt(&a, "http.response.body.size", static_cast<int64_t>(resp->body_size));

  for (const std::string& h : opts_.capture_request_headers) {
    if (auto v = JoinedHeader(req.headers, h)) AddStr(&a, "http.request.header." + h, std::move(*v));
  }
  if (resp) {
    for (const std::string& h : opts_.capture_response_headers) {
      if (auto v = JoinedHeader(resp->headers, h))
        AddStr(&a, "http.response.header." + h, std::move(*v));
    }
  }

  // Status: 5xx and unreadable codes are errors for both kinds; 4xx only for
  // CLIENT spans (on a server a 404 is the client's mistake, not a failure).
  std::string error_type;
  if (!resp) {
    error_type = kErrorResponseMissing;
  } else if (status_missing) {
    // Unknown outcome: no error claimed.
  } else if (resp->status < 100 || resp->status > 599) {
    error_type = "_OTHER";
  } else if (resp->status >= 500 || (client && resp->status >= 400)) {
    error_type = std::to_string(resp->status);
  }
  if (!error_type.empty()) {
    AddStr(&a, "error.type", std::move(error_type));
    s.status = StatusCode::kError;
  }

  AddExchangeFlags(&a, conn, *ex, parent_source);
  return s;
}

}  // namespace sonde
