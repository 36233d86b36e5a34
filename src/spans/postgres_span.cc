#include "spans/postgres_span.h"

namespace sonde {

Span BuildPostgresSpan(const ConnInfo& conn, const PgExchange& ex, const DbSpanOptions& opts, int64_t offset,
                       IdGenerator* ids, std::shared_ptr<const Resource> resource) {
  Span s = StartDbSpan(conn, "postgresql", ex.start_ns, ex.end_ns, offset, ids, std::move(resource));
  s.name = "postgresql";
  return s;
}

}  // namespace sonde
