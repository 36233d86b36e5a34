#include "decoders/stream_decoder.h"

#include "decoders/http1/http1_decoder.h"

namespace sonde {

namespace {

std::unique_ptr<StreamDecoder> MakeHttp1(const ConnInfo& info, const DecoderLimits& limits,
                                         DecodeCounters* counters) {
  return std::make_unique<Http1Decoder>(info, limits, counters);
}

// HTTP/2's preface ("PRI * HTTP/2.0") is rejected by the HTTP/1 check, so an
// HTTP/2 entry can be added here without reordering.
constexpr ProtocolEntry kProtocols[] = {
    {Protocol::kHttp1, &Http1Decoder::Infer, &MakeHttp1},
};

}  // namespace

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kHttp1: return "http1";
    default: return "unknown";
  }
}

std::span<const ProtocolEntry> Protocols() { return kProtocols; }

}  // namespace sonde
