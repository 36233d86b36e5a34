// HTTP/2 framing facts (RFC 9113 sections 3.4, 4 and 6) and the checks the
// decoder, its resync and protocol inference share: the 9-byte frame header,
// what each known frame type allows, and whether a run of bytes reads as
// consecutive frames from a frame boundary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sonde::http2 {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kFrameHeaderBytes = 9;
inline constexpr uint32_t kDefaultMaxFrameSize = 16384;         // SETTINGS_MAX_FRAME_SIZE initial value
inline constexpr uint32_t kLargestMaxFrameSize = (1u << 24) - 1;  // what the 24-bit length allows

// Bounds of what one connection may hold (see the decoder's header).
inline constexpr size_t kMaxHeaderBlockBytes = 64 * 1024;  // HEADERS + CONTINUATION, compressed
inline constexpr size_t kMaxControlPayload = 1024;         // SETTINGS/GOAWAY/... bytes kept

enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};
inline constexpr uint8_t kLastKnownType = kContinuation;

// Flags (the same bit means different things per type).
inline constexpr uint8_t kFlagEndStream = 0x01;  // DATA, HEADERS
inline constexpr uint8_t kFlagAck = 0x01;        // SETTINGS, PING
inline constexpr uint8_t kFlagEndHeaders = 0x04;  // HEADERS, PUSH_PROMISE, CONTINUATION
inline constexpr uint8_t kFlagPadded = 0x08;      // DATA, HEADERS, PUSH_PROMISE
inline constexpr uint8_t kFlagPriority = 0x20;    // HEADERS

enum SettingId : uint16_t {
  kSettingHeaderTableSize = 0x1,
  kSettingMaxFrameSize = 0x5,
};

struct FrameHeader {
  uint32_t length = 0;  // payload bytes
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // reserved bit masked off
  bool reserved = false;   // the reserved bit was set

  bool has(uint8_t flag) const { return (flags & flag) != 0; }
  bool known() const { return type <= kLastKnownType; }
};

// `p` points at 9 bytes.
FrameHeader ParseFrameHeader(const char* p);

// The rules a frame of a known type must follow whatever the connection
// state: payload within `max_frame_size`, the stream id zero or not as its
// type requires, fixed payload sizes (RST_STREAM, PING, ...), SETTINGS in
// 6-byte entries. Unknown types (extensions) pass when within the size.
bool ShapeValid(const FrameHeader& h, uint32_t max_frame_size);
// ShapeValid plus what a sender must do but a receiver ignores: a known
// type, only that type's flags, the reserved bit clear. For guessing where
// frames start in bytes of unknown provenance.
bool StrictlyValid(const FrameHeader& h, uint32_t max_frame_size);

// The part of a HEADERS or PUSH_PROMISE payload before the header block
// fragment (pad length, priority, promised stream id); 0 for CONTINUATION.
size_t FragmentOffset(const FrameHeader& h);

// The header block fragment inside a complete HEADERS / PUSH_PROMISE /
// CONTINUATION payload (padding, priority and promised id removed). False
// when the padding does not fit the frame.
bool FragmentOf(const FrameHeader& h, std::string_view payload, std::string_view* fragment);

enum class Probe : uint8_t { kNo, kNeedMore, kYes };

// What ProbeFrames saw, for inference.
struct ProbeSummary {
  size_t frames = 0;  // complete frame headers checked
  // Whole frames whose payload says more than their header: PING,
  // WINDOW_UPDATE with a non-zero increment, RST_STREAM and GOAWAY with a
  // known error code, PRIORITY, SETTINGS with entries whose values are in
  // range. DATA, CONTINUATION and SETTINGS ACK say little by themselves;
  // header blocks are for the caller to check (first_headers_fragment).
  size_t telling = 0;
  // The first whole HEADERS frame with END_HEADERS on an odd stream (its
  // fragment), and whether a PUSH_PROMISE was seen.
  std::string_view first_headers_fragment;
  bool push_promise = false;
};

// Whether `bytes`, taken to start at a frame boundary, read as consecutive
// strictly valid frames: every frame header inside `bytes` must pass, and
// the bytes must end where a frame ends, or the last frame (or frame
// header) may run past the end (not captured yet) after at least one whole
// frame. A first frame that is a CONTINUATION is refused (its HEADERS is
// not here). kNeedMore: nothing against them yet, but fewer than 9 bytes,
// or one frame that runs past the end.
Probe ProbeFrames(std::string_view bytes, uint32_t max_frame_size, ProbeSummary* summary = nullptr);

}  // namespace sonde::http2
