// Helpers for the Redis decoder tests: capture loading, kernel-shaped chunk
// generation with per-direction stream positions, and a stable text form of
// exchanges and their spans so whole results compare at once.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "decoders/message.h"
#include "decoders/redis/redis_decoder.h"
#include "spans/span.h"

namespace sonde::test {

// Bytes of tests/captures/redis/<name>; fails the test when missing.
std::string ReadCapture(const std::string& name);
// Path of tests/captures/redis/<name>.
std::string CapturePath(const std::string& name);

ConnInfo MakeConn(Role role, uint32_t pid = 100, int32_t fd = 7);

// The exchange inside a message (all messages here are Redis exchanges).
const RedisExchange& Ex(const Message& m);

// An argument the way redis-cli would echo it: bare when plain, else quoted
// with \xHH escapes.
std::string Quote(std::string_view arg);

// One line per exchange: command, flags, database, "->", the reply. Times
// only when asked, so different chunkings of the same bytes compare equal.
std::string Dump(const std::vector<Message>& msgs, bool with_times = false);
// The span's kind, name, status and db.* / error.type attributes, one line.
std::string DumpSpan(const Span& s);

// Splits recorded bytes into whole messages (commands or replies) with a
// framer written independently of the decoder, so tests can send each
// message as its own syscall. Inline command lines count as messages.
std::vector<std::string_view> SplitMessages(std::string_view bytes);

// Drives one decoder the way the loader would: positions advance per
// direction, chunks may be capped (holes) and events may be lost (gaps).
class Feeder {
 public:
  explicit Feeder(Role role, DecoderLimits limits = {});
  explicit Feeder(const ConnInfo& conn, DecoderLimits limits = {});

  // Sends `bytes` as one syscall; only the first `captured` bytes reach user
  // space (the rest is a known-length hole).
  void Send(Direction dir, std::string_view bytes, uint64_t ts_ns = 0, uint32_t tid = 1,
            size_t captured = SIZE_MAX);
  // `n` bytes moved on the wire whose event was lost.
  void Lose(Direction dir, uint64_t n) { pos_[Idx(dir)] += n; }
  // Re-sends bytes at an explicit position (overlap/duplicate tests).
  void SendAt(Direction dir, uint64_t pos, std::string_view bytes, uint64_t ts_ns = 0);
  void Close(uint64_t ts_ns = 0) { dec_.OnClose(ts_ns); }
  std::vector<Message> Drain();

  RedisDecoder& decoder() { return dec_; }
  const DecodeCounters& counters() const { return counters_; }
  // The direction that carries commands for this decoder's role.
  Direction cmd_dir() const;
  Direction reply_dir() const;

 private:
  static int Idx(Direction d) { return static_cast<int>(d); }
  uint64_t NextTs(uint64_t ts_ns) { return ts_ns != 0 ? ts_ns : ++auto_ts_; }

  DecodeCounters counters_;
  RedisDecoder dec_;
  uint64_t pos_[2] = {0, 0};
  uint64_t auto_ts_ = 1000;
  std::deque<std::string> store_;  // keeps chunk bytes alive (DataChunk holds a view)
};

}  // namespace sonde::test
