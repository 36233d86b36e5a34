// HTTP/2 decoder for one connection (h2c, or h2 over TLS as plaintext from
// the SSL uprobes: the bytes are the same). A FrameReader per direction
// turns chunks into frames, an HpackDecoder per direction turns header
// blocks into fields, and streams pair up by id: one HttpExchange per
// client-initiated stream, emitted when both sides ended it (END_STREAM),
// on RST_STREAM, on a server's GOAWAY for streams above its last-stream-id,
// or when the connection ends. A response ends at its trailers (gRPC), and
// a Trailers-Only response (one HEADERS with :status, grpc-status and
// END_STREAM) is a response whose header list holds the status fields.
// Interim (1xx) header blocks are dropped. Pushed streams (even ids, the
// PUSH_PROMISE request) go through HPACK, which they change, and are not
// reported.
//
// Mid-stream joins (no preface seen, or framing lost on the way): each
// direction resumes at a syscall that reads as whole frames, and its HPACK
// goes out of sync (see hpack.h): exchanges still come out with every field
// that could be decoded and request/response_headers_partial set; method,
// target and status stay empty/0 when their fields were not decoded. A
// direction counts as seen from its start when it began with the client
// preface, when it is the connection's first bytes of a connection whose
// open was seen (role from accept/connect, position 0), or when its first
// frame is the server's SETTINGS after a preface was seen the other way.
// Which side is the client comes from the connection's role, else the
// preface, else the pseudo-header fields (request ones, or :status).
//
// Bounds: a header block keeps kMaxHeaderBlockBytes (HEADERS plus
// CONTINUATION, compressed) and kMaxFields / kMaxDecodedBytes decoded; at
// most DecoderLimits::max_pending streams are followed and their header
// lists held within max_pending_bytes (the oldest stream is reported
// unfinished to make room, counted in pending_overflows); dynamic tables
// stay within hpack.h's kMaxTableSize.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "decoders/http2/h2_framer.h"
#include "decoders/http2/h2_stream.h"
#include "decoders/http2/hpack.h"
#include "decoders/message.h"
#include "decoders/stream_decoder.h"

namespace sonde {

class Http2Decoder final : public StreamDecoder, private http2::FrameSink {
 public:
  // `counters` may be null (the decoder then keeps its own, see counters()).
  Http2Decoder(const ConnInfo& info, const DecoderLimits& limits, DecodeCounters* counters);

  Protocol protocol() const override { return Protocol::kHttp2; }
  void OnData(Direction dir, const DataChunk& chunk) override;
  void OnClose(uint64_t ts_ns) override;
  void Drain(std::vector<Message>* out) override;
  size_t buffered_bytes() const override;

  // The connection as messages report it (role filled in once known).
  const ConnInfo& conn() const { return info_; }
  const DecodeCounters& counters() const { return *counters_; }
  size_t open_streams() const { return streams_.size(); }
  bool hpack_in_sync(Direction dir) const { return hpack_[Idx(dir)].in_sync(); }

  // Registry hook: the client preface says yes (and who the client is); a
  // prefix of it needs more. Otherwise, for connections joined mid-stream,
  // bytes that read as consecutive strictly valid frames (h2_frame.h's
  // ProbeFrames) with at least one that tells more than its header (a
  // well-formed header block, PING, a sane WINDOW_UPDATE, ...) say yes,
  // with the role when a request or response header block (or a
  // PUSH_PROMISE) shows which side sent them; frames that tell nothing
  // (DATA) need more.
  static InferResult Infer(Direction dir, std::string_view first_bytes);

 private:
  struct DirState {
    bool preface = false;
    bool first_frame_seen = false;
    bool first_frame_settings = false;  // its first frame was a SETTINGS (not an ACK)
    bool hpack_decided = false;
    bool lost = false;  // framing was lost (or the direction was joined inside a frame)
  };

  static int Idx(Direction d) { return static_cast<int>(d); }
  static Direction Other(Direction d) {
    return d == Direction::kEgress ? Direction::kIngress : Direction::kEgress;
  }
  http2::FrameReader& reader(Direction d) { return d == Direction::kEgress ? egress_ : ingress_; }

  // http2::FrameSink
  void OnPreface(Direction dir) override;
  void OnFrameStart(Direction dir, const http2::FrameHeader& h) override;
  void OnHeaderBlock(Direction dir, const http2::HeaderBlockEvent& block) override;
  void OnDataBytes(Direction dir, uint32_t stream_id, std::string_view data,
                   uint64_t uncaptured) override;
  void OnFrame(Direction dir, const http2::FrameEvent& frame) override;
  void OnFramingLost(Direction dir) override;

  void DecideHpack(Direction dir);
  void SetClientDir(Direction dir);
  void OnSettings(Direction dir, std::string_view payload);
  void OnGoaway(Direction dir, std::string_view payload);
  // The stream a header block from `dir` belongs to, created when it may
  // start one; null when it is not followed.
  http2::Stream* StreamFor(Direction dir, uint32_t id);
  http2::Stream* Find(uint32_t id);
  void Account(http2::Stream& s);
  // Reports the oldest streams unfinished until the bounds hold; `keep` is
  // never evicted.
  void EnforceBounds(uint32_t keep);
  void MaybeFinish(uint32_t id);
  void Finish(uint32_t id);
  void Emit(http2::Stream&& s);
  bool RecentlyFinished(uint32_t id) const;

  ConnInfo info_;
  DecoderLimits limits_;
  DecodeCounters own_counters_;
  DecodeCounters* counters_;
  const bool seen_from_open_;  // role from accept/connect: positions start at the open
  http2::FrameReader egress_;
  http2::FrameReader ingress_;
  http2::HpackDecoder hpack_[2];  // by the direction whose header blocks it decodes
  DirState dirs_[2];
  std::optional<Direction> client_dir_;
  std::map<uint32_t, http2::Stream> streams_;  // by id: the oldest first
  size_t streams_bytes_ = 0;
  uint32_t highest_id_ = 0;  // highest client stream id followed so far
  uint64_t block_order_ = 0;
  uint32_t finished_[16] = {};  // ids of the latest streams reported, late frames for them are not orphans
  size_t finished_next_ = 0;
  std::vector<Message> out_;
  bool closed_ = false;
};

}  // namespace sonde
