// Redis decoder for one connection: a RespStream per direction and FIFO
// pairing between them (pipelining, MULTI/EXEC: QUEUED replies answer their
// commands and EXEC's reply answers EXEC). Tracks what the connection's
// state changes mean for pairing and spans: the selected database (SELECT),
// RESP3 (HELLO 3), subscribe mode (pushed messages answer no command), and
// MONITOR. Infers the role of connections that predate sonde.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "decoders/message.h"
#include "decoders/redis/redis_stream.h"
#include "decoders/stream_decoder.h"

namespace sonde {

class RedisDecoder final : public StreamDecoder, private redis::StreamSink {
 public:
  // `counters` may be null (the decoder then keeps its own, see counters()).
  RedisDecoder(const ConnInfo& info, const DecoderLimits& limits, DecodeCounters* counters);

  Protocol protocol() const override { return Protocol::kRedis; }
  void OnData(Direction dir, const DataChunk& chunk) override;
  void OnClose(uint64_t ts_ns) override;
  void Drain(std::vector<Message>* out) override;
  size_t buffered_bytes() const override;

  // The connection as messages report it (role filled in once inferred).
  const ConnInfo& conn() const { return info_; }
  const DecodeCounters& counters() const { return *counters_; }
  size_t pending_commands() const { return pending_.size(); }
  // Replies that answered no command: pub/sub messages, RESP3 pushes
  // (invalidations, ...), MONITOR lines, extra (un)subscribe confirmations.
  uint64_t pushes() const { return pushes_; }
  bool resp3() const { return resp3_; }
  bool subscribed() const { return subscriptions_ > 0 || shard_subscriptions_ > 0; }

  // Registry hook: a command start on either direction (or a distinctly
  // Redis reply) says yes; kNeedMore while the bytes are a plausible prefix.
  static InferResult Infer(Direction dir, std::string_view first_bytes);

 private:
  // What a command does to the connection, decided once when it is sent.
  enum class Effect : uint8_t {
    kNone,
    kSelect,
    kHello,
    kMulti,
    kExec,
    kDiscard,
    kReset,
    kMonitor,
    kSubscribe,  // any of (P|S)(UN)SUBSCRIBE: answered by confirmations
  };

  struct Pending {
    RedisCommand command;
    Effect effect = Effect::kNone;
    int64_t select = -1;  // SELECT's index; EXEC: the index a queued SELECT chose
    bool in_transaction = false;
    uint64_t epoch = 0;   // command-direction framing losses before it was sent
    std::string confirm;  // kSubscribe: the confirmation word ("subscribe", ...)
    size_t footprint = 0;
  };

  // redis::StreamSink
  void OnCommand(RedisCommand&& cmd) override;
  void OnReply(redis::ReplyInfo&& reply) override;
  void OnFramingLost(bool commands, uint64_t ts_ns, bool gap) override;
  bool MayStartReply(uint64_t ts_ns) override;

  bool DecideRole(Direction dir, std::string_view data);
  bool CarriesCommands(Direction dir) const;
  // A (un)subscribe confirmation: answers its command, or is one of the
  // several a multi-channel command gets.
  void OnConfirmation(redis::ReplyInfo&& reply);
  void Answer(redis::ReplyInfo&& reply);
  // After reply framing was lost: which pending command `reply` answers
  // (older ones are then reported unanswered), or npos for none.
  size_t RealignTo(const RedisReply& reply);
  void Apply(Effect effect, int64_t select, uint64_t epoch, const RedisReply& reply);
  void EmitExchange(Pending&& p, std::optional<RedisReply> reply, bool suppressed = false);
  // CLIENT REPLY ON/OFF/SKIP: whether the server will answer `cmd`.
  bool ReplyExpected(const RedisCommand& cmd);
  void PopFront();

  ConnInfo info_;
  DecoderLimits limits_;
  DecodeCounters own_counters_;
  DecodeCounters* counters_;
  redis::RespStream commands_;
  redis::RespStream replies_;
  std::deque<Pending> pending_;  // commands awaiting their reply, oldest first
  size_t pending_bytes_ = 0;
  std::vector<Message> out_;
  bool closed_ = false;

  // Connection state, as far as the replies confirmed it. The database is
  // known for commands sent in epoch db_epoch_ (-1: none): a SELECT lost
  // with command bytes would have changed it for every command after.
  int64_t db_ = 0;
  uint64_t epoch_ = 0;
  int64_t db_epoch_ = 0;
  bool resp3_ = false;
  bool in_multi_ = false;      // MULTI sent, EXEC/DISCARD not yet
  int64_t multi_select_ = -1;  // the last SELECT queued in the open transaction
  bool monitor_ = false;
  bool replies_off_ = false;         // CLIENT REPLY OFF sent
  bool skip_next_ = false;           // CLIENT REPLY SKIP sent: the next command gets no reply
  int64_t subscriptions_ = 0;        // channels + patterns, from the last confirmation
  int64_t shard_subscriptions_ = 0;  // shard channels
  // Confirmations still due to the last (un)subscribe command answered:
  // -1 when unknown (UNSUBSCRIBE without arguments answers once per channel).
  std::string extra_confirm_;
  int64_t extra_left_ = 0;
  // After reply framing was lost, some replies may have been lost with it.
  // kAfterHole (uncaptured tail of a syscall at loss_ts_, or garbage in it):
  // replies continue FIFO, unless one can answer a command sent after the
  // loss — then every older command lost its reply in the hole. kAfterGap
  // (lost events, when is unknown): the next reply answers the newest
  // command sent before it, as a client that waits for each reply does.
  enum class Realign : uint8_t { kNone, kAfterHole, kAfterGap };
  Realign realign_ = Realign::kNone;
  uint64_t loss_ts_ = 0;
  uint64_t pushes_ = 0;
};

}  // namespace sonde
