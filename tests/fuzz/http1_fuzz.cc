// libFuzzer target for the HTTP/1 decoder and the connection tracker.
//
// Input format (so that recorded captures are good seeds as they are):
//   byte 0        mode: role = mode % 3, pending limit = 1 + mode / 16
//   then          segments separated by 0xFF; every segment after a 0xFF
//                 starts with a control byte, the first one has control 0.
// Control bits: 0 = response direction (else request direction),
// 1 = capped syscall (next byte * 37 uncaptured bytes, half the data kept),
// 2 = lost event before it (next byte = bytes lost),
// 3+4 = re-send already seen bytes (next byte = how far back),
// 5 = split into pieces of (next byte + 1) bytes, 6 = repeat payload (next byte) times,
// 7 = also expire / close in the tracker afterwards.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/connection_tracker.h"
#include "decoders/http1/http1_decoder.h"
#include "decoders/http1/http1_parser.h"
#include "fuzz_input.h"

namespace {

using sonde::DataChunk;
using sonde::Direction;

struct Driver {
  sonde::ConnInfo info;
  sonde::Http1Decoder dec;
  sonde::ConnectionTracker tracker;
  uint64_t pos[2] = {0, 0};
  uint64_t ts = 1;
  std::vector<sonde::Message> out;

  Driver(const sonde::ConnInfo& i, const sonde::DecoderLimits& limits,
         const sonde::TrackerOptions& topts)
      : info(i), dec(i, limits, nullptr), tracker(topts) {}

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
    // Reassembly buffers plus queued requests stay within a few header blocks.
    if (dec.buffered_bytes() > 4 * sonde::http1::kMaxHeadBytes + (2u << 20)) __builtin_trap();
    dec.Drain(&out);
    tracker.Drain(&out);
    Check();
  }

  void Check() {
    for (const sonde::Message& m : out) {
      const auto* exp = std::get_if<sonde::HttpExchange>(&m.payload);
      if (!exp) continue;  // another protocol the tracker recognised
      const auto& ex = *exp;
      if (ex.request.method.empty() || ex.request.headers.size() > sonde::http1::kMaxHeaders) {
        __builtin_trap();
      }
      if (ex.response && (ex.response->status < 100 || ex.response->status > 999)) __builtin_trap();
      if (ex.request.end_ns < ex.request.start_ns && !ex.request_incomplete) __builtin_trap();
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
  sonde::DecoderLimits limits;
  limits.max_pending = 1 + (mode >> 4);
  sonde::TrackerOptions topts;
  topts.max_connections = 2;
  topts.idle_timeout_ns = 50;
  Driver drv(info, limits, topts);

  const Direction req_dir =
      info.role == sonde::Role::kServer ? Direction::kIngress : Direction::kEgress;
  sonde::fuzz::FeedSegments(drv, in, req_dir);
  drv.dec.OnClose(drv.ts);
  drv.dec.Drain(&drv.out);
  drv.tracker.OnProcessExit(42, drv.ts);
  drv.tracker.Drain(&drv.out);
  drv.Check();
  if (drv.tracker.size() != 0) __builtin_trap();
  (void)sonde::Http1Decoder::LooksLikeHttp1(in);
  return 0;
}
