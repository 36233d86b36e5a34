// One direction of an HTTP/1 connection: turns position-tagged chunks into
// complete requests or responses. Handles overlap, lost events (gaps), the
// uncaptured tails of large syscalls (holes), framing, and resync after
// anything it cannot follow. Pairing lives in http1_decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "decoders/http1/http1_parser.h"
#include "decoders/chunk_stream.h"
#include "decoders/message.h"
#include "decoders/stream_decoder.h"

namespace sonde::http1 {

// Receives what a MessageStream produces. Implemented by the pairing layer.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // `complete` is false when the body was cut short (close, lost sync).
  virtual void OnRequest(HttpRequest&& req, bool complete) = 0;
  // Final responses only: informational 1xx (other than 101) are dropped.
  virtual void OnResponse(HttpResponse&& resp) = 0;
  // The method of the request the next response answers; empty when unknown.
  virtual std::string_view MethodForNextResponse() = 0;
};

class MessageStream : public ChunkStream {
 public:
  enum class Kind : uint8_t { kRequests, kResponses };

  MessageStream(Kind kind, StreamSink* sink, DecodeCounters* counters);

  void OnClose(uint64_t ts_ns);
  // After 101 Switching Protocols or a CONNECT tunnel: no more HTTP here.
  void Stop();

  bool stopped() const { return state_ == State::kStopped; }
  // Set once a response switched protocols (101, or 2xx to CONNECT).
  bool upgraded() const { return upgraded_; }
  // The request whose head is parsed but whose body is still arriving.
  const HttpRequest* InProgressRequest() const;
  // The in-progress request got its response early (e.g. 413 before the body
  // was read): don't emit it again when its body completes.
  void MarkInProgressAnswered() { answered_ = true; }
  size_t buffered_bytes() const { return buf_.capacity(); }

 private:
  enum class State : uint8_t {
    kHead,        // waiting for a start line + header block
    kBody,        // Content-Length body, body_remaining_ bytes to go
    kChunkSize,   // chunk-size line
    kChunkData,   // body_remaining_ bytes of chunk data
    kChunkEnd,    // EOL after chunk data
    kTrailers,    // trailer section after the last chunk
    kUntilClose,  // response body delimited by connection close
    kResync,      // searching for the next plausible start line
    kStopped,
  };

  // `n` bytes that exist on the wire but were not captured.
  void Skip(uint64_t n, const ChunkMeta& meta, bool gap) override;
  void OnBufferOverflow(const ChunkMeta& meta) override;
  bool Stopped() const override { return state_ == State::kStopped; }
  // Runs the state machine over `view` (starting at stream position `base`);
  // returns how many bytes it consumed.
  size_t Run(std::string_view view, uint64_t base, const ChunkMeta& meta) override;
  // Each returns false when it needs more bytes than `rest` has.
  bool StepHead(std::string_view rest, uint64_t pos, const ChunkMeta& meta, size_t* used);
  bool StepResync(std::string_view rest, size_t* used);
  bool StartRequest(const RequestHead& head, const ChunkMeta& meta);
  bool StartResponse(ResponseHead&& head, const ChunkMeta& meta);
  void EnterBody(const BodyFraming& framing);
  void FinishMessage(uint64_t end_ts);
  // Framing lost mid-stream: emit what is known of the current message, then resync.
  void LoseSync();
  void EnterResync(bool count);
  void Emit(bool complete);
  void AddBody(uint64_t n, uint64_t ts_ns);

  const Kind kind_;
  StreamSink* const sink_;

  State state_ = State::kHead;
  size_t scan_from_ = 0;  // line-end search progress within the current unit
  uint64_t head_pos_ = 0;  // stream position of the head being parsed (HttpRequest::stream_pos)
  bool start_line_checked_ = false;
  bool resync_candidate_ = false;  // in kResync, buf_ starts with a plausible start-line prefix


  // The message being decoded (valid from head parsed to finished).
  bool in_message_ = false;
  bool answered_ = false;
  bool upgraded_ = false;
  bool upgrade_after_ = false;  // stop once this response is finished
  HttpRequest req_;
  HttpResponse resp_;
  uint64_t body_remaining_ = 0;
  uint64_t last_ts_ = 0;  // ts of the latest chunk that carried bytes of this message
};

}  // namespace sonde::http1
