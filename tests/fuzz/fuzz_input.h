// The input format shared by the stream fuzzers (http1_fuzz.cc,
// redis_fuzz.cc, ...): segments separated by 0xFF (or length-prefixed, see
// SplitFramed), each after the first led by a
// control byte (see http1_fuzz.cc), turned into DataChunks with holes, gaps,
// repeats and splits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"

namespace sonde::fuzz {

constexpr size_t kMaxExpanded = 160 * 1024;
constexpr size_t kMaxChunks = 5000;  // per input, so each run stays short

struct Segment {
  uint8_t ctl = 0;
  uint8_t hole = 0, gap = 0, back = 0, piece = 0, repeat = 0;
  std::string_view payload;
};

std::vector<Segment> Split(std::string_view in) {
  std::vector<Segment> out;
  bool first = true;
  while (true) {
    Segment s;
    if (!first) {
      auto take = [&]() -> uint8_t {
        if (in.empty()) return 0;
        uint8_t b = static_cast<uint8_t>(in[0]);
        in.remove_prefix(1);
        return b;
      };
      s.ctl = take();
      if (s.ctl & 0x02) s.hole = take();
      if (s.ctl & 0x04) s.gap = take();
      if ((s.ctl & 0x18) == 0x18) s.back = take();
      if (s.ctl & 0x20) s.piece = take();
      if (s.ctl & 0x40) s.repeat = take();
    }
    first = false;
    size_t sep = in.find('\xff');
    s.payload = in.substr(0, sep);
    out.push_back(s);
    if (sep == std::string_view::npos) break;
    in.remove_prefix(sep + 1);
  }
  return out;
}

// The same segments for binary protocols, where 0xFF is common: each one
// is a control byte (and the bytes its bits call for, as in Split), a
// 4-byte big-endian payload length, then the payload (cut at the input's
// end). With control bytes 0 and 1 this is the layout of the HTTP/2
// captures (tests/captures/http2/record.py), so they are seeds as they are.
inline std::vector<Segment> SplitFramed(std::string_view in) {
  std::vector<Segment> out;
  auto take = [&]() -> uint8_t {
    if (in.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return b;
  };
  while (!in.empty()) {
    Segment s;
    s.ctl = take();
    if (s.ctl & 0x02) s.hole = take();
    if (s.ctl & 0x04) s.gap = take();
    if ((s.ctl & 0x18) == 0x18) s.back = take();
    if (s.ctl & 0x20) s.piece = take();
    if (s.ctl & 0x40) s.repeat = take();
    size_t len = 0;
    for (int i = 0; i < 4; ++i) len = (len << 8) | take();
    s.payload = in.substr(0, len);
    in.remove_prefix(s.payload.size());
    out.push_back(s);
  }
  return out;
}

// Feeds every segment to drv.Send(dir, chunk, ctl), tracking per-direction
// positions in drv.pos[] and timestamps in drv.ts.
template <class Driver>
void FeedSegmentList(Driver& drv, const std::vector<Segment>& segments, Direction req_dir) {
  std::string scratch;
  size_t chunks_left = kMaxChunks;
  for (const Segment& s : segments) {
    const Direction dir =
        (s.ctl & 1) ? (req_dir == Direction::kEgress ? Direction::kIngress : Direction::kEgress)
                    : req_dir;
    const int d = static_cast<int>(dir);
    std::string_view payload = s.payload;
    if ((s.ctl & 0x40) && !payload.empty()) {
      // Long enough to cross every size limit, short enough to stay fast.
      scratch.clear();
      for (int i = 0; i <= s.repeat && scratch.size() < kMaxExpanded; ++i) scratch.append(payload);
      payload = scratch;
    }
    const size_t piece = (s.ctl & 0x20) ? s.piece + 1u : std::max<size_t>(payload.size(), 1);
    bool first_piece = true;
    do {
      if (chunks_left == 0) return;
      --chunks_left;
      std::string_view part = payload.substr(0, piece);
      payload.remove_prefix(part.size());
      DataChunk chunk;
      chunk.pos = drv.pos[d];
      chunk.data = part;
      chunk.total_len = static_cast<uint32_t>(part.size());
      chunk.ts_ns = drv.ts++;
      chunk.tid = s.ctl;
      if (first_piece) {
        if (s.ctl & 0x02) {
          chunk.total_len += s.hole * 37u;
          chunk.data = part.substr(0, part.size() / 2);
        }
        chunk.pos += s.gap;
        chunk.pos -= std::min<uint64_t>(chunk.pos, s.back);
      }
      first_piece = false;
      drv.pos[d] =
          std::max(drv.pos[d], chunk.pos + std::max<uint64_t>(chunk.total_len, chunk.data.size()));
      drv.Send(dir, chunk, s.ctl);
    } while (!payload.empty());
  }
}

template <class Driver>
void FeedSegments(Driver& drv, std::string_view in, Direction req_dir) {
  FeedSegmentList(drv, Split(in), req_dir);
}

}  // namespace sonde::fuzz
