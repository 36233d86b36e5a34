// What every database CLIENT/SERVER span shares: ids, kind, times and the
// connection's network attributes. Protocol-specific builders (redis_span,
// postgres_span) fill in the db.* attributes on top.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/types.h"
#include "spans/id_generator.h"
#include "spans/span.h"

namespace sonde {

struct DbSpanOptions {
  // db.query.text with literals/arguments replaced by placeholders (default),
  // or exactly as sent.
  bool sanitize_query = true;
};

// A span for one database exchange on `conn`: CLIENT when the traced process
// made the connection, SERVER when it accepted it (INTERNAL when unknown). Sets
// trace and span ids (a new trace), times (monotonic -> unix via the offset),
// server.address/server.port, network.peer.*, client.address on SERVER
// spans, sonde.parent.source and sonde.connection.role_inferred.
Span StartDbSpan(const ConnInfo& conn, const char* db_system, uint64_t start_mono_ns, uint64_t end_mono_ns,
                 int64_t mono_to_unix_offset_ns, IdGenerator* ids, std::shared_ptr<const Resource> resource);

void SetStr(Span* s, std::string key, std::string value);
void SetInt(Span* s, std::string key, int64_t value);

}  // namespace sonde
