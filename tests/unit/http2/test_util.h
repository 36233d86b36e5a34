// Helpers for the HTTP/2 decoder tests: capture loading, frame and header
// block building (nghttp2's deflater encodes), kernel-shaped chunk feeding
// with per-direction positions, and a stable text form of exchanges so whole
// results compare at once.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/types.h"
#include "decoders/http2/http2_decoder.h"
#include "decoders/message.h"

struct nghttp2_hd_deflater;

namespace sonde::test {

// One recorded chunk: `to_server` tells the direction.
struct CapChunk {
  bool to_server = true;
  std::string bytes;
};

// tests/captures/http2/<name>.cap (see record.py for the layout); fails the
// test when missing or malformed.
std::vector<CapChunk> ReadCapture(const std::string& name);
std::string CapturePath(const std::string& name);
// Any file under tests/captures (other protocols' captures).
std::string ReadFileOrEmpty(const std::string& path);
// Bytes of one direction of a capture, joined.
std::string Joined(const std::vector<CapChunk>& cap, bool to_server);

ConnInfo MakeConn(Role role, bool from_open = true);

const HttpExchange& Ex(const Message& m);

// One line per exchange (stream, method, target, status, sizes, flags),
// then its fields: request, response, trailers. Long values are cut.
// Times only when asked, so different chunkings compare equal.
std::string Dump(const std::vector<Message>& msgs, bool with_times = false);
// Just the first line per exchange.
std::string Summary(const std::vector<Message>& msgs);

// --- building frames ------------------------------------------------------------

std::string FrameHeaderBytes(uint32_t length, uint8_t type, uint8_t flags, uint32_t stream);
std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
std::string Settings(std::initializer_list<std::pair<uint16_t, uint32_t>> entries,
                     bool ack = false);
std::string Data(uint32_t stream, std::string_view data, bool end_stream, int pad = -1);
std::string RstStream(uint32_t stream, uint32_t code);
std::string Goaway(uint32_t last_stream, uint32_t code);
std::string WindowUpdate(uint32_t stream, uint32_t increment);
std::string Ping(bool ack = false);
// A gRPC length-prefixed message.
std::string GrpcMessage(std::string_view body);

using Fields = std::vector<std::pair<std::string, std::string>>;

// HPACK encoder for one direction (nghttp2's deflater, 4096-byte table).
class Encoder {
 public:
  Encoder();
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  std::string Encode(const Fields& fields);

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
};

// HEADERS (+ CONTINUATION when `max_fragment` is smaller than the block).
std::string Headers(uint32_t stream, std::string_view block, bool end_stream,
                    size_t max_fragment = 16384, int pad = -1, bool priority = false);

Fields GrpcRequest(std::string_view path);
Fields GrpcResponse();
Fields GrpcTrailers(int status, std::string_view message = {});

// A client and a server side with their encoders, producing the bytes of a
// conversation.
struct Conversation {
  Encoder client_enc, server_enc;
  std::string Request(uint32_t stream, const Fields& f, bool end_stream) {
    return Headers(stream, client_enc.Encode(f), end_stream);
  }
  std::string Response(uint32_t stream, const Fields& f, bool end_stream) {
    return Headers(stream, server_enc.Encode(f), end_stream);
  }
  // gRPC response headers then trailers (encoded in that order).
  std::string Reply(uint32_t stream, int status = 0) {
    std::string s = Response(stream, GrpcResponse(), false);
    return s + Response(stream, GrpcTrailers(status), true);
  }
};


// --- feeding -----------------------------------------------------------------

// Drives one decoder the way the loader would: positions advance per
// direction, chunks may be capped (holes) and events may be lost (gaps).
class Feeder {
 public:
  explicit Feeder(Role role, DecoderLimits limits = {});
  explicit Feeder(const ConnInfo& conn, DecoderLimits limits = {});

  // Sends `bytes` as one syscall; only the first `captured` bytes reach
  // user space (the rest is a known-length hole).
  void Send(Direction dir, std::string_view bytes, uint64_t ts_ns = 0, uint32_t tid = 1,
            size_t captured = SIZE_MAX);
  // Bytes from the client / the server, whatever the traced role.
  void FromClient(std::string_view bytes, uint64_t ts_ns = 0, uint32_t tid = 1);
  void FromServer(std::string_view bytes, uint64_t ts_ns = 0, uint32_t tid = 1);
  // `n` bytes moved on the wire whose event was lost.
  void Lose(Direction dir, uint64_t n) { pos_[Idx(dir)] += n; }
  // Starts positions as if `n` bytes had gone by before sonde looked.
  void SkipAhead(Direction dir, uint64_t n) { pos_[Idx(dir)] += n; }
  void Close(uint64_t ts_ns = 0) { dec_.OnClose(ts_ns); }
  std::vector<Message> Drain();

  Http2Decoder& decoder() { return dec_; }
  const DecodeCounters& counters() const { return counters_; }
  Direction client_dir() const { return client_dir_; }
  Direction server_dir() const {
    return client_dir_ == Direction::kEgress ? Direction::kIngress : Direction::kEgress;
  }

 private:
  static int Idx(Direction d) { return static_cast<int>(d); }
  uint64_t NextTs(uint64_t ts_ns) { return ts_ns != 0 ? ts_ns : ++auto_ts_; }

  DecodeCounters counters_;
  Http2Decoder dec_;
  Direction client_dir_;
  uint64_t pos_[2] = {0, 0};
  uint64_t auto_ts_ = 1000;
  std::deque<std::string> store_;  // keeps chunk bytes alive (DataChunk holds a view)
};

// Feeds a capture chunk by chunk; the traced process is `role`.
void FeedCapture(Feeder& f, const std::vector<CapChunk>& cap, size_t from = 0);

}  // namespace sonde::test
