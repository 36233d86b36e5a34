#include "spans/http_span_builder.h"

#include <strings.h>

#include <array>
#include <variant>

namespace sonde {
namespace {

constexpr std::string_view kRedacted = "REDACTED";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view FirstListItem(std::string_view s) { return Trim(s.substr(0, s.find(','))); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool NameIs(const std::string& name, std::string_view want) {
  return name.size() == want.size() && strncasecmp(name.data(), want.data(), want.size()) == 0;
}

void AddStr(Attributes* a, std::string_view key, std::string value) {
  a->push_back({std::string(key), AttrValue(std::move(value))});
}
void AddInt(Attributes* a, std::string_view key, int64_t value) {
  a->push_back({std::string(key), AttrValue(value)});
}
void AddBool(Attributes* a, std::string_view key, bool value) {
  a->push_back({std::string(key), AttrValue(value)});
}

// Values of every header called `name`, joined as one comma list (the
// semantic conventions allow a single comma-concatenated value).
std::optional<std::string> JoinedHeader(const HeaderList& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [k, v] : headers) {
    if (!NameIs(k, name)) continue;
    if (out) {
      *out += ", ";
      *out += v;
    } else {
      out = v;
    }
  }
  return out;
}

uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

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

HostPort ParseHostPort(std::string_view s) {
  s = Trim(s);
  HostPort hp;
  std::string_view host = s, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return {std::string(s), 0};
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && rest[0] == ':') port = rest.substr(1);
  } else {
    size_t colon = s.rfind(':');
    // More than one ':' without brackets: a bare IPv6 address, no port.
    if (colon != std::string_view::npos && s.find(':') == colon) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
    }
  }
  hp.host = std::string(host);
  if (!port.empty() && port.size() <= 5) {
    uint32_t p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return hp;
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p <= 65535) hp.port = static_cast<uint16_t>(p);
  }
  return hp;
}

HttpSpanBuilder::HttpSpanBuilder(HttpSpanOptions opts, IdGenerator* ids,
                                 int64_t mono_to_unix_offset_ns)
    : opts_(std::move(opts)),
      routes_(opts_.route_patterns),
      ids_(ids),
      offset_ns_(mono_to_unix_offset_ns) {
  for (std::string& h : opts_.capture_request_headers) h = Lower(h);
  for (std::string& h : opts_.capture_response_headers) h = Lower(h);
}

uint64_t HttpSpanBuilder::ToUnix(uint64_t mono_ns) const {
  int64_t t = static_cast<int64_t>(mono_ns) + offset_ns_;
  return t < 0 ? 0 : static_cast<uint64_t>(t);
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
  s.kind = server ? SpanKind::kServer : client ? SpanKind::kClient : SpanKind::kInternal;

  // Trace context. Only a SERVER span may trust request headers: on a CLIENT
  // connection they were written by the traced process itself.
  std::optional<TraceContext> incoming;
  if (server) incoming = ExtractTraceContext(req.headers);
  std::string_view parent_source = kParentSourceNone;
  if (incoming) {
    s.trace_id = incoming->trace_id;
    s.parent_span_id = incoming->parent_id;
    s.trace_state = std::move(incoming->trace_state);
    parent_source = kParentSourceHeader;
  } else if (parent) {
    s.trace_id = parent->trace_id;
    s.parent_span_id = parent->parent_id;
    s.trace_state = parent->trace_state;
    parent_source = kParentSourceInProcess;
  } else {
    s.trace_id = ids_->NewTraceId();
  }
  s.span_id = ids_->NewSpanId();

  uint64_t end = resp ? resp->end_ns : req.end_ns;
  if (end < req.start_ns) end = req.start_ns;
  s.start_unix_ns = ToUnix(req.start_ns);
  s.end_unix_ns = ToUnix(end);

  // Name.
  const RequestTarget target = SplitRequestTarget(req.target);
  const bool known_method = IsKnownMethod(req.method);
  const RouteResult route = routes_.MatchPath(target.path);
  if (!known_method) {
    s.name = "HTTP";
  } else if (route.route.empty()) {
    s.name = req.method;
  } else {
    s.name = req.method + " " + route.route;
  }

  Attributes& a = s.attributes;
  AddStr(&a, "http.request.method", known_method ? req.method : "_OTHER");
  if (!known_method && !req.method.empty()) AddStr(&a, "http.request.method_original", req.method);

  std::string scheme = "http";
  if (!target.scheme.empty()) {
    scheme = Lower(target.scheme);
  } else if (server) {
    if (const std::string* proto = FindHeader(req.headers, "x-forwarded-proto")) {
      std::string p = Lower(FirstListItem(*proto));
      if (p == "http" || p == "https") scheme = p;
    }
  }
  AddStr(&a, "url.scheme", scheme);

  std::string query;
  if (target.has_query && !target.query.empty())
    query = opts_.redact_query_values ? RedactQueryValues(target.query) : std::string(target.query);
  if (!target.path.empty()) AddStr(&a, "url.path", std::string(target.path));
  if (!query.empty()) AddStr(&a, "url.query", query);

  // server.address / server.port.
  std::string_view host_src = target.authority;
  if (host_src.empty() && server) {
    if (const std::string* xfh = FindHeader(req.headers, "x-forwarded-host"))
      host_src = FirstListItem(*xfh);
  }
  if (host_src.empty()) {
    if (const std::string* host = FindHeader(req.headers, "host")) host_src = Trim(*host);
  }
  std::string server_addr;
  uint16_t server_port = 0;
  if (!host_src.empty()) {
    HostPort hp = ParseHostPort(host_src);
    server_addr = std::move(hp.host);
    server_port = hp.port ? hp.port : DefaultPort(scheme);
  } else if (server) {
    server_addr = conn.local_addr;
    server_port = conn.local_port;
  } else if (client) {
    server_addr = conn.peer_addr;
    server_port = conn.peer_port;
  }

  if (client && !server_addr.empty() && !target.path.empty()) {
    std::string full = scheme + "://" + FormatHost(server_addr);
    if (server_port && server_port != DefaultPort(scheme)) full += ":" + std::to_string(server_port);
    full += target.path;
    if (!query.empty()) full += "?" + query;
    AddStr(&a, "url.full", std::move(full));
  }
  if (server && route.configured) AddStr(&a, "http.route", route.route);
  if (resp) AddInt(&a, "http.response.status_code", resp->status);
  if (!server_addr.empty()) {
    AddStr(&a, "server.address", server_addr);
    if (server_port) AddInt(&a, "server.port", server_port);
  }
  if (server) {
    std::string client_addr = conn.peer_addr;
    if (const std::string* xff = FindHeader(req.headers, "x-forwarded-for")) {
      std::string_view first = FirstListItem(*xff);
      if (!first.empty()) client_addr = std::string(first);
    }
    if (!client_addr.empty()) AddStr(&a, "client.address", std::move(client_addr));
  }
  if (!conn.peer_addr.empty()) {
    AddStr(&a, "network.peer.address", conn.peer_addr);
    if (conn.peer_port) AddInt(&a, "network.peer.port", conn.peer_port);
  }
  AddStr(&a, "network.protocol.name", "http");
  const std::string& version = !req.version.empty() ? req.version
                               : resp              ? resp->version
                                                   : req.version;
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
  } else if (resp->status < 100 || resp->status > 599) {
    error_type = "_OTHER";
  } else if (resp->status >= 500 || (client && resp->status >= 400)) {
    error_type = std::to_string(resp->status);
  }
  if (!error_type.empty()) {
    AddStr(&a, "error.type", std::move(error_type));
    s.status = StatusCode::kError;
  }

  if (conn.role_inferred) AddBool(&a, "sonde.connection.role_inferred", true);
  if (ex->request_incomplete) AddBool(&a, "sonde.request.incomplete", true);
  AddStr(&a, "sonde.parent.source", std::string(parent_source));
  return s;
}

}  // namespace sonde
