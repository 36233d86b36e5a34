#include "spans/span_builder.h"

#include "spans/postgres_span.h"
#include "spans/redis_span.h"

namespace sonde {

SpanBuilder::SpanBuilder(SpanOptions opts, IdGenerator* ids, int64_t offset)
    : opts_(std::move(opts)), ids_(ids), offset_(offset), http_(opts_.http, ids, offset),
      grpc_(opts_.http, ids, offset) {}

Span SpanBuilder::Build(const Message& m, std::shared_ptr<const Resource> resource) {
  if (const auto* r = std::get_if<RedisExchange>(&m.payload))
    return BuildRedisSpan(m.conn, *r, opts_.db, offset_, ids_, std::move(resource));
  if (const auto* p = std::get_if<PgExchange>(&m.payload))
    return BuildPostgresSpan(m.conn, *p, opts_.db, offset_, ids_, std::move(resource));
  if (const auto* h = std::get_if<HttpExchange>(&m.payload); h && IsGrpcExchange(*h))
    return grpc_.Build(m, std::move(resource));
  return http_.Build(m, std::move(resource));
}

}  // namespace sonde
