#include "spans/http_common.h"

#include <strings.h>

namespace sonde {

void AddStr(Attributes* a, std::string_view key, std::string value) {
  a->push_back({std::string(key), AttrValue(std::move(value))});
}
void AddInt(Attributes* a, std::string_view key, int64_t value) {
  a->push_back({std::string(key), AttrValue(value)});
}
void AddBool(Attributes* a, std::string_view key, bool value) {
  a->push_back({std::string(key), AttrValue(value)});
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view FirstListItem(std::string_view s) { return TrimOws(s.substr(0, s.find(','))); }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::vector<std::string> HeaderValues(const HeaderList& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (EqualsNoCase(k, name)) out.push_back(v);
  return out;
}

// The semantic conventions allow a single comma-concatenated value.
std::optional<std::string> JoinedHeader(const HeaderList& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [k, v] : headers) {
    if (!EqualsNoCase(k, name)) continue;
    if (out) {
      *out += ", ";
      *out += v;
    } else {
      out = v;
    }
  }
  return out;
}

HostPort ParseHostPort(std::string_view s) {
  s = TrimOws(s);
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

uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

std::string_view RequestAuthority(const HttpRequest& req) {
  if (const std::string* a = FindHeader(req.headers, ":authority")) {
    std::string_view v = TrimOws(*a);
    if (!v.empty()) return v;
  }
  if (const std::string* h = FindHeader(req.headers, "host")) return TrimOws(*h);
  return {};
}

SpanKind KindForRole(Role role) {
  return role == Role::kServer   ? SpanKind::kServer
         : role == Role::kClient ? SpanKind::kClient
                                 : SpanKind::kInternal;
}

ServerEndpoint ResolveServer(const ConnInfo& conn, std::string_view authority, std::string_view scheme) {
  ServerEndpoint out;
  if (!authority.empty()) {
    HostPort hp = ParseHostPort(authority);
    out.address = std::move(hp.host);
    out.port = hp.port ? hp.port : DefaultPort(scheme);
  } else if (conn.role == Role::kServer) {
    out.address = conn.local_addr;
    out.port = conn.local_port;
  } else if (conn.role == Role::kClient) {
    out.address = conn.peer_addr;
    out.port = conn.peer_port;
  }
  return out;
}

void AddServerAttributes(Attributes* a, const ServerEndpoint& server) {
  if (server.address.empty()) return;
  AddStr(a, "server.address", server.address);
  if (server.port) AddInt(a, "server.port", server.port);
}

void AddClientAddress(Attributes* a, const ConnInfo& conn, const HeaderList& request_headers) {
  std::string client = conn.peer_addr;
  if (const std::string* xff = FindHeader(request_headers, "x-forwarded-for")) {
    std::string_view first = FirstListItem(*xff);
    if (!first.empty()) client = std::string(first);
  }
  if (!client.empty()) AddStr(a, "client.address", std::move(client));
}

void AddPeerAttributes(Attributes* a, const ConnInfo& conn) {
  if (conn.peer_addr.empty()) return;
  AddStr(a, "network.peer.address", conn.peer_addr);
  if (conn.peer_port) AddInt(a, "network.peer.port", conn.peer_port);
}

std::string_view AssignTraceContext(Span* s, const ConnInfo& conn, const HeaderList& request_headers,
                                    const std::optional<TraceContext>& parent, IdGenerator* ids) {
  std::optional<TraceContext> incoming;
  if (conn.role == Role::kServer) incoming = ExtractTraceContext(request_headers);
  std::string_view source = kParentSourceNone;
  if (incoming) {
    s->trace_id = incoming->trace_id;
    s->parent_span_id = incoming->parent_id;
    s->trace_state = std::move(incoming->trace_state);
    source = kParentSourceHeader;
  } else if (parent) {
    s->trace_id = parent->trace_id;
    s->parent_span_id = parent->parent_id;
    s->trace_state = parent->trace_state;
    source = kParentSourceInProcess;
  } else {
    s->trace_id = ids->NewTraceId();
  }
  s->span_id = ids->NewSpanId();
  return source;
}

uint64_t MonoToUnix(uint64_t mono_ns, int64_t offset) {
  int64_t t = static_cast<int64_t>(mono_ns) + offset;
  return t < 0 ? 0 : static_cast<uint64_t>(t);
}

void SetExchangeTimes(Span* s, const HttpExchange& ex, int64_t offset) {
  const HttpRequest& req = ex.request;
  uint64_t end = ex.response ? ex.response->end_ns : req.end_ns;
  if (end < req.start_ns) end = req.start_ns;
  s->start_unix_ns = MonoToUnix(req.start_ns, offset);
  s->end_unix_ns = MonoToUnix(end, offset);
}

bool HeadersPartial(const HttpExchange& ex) {
  return ex.h2 && (ex.h2->request_headers_partial || ex.h2->response_headers_partial);
}

void AddExchangeFlags(Attributes* a, const ConnInfo& conn, const HttpExchange& ex,
                      std::string_view parent_source) {
  if (HeadersPartial(ex)) AddBool(a, "sonde.http.headers_partial", true);
  if (ex.h2 && ex.h2->rst_error_code)
    AddInt(a, "sonde.http2.rst_error_code", static_cast<int64_t>(*ex.h2->rst_error_code));
  if (conn.role_inferred) AddBool(a, "sonde.connection.role_inferred", true);
  if (ex.request_incomplete) AddBool(a, "sonde.request.incomplete", true);
  AddStr(a, "sonde.parent.source", std::string(parent_source));
}

}  // namespace sonde
