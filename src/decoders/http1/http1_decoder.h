// HTTP/1.x decoder for one connection: two MessageStreams (requests one way,
// responses the other) and FIFO pairing between them, which is what makes
// pipelining work. Also infers the role of connections that predate sonde.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "decoders/http1/http1_stream.h"
#include "decoders/message.h"
#include "decoders/stream_decoder.h"

namespace sonde {

class Http1Decoder final : public StreamDecoder, private http1::StreamSink {
 public:
  // `counters` may be null (the decoder then keeps its own, see counters()).
  Http1Decoder(const ConnInfo& info, const DecoderLimits& limits, DecodeCounters* counters);

  Protocol protocol() const override { return Protocol::kHttp1; }
  void OnData(Direction dir, const DataChunk& chunk) override;
  void OnClose(uint64_t ts_ns) override;
  void Drain(std::vector<Message>* out) override;
  size_t buffered_bytes() const override;

  // The connection as messages report it (role filled in once inferred).
  const ConnInfo& conn() const { return info_; }
  const DecodeCounters& counters() const { return *counters_; }
  size_t pending_requests() const { return pending_.size(); }
  // True after 101 Switching Protocols or a CONNECT tunnel: the rest is not HTTP/1.
  bool upgraded() const { return responses_.upgraded(); }

  // Whether the first bytes of either direction of a connection are HTTP/1.x
  // (a request line or a status line). "PRI * HTTP/2.0" is not.
  static bool LooksLikeHttp1(std::string_view first_bytes);
  // Registry hook: kNeedMore while the bytes are a plausible prefix; the role
  // says which side the traced process is on.
  static InferResult Infer(Direction dir, std::string_view first_bytes);

 private:
  struct Pending {
    HttpRequest request;
    bool complete = true;
    size_t footprint = 0;
  };

  // http1::StreamSink
  void OnRequest(HttpRequest&& req, bool complete) override;
  void OnResponse(HttpResponse&& resp) override;
  std::string_view MethodForNextResponse() override;

  bool DecideRole(Direction dir, std::string_view data);
  bool CarriesRequests(Direction dir) const;
  void EmitExchange(HttpRequest&& req, bool complete, std::optional<HttpResponse>&& resp);

  ConnInfo info_;
  DecoderLimits limits_;
  DecodeCounters own_counters_;
  DecodeCounters* counters_;
  http1::MessageStream requests_;
  http1::MessageStream responses_;
  std::deque<Pending> pending_;  // requests awaiting their response, oldest first
  size_t pending_bytes_ = 0;
  std::vector<Message> out_;
  bool closed_ = false;
};

}  // namespace sonde
