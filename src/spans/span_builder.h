// One entry point from any decoded Message to its Span: dispatches on the
// protocol of the message to the protocol's builder (an HTTP exchange that
// carries gRPC goes to the gRPC builder, see IsGrpcExchange).
#pragma once

#include <memory>

#include "decoders/message.h"
#include "spans/db_span.h"
#include "spans/grpc_span.h"
#include "spans/http_span_builder.h"
#include "spans/id_generator.h"
#include "spans/span.h"

namespace sonde {

struct SpanOptions {
  HttpSpanOptions http;
  DbSpanOptions db;
};

class SpanBuilder {
 public:
  SpanBuilder(SpanOptions opts, IdGenerator* ids, int64_t mono_to_unix_offset_ns);
  Span Build(const Message& m, std::shared_ptr<const Resource> resource);

 private:
  SpanOptions opts_;
  IdGenerator* ids_;
  int64_t offset_;
  HttpSpanBuilder http_;
  GrpcSpanBuilder grpc_;
};

}  // namespace sonde
