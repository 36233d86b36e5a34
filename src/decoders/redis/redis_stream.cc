#include "decoders/redis/redis_stream.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace sonde::redis {

namespace {

// Every line gives up (invalid) before kMaxLineBytes, so a buffer this size
// always makes progress; chunks are appended piecewise to keep it there.
constexpr size_t kMaxBuffer = kMaxLineBytes + 4096;

}  // namespace

RespStream::RespStream(Kind kind, StreamSink* sink, DecodeCounters* counters)
    : ChunkStream(kMaxBuffer, counters), kind_(kind), sink_(sink) {}

void RespStream::BeforeFeed(std::string_view data, bool syscall_start, const DataChunk& chunk) {
  if (state_ == State::kResync && kind_ == Kind::kReplies && syscall_start && !data.empty() &&
      IsReplyTypeByte(data[0]) && sink_->MayStartReply(chunk.ts_ns)) {
    state_ = State::kIdle;  // servers write whole replies: try one here
  }
}

void RespStream::OnBufferOverflow(const ChunkMeta& meta) {
  line_scan_ = 0;
  LoseSync(meta.ts_ns);
}

void RespStream::Skip(uint64_t n, const ChunkMeta& meta, bool gap) {
  if (n == 0 || state_ == State::kStopped) return;
  if (state_ == State::kBulk) {
    // A value larger than the capture cap: its length says where it ends.
    const uint64_t k = std::min(n, bulk_left_);
    bulk_left_ -= k;
    n -= k;
    last_ts_ = meta.ts_ns;
    if (bulk_left_ == 0) ValueDone(meta.ts_ns);
    if (n == 0) return;
  }
  // Framing bytes fell into the hole; whatever is buffered is no longer contiguous.
  counters_->bytes_skipped += n + buf_.size();
  buf_.clear();
  num_metas_ = 0;
  line_scan_ = 0;
  if (state_ == State::kResync) {
    resync_from_ = 0;
  } else {
    LoseSync(meta.ts_ns, gap);
  }
}

size_t RespStream::Run(std::string_view view, uint64_t base, const ChunkMeta& meta) {
  size_t off = 0;
  for (;;) {
    std::string_view rest = view.substr(off);
    size_t used = 0;
    switch (state_) {
      case State::kStopped: return view.size();
      case State::kResync:
        if (kind_ == Kind::kReplies) {
          // Only a syscall start can begin a reply again (see OnChunk).
          counters_->bytes_skipped += rest.size();
          return view.size();
        }
        if (!StepResync(rest, &used)) return off + used;
        off += used;
        break;
      case State::kBulk:
        if (rest.empty()) return off;
        off += StepBulk(rest, meta);
        break;
      case State::kIdle:
      case State::kElement:
        if (rest.empty()) return off;
        if (!StepLine(rest, base + off, meta, &used)) return off;
        off += used;
        break;
    }
  }
}

bool RespStream::StepResync(std::string_view rest, size_t* used) {
  bool complete = false;
  size_t p = FindCommandStart(rest, std::min(resync_from_, rest.size()), &complete);
  resync_from_ = 0;
  if (p == std::string_view::npos) p = rest.size();
  counters_->bytes_skipped += p;
  *used = p;
  // An incomplete candidate stays buffered and is checked again with more bytes.
  if (p == rest.size() || !complete) return false;
  state_ = State::kIdle;
  return true;
}

bool RespStream::LineStillOpen(std::string_view rest) {
  // A long line arriving in small chunks would be parsed again from its
  // start each time; only look at the new bytes for its end.
  if (line_scan_ > 0 && rest.size() <= kMaxLineBytes + 2 &&
      rest.find('\n', line_scan_ - 1) == std::string_view::npos) {
    line_scan_ = rest.size();
    return true;
  }
  return false;
}

bool RespStream::StepLine(std::string_view rest, uint64_t pos, const ChunkMeta& meta,
                          size_t* used) {
  if (kind_ == Kind::kCommands && state_ == State::kIdle && rest[0] != '*') {
    return StepInline(rest, pos, meta, used);
  }
  if (LineStillOpen(rest)) return false;
  TypeLine line;
  const ParseState st = ParseTypeLine(rest, &line, used);
  line_scan_ = st == ParseState::kNeedsMoreData ? rest.size() : 0;
  switch (st) {
    case ParseState::kNeedsMoreData: return false;
    case ParseState::kInvalid:
      *used = 0;
      Invalid(meta.ts_ns);
      return true;
    case ParseState::kSuccess: break;
  }
  last_ts_ = meta.ts_ns;
  const bool ok =
      kind_ == Kind::kCommands ? OnCommandLine(line, pos, meta) : OnReplyLine(line, pos, meta);
  if (!ok) {
    *used = 0;
    Invalid(meta.ts_ns);
  }
  return true;
}

bool RespStream::StepInline(std::string_view rest, uint64_t pos, const ChunkMeta& meta,
                            size_t* used) {
  if (LineStillOpen(rest)) return false;
  RedisCommand cmd;
  bool blank = false;
  const ParseState st = ParseInlineCommand(rest, &cmd, &blank, used);
  line_scan_ = st == ParseState::kNeedsMoreData ? rest.size() : 0;
  switch (st) {
    case ParseState::kNeedsMoreData: return false;
    case ParseState::kInvalid:
      *used = 0;
      Invalid(meta.ts_ns);
      return true;
    case ParseState::kSuccess: break;
  }
  if (blank) return true;  // Redis ignores empty lines
  const ChunkMeta first = MetaAt(pos);
  cmd.start_ns = first.ts_ns;
  cmd.tid = first.tid;
  cmd.pos = pos;
  cmd.end_ns = meta.ts_ns;
  sink_->OnCommand(std::move(cmd));
  return true;
}

void RespStream::BeginMessage(uint64_t pos) {
  const ChunkMeta first = MetaAt(pos);
  in_message_ = true;
  depth_ = 0;
  if (kind_ == Kind::kCommands) {
    cmd_ = RedisCommand{};
    cmd_.start_ns = first.ts_ns;
    cmd_.tid = first.tid;
    cmd_.pos = pos;
  } else {
    reply_ = ReplyInfo{};
    reply_.reply.start_ns = first.ts_ns;
    reply_.reply.tid = first.tid;
  }
}

bool RespStream::Push(char type, uint64_t count) {
  if (depth_ >= kMaxDepth) return false;
  frames_[depth_++] = Frame{count, count, type};
  state_ = State::kElement;
  return true;
}

void RespStream::StartBulk(int64_t len, std::string* target, size_t cap) {
  bulk_left_ = static_cast<uint64_t>(len) + 2;  // payload and its CRLF
  bulk_target_ = target;
  bulk_cap_ = cap;
  state_ = State::kBulk;
}

bool RespStream::OnCommandLine(const TypeLine& line, uint64_t pos, const ChunkMeta& meta) {
  if (state_ == State::kIdle) {
    if (line.type != '*') return false;
    if (line.n <= 0) return true;  // "*0" / "*-1": redis-server ignores them, no reply
    BeginMessage(pos);
    cmd_.arg_count = static_cast<uint64_t>(line.n);
    return Push('*', static_cast<uint64_t>(line.n));
  }
  // Servers accept only bulk strings as arguments.
  if (line.type != '$' || line.n < 0) return false;
  const Frame& f = frames_[0];
  std::string* keep = KeepArg(&cmd_, static_cast<size_t>(f.total - f.left), {});
  StartBulk(line.n, keep, kMaxArgBytes);
  return true;
}

bool RespStream::OnReplyLine(const TypeLine& line, uint64_t pos, const ChunkMeta& meta) {
  if (state_ == State::kIdle) BeginMessage(pos);
  RedisReply& r = reply_.reply;
  const char t = line.type;
  // The top-level value (an attribute before it is not the reply).
  if (depth_ == 0 && t != '|') {
    r.type = t;
    if (IsAggregateType(t)) r.elements = line.n;
    if (IsBulkType(t) && line.n > 0) r.size = static_cast<uint64_t>(line.n);
    r.null = t == '_' || ((t == '$' || t == '*') && line.n < 0);
    if (t == '-') {
      r.error.assign(line.text.substr(0, kMaxErrorBytes));
    } else if (t == '+' || t == ':' || t == ',' || t == '(' || t == '#') {
      r.text.assign(line.text.substr(0, kMaxTextBytes));
    }
  }
  // Elements of a top-level array or push: what tells pub/sub traffic apart.
  std::string* word = nullptr;
  if (depth_ == 1 && (frames_[0].type == '*' || frames_[0].type == '>')) {
    const bool first = frames_[0].left == frames_[0].total;
    if (first && t == '+' && line.text.size() <= kMaxWordBytes) reply_.first_word = line.text;
    if (first && t == '$' && line.n <= static_cast<int64_t>(kMaxWordBytes))
      word = &reply_.first_word;
    if (t == ':') {
      reply_.last_int = line.n;
      reply_.has_last_int = true;
    }
  }
  if (IsBulkType(t) && line.n >= 0) {
    std::string* target = word;
    size_t cap = kMaxWordBytes;
    if (depth_ == 0 && t == '!') {
      target = &r.error;
      cap = kMaxErrorBytes;
    }
    StartBulk(line.n, target, cap);
    return true;
  }
  if (IsAggregateType(t) && line.n > 0) {
    // Maps and attributes hold key/value pairs.
    const uint64_t n = static_cast<uint64_t>(line.n);
    return Push(t, t == '%' || t == '|' ? 2 * n : n);
  }
  if (t == '|') {
    state_ = State::kElement;  // an empty attribute: the value still follows
    return true;
  }
  ValueDone(meta.ts_ns);
  return true;
}

size_t RespStream::StepBulk(std::string_view rest, const ChunkMeta& meta) {
  size_t used = 0;
  if (bulk_left_ > 2) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(bulk_left_ - 2, rest.size()));
    if (bulk_target_ != nullptr && bulk_target_->size() < bulk_cap_) {
      bulk_target_->append(rest.substr(0, std::min(take, bulk_cap_ - bulk_target_->size())));
    }
    bulk_left_ -= take;
    used = take;
  }
  while (bulk_left_ > 0 && bulk_left_ <= 2 && used < rest.size()) {
    if (rest[used] != (bulk_left_ == 2 ? '\r' : '\n')) {
      Invalid(meta.ts_ns);
      return used;
    }
    ++used;
    --bulk_left_;
  }
  last_ts_ = meta.ts_ns;
  if (bulk_left_ == 0) ValueDone(meta.ts_ns);
  return used;
}

void RespStream::ValueDone(uint64_t ts_ns) {
  bulk_target_ = nullptr;
  while (depth_ > 0) {
    Frame& f = frames_[depth_ - 1];
    if (--f.left > 0) {
      state_ = State::kElement;
      return;
    }
    --depth_;
    if (f.type == '|') {
      // An attribute is not a value of its parent: what it describes follows.
      state_ = State::kElement;
      return;
    }
  }
  Emit(false, ts_ns);
}

void RespStream::Emit(bool truncated, uint64_t end_ts) {
  in_message_ = false;
  depth_ = 0;
  bulk_target_ = nullptr;
  if (state_ != State::kResync && state_ != State::kStopped) state_ = State::kIdle;
  if (kind_ == Kind::kCommands) {
    RedisCommand cmd = std::move(cmd_);
    cmd_ = RedisCommand{};
    cmd.truncated = truncated;
    cmd.end_ns = end_ts;
    sink_->OnCommand(std::move(cmd));
  } else {
    ReplyInfo reply = std::move(reply_);
    reply_ = ReplyInfo{};
    reply.reply.truncated = truncated;
    reply.reply.end_ns = end_ts;
    sink_->OnReply(std::move(reply));
  }
}

void RespStream::Invalid(uint64_t ts_ns) {
  // A command that failed on its first byte must not be found again by the search.
  if (kind_ == Kind::kCommands && !in_message_) resync_from_ = 1;
  LoseSync(ts_ns);
}

void RespStream::LoseSync(uint64_t ts_ns, bool gap) {
  const bool had_message = in_message_;
  EnterResync();
  if (had_message) Emit(true, last_ts_);
  ++counters_->resyncs;
  sink_->OnFramingLost(kind_ == Kind::kCommands, ts_ns, gap);
}

void RespStream::EnterResync() {
  state_ = State::kResync;
  bulk_target_ = nullptr;
  line_scan_ = 0;
}

void RespStream::OnClose(uint64_t ts_ns) {
  if (state_ == State::kStopped) return;
  if (in_message_) {
    state_ = State::kStopped;
    Emit(true, last_ts_);
  }
  counters_->bytes_skipped += buf_.size();
  state_ = State::kStopped;
  std::string().swap(buf_);
  num_metas_ = 0;
}

}  // namespace sonde::redis
