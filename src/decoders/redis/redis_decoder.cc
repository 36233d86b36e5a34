#include "decoders/redis/redis_decoder.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "decoders/redis/redis_parser.h"

namespace sonde {

namespace {

using redis::EqualsIgnoreCase;

// Rough heap cost of a queued command, for the per-connection byte budget.
size_t Footprint(const RedisCommand& c) {
  size_t n = sizeof(RedisCommand) + 64;
  for (const std::string& a : c.args) n += sizeof(std::string) + a.capacity();
  return n;
}

bool IsConfirmWord(std::string_view w) {
  for (std::string_view c :
       {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"}) {
    if (w == c) return true;
  }
  return false;
}

bool IsMessageWord(std::string_view w) {
  return w == "message" || w == "pmessage" || w == "smessage";
}

// Reply types only RESP3 has: seeing one means HELLO 3 happened, even
// before sonde was watching.
bool IsResp3Type(char t) {
  return t == '%' || t == '~' || t == '_' || t == ',' || t == '#' || t == '=' || t == '(' ||
         t == '!' || t == '>';
}

bool ParseIndex(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 9) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

RedisDecoder::RedisDecoder(const ConnInfo& info, const DecoderLimits& limits,
                           DecodeCounters* counters)
    : info_(info),
      limits_(limits),
      counters_(counters != nullptr ? counters : &own_counters_),
      commands_(redis::RespStream::Kind::kCommands, this, counters_),
      replies_(redis::RespStream::Kind::kReplies, this, counters_) {
  // A connection seen from accept/connect starts on database 0; one that
  // predates sonde may have SELECTed anything.
  if (info_.role == Role::kUnknown || info_.role_inferred) db_epoch_ = -1;
}

InferResult RedisDecoder::Infer(Direction dir, std::string_view first_bytes) {
  const bool egress = dir == Direction::kEgress;
  const redis::StartKind cmd = redis::ClassifyCommandStart(first_bytes);
  if (cmd == redis::StartKind::kYes)
    return {InferVerdict::kYes, egress ? Role::kClient : Role::kServer};
  // "*2\r\n$3" may still become a command; a reply array of bulks looks the same.
  if (cmd == redis::StartKind::kMaybe) return {InferVerdict::kNeedMore, Role::kUnknown};
  const redis::StartKind reply = redis::ClassifyReplyStart(first_bytes);
  if (reply == redis::StartKind::kYes)
    return {InferVerdict::kYes, egress ? Role::kServer : Role::kClient};
  if (reply == redis::StartKind::kMaybe) return {InferVerdict::kNeedMore, Role::kUnknown};
  return {};
}

bool RedisDecoder::DecideRole(Direction dir, std::string_view data) {
  InferResult r = Infer(dir, data);
  if (r.verdict != InferVerdict::kYes) return false;
  info_.role = r.role;
  info_.role_inferred = true;
  db_epoch_ = -1;
  return true;
}

bool RedisDecoder::CarriesCommands(Direction dir) const {
  return (info_.role == Role::kClient) == (dir == Direction::kEgress);
}

void RedisDecoder::OnData(Direction dir, const DataChunk& chunk) {
  if (closed_) return;
  if (info_.role == Role::kUnknown && !DecideRole(dir, chunk.data)) {
    // Until one direction shows a command or reply start there is no way to
    // frame anything; the caller is expected to have stashed short prefixes.
    counters_->bytes_skipped += std::max<uint64_t>(chunk.total_len, chunk.data.size());
    return;
  }
  if (CarriesCommands(dir)) {
    // Commands seen from the middle of the stream: a SELECT may have gone by.
    if (!commands_.started() && chunk.pos != 0) db_epoch_ = -1;
    commands_.OnChunk(chunk);
  } else {
    replies_.OnChunk(chunk);
  }
}

void RedisDecoder::OnClose(uint64_t ts_ns) {
  if (closed_) return;
  closed_ = true;
  commands_.OnClose(ts_ns);
  replies_.OnClose(ts_ns);
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    PopFront();
    EmitExchange(std::move(p), std::nullopt);
  }
}

void RedisDecoder::Drain(std::vector<Message>* out) {
  if (out->empty()) {
    out->swap(out_);
  } else {
    std::move(out_.begin(), out_.end(), std::back_inserter(*out));
  }
  out_.clear();
}

size_t RedisDecoder::buffered_bytes() const {
  return commands_.buffered_bytes() + replies_.buffered_bytes() + pending_bytes_;
}

void RedisDecoder::PopFront() {
  pending_bytes_ -= std::min(pending_bytes_, pending_.front().footprint);
  pending_.pop_front();
}

void RedisDecoder::OnCommand(RedisCommand&& cmd) {
  Pending p;
  const std::string name = cmd.args.empty() ? std::string() : redis::ToUpperAscii(cmd.args[0]);
  if (name == "SELECT") {
    int64_t index = 0;
    if (cmd.arg_count == 2 && cmd.args.size() == 2 && ParseIndex(cmd.args[1], &index)) {
      p.effect = Effect::kSelect;
      p.select = index;
    }
  } else if (name == "HELLO") {
    p.effect = Effect::kHello;
  } else if (name == "MULTI") {
    p.effect = Effect::kMulti;
  } else if (name == "EXEC") {
    p.effect = Effect::kExec;
  } else if (name == "DISCARD") {
    p.effect = Effect::kDiscard;
  } else if (name == "RESET") {
    p.effect = Effect::kReset;
  } else if (name == "MONITOR") {
    p.effect = Effect::kMonitor;
  }
  for (std::string_view w :
       {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}) {
    if (name == w) {
      p.effect = Effect::kSubscribe;
      p.confirm = name;
      for (char& c : p.confirm) c = static_cast<char>(c - 'A' + 'a');
    }
  }

  // The transaction state is followed as commands are sent: what is queued
  // is answered QUEUED whatever the server makes of it later.
  p.in_transaction = in_multi_ && p.effect != Effect::kMulti && p.effect != Effect::kExec &&
                     p.effect != Effect::kDiscard;
  switch (p.effect) {
    case Effect::kSelect:
      if (in_multi_) multi_select_ = p.select;
      break;
    case Effect::kMulti:
      in_multi_ = true;
      multi_select_ = -1;
      break;
    case Effect::kExec:
      p.select = in_multi_ ? multi_select_ : -1;
      in_multi_ = false;
      multi_select_ = -1;
      break;
    case Effect::kDiscard:
    case Effect::kReset:
      in_multi_ = false;
      multi_select_ = -1;
      break;
    default: break;
  }

  p.epoch = epoch_;
  if (!ReplyExpected(cmd)) {
    p.command = std::move(cmd);
    EmitExchange(std::move(p), std::nullopt, true);
    return;
  }
  p.command = std::move(cmd);
  p.footprint = Footprint(p.command);
  pending_bytes_ += p.footprint;
  pending_.push_back(std::move(p));
  // More unanswered commands than any real pipeline holds means replies are
  // being lost; report the oldest as unanswered rather than hold them forever.
  while (pending_.size() > 1 &&
         (pending_.size() > limits_.max_pending || pending_bytes_ > limits_.max_pending_bytes)) {
    Pending old = std::move(pending_.front());
    PopFront();
    ++counters_->pending_overflows;
    EmitExchange(std::move(old), std::nullopt);
  }
}

bool RedisDecoder::ReplyExpected(const RedisCommand& cmd) {
  bool expected = !replies_off_ && !skip_next_;
  skip_next_ = false;
  if (cmd.args.size() >= 3 && EqualsIgnoreCase(cmd.args[0], "CLIENT") &&
      EqualsIgnoreCase(cmd.args[1], "REPLY")) {
    // Like redis-server: ON always answers OK; OFF and SKIP never answer.
    if (EqualsIgnoreCase(cmd.args[2], "ON")) {
      replies_off_ = false;
      expected = true;
    } else if (EqualsIgnoreCase(cmd.args[2], "OFF")) {
      replies_off_ = true;
      expected = false;
    } else if (EqualsIgnoreCase(cmd.args[2], "SKIP")) {
      skip_next_ = !replies_off_;
      expected = false;
    }
  }
  return expected;
}

void RedisDecoder::OnReply(redis::ReplyInfo&& info) {
  const RedisReply& r = info.reply;
  if (IsResp3Type(r.type)) resp3_ = true;
  // RESP3 pushes are never replies, except (un)subscribe confirmations.
  if (r.type == '>') {
    if (IsConfirmWord(info.first_word) && info.has_last_int) {
      OnConfirmation(std::move(info));
    } else {
      ++pushes_;
    }
    return;
  }
  if (r.type == '*' && !resp3_) {
    // RESP2 pub/sub traffic is made of arrays, told apart by their first word.
    const bool front_subscribes =
        !pending_.empty() && pending_.front().effect == Effect::kSubscribe;
    if (IsConfirmWord(info.first_word) && info.has_last_int && (subscribed() || front_subscribes)) {
      OnConfirmation(std::move(info));
      return;
    }
    if (IsMessageWord(info.first_word) && (subscribed() || pending_.empty())) {
      ++pushes_;
      return;
    }
  }
  // MONITOR streams "+<timestamp> [db addr] ..." lines once it said OK.
  if (monitor_ && r.type == '+' && !r.text.empty() && r.text[0] >= '0' && r.text[0] <= '9') {
    ++pushes_;
    return;
  }
  Answer(std::move(info));
}

void RedisDecoder::OnConfirmation(redis::ReplyInfo&& info) {
  const std::string& word = info.first_word;
  const bool shard = word == "ssubscribe" || word == "sunsubscribe";
  (shard ? shard_subscriptions_ : subscriptions_) = std::max<int64_t>(0, info.last_int);
  if (extra_confirm_ == word && extra_left_ > 0) {
    --extra_left_;  // for a channel of the command answered last
    ++pushes_;
    return;
  }
  if (!pending_.empty() && pending_.front().effect == Effect::kSubscribe &&
      pending_.front().confirm == word) {
    // One confirmation per channel argument; without arguments, one per
    // channel the connection had, which only the server knows.
    const uint64_t channels = pending_.front().command.arg_count - 1;
    extra_confirm_ = word;
    extra_left_ = channels > 0 ? static_cast<int64_t>(channels - 1) : -1;
    Answer(std::move(info));
    return;
  }
  // One for a channel of an argument-less UNSUBSCRIBE, or one the server
  // sent by itself (a channel taken away by ACL changes).
  ++pushes_;
}

size_t RedisDecoder::RealignTo(const RedisReply& reply) {
  // A reply cannot answer a command sent after it started.
  size_t answered = std::string::npos;
  for (size_t i = 0; i < pending_.size() && pending_[i].command.start_ns <= reply.start_ns; ++i) {
    const bool after_loss = pending_[i].command.start_ns > loss_ts_;
    if (realign_ == Realign::kAfterGap) {
      answered = i;  // the newest
    } else if (after_loss) {
      answered = i;  // the oldest sent after the loss
      break;
    }
  }
  if (realign_ == Realign::kAfterHole && answered == std::string::npos && !pending_.empty() &&
      pending_.front().command.start_ns <= reply.start_ns) {
    answered = 0;  // FIFO: the hole may have held only the rest of one reply
  }
  if (answered == std::string::npos) return answered;
  if (answered > 0 || realign_ == Realign::kAfterGap) realign_ = Realign::kNone;
  for (size_t i = 0; i < answered; ++i) {
    Pending p = std::move(pending_.front());
    PopFront();
    EmitExchange(std::move(p), std::nullopt);
  }
  return 0;
}

void RedisDecoder::Answer(redis::ReplyInfo&& info) {
  if (realign_ != Realign::kNone && RealignTo(info.reply) == std::string::npos) {
    ++counters_->orphan_responses;
    return;
  }
  if (pending_.empty()) {
    ++counters_->orphan_responses;
    return;
  }
  Pending p = std::move(pending_.front());
  PopFront();
  // The exchange reports the connection as the command found it; what the
  // reply changes applies to later commands.
  const Effect effect = p.effect;
  const int64_t select = p.select;
  const uint64_t epoch = p.epoch;
  EmitExchange(std::move(p), info.reply);
  Apply(effect, select, epoch, info.reply);
  // Every command sent before the loss has had a reply: back to plain FIFO.
  if (realign_ == Realign::kAfterHole &&
      (pending_.empty() || pending_.front().command.start_ns > loss_ts_)) {
    realign_ = Realign::kNone;
  }
}

void RedisDecoder::Apply(Effect effect, int64_t select, uint64_t epoch, const RedisReply& r) {
  const bool error = r.type == '-' || r.type == '!';
  switch (effect) {
    case Effect::kSelect:
      if (r.type == '+' && r.text == "OK" && select >= 0) {
        db_ = select;
        db_epoch_ = static_cast<int64_t>(epoch);
      }
      break;
    case Effect::kHello:
      // HELLO answers with a map in RESP3 and a flat array in RESP2.
      if (r.type == '%') resp3_ = true;
      if (r.type == '*') resp3_ = false;
      break;
    case Effect::kExec:
      if (r.type == '*' && !r.null && !r.truncated && select >= 0) {
        db_ = select;
        db_epoch_ = static_cast<int64_t>(epoch);
      }
      break;
    case Effect::kReset:
      if (!error) {
        db_ = 0;
        db_epoch_ = static_cast<int64_t>(epoch);
        resp3_ = false;
        monitor_ = false;
        subscriptions_ = shard_subscriptions_ = 0;
        extra_confirm_.clear();
      }
      break;
    case Effect::kMonitor:
      if (!error) monitor_ = true;
      break;
    default: break;
  }
}

void RedisDecoder::OnFramingLost(bool commands, uint64_t ts_ns, bool gap) {
  if (commands) {
    ++epoch_;  // a SELECT may have been among the lost bytes
    return;
  }
  // A gap after a hole is still a gap: the newer, vaguer loss wins.
  realign_ = gap ? Realign::kAfterGap : Realign::kAfterHole;
  loss_ts_ = ts_ns;
}

bool RedisDecoder::MayStartReply(uint64_t ts_ns) {
  if (subscribed() || monitor_) return true;  // pushes come whenever
  return !pending_.empty() && pending_.front().command.start_ns <= ts_ns;
}

void RedisDecoder::EmitExchange(Pending&& p, std::optional<RedisReply> reply, bool suppressed) {
  Message m;
  m.conn = info_;
  RedisExchange ex;
  ex.command = std::move(p.command);
  ex.reply = std::move(reply);
  ex.db_index = db_;
  ex.db_index_known = db_epoch_ >= 0 && p.epoch == static_cast<uint64_t>(db_epoch_);
  ex.in_transaction = p.in_transaction;
  ex.reply_suppressed = suppressed;
  m.payload = std::move(ex);
  out_.push_back(std::move(m));
}

}  // namespace sonde
