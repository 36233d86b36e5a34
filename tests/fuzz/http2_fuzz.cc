// libFuzzer target for the HTTP/2 decoder (frames, HPACK in and out of
// sync, streams, gRPC message counting) and the connection tracker's
// inference with HTTP/2 in the registry.
//
// Input format (a recorded capture, tests/captures/http2/*.cap, after the
// mode byte is a good seed as it is):
//   byte 0        mode: role = mode % 3, joined mid-stream when bit 2 is set
//                 (the role then counts as inferred), pending limit =
//                 1 + mode / 16
//   then          length-prefixed segments (fuzz_input.h SplitFramed): a
//                 control byte, its parameter bytes, a 4-byte big-endian
//                 length, the payload.
// Control bits: 0 = server-to-client direction (else client-to-server),
// 1 = capped syscall (next byte * 37 uncaptured bytes, half the data kept),
// 2 = lost event before it (next byte = bytes lost),
// 3+4 = re-send already seen bytes (next byte = how far back),
// 5 = split into pieces of (next byte + 1) bytes, 6 = repeat payload (next byte) times,
// 7 = also expire / close in the tracker afterwards.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/connection_tracker.h"
#include "decoders/http2/h2_frame.h"
#include "decoders/http2/hpack.h"
#include "decoders/http2/http2_decoder.h"
#include "fuzz_input.h"

namespace {

using sonde::DataChunk;
using sonde::Direction;

// Reassembly (a partial frame header and a header block per direction),
// dynamic tables and their shadows, the streams' byte budget plus the one
// stream being filled (four header lists at most).
size_t Bound(const sonde::DecoderLimits& limits) {
  const size_t per_direction = 2 * 1024 + 2 * (sonde::http2::kMaxHeaderBlockBytes + 64) +
                               sonde::http2::kMaxControlPayload + 4 * sonde::http2::kMaxTableSize +
                               (sonde::http2::kMaxTableSize / 32) * 128;
  const size_t one_stream = 4 * (sonde::http2::kMaxDecodedBytes +
                                 sonde::http2::kMaxFields * 2 * sizeof(std::string)) + 4096;
  return 2 * per_direction + limits.max_pending_bytes + one_stream;
}

struct Driver {
  sonde::ConnInfo info;
  sonde::DecoderLimits limits;
  sonde::Http2Decoder dec;
  sonde::ConnectionTracker tracker;
  uint64_t pos[2] = {0, 0};
  uint64_t ts = 1;
  std::vector<sonde::Message> out;

  Driver(const sonde::ConnInfo& i, const sonde::DecoderLimits& l,
         const sonde::TrackerOptions& topts)
      : info(i), limits(l), dec(i, l, nullptr), tracker(topts) {}

  void Send(Direction dir, const DataChunk& chunk, uint8_t ctl) {
    dec.OnData(dir, chunk);
    sonde::ConnInfo tinfo = info;
    tinfo.key.fd = chunk.tid % 3;  // a few connections, so eviction happens
    tracker.OnData(tinfo, dir, chunk);
    if (ctl & 0x80) {
      if (ctl & 0x01) {
        tracker.OnClose(tinfo.key, ts);
      } else {
        tracker.Expire(ts + 100);
      }
    }
    if (dec.buffered_bytes() > Bound(limits)) __builtin_trap();
    dec.Drain(&out);
    tracker.Drain(&out);
    Check();
  }

  static const std::string* Field(const sonde::HeaderList& l, std::string_view name) {
    for (const auto& [k, v] : l) {
      if (k == name) return &v;
    }
    return nullptr;
  }

  static bool HasField(const sonde::HeaderList& l, std::string_view name, std::string_view value) {
    for (const auto& [k, v] : l) {
      if (k == name && v == value) return true;
    }
    return false;
  }

  void Check() {
    for (const sonde::Message& m : out) {
      const auto* ex = std::get_if<sonde::HttpExchange>(&m.payload);
      if (ex == nullptr || !ex->h2) continue;  // another protocol the tracker recognised
      const sonde::HttpRequest& rq = ex->request;
      if (rq.version != "2" || ex->h2->stream_id % 2 != 1) __builtin_trap();
      // Method and target come from the fields, never from nowhere.
      if (!rq.method.empty() && !HasField(rq.headers, ":method", rq.method)) __builtin_trap();
      if (!rq.target.empty() && !HasField(rq.headers, ":path", rq.target) &&
          !HasField(rq.headers, ":authority", rq.target)) {
        __builtin_trap();
      }
      if (rq.headers.size() > 2 * sonde::http2::kMaxFields) __builtin_trap();
      if (ex->response) {
        const int status = ex->response->status;
        if (status != 0 && (status < 100 || status > 999)) __builtin_trap();
        if (status != 0 && !HasField(ex->response->headers, ":status", std::to_string(status))) {
          __builtin_trap();
        }
        if (ex->response->headers.size() > sonde::http2::kMaxFields ||
            ex->response->trailers.size() > sonde::http2::kMaxFields) {
          __builtin_trap();
        }
      }
    }
    out.clear();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const uint8_t mode = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);

  sonde::ConnInfo info;
  info.key = {42, 1, 5, 0};
  info.role = static_cast<sonde::Role>(mode % 3);
  info.role_inferred = (mode & 0x04) != 0 && info.role != sonde::Role::kUnknown;
  sonde::DecoderLimits limits;
  limits.max_pending = 1 + (mode >> 4);
  sonde::TrackerOptions topts;
  topts.max_connections = 2;
  topts.idle_timeout_ns = 50;
  Driver drv(info, limits, topts);

  const Direction client_dir =
      info.role == sonde::Role::kServer ? Direction::kIngress : Direction::kEgress;
  const std::vector<sonde::fuzz::Segment> segments = sonde::fuzz::SplitFramed(in);
  sonde::fuzz::FeedSegmentList(drv, segments, client_dir);
  drv.dec.OnClose(drv.ts);
  drv.dec.Drain(&drv.out);
  drv.tracker.OnProcessExit(42, drv.ts);
  drv.tracker.Drain(&drv.out);
  drv.Check();
  if (drv.tracker.size() != 0) __builtin_trap();
  if (drv.dec.open_streams() != 0) __builtin_trap();

  // The pieces alone: inference and HPACK on whatever the segments hold.
  for (const auto& s : segments) {
    (void)sonde::Http2Decoder::Infer(Direction::kEgress, s.payload);
    sonde::http2::ProbeSummary summary;
    (void)sonde::http2::ProbeFrames(s.payload, sonde::http2::kDefaultMaxFrameSize, &summary);
    bool well_formed = false;
    (void)sonde::http2::HpackDecoder::Classify(s.payload, &well_formed);
  }
  if (!segments.empty()) {
    sonde::http2::HpackDecoder hpack;
    if (mode & 0x08) hpack.StartInSync();
    for (const auto& s : segments) {
      sonde::http2::DecodedBlock b;
      if (s.ctl & 0x02) {
        hpack.DecodeTruncated(s.payload, &b);
      } else {
        hpack.Decode(s.payload, &b);
      }
      if (b.fields.size() > sonde::http2::kMaxFields) __builtin_trap();
      if (hpack.table_size() > sonde::http2::kMaxTableSize) __builtin_trap();
    }
  }
  return 0;
}
