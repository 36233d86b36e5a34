// Per-stream state of the HTTP/2 decoder: what each side of a stream sent
// (header blocks, DATA, END_STREAM), gRPC message counting, and the
// HttpExchange a finished stream becomes. The halves are kept by direction;
// which one is the request is decided when the exchange is built, since a
// connection joined mid-stream may only learn its client side later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/types.h"
#include "decoders/message.h"

namespace sonde::http2 {

// Counts gRPC length-prefixed messages (1-byte compressed flag, 4-byte
// big-endian length, message) in one direction of a stream, across DATA
// frame boundaries, in constant space. A message counts once all of it went
// by. Bytes that went by unseen keep the count exact only while they fall
// inside a message body; otherwise counting stops (lost()).
class GrpcCounter {
 public:
  void Feed(std::string_view data);
  void Skip(uint64_t n);

  uint32_t messages() const { return messages_; }
  // The bytes stopped looking like gRPC framing, or framing bytes were lost.
  bool lost() const { return lost_; }

 private:
  void Count();

  uint8_t prefix_[5] = {};
  uint8_t have_ = 0;        // prefix bytes collected
  uint64_t remaining_ = 0;  // message bytes still to come (after a whole prefix)
  bool in_body_ = false;
  uint32_t messages_ = 0;
  bool lost_ = false;
};

// One side of a stream.
struct Half {
  bool started = false;   // a frame of it was seen (a header block or DATA)
  bool ended = false;     // END_STREAM
  bool partial = false;   // a header block was not decoded in full
  bool damaged = false;   // framing was lost while it was open: frames may be missing
  uint32_t blocks = 0;    // final header blocks (headers, then trailers)
  uint64_t order = 0;     // when its first header block arrived (connection-wide count)
  HeaderList headers;
  HeaderList trailers;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t tid = 0;
  uint64_t pos = 0;  // stream position of its first HEADERS frame
  uint64_t body = 0;
  uint32_t data_frames = 0;
  GrpcCounter grpc;
  bool data_lost = false;  // DATA bytes went unseen (uncaptured or lost)
};

struct Stream {
  uint32_t id = 0;
  Half half[2];  // by Direction
  std::optional<uint32_t> rst;
  bool goaway = false;
  size_t footprint = 0;  // heap held by the header lists, for the byte budget

  Half& of(Direction d) { return half[static_cast<int>(d)]; }
  const Half& of(Direction d) const { return half[static_cast<int>(d)]; }
};

// Approximate heap held by a stream's header lists.
size_t Footprint(const Stream& s);

// The first value of `name` (exact, lower-case as HTTP/2 requires).
const std::string* FieldValue(const HeaderList& fields, std::string_view name);

// Whether a header block is an interim (1xx) response.
bool IsInformational(const HeaderList& fields);

// The exchange a finished stream becomes; `request_dir` is the direction
// that carried the request.
HttpExchange BuildExchange(Stream&& s, Direction request_dir);

}  // namespace sonde::http2
