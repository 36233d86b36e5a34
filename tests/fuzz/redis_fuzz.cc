// libFuzzer target for the Redis decoder, its span builder, and the
// connection tracker's inference with Redis in the registry.
//
// Input format (the same as http1_fuzz.cc, so recorded captures are good
// seeds as they are):
//   byte 0        mode: role = mode % 3, pending limit = 1 + mode / 16
//   then          segments separated by 0xFF; every segment after a 0xFF
//                 starts with a control byte, the first one has control 0.
// Control bits: 0 = reply direction (else command direction),
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
#include "decoders/redis/redis_decoder.h"
#include "decoders/redis/redis_parser.h"
#include "fuzz_input.h"
#include "spans/id_generator.h"
#include "spans/redis_span.h"

namespace {

using sonde::DataChunk;
using sonde::Direction;
namespace redis = sonde::redis;

struct Driver {
  sonde::ConnInfo info;
  sonde::DecoderLimits limits;
  sonde::RedisDecoder dec;
  sonde::ConnectionTracker tracker;
  sonde::IdGenerator ids{1};
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
    // Two line buffers plus the queued commands' budget (plus one command).
    const size_t bound = 4 * (redis::kMaxLineBytes + 8192) + limits.max_pending_bytes + 16384;
    if (dec.buffered_bytes() > bound) __builtin_trap();
    dec.Drain(&out);
    tracker.Drain(&out);
    Check();
  }

  void Check() {
    for (const sonde::Message& m : out) {
      const auto* ex = std::get_if<sonde::RedisExchange>(&m.payload);
      if (ex == nullptr) continue;  // another protocol, inferred by the tracker
      const sonde::RedisCommand& c = ex->command;
      if (c.args.size() > redis::kMaxKeptArgs || c.arg_count < c.args.size()) __builtin_trap();
      for (const std::string& a : c.args) {
        if (a.size() > redis::kMaxArgBytes) __builtin_trap();
      }
      // Secrets are never kept.
      if (!c.args.empty() && redis::EqualsIgnoreCase(c.args[0], "AUTH") && c.args.size() > 1) {
        __builtin_trap();
      }
      for (size_t i = 1; i + 1 < c.args.size(); ++i) {
        if (redis::EqualsIgnoreCase(c.args[0], "HELLO") &&
            redis::EqualsIgnoreCase(c.args[i], "AUTH")) {
          __builtin_trap();
        }
      }
      if (ex->reply) {
        if (ex->reply->error.size() > redis::kMaxErrorBytes) __builtin_trap();
        if (ex->reply->text.size() > redis::kMaxTextBytes) __builtin_trap();
        if (!redis::IsReplyTypeByte(ex->reply->type) && ex->reply->type != 0) __builtin_trap();
      }
      for (bool sanitize : {true, false}) {
        sonde::DbSpanOptions opts;
        opts.sanitize_query = sanitize;
        sonde::Span s = sonde::BuildRedisSpan(m.conn, *ex, opts, 0, &ids, nullptr);
        if (s.name.empty() || s.name.size() > redis::kMaxArgBytes) __builtin_trap();
        if (const auto* v = sonde::FindAttr(s.attributes, "db.query.text")) {
          if (std::get<std::string>(*v).size() >
              4 * redis::kMaxKeptArgs * (redis::kMaxArgBytes + 3))
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
  sonde::DecoderLimits limits;
  limits.max_pending = 1 + (mode >> 4);
  sonde::TrackerOptions topts;
  topts.max_connections = 2;
  topts.idle_timeout_ns = 50;
  Driver drv(info, limits, topts);

  const Direction cmd_dir =
      info.role == sonde::Role::kServer ? Direction::kIngress : Direction::kEgress;
  sonde::fuzz::FeedSegments(drv, in, cmd_dir);
  drv.dec.OnClose(drv.ts);
  drv.dec.Drain(&drv.out);
  drv.tracker.OnProcessExit(42, drv.ts);
  drv.tracker.Drain(&drv.out);
  drv.Check();
  if (drv.tracker.size() != 0) __builtin_trap();
  (void)sonde::RedisDecoder::Infer(Direction::kEgress, in);
  (void)sonde::RedisDecoder::Infer(Direction::kIngress, in);
  return 0;
}
