// One direction of an HTTP/2 connection: turns position-tagged chunks into
// frame events. Payloads are streamed, never buffered whole: DATA bytes are
// handed on as they pass (through uncaptured holes too, their length being
// known), header block fragments are gathered (HEADERS + CONTINUATION, up
// to kMaxHeaderBlockBytes) with padding and priority fields removed, and
// control frames keep their first kMaxControlPayload bytes. Only a partial
// frame header (or preface) is ever held in the reassembly buffer.
//
// Framing is lost when a frame header is invalid or bytes that held frame
// headers were never seen (a gap, an uncaptured tail reaching past the
// current frame). The reader then waits for a syscall whose bytes read as
// consecutive frames from their first byte, and goes on from there. The
// first chunk of a direction is checked the same way unless it begins with
// the client preface. Stream pairing and HPACK live in http2_decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "decoders/chunk_stream.h"
#include "decoders/http2/h2_frame.h"
#include "decoders/stream_decoder.h"

namespace sonde::http2 {

// A header block as sent: HEADERS or PUSH_PROMISE plus its CONTINUATIONs.
struct HeaderBlockEvent {
  uint32_t stream_id = 0;
  bool end_stream = false;
  bool push_promise = false;
  // The HPACK bytes (fragments joined). When !complete they are only the
  // first bytes of the block: the rest was not captured, went past the size
  // bound, or the block was interrupted.
  std::string_view bytes;
  bool complete = true;
  uint64_t start_ts = 0;  // syscall that carried the first byte of the HEADERS frame
  uint32_t start_tid = 0;
  uint64_t start_pos = 0;  // stream position of the HEADERS frame
  uint64_t end_ts = 0;  // syscall that carried the last byte of the block
};

// A finished frame other than a header block part.
struct FrameEvent {
  FrameHeader header;
  // Control frames: the payload as captured (first kMaxControlPayload
  // bytes); `whole` when that is all of it.
  std::string_view payload;
  bool whole = false;
  uint64_t data_length = 0;  // DATA: payload minus padding
  uint64_t end_ts = 0;
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void OnPreface(Direction dir) = 0;
  // Every frame header, as it is read (before its payload).
  virtual void OnFrameStart(Direction dir, const FrameHeader& h) = 0;
  virtual void OnHeaderBlock(Direction dir, const HeaderBlockEvent& block) = 0;
  // DATA payload bytes (padding excluded) of `stream_id`; `uncaptured` more
  // bytes of it went by unseen after `data`.
  virtual void OnDataBytes(Direction dir, uint32_t stream_id, std::string_view data,
                           uint64_t uncaptured) = 0;
  virtual void OnFrame(Direction dir, const FrameEvent& frame) = 0;
  // Framing was lost: frames (and header blocks) may have gone unseen.
  virtual void OnFramingLost(Direction dir) = 0;
};

class FrameReader : public ChunkStream {
 public:
  FrameReader(Direction dir, FrameSink* sink, DecodeCounters* counters);

  void OnClose();
  // A SETTINGS_MAX_FRAME_SIZE from the receiving side (only ever raised).
  void RaiseMaxFrameSize(uint32_t size);

  bool started() const { return started_; }
  uint64_t first_pos() const { return first_pos_; }
  bool in_sync() const { return state_ == State::kHeader || state_ == State::kPayload; }
  size_t buffered_bytes() const {
    return buf_.capacity() + block_.capacity() + control_.capacity();
  }

 private:
  enum class State : uint8_t {
    kStart,    // first bytes of the direction: preface, frames, or resync
    kHeader,   // expecting a frame header
    kPayload,  // inside a frame's payload (left_ bytes to go)
    kResync,   // waiting for a syscall that starts with frames
    kStopped,
  };

  size_t Run(std::string_view view, uint64_t base, const ChunkMeta& meta) override;
  void Skip(uint64_t n, const ChunkMeta& meta, bool gap) override;
  void OnBufferOverflow(const ChunkMeta& meta) override;
  bool Stopped() const override { return state_ == State::kStopped; }
  void BeforeFeed(std::string_view data, bool syscall_start, const DataChunk& chunk) override;

  // Each returns false when it needs more bytes than `rest` has.
  bool StepStart(std::string_view rest, size_t* used);
  bool StepHeader(std::string_view rest, uint64_t pos, size_t* used);
  size_t StepPayload(std::string_view rest, uint64_t pos);
  // `n` payload bytes of the current frame, `data` their captured part.
  void Payload(std::string_view data, uint64_t n);
  void FinishFrame(uint64_t end_ts);
  void FinishBlockFrame(uint64_t end_ts);
  // Hands on the open header block; `complete` only with END_HEADERS.
  void EmitBlock(bool complete, uint64_t end_ts);
  void LoseFraming();

  const Direction dir_;
  FrameSink* const sink_;
  State state_ = State::kStart;
  uint32_t max_frame_size_ = kDefaultMaxFrameSize;

  // The current frame.
  FrameHeader frame_;
  uint64_t left_ = 0;     // payload bytes still to come
  uint64_t offset_ = 0;   // payload bytes already passed
  uint64_t last_ts_ = 0;  // syscall that carried the latest byte of it
  int pad_ = -1;          // DATA pad length, -1 until read (or when lost)

  // Control frame payload.
  std::string control_;
  bool control_lost_ = false;

  // The open header block: fragments of earlier frames, then the current
  // frame's raw payload from block_frame_start_ on.
  std::string block_;
  bool block_open_ = false;
  bool block_damaged_ = false;  // not all of it is in block_ (or it is malformed)
  bool block_cut_ = false;      // bytes of it were not captured or not kept: append no more
  size_t block_frame_start_ = 0;
  uint64_t block_frame_kept_ = 0;  // raw payload bytes of the current frame in block_
  HeaderBlockEvent block_ev_;
};

}  // namespace sonde::http2
