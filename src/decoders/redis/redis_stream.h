// One direction of a Redis connection: turns position-tagged chunks into
// commands (multibulk or inline) or replies (any RESP2/RESP3 value). Values
// are parsed as they stream by, never buffered whole: only an incomplete
// type line is held, bulk payloads are counted down (through uncaptured
// holes too, their length being known) and aggregates are a bounded stack of
// counters. Pairing lives in redis_decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "decoders/chunk_stream.h"
#include "decoders/redis/redis_message.h"
#include "decoders/redis/redis_parser.h"
#include "decoders/stream_decoder.h"

namespace sonde::redis {

// A reply plus what pairing needs to tell pub/sub traffic from replies.
struct ReplyInfo {
  RedisReply reply;
  // First element of a top-level array or push when it is a short string
  // ("message", "subscribe", ...), as sent.
  std::string first_word;
  int64_t last_int = 0;  // last integer element of a top-level array or push
  bool has_last_int = false;
};

// Receives what a RespStream produces. Implemented by the pairing layer.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void OnCommand(RedisCommand&& cmd) = 0;
  virtual void OnReply(ReplyInfo&& reply) = 0;
  // Framing was lost in that direction at a syscall at `ts_ns`; a message in
  // progress was emitted first, marked truncated. `gap`: events were lost
  // before that syscall (rather than bytes not captured, or garbage, in it).
  virtual void OnFramingLost(bool commands, uint64_t ts_ns, bool gap) = 0;
  // After losing framing, replies are looked for only at the start of a
  // syscall, and only when one could be due: a syscall at `ts_ns` that
  // precedes every pending command is the rest of an earlier reply.
  virtual bool MayStartReply(uint64_t ts_ns) = 0;
};

class RespStream : public ChunkStream {
 public:
  enum class Kind : uint8_t { kCommands, kReplies };

  RespStream(Kind kind, StreamSink* sink, DecodeCounters* counters);

  // Emits a message in progress (truncated) and stops.
  void OnClose(uint64_t ts_ns);

  // The stream position of the first chunk seen (valid once started()).
  bool started() const { return started_; }
  uint64_t first_pos() const { return first_pos_; }
  size_t buffered_bytes() const { return buf_.capacity(); }

 private:
  enum class State : uint8_t {
    kIdle,     // between messages
    kElement,  // inside a message, expecting the next value's type line
    kBulk,     // inside a bulk payload (bulk_left_ bytes, CRLF included)
    kResync,   // commands: searching for "*N\r\n$"; replies: waiting for a syscall start
    kStopped,
  };

  // One open aggregate: how many of its values are still to come.
  struct Frame {
    uint64_t total = 0;
    uint64_t left = 0;
    char type = 0;
  };

  void Skip(uint64_t n, const ChunkMeta& meta, bool gap) override;
  void OnBufferOverflow(const ChunkMeta& meta) override;
  bool Stopped() const override { return state_ == State::kStopped; }
  void BeforeFeed(std::string_view data, bool syscall_start, const DataChunk& chunk) override;
  size_t Run(std::string_view view, uint64_t base, const ChunkMeta& meta) override;
  // Each returns false when it needs more bytes than `rest` has.
  bool StepLine(std::string_view rest, uint64_t pos, const ChunkMeta& meta, size_t* used);
  bool StepInline(std::string_view rest, uint64_t pos, const ChunkMeta& meta, size_t* used);
  bool StepResync(std::string_view rest, size_t* used);
  // True while `rest`, the incomplete line seen before plus new bytes, still
  // has no line end.
  bool LineStillOpen(std::string_view rest);
  size_t StepBulk(std::string_view rest, const ChunkMeta& meta);
  // A command's or reply's type line was parsed: start the message if
  // needed and descend, or finish a scalar value.
  bool OnCommandLine(const TypeLine& line, uint64_t pos, const ChunkMeta& meta);
  bool OnReplyLine(const TypeLine& line, uint64_t pos, const ChunkMeta& meta);
  void BeginMessage(uint64_t pos);
  bool Push(char type, uint64_t count);
  void StartBulk(int64_t len, std::string* target, size_t cap);
  // A value ended: pops finished aggregates, emits the message at the top.
  void ValueDone(uint64_t ts_ns);
  void Emit(bool truncated, uint64_t end_ts);
  // Bytes that are not RESP at this point: emit what is known, then resync.
  void Invalid(uint64_t ts_ns);
  void LoseSync(uint64_t ts_ns, bool gap = false);
  void EnterResync();

  const Kind kind_;
  StreamSink* const sink_;

  State state_ = State::kIdle;
  size_t resync_from_ = 0;  // commands: skip the '*' that just failed
  size_t line_scan_ = 0;    // bytes of the incomplete line at buf_'s start already scanned


  // The message being decoded.
  bool in_message_ = false;
  Frame frames_[kMaxDepth];
  size_t depth_ = 0;
  RedisCommand cmd_;
  ReplyInfo reply_;
  uint64_t bulk_left_ = 0;
  std::string* bulk_target_ = nullptr;  // where payload bytes are kept (bounded by bulk_cap_)
  size_t bulk_cap_ = 0;
  uint64_t last_ts_ = 0;  // ts of the latest chunk that carried bytes of this message
};

}  // namespace sonde::redis
