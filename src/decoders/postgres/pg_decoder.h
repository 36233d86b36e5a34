// PostgreSQL v3 decoder for one connection: two MessageStreams (frontend
// messages one way, backend messages the other), a Session that pairs them,
// and the connection-level steps around both: the role of connections that
// predate sonde, and the SSLRequest/GSSENCRequest answers after which an
// encrypted connection is left alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "decoders/message.h"
#include "decoders/postgres/pg_session.h"
#include "decoders/postgres/pg_stream.h"
#include "decoders/stream_decoder.h"

namespace sonde {

class PgDecoder final : public StreamDecoder, private pg::FrameSink {
 public:
  // `counters` may be null (the decoder then keeps its own, see counters()).
  PgDecoder(const ConnInfo& info, const DecoderLimits& limits, DecodeCounters* counters);

  Protocol protocol() const override { return Protocol::kPostgres; }
  void OnData(Direction dir, const DataChunk& chunk) override;
  void OnClose(uint64_t ts_ns) override;
  void Drain(std::vector<Message>* out) override;
  size_t buffered_bytes() const override;

  // The connection as messages report it (role filled in once inferred).
  const ConnInfo& conn() const { return info_; }
  const DecodeCounters& counters() const { return *counters_; }
  // The server accepted TLS or GSSAPI encryption: nothing more is decoded,
  // and the connection's further bytes are counted as skipped.
  bool encrypted() const { return encrypted_; }
  // A CancelRequest: the connection only carried a cancel key.
  bool cancel_request() const { return cancel_request_; }
  size_t pending_statements() const { return session_.pending_statements(); }
  size_t prepared_statements() const { return session_.prepared_statements(); }

  // Registry hook. A startup packet (StartupMessage 3.x, SSLRequest,
  // GSSENCRequest, CancelRequest) marks the client's direction; otherwise,
  // for connections that predate sonde, a run of structurally exact typed
  // messages that only one side sends. kNeedMore while a short prefix could
  // still become either.
  static InferResult Infer(Direction dir, std::string_view first_bytes);

 private:
  // pg::FrameSink
  void OnFrame(pg::Side side, const pg::Frame& frame) override;
  void OnLostSync(pg::Side side) override;

  bool DecideRole(Direction dir, std::string_view data);
  bool CarriesFrontend(Direction dir) const;
  void StopEncrypted();
  void Collect();

  ConnInfo info_;
  DecodeCounters own_counters_;
  DecodeCounters* counters_;
  pg::MessageStream frontend_;
  pg::MessageStream backend_;
  pg::Session session_;
  std::vector<Message> out_;
  bool encryption_requested_ = false;
  bool encrypted_ = false;
  bool cancel_request_ = false;
  bool closed_ = false;
};

}  // namespace sonde
