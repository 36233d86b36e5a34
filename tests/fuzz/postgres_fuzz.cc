// libFuzzer target for the PostgreSQL decoder, the connection tracker with
// it registered, and the SQL helpers and span builder fed by its output.
//
// Input format (so that a recorded capture pair is a good seed as it is):
//   byte 0      mode: role = mode % 3, pending limit = 1 + (mode >> 4),
//               bit 2 set: lossless schedule (no holes, gaps or repeats; all
//               client bytes before the server's), checked against a decode of
//               the same bytes in one chunk per direction,
//               bit 3 set: every chunk also goes through a ConnectionTracker
//   bytes 1-2   schedule seed: chunk sizes, capped syscalls (holes), lost
//               events (gaps), repeated bytes and the order of directions
//   then        the frontend (client) bytes, kSeparator, the backend bytes
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/connection_tracker.h"
#include "decoders/postgres/pg_decoder.h"
#include "decoders/postgres/pg_parser.h"
#include "spans/postgres_span.h"
#include "spans/sql_sanitizer.h"

namespace {

using sonde::DataChunk;
using sonde::Direction;

constexpr std::string_view kSeparator = "\n--backend--\n";
constexpr size_t kMaxChunks = 4000;  // per input, so each run stays short

// A tiny deterministic PRNG (xorshift) driven by the schedule seed.
struct Rng {
  uint32_t s;
  uint32_t Next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
  uint32_t Below(uint32_t n) { return n == 0 ? 0 : Next() % n; }
};

void Trap(bool bad) {
  if (bad) __builtin_trap();
}

void CheckExchange(const sonde::PgExchange& x, sonde::IdGenerator* ids) {
  Trap(x.query_text.size() > sonde::pg::kMaxQueryText);
  Trap(x.statement_name.size() > sonde::pg::kMaxName);
  Trap(!x.text_known && !x.query_text.empty());
  Trap(x.end_ns < x.start_ns);
  Trap(x.database.size() > sonde::pg::kMaxParamValue || x.user.size() > sonde::pg::kMaxParamValue);
  Trap(!x.response_seen && (x.error || !x.command_tag.empty()));
  if (x.error) {
    Trap(x.error->message.size() > sonde::pg::kMaxErrorMessage);
    Trap(x.error->sqlstate.size() > 5);
  }
  // The span side must take whatever the decoder produces.
  std::string s = sonde::sql::Sanitize(x.query_text);
  (void)sonde::sql::FirstKeyword(x.query_text);
  (void)sonde::sql::TableName(x.query_text, !x.query_truncated);
  Trap(s.size() > x.query_text.size() + 1);
  sonde::ConnInfo conn;
  sonde::Span span = sonde::BuildPostgresSpan(conn, x, {}, 0, ids, nullptr);
  Trap(span.name.empty());
}

struct Driver {
  sonde::ConnInfo info;
  sonde::PgDecoder dec;
  sonde::ConnectionTracker tracker;
  bool use_tracker;
  sonde::IdGenerator ids{1};
  std::vector<sonde::Message> out;

  std::vector<sonde::PgExchange> kept;  // the decoder's exchanges, for the lossless check
  bool keep = false;

  Driver(const sonde::ConnInfo& i, const sonde::DecoderLimits& limits,
         const sonde::TrackerOptions& topts, bool tracker_too)
      : info(i), dec(i, limits, nullptr), tracker(topts), use_tracker(tracker_too) {}

  void Send(Direction dir, const DataChunk& chunk, uint32_t fd) {
    dec.OnData(dir, chunk);
    if (use_tracker) {
      sonde::ConnInfo tinfo = info;
      tinfo.key.fd = static_cast<int32_t>(fd);  // a few connections, so eviction happens
      tracker.OnData(tinfo, dir, chunk);
      if (fd == 3) tracker.Expire(chunk.ts_ns + 100);
    }
    // Reassembly buffers, queued statements and prepared texts stay bounded.
    Trap(dec.buffered_bytes() > (3u << 20));
    Collect();
  }

  void Collect() {
    dec.Drain(&out);
    if (keep) {
      for (const sonde::Message& m : out) kept.push_back(std::get<sonde::PgExchange>(m.payload));
    }
    tracker.Drain(&out);
    for (const sonde::Message& m : out) {
      if (const auto* x = std::get_if<sonde::PgExchange>(&m.payload)) CheckExchange(*x, &ids);
    }
    out.clear();
  }
};

bool SameExchange(const sonde::PgExchange& a, const sonde::PgExchange& b) {
  auto err = [](const sonde::PgExchange& x) {
    return x.error ? x.error->severity + "|" + x.error->sqlstate + "|" + x.error->message : "-";
  };
  return a.query_text == b.query_text && a.text_known == b.text_known &&
         a.query_truncated == b.query_truncated && a.statement_name == b.statement_name &&
         a.extended == b.extended && a.command_tag == b.command_tag && a.rows == b.rows &&
         err(a) == err(b) && a.response_seen == b.response_seen && a.database == b.database &&
         a.user == b.user && a.application_name == b.application_name &&
         a.data_rows == b.data_rows && a.portal_suspended == b.portal_suspended;
}

// Decodes the client bytes then the server bytes, one chunk each.
std::vector<sonde::PgExchange> DecodeWhole(const sonde::ConnInfo& info,
                                           const sonde::DecoderLimits& limits, Direction fe_dir,
                                           Direction be_dir, std::string_view fe,
                                           std::string_view be, sonde::DecodeCounters* counters) {
  sonde::PgDecoder dec(info, limits, counters);
  std::string_view parts[2] = {fe, be};
  for (int side = 0; side < 2; ++side) {
    if (parts[side].empty()) continue;
    DataChunk c;
    c.data = parts[side];
    c.total_len = static_cast<uint32_t>(parts[side].size());
    c.ts_ns = 1 + side;
    dec.OnData(side == 0 ? fe_dir : be_dir, c);
  }
  dec.OnClose(3);
  std::vector<sonde::Message> msgs;
  dec.Drain(&msgs);
  std::vector<sonde::PgExchange> out;
  for (const sonde::Message& m : msgs) out.push_back(std::get<sonde::PgExchange>(m.payload));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const uint8_t mode = static_cast<uint8_t>(in[0]);
  Rng rng{static_cast<uint32_t>(static_cast<uint8_t>(in[1]) << 8 | static_cast<uint8_t>(in[2])) * 2654435761u | 1u};
  in.remove_prefix(3);
  std::string_view fe = in, be;
  if (size_t sep = in.find(kSeparator); sep != std::string_view::npos) {
    fe = in.substr(0, sep);
    be = in.substr(sep + kSeparator.size());
  }

  sonde::ConnInfo info;
  info.key = {42, 1, 5, 0};
  info.role = static_cast<sonde::Role>(mode % 3);
  sonde::DecoderLimits limits;
  limits.max_pending = 1 + (mode >> 4);
  limits.max_pending_bytes = 64 * 1024;
  sonde::TrackerOptions topts;
  topts.max_connections = 2;
  topts.idle_timeout_ns = 50;
  Driver drv(info, limits, topts, (mode & 0x08) != 0);
  // Chunking alone must not change what a known-role decoder produces.
  const bool lossless = (mode & 0x04) != 0 && info.role != sonde::Role::kUnknown;
  drv.keep = lossless;

  // The traced process's direction for each side.
  const bool client = info.role != sonde::Role::kServer;
  const Direction fe_dir = client ? Direction::kEgress : Direction::kIngress;
  const Direction be_dir = client ? Direction::kIngress : Direction::kEgress;

  std::string_view rest[2] = {fe, be};
  uint64_t pos[2] = {0, 0};
  uint64_t ts = 1;
  // How big chunks tend to be: single bytes, small writes, or whole buffers.
  const uint32_t scales[] = {1, 8, 64, 512, 4096, 1u << 20};
  for (size_t n = 0; n < kMaxChunks && (!rest[0].empty() || !rest[1].empty()); ++n) {
    int side = rest[0].empty() ? 1 : rest[1].empty() ? 0 : static_cast<int>(rng.Below(3) == 0);
    if (lossless) side = rest[0].empty() ? 1 : 0;
    std::string_view& r = rest[side];
    const uint32_t roll = rng.Next();
    size_t len = std::min<size_t>(r.size(), 1 + rng.Below(scales[roll % 6]));
    std::string_view part = r.substr(0, len);
    r.remove_prefix(len);
    DataChunk chunk;
    chunk.pos = pos[side];
    chunk.data = part;
    chunk.total_len = static_cast<uint32_t>(part.size());
    chunk.ts_ns = ts++;
    chunk.tid = roll >> 24;
    switch (lossless ? 15 : (roll >> 8) % 16) {
      case 0: chunk.data = part.substr(0, part.size() / 2); break;  // capped syscall
      case 1:                                                      // a lost event before this one
        chunk.pos += 1 + rng.Below(64);
        break;
      case 2:  // bytes seen again
        chunk.pos -= std::min<uint64_t>(chunk.pos, rng.Below(32));
        break;
      default: break;
    }
    pos[side] = std::max(pos[side], chunk.pos + std::max<uint64_t>(chunk.total_len, chunk.data.size()));
    drv.Send(side == 0 ? fe_dir : be_dir, chunk, (roll >> 16) % 4);
  }
  drv.dec.OnClose(ts);
  drv.tracker.OnProcessExit(42, ts);
  drv.Collect();
  Trap(drv.tracker.size() != 0);
  if (lossless && rest[0].empty() && rest[1].empty()) {
    sonde::DecodeCounters whole_counters;
    std::vector<sonde::PgExchange> whole =
        DecodeWhole(info, limits, fe_dir, be_dir, fe, be, &whole_counters);
    // Only streams that decode cleanly are comparable: where bytes are
    // garbage, where a resync lands depends on what was available.
    if (whole_counters.resyncs == 0 && whole_counters.bytes_skipped == 0) {
      Trap(whole.size() != drv.kept.size());
      for (size_t i = 0; i < whole.size(); ++i) Trap(!SameExchange(whole[i], drv.kept[i]));
    }
  }
  (void)sonde::PgDecoder::Infer(Direction::kEgress, fe.substr(0, 600));
  (void)sonde::PgDecoder::Infer(Direction::kIngress, be.substr(0, 600));
  return 0;
}
