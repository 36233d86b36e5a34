// The seam between connection tracking and protocol decoding. Each protocol
// is one StreamDecoder implementation plus one line in the registry
// (stream_decoder.cc); the tracker never names a protocol itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "decoders/message.h"

namespace sonde {

// Loss and recovery counters a decoder adds to. Owned by whoever runs the
// decoder (the tracker, or a test), so decoders stay free of globals.
struct DecodeCounters {
  uint64_t resyncs = 0;  // times a stream lost its framing and searched for a new start
  uint64_t gaps = 0;     // times a chunk started past the expected position (lost events)
  uint64_t bytes_skipped =
      0;  // bytes that could not be decoded (gaps, holes outside bodies, garbage)
  uint64_t orphan_responses = 0;   // responses with no request to pair with
  uint64_t pending_overflows = 0;  // requests flushed unanswered because too many were queued
};

// Per-connection bounds handed to every decoder.
struct DecoderLimits {
  size_t max_pending = 256;                // requests waiting for their response
  size_t max_pending_bytes = 1024 * 1024;  // approximate heap held by those requests
  // Where decoders of SERVER connections report requests as they complete
  // (before the response); null: not reported.
  std::vector<RequestStart>* request_starts = nullptr;
};

enum class Protocol : uint8_t { kUnknown = 0, kHttp1 = 1, kRedis = 2, kPostgres = 3, kHttp2 = 4 };

const char* ProtocolName(Protocol p);

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  virtual Protocol protocol() const = 0;
  // Chunks of one direction arrive in position order but may overlap, repeat or
  // skip; the decoder sorts that out.
  virtual void OnData(Direction dir, const DataChunk& chunk) = 0;
  // The connection ended: finish what can be finished, emit what is pending.
  virtual void OnClose(uint64_t ts_ns) = 0;
  // Moves completed messages out (appends to *out).
  virtual void Drain(std::vector<Message>* out) = 0;
  // Bytes held in reassembly buffers, for bounds checks and self-metrics.
  virtual size_t buffered_bytes() const = 0;
};

enum class InferVerdict : uint8_t { kNo, kNeedMore, kYes };

struct InferResult {
  InferVerdict verdict = InferVerdict::kNo;
  // The traced process's role implied by the bytes (kUnknown when they don't say).
  Role role = Role::kUnknown;
};

struct ProtocolEntry {
  Protocol protocol;
  // Looks at the first bytes of one direction of a connection.
  InferResult (*infer)(Direction dir, std::string_view first_bytes);
  std::unique_ptr<StreamDecoder> (*make)(const ConnInfo& info, const DecoderLimits& limits,
                                         DecodeCounters* counters);
};

// Every protocol sonde decodes, most specific first.
std::span<const ProtocolEntry> Protocols();

}  // namespace sonde
