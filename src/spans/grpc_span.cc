#include "spans/grpc_span.h"

#include <variant>

#include "spans/http_common.h"

namespace sonde {
namespace {

constexpr std::string_view kGrpcContentType = "application/grpc";

// "application/grpc", "application/grpc+proto", "application/grpc; x=y",
// case-insensitively; not "application/grpc-web".
bool IsGrpcContentType(std::string_view v) {
  v = TrimOws(v);
  if (v.size() < kGrpcContentType.size() || !EqualsNoCase(v.substr(0, kGrpcContentType.size()), kGrpcContentType))
    return false;
  if (v.size() == kGrpcContentType.size()) return true;
  const char next = v[kGrpcContentType.size()];
  return next == '+' || next == ';' || next == ' ' || next == '\t';
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A grpc-status value: 1*DIGIT. Longer than 9 digits is not a status.
std::optional<int64_t> ParseStatusCode(std::string_view v) {
  v = TrimOws(v);
  if (v.empty() || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// What the response says about the call's outcome.
struct GrpcOutcome {
  std::optional<int64_t> code;
  bool unreadable = false;      // grpc-status present but not a number
  const std::string* message = nullptr;
};

GrpcOutcome ReadOutcome(const HttpResponse* resp) {
  GrpcOutcome out;
  if (!resp) return out;
  // Trailers normally; the response headers for a Trailers-Only response.
  const HeaderList* block = &resp->trailers;
  const std::string* status = FindHeader(resp->trailers, "grpc-status");
  if (!status) {
    block = &resp->headers;
    status = FindHeader(resp->headers, "grpc-status");
  }
  if (status) {
    out.code = ParseStatusCode(*status);
    out.unreadable = !out.code;
    out.message = FindHeader(*block, "grpc-message");
  } else if (resp->status != 0 && resp->status != 200) {
    out.code = GrpcStatusFromHttpStatus(resp->status);
  }
  return out;
}

void AddMetadata(Attributes* a, std::string_view prefix, const std::vector<std::string>& keys,
                 const HeaderList& first, const HeaderList* second) {
  for (const std::string& key : keys) {
    StringArray values = HeaderValues(first, key);
    if (second) {
      for (std::string& v : HeaderValues(*second, key)) values.push_back(std::move(v));
    }
    if (!values.empty()) a->push_back({std::string(prefix) + key, AttrValue(std::move(values))});
  }
}

std::vector<std::string> MetadataKeys(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (n.empty() || n[0] == ':') continue;  // pseudo-headers are not metadata
    out.push_back(LowerAscii(n));
  }
  return out;
}

}  // namespace

bool IsGrpcExchange(const HttpExchange& ex) {
  const std::string* ct = FindHeader(ex.request.headers, "content-type");
  if (!ct && ex.h2 && ex.h2->request_headers_partial && ex.response)
    ct = FindHeader(ex.response->headers, "content-type");
  return ct && IsGrpcContentType(*ct);
}

std::optional<GrpcMethod> ParseGrpcPath(std::string_view path) {
  if (path.size() < 4 || path[0] != '/') return std::nullopt;
  const size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == path.size()) return std::nullopt;
  std::string_view method = path.substr(slash + 1);
  if (method.find_first_of("/?") != std::string_view::npos) return std::nullopt;
  return GrpcMethod{std::string(path.substr(1, slash - 1)), std::string(method)};
}

std::string PercentDecodeGrpcMessage(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size()) {
      const int hi = HexVal(v[i + 1]);
      const int lo = HexVal(v[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(v[i]);
  }
  return out;
}

bool GrpcStatusIsError(int64_t code, SpanKind kind) {
  if (kind == SpanKind::kClient) return code != 0;
  switch (code) {
    case 2:   // UNKNOWN
    case 4:   // DEADLINE_EXCEEDED
    case 12:  // UNIMPLEMENTED
    case 13:  // INTERNAL
    case 14:  // UNAVAILABLE
    case 15:  // DATA_LOSS
      return true;
    default:
      return false;
  }
}

int64_t GrpcStatusFromHttpStatus(int http_status) {
  switch (http_status) {
    case 400: return 13;  // INTERNAL
    case 401: return 16;  // UNAUTHENTICATED
    case 403: return 7;   // PERMISSION_DENIED
    case 404: return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504: return 14;  // UNAVAILABLE
    default: return 2;    // UNKNOWN
  }
}

GrpcSpanBuilder::GrpcSpanBuilder(const HttpSpanOptions& opts, IdGenerator* ids, int64_t offset)
    : request_metadata_(MetadataKeys(opts.capture_request_headers)),
      response_metadata_(MetadataKeys(opts.capture_response_headers)),
      ids_(ids),
      offset_ns_(offset) {}

Span GrpcSpanBuilder::Build(const Message& m, std::shared_ptr<const Resource> resource,
                            const std::optional<TraceContext>& parent) {
  Span s;
  s.resource = std::move(resource);
  const HttpExchange* ex = std::get_if<HttpExchange>(&m.payload);
  if (!ex) return s;
  const ConnInfo& conn = m.conn;
  const HttpRequest& req = ex->request;
  const HttpResponse* resp = ex->response ? &*ex->response : nullptr;
  s.kind = KindForRole(conn.role);

  const std::string_view parent_source = AssignTraceContext(&s, conn, req.headers, parent, ids_);
  SetExchangeTimes(&s, *ex, offset_ns_);

  Attributes& a = s.attributes;
  AddStr(&a, "rpc.system", "grpc");
  const std::optional<GrpcMethod> method = ParseGrpcPath(req.target);
  if (method) {
    s.name = method->service + "/" + method->method;
    AddStr(&a, "rpc.service", method->service);
    AddStr(&a, "rpc.method", method->method);
  } else {
    s.name = "grpc";
  }

  const GrpcOutcome outcome = ReadOutcome(resp);
  if (outcome.code) AddInt(&a, "rpc.grpc.status_code", *outcome.code);

  std::string scheme = "http";
  if (conn.tls) {
    scheme = "https";
  } else if (const std::string* sch = FindHeader(req.headers, ":scheme")) {
    if (LowerAscii(TrimOws(*sch)) == "https") scheme = "https";
  }
  AddServerAttributes(&a, ResolveServer(conn, RequestAuthority(req), scheme));
  if (conn.role == Role::kServer) AddClientAddress(&a, conn, req.headers);
  AddPeerAttributes(&a, conn);
  AddStr(&a, "network.protocol.name", "http");
  if (ex->h2) {
    AddStr(&a, "network.protocol.version", "2");
    AddInt(&a, "sonde.grpc.request_messages", ex->h2->request_messages);
    AddInt(&a, "sonde.grpc.response_messages", ex->h2->response_messages);
  } else if (!req.version.empty()) {
    AddStr(&a, "network.protocol.version", req.version);
  }

  AddMetadata(&a, "rpc.grpc.request.metadata.", request_metadata_, req.headers, nullptr);
  if (resp) AddMetadata(&a, "rpc.grpc.response.metadata.", response_metadata_, resp->headers, &resp->trailers);

  std::string error_type;
  if (outcome.code) {
    if (GrpcStatusIsError(*outcome.code, s.kind)) error_type = std::to_string(*outcome.code);
  } else if (outcome.unreadable) {
    error_type = "_OTHER";
  } else {
    // No status. Lost to undecodable header blocks: the call may well have
    // succeeded. Otherwise the connection ended or the stream was reset first.
    const bool undecoded = resp && ex->h2 && ex->h2->response_headers_partial && !ex->h2->rst_error_code &&
                           !ex->h2->goaway;
    if (!undecoded) error_type = kErrorResponseMissing;
  }
  if (!error_type.empty()) {
    s.status = StatusCode::kError;
    if (outcome.message && !outcome.message->empty()) s.status_message = PercentDecodeGrpcMessage(*outcome.message);
    AddStr(&a, "error.type", std::move(error_type));
  }

  AddExchangeFlags(&a, conn, *ex, parent_source);
  return s;
}

}  // namespace sonde
