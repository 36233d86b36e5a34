#include "decoders/stream_decoder.h"

#include "decoders/http1/http1_decoder.h"
#include "decoders/http2/http2_decoder.h"
#include "decoders/postgres/pg_decoder.h"
#include "decoders/redis/redis_decoder.h"

namespace sonde {

namespace {

std::unique_ptr<StreamDecoder> MakeHttp1(const ConnInfo& info, const DecoderLimits& limits,
                                         DecodeCounters* counters) {
  return std::make_unique<Http1Decoder>(info, limits, counters);
}

std::unique_ptr<StreamDecoder> MakeHttp2(const ConnInfo& info, const DecoderLimits& limits,
                                         DecodeCounters* counters) {
  return std::make_unique<Http2Decoder>(info, limits, counters);
}

std::unique_ptr<StreamDecoder> MakeRedis(const ConnInfo& info, const DecoderLimits& limits,
                                         DecodeCounters* counters) {
  return std::make_unique<RedisDecoder>(info, limits, counters);
}

std::unique_ptr<StreamDecoder> MakePostgres(const ConnInfo& info, const DecoderLimits& limits,
                                            DecodeCounters* counters) {
  return std::make_unique<PgDecoder>(info, limits, counters);
}

// HTTP/2's preface ("PRI * HTTP/2.0") is rejected by the HTTP/1 check, so
// HTTP/2 can come right after it. Without its preface (a connection joined
// mid-stream) HTTP/2 claims only bytes that read as consecutive well-formed
// frames, one of them telling (a header block that parses, a PING, ...;
// see Http2Decoder::Infer): a frame length within 16 KiB makes the first
// byte zero, which text protocols (HTTP/1, Redis), TLS records and
// PostgreSQL's typed messages never start with, and PostgreSQL's untyped
// startup packets fail the frame checks. Neither do the later entries claim
// HTTP/2 frames (tests/unit/http2/frame_test.cc checks both ways).
constexpr ProtocolEntry kProtocols[] = {
    {Protocol::kHttp1, &Http1Decoder::Infer, &MakeHttp1},
    {Protocol::kHttp2, &Http2Decoder::Infer, &MakeHttp2},
    {Protocol::kPostgres, &PgDecoder::Infer, &MakePostgres},
    {Protocol::kRedis, &RedisDecoder::Infer, &MakeRedis},
};

}  // namespace

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kHttp1: return "http1";
    case Protocol::kRedis: return "redis";
    case Protocol::kPostgres: return "postgresql";
    case Protocol::kHttp2: return "http2";
    default: return "unknown";
  }
}

std::span<const ProtocolEntry> Protocols() { return kProtocols; }

}  // namespace sonde
