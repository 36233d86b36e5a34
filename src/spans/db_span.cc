#include "spans/db_span.h"

namespace sonde {

void SetStr(Span* s, std::string key, std::string value) {
  s->attributes.push_back({std::move(key), AttrValue(std::move(value))});
}

void SetInt(Span* s, std::string key, int64_t value) {
  s->attributes.push_back({std::move(key), AttrValue(value)});
}

Span StartDbSpan(const ConnInfo& conn, const char* db_system, uint64_t start_mono_ns, uint64_t end_mono_ns,
                 int64_t offset, IdGenerator* ids, std::shared_ptr<const Resource> resource) {
  Span s;
  s.resource = std::move(resource);
  s.kind = conn.role == Role::kServer   ? SpanKind::kServer
           : conn.role == Role::kClient ? SpanKind::kClient
                                        : SpanKind::kInternal;
  s.trace_id = ids->NewTraceId();
  s.span_id = ids->NewSpanId();
  if (end_mono_ns < start_mono_ns) end_mono_ns = start_mono_ns;
  s.start_unix_ns = static_cast<uint64_t>(static_cast<int64_t>(start_mono_ns) + offset);
  s.end_unix_ns = static_cast<uint64_t>(static_cast<int64_t>(end_mono_ns) + offset);
  SetStr(&s, "db.system.name", db_system);
  // The server is the peer of a client connection and this process on a server one.
  const bool server_side = conn.role == Role::kServer;
  SetStr(&s, "server.address", server_side ? conn.local_addr : conn.peer_addr);
  SetInt(&s, "server.port", server_side ? conn.local_port : conn.peer_port);
  SetStr(&s, "network.peer.address", conn.peer_addr);
  SetInt(&s, "network.peer.port", conn.peer_port);
  if (server_side) SetStr(&s, "client.address", conn.peer_addr);
  SetStr(&s, "sonde.parent.source", "none");
  if (conn.role_inferred) s.attributes.push_back({"sonde.connection.role_inferred", AttrValue(true)});
  return s;
}

}  // namespace sonde
