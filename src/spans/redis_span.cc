#include "spans/redis_span.h"

namespace sonde {

Span BuildRedisSpan(const ConnInfo& conn, const RedisExchange& ex, const DbSpanOptions& opts, int64_t offset,
                    IdGenerator* ids, std::shared_ptr<const Resource> resource) {
  uint64_t end = ex.reply ? ex.reply->end_ns : ex.command.end_ns;
  Span s = StartDbSpan(conn, "redis", ex.command.start_ns, end, offset, ids, std::move(resource));
  s.name = ex.command.args.empty() ? "redis" : ex.command.args[0];
  return s;
}

}  // namespace sonde
