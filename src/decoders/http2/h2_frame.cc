#include "decoders/http2/h2_frame.h"

namespace sonde::http2 {

namespace {

uint8_t U8(const char* p) { return static_cast<uint8_t>(*p); }

// Flags each known type defines (RFC 9113 section 6).
uint8_t DefinedFlags(uint8_t type) {
  switch (type) {
    case kData: return kFlagEndStream | kFlagPadded;
    case kHeaders: return kFlagEndStream | kFlagEndHeaders | kFlagPadded | kFlagPriority;
    case kSettings:
    case kPing: return kFlagAck;
    case kPushPromise: return kFlagEndHeaders | kFlagPadded;
    case kContinuation: return kFlagEndHeaders;
    default: return 0;
  }
}

uint32_t U32(const char* p) {
  return (uint32_t{U8(p)} << 24) | (uint32_t{U8(p + 1)} << 16) | (uint32_t{U8(p + 2)} << 8) |
         U8(p + 3);
}

constexpr uint32_t kLastErrorCode = 0xd;  // HTTP_1_1_REQUIRED (RFC 9113 section 7)

// A whole frame (of a strictly valid header) whose payload is consistent
// beyond what its header says.
bool Telling(const FrameHeader& h, std::string_view p) {
  switch (h.type) {
    case kPing:
    case kPriority: return true;
    case kWindowUpdate: return (U32(p.data()) & 0x7fffffffu) != 0 && (U8(p.data()) & 0x80) == 0;
    case kRstStream: return U32(p.data()) <= kLastErrorCode;
    case kGoaway: return U32(p.data() + 4) <= kLastErrorCode && (U8(p.data()) & 0x80) == 0;
    case kSettings:
      if (p.empty()) return false;
      for (; !p.empty(); p.remove_prefix(6)) {
        const uint16_t id = static_cast<uint16_t>((U8(p.data()) << 8) | U8(p.data() + 1));
        const uint32_t v = U32(p.data() + 2);
        if (id == 0x2 && v > 1) return false;                 // ENABLE_PUSH
        if (id == 0x4 && v > 0x7fffffffu) return false;       // INITIAL_WINDOW_SIZE
        if (id == kSettingMaxFrameSize && (v < kDefaultMaxFrameSize || v > kLargestMaxFrameSize)) {
          return false;
        }
      }
      return true;
    default: return false;
  }
}

}  // namespace

FrameHeader ParseFrameHeader(const char* p) {
  FrameHeader h;
  h.length = (uint32_t{U8(p)} << 16) | (uint32_t{U8(p + 1)} << 8) | U8(p + 2);
  h.type = U8(p + 3);
  h.flags = U8(p + 4);
  const uint32_t sid = (uint32_t{U8(p + 5)} << 24) | (uint32_t{U8(p + 6)} << 16) |
                       (uint32_t{U8(p + 7)} << 8) | U8(p + 8);
  h.reserved = (sid & 0x80000000u) != 0;
  h.stream_id = sid & 0x7fffffffu;
  return h;
}

bool ShapeValid(const FrameHeader& h, uint32_t max_frame_size) {
  if (h.length > max_frame_size) return false;
  const bool on_stream = h.stream_id != 0;
  switch (h.type) {
    case kData:
    case kHeaders:
    case kContinuation: return on_stream;
    case kPriority: return on_stream && h.length == 5;
    case kRstStream: return on_stream && h.length == 4;
    case kSettings: return !on_stream && h.length % 6 == 0 && (!h.has(kFlagAck) || h.length == 0);
    case kPushPromise: return on_stream && h.length >= 4;
    case kPing: return !on_stream && h.length == 8;
    case kGoaway: return !on_stream && h.length >= 8;
    case kWindowUpdate: return h.length == 4;
    default: return true;
  }
}

bool StrictlyValid(const FrameHeader& h, uint32_t max_frame_size) {
  if (!h.known() || h.reserved || (h.flags & ~DefinedFlags(h.type)) != 0) return false;
  if (!ShapeValid(h, max_frame_size)) return false;
  // Room for the fields the flags announce.
  const size_t need = FragmentOffset(h) + (h.type == kData && h.has(kFlagPadded) ? 1 : 0);
  return h.length >= need;
}

size_t FragmentOffset(const FrameHeader& h) {
  size_t off = 0;
  if ((h.type == kHeaders || h.type == kPushPromise) && h.has(kFlagPadded)) off += 1;
  if (h.type == kHeaders && h.has(kFlagPriority)) off += 5;
  if (h.type == kPushPromise) off += 4;
  return off;
}

bool FragmentOf(const FrameHeader& h, std::string_view payload, std::string_view* fragment) {
  const size_t off = FragmentOffset(h);
  if (payload.size() < off) return false;
  size_t pad = 0;
  if ((h.type == kHeaders || h.type == kPushPromise) && h.has(kFlagPadded)) pad = U8(payload.data());
  if (pad > payload.size() - off) return false;
  *fragment = payload.substr(off, payload.size() - off - pad);
  return true;
}

Probe ProbeFrames(std::string_view bytes, uint32_t max_frame_size, ProbeSummary* summary) {
  ProbeSummary local;
  ProbeSummary& s = summary != nullptr ? *summary : local;
  size_t off = 0;
  while (bytes.size() - off >= kFrameHeaderBytes) {
    const FrameHeader h = ParseFrameHeader(bytes.data() + off);
    if (!StrictlyValid(h, max_frame_size)) return Probe::kNo;
    if (s.frames == 0 && h.type == kContinuation) return Probe::kNo;
    if (h.type == kData && h.has(kFlagPadded) && bytes.size() - off > kFrameHeaderBytes) {
      if (U8(bytes.data() + off + kFrameHeaderBytes) >= h.length) return Probe::kNo;
    }
    ++s.frames;
    const size_t end = off + kFrameHeaderBytes + h.length;
    if (h.type == kPushPromise) s.push_promise = true;
    if (h.type == kHeaders && h.has(kFlagEndHeaders) && (h.stream_id & 1) == 1 &&
        s.first_headers_fragment.empty() && end <= bytes.size()) {
      std::string_view fragment;
      if (!FragmentOf(h, bytes.substr(off + kFrameHeaderBytes, h.length), &fragment)) {
        return Probe::kNo;
      }
      s.first_headers_fragment = fragment;
    }
    if (end <= bytes.size() && Telling(h, bytes.substr(off + kFrameHeaderBytes, h.length))) {
      ++s.telling;
    }
    if (end == bytes.size()) return Probe::kYes;
    // A frame running past the end is only believed after a whole one.
    if (end > bytes.size()) return s.frames > 1 ? Probe::kYes : Probe::kNeedMore;
    off = end;
  }
  // Fewer than 9 bytes left: could they begin a frame header?
  std::string_view rest = bytes.substr(off);
  if (!rest.empty()) {
    if (U8(rest.data()) > (max_frame_size >> 16)) return Probe::kNo;
    if (rest.size() > 3 && U8(rest.data() + 3) > kLastKnownType) return Probe::kNo;
    if (rest.size() > 3 && s.frames == 0 && U8(rest.data() + 3) == kContinuation) return Probe::kNo;
    if (rest.size() > 5 && (U8(rest.data() + 5) & 0x80) != 0) return Probe::kNo;
  }
  return s.frames > 0 ? Probe::kYes : Probe::kNeedMore;
}

}  // namespace sonde::http2
