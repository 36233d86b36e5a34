// One direction of a connection as the decoders see it: DataChunks arrive in
// position order but may repeat, overlap, skip (lost events) or end in a hole
// (bytes beyond the capture cap). ChunkStream turns that into contiguous
// captured bytes for the protocol's state machine (Run) and counts of bytes
// that will never be seen (Skip), and remembers which syscall carried which
// bytes so messages get their own timestamps. Each protocol's per-direction
// parser derives from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "decoders/stream_decoder.h"

namespace sonde {

class ChunkStream {
 public:
  struct ChunkMeta {
    uint64_t pos = 0;
    uint64_t ts_ns = 0;
    uint32_t tid = 0;
  };

  void OnChunk(const DataChunk& chunk);

 protected:
  // `max_buffer` bounds the reassembly buffer: the protocol's state machine
  // must decide (consume, or give up) within that many bytes.
  ChunkStream(size_t max_buffer, DecodeCounters* counters) : counters_(counters), max_buffer_(max_buffer) {}
  ~ChunkStream() = default;

  // Runs the protocol over `view` (starting at stream position `base`);
  // returns how many bytes it consumed. Unconsumed bytes are kept in buf_
  // and offered again, with more, on the next call.
  virtual size_t Run(std::string_view view, uint64_t base, const ChunkMeta& meta) = 0;
  // `n` bytes that exist on the wire but will never be seen: lost events
  // before this chunk (`gap`), or the uncaptured tail of a syscall.
  virtual void Skip(uint64_t n, const ChunkMeta& meta, bool gap) = 0;
  // buf_ reached max_buffer (it was counted and cleared): framing is lost.
  virtual void OnBufferOverflow(const ChunkMeta& meta) = 0;
  virtual bool Stopped() const = 0;
  // Before a chunk's captured bytes are fed; `syscall_start` is true when
  // they begin that syscall's data (not the remainder of an overlap).
  virtual void BeforeFeed(std::string_view data, bool syscall_start, const DataChunk& chunk) {}
  // After each chunk.
  virtual void AfterChunk() {}

  // Metadata of the syscall that carried the byte at `pos` (within buf_).
  ChunkMeta MetaAt(uint64_t pos) const;

  DecodeCounters* const counters_;
  bool started_ = false;
  uint64_t first_pos_ = 0;  // position of the first byte ever seen
  uint64_t next_pos_ = 0;   // stream position expected next
  std::string buf_;         // unconsumed captured bytes, starting at buf_pos_
  uint64_t buf_pos_ = 0;

  // Chunk metadata for the bytes in buf_. Small and bounded: when full, the
  // newest entry overwrites the last one, which keeps the first and the
  // latest accurate.
  static constexpr size_t kMaxMetas = 32;
  ChunkMeta metas_[kMaxMetas];
  size_t num_metas_ = 0;

 private:
  void Feed(std::string_view data, const ChunkMeta& meta);
  void RememberMeta(const ChunkMeta& meta);

  const size_t max_buffer_;
};

}  // namespace sonde
