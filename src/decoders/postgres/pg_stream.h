// One direction of a PostgreSQL connection: turns position-tagged chunks into
// framed messages. Every message carries its length, so bodies that are not
// needed (rows, copy data) are skipped by count, including through the
// uncaptured tails of large syscalls (holes) and lost events (gaps) that fall
// inside them. Framing bytes that are lost lead to a resynchronisation on the
// next plausible message start. What the messages mean lives in pg_session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "decoders/chunk_stream.h"
#include "decoders/postgres/pg_parser.h"
#include "decoders/stream_decoder.h"

namespace sonde::pg {

struct Frame {
  enum class Kind : uint8_t {
    kMessage,  // a typed message
    kStartup,  // an untyped startup-phase packet (frontend only)
    kAnswer,   // the one-byte answer to SSLRequest/GSSENCRequest (backend only)
  };
  Kind kind = Kind::kMessage;
  char type = 0;            // message type; the answer byte for kAnswer
  uint32_t code = 0;        // kStartup: protocol version or request code
  uint64_t body_len = 0;    // body bytes on the wire (after length, and code for kStartup)
  std::string_view body;    // captured prefix of the body, at most KeepLimit bytes
  bool body_complete = false;  // body holds all of body_len
  uint64_t start_ns = 0;    // ts of the chunk carrying the first byte
  uint64_t end_ns = 0;      // ts of the chunk carrying the last byte
  uint32_t tid = 0;
  uint64_t pos = 0;         // stream position of the first byte
};

// Receives what a MessageStream produces. Implemented by the decoder.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void OnFrame(Side side, const Frame& frame) = 0;
  // Framing was lost: some messages of this side were not delivered.
  virtual void OnLostSync(Side side) = 0;
};

class MessageStream : public ChunkStream {
 public:
  MessageStream(Side side, FrameSink* sink, DecodeCounters* counters);

  void OnClose();
  void Stop();
  // Backend: the frontend sent an SSLRequest or GSSENCRequest, so the next
  // byte at a message boundary is a bare one-byte answer.
  void ExpectAnswer() { ++answers_expected_; }

  bool stopped() const { return state_ == State::kStopped; }
  // Heap held by the reassembly buffers (an empty string's inline capacity is not heap).
  size_t buffered_bytes() const { return HeapOf(buf_) + HeapOf(body_); }

 private:
  enum class State : uint8_t {
    kAlign,    // first bytes of the stream: look for a plausible start (not a loss)
    kHeader,   // at a message boundary
    kBody,     // inside a message body, body_remaining_ bytes to go
    kResync,   // framing lost: looking for the next plausible start
    kStopped,
  };

  static size_t HeapOf(const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() : 0;
  }
  // `n` bytes that exist on the wire but were not captured.
  void Skip(uint64_t n, const ChunkMeta& meta, bool gap) override;
  void OnBufferOverflow(const ChunkMeta& meta) override;
  bool Stopped() const override { return state_ == State::kStopped; }
  void AfterChunk() override;
  // Runs the state machine over `view` (stream position `base`); returns how
  // many bytes it consumed.
  size_t Run(std::string_view view, uint64_t base, const ChunkMeta& meta) override;
  // Each returns false when it needs more bytes than `rest` has.
  bool StepHeader(std::string_view rest, uint64_t pos, const ChunkMeta& meta, size_t* used);
  bool StepBody(std::string_view rest, const ChunkMeta& meta, size_t* used);
  bool StepSearch(std::string_view rest, size_t* used);
  // A header that cannot start a message: lose sync just after its first byte.
  bool Invalid(size_t* used);
  void Deliver(std::string_view body, bool complete, uint64_t end_ns);
  void LoseSync();

  const Side side_;
  FrameSink* const sink_;

  State state_ = State::kAlign;
  // Frontend: startup-phase packets may come (nothing typed seen yet).
  bool startup_possible_;
  uint32_t answers_expected_ = 0;

  // The message in progress (kBody).
  Frame cur_;
  std::string body_;  // kept prefix of its body
  uint64_t body_remaining_ = 0;
  size_t keep_ = 0;
  bool body_cut_ = false;  // a hole ended the kept prefix early

};

}  // namespace sonde::pg
