// Redis exchange -> span (OpenTelemetry database semantic conventions).
#pragma once

#include <memory>

#include "decoders/message.h"
#include "spans/db_span.h"

namespace sonde {

Span BuildRedisSpan(const ConnInfo& conn, const RedisExchange& ex, const DbSpanOptions& opts,
                    int64_t mono_to_unix_offset_ns, IdGenerator* ids, std::shared_ptr<const Resource> resource);

}  // namespace sonde
