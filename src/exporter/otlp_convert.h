// Span -> OTLP protobuf conversion, kept apart from the gRPC transport so it
// can be reused by an OTLP/HTTP exporter and tested without a network.
#pragma once

#include <string>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "spans/span.h"

namespace sonde {

struct OtlpScope {
  std::string name = "sonde";
  std::string version;
};

// Appends `attrs` as OTLP KeyValues (strings made valid UTF-8).
void AddOtlpAttributes(const Attributes& attrs,
                       google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* out);

// Builds one request from a batch. Spans are grouped into one ResourceSpans
// per distinct Resource object (identity of the shared_ptr, not equal
// contents: span building hands out one Resource per process), in order of
// first appearance; spans without a resource share one ResourceSpans with an
// empty resource. Each ResourceSpans holds a single ScopeSpans for `scope`.
// Strings are made valid UTF-8 on the way (see ToValidUtf8).
void ToOtlpRequest(const std::vector<Span>& batch, const OtlpScope& scope,
                   opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest* out);

}  // namespace sonde
