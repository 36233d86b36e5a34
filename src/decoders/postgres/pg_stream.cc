#include "decoders/postgres/pg_stream.h"

#include <algorithm>
#include <limits>

namespace sonde::pg {

namespace {

// Searching never needs more than CheckMessages' window to decide, and a
// header is at most 8 bytes, so this bounds the reassembly buffer.
constexpr size_t kMaxBuffer = 4096;

bool IsAnswerByte(char c) { return c == 'S' || c == 'N' || c == 'G'; }

}  // namespace

MessageStream::MessageStream(Side side, FrameSink* sink, DecodeCounters* counters)
    : ChunkStream(kMaxBuffer, counters), side_(side), sink_(sink), startup_possible_(side == Side::kFrontend) {}

void MessageStream::AfterChunk() {
  if (state_ == State::kStopped) {
    std::string().swap(buf_);
    std::string().swap(body_);
  }
}

void MessageStream::OnBufferOverflow(const ChunkMeta&) {
  if (state_ != State::kResync && state_ != State::kAlign) LoseSync();
}

void MessageStream::Skip(uint64_t n, const ChunkMeta& meta, bool) {
  if (n == 0 || state_ == State::kStopped) return;
  if (state_ == State::kBody) {
    // A known-length body absorbs the hole: only the kept prefix stops here.
    uint64_t k = std::min(n, body_remaining_);
    body_remaining_ -= k;
    n -= k;
    body_cut_ = true;
    if (body_remaining_ == 0) Deliver(body_, false, meta.ts_ns);
    if (n == 0 || state_ == State::kStopped) return;
  }
  // Framing bytes fell into the hole; whatever is buffered is no longer contiguous.
  counters_->bytes_skipped += n + buf_.size();
  buf_.clear();
  num_metas_ = 0;
  if (state_ == State::kHeader) LoseSync();
}

size_t MessageStream::Run(std::string_view view, uint64_t base, const ChunkMeta& meta) {
  size_t off = 0;
  for (;;) {
    if (state_ == State::kStopped) return view.size();
    std::string_view rest = view.substr(off);
    if (rest.empty()) return off;
    size_t used = 0;
    bool more = false;
    switch (state_) {
      case State::kAlign:
      case State::kResync: more = StepSearch(rest, &used); break;
      case State::kHeader: more = StepHeader(rest, base + off, meta, &used); break;
      case State::kBody: more = StepBody(rest, meta, &used); break;
      case State::kStopped: return view.size();
    }
    off += used;
    if (!more) return off;
  }
}

bool MessageStream::StepSearch(std::string_view rest, size_t* used) {
  if (side_ == Side::kBackend && answers_expected_ > 0 && IsAnswerByte(rest[0])) {
    state_ = State::kHeader;
    return true;
  }
  for (size_t i = 0; i < rest.size(); ++i) {
    std::string_view cand = rest.substr(i);
    Check c = Check::kNo;
    if (side_ == Side::kFrontend && startup_possible_ && cand[0] == '\0') {
      c = CheckStartupPacket(cand);
    } else if (IsMessageType(side_, cand[0])) {
      c = CheckMessages(side_, cand);
    }
    if (c == Check::kNo) continue;
    counters_->bytes_skipped += i;
    *used = i;
    if (c == Check::kNeedMore) return false;  // keep the candidate buffered
    state_ = State::kHeader;
    return true;
  }
  counters_->bytes_skipped += rest.size();
  *used = rest.size();
  return false;
}

bool MessageStream::StepHeader(std::string_view rest, uint64_t pos, const ChunkMeta& meta,
                               size_t* used) {
  const ChunkMeta first = MetaAt(pos);
  if (side_ == Side::kBackend && answers_expected_ > 0) {
    if (IsAnswerByte(rest[0])) {
      --answers_expected_;
      cur_ = Frame{};
      cur_.kind = Frame::Kind::kAnswer;
      cur_.type = rest[0];
      cur_.start_ns = first.ts_ns;
      cur_.tid = first.tid;
      cur_.pos = pos;
      *used = 1;
      Deliver({}, true, meta.ts_ns);
      return true;
    }
    answers_expected_ = 0;  // e.g. an ErrorResponse from a server that rejects the request
  }
  size_t header = 5;
  Frame f;
  if (side_ == Side::kFrontend && startup_possible_ && rest[0] == '\0') {
    if (rest.size() < 8) return false;
    const uint32_t len = ReadU32(rest.data());
    f.kind = Frame::Kind::kStartup;
    f.code = ReadU32(rest.data() + 4);
    if (!ValidStartupHeader(len, f.code)) return Invalid(used);
    f.body_len = len - 8;
    header = 8;
    keep_ = f.body_len;
  } else {
    if (!IsMessageType(side_, rest[0])) return Invalid(used);
    if (rest.size() < 5) return false;
    const uint32_t len = ReadU32(rest.data() + 1);
    if (len < 4 || len > kMaxMessageLength) return Invalid(used);
    f.type = rest[0];
    f.body_len = len - 4;
    keep_ = KeepLimit(side_, f.type);
    startup_possible_ = false;
  }
  f.start_ns = first.ts_ns;
  f.tid = first.tid;
  f.pos = pos;
  cur_ = f;
  std::string_view after = rest.substr(header);
  if (f.body_len <= keep_ && after.size() >= f.body_len) {
    // The whole message is here: no copy.
    *used = header + static_cast<size_t>(f.body_len);
    Deliver(after.substr(0, static_cast<size_t>(f.body_len)), true, meta.ts_ns);
    return true;
  }
  *used = header;
  body_.clear();
  body_cut_ = false;
  body_remaining_ = f.body_len;
  state_ = State::kBody;
  return true;
}

bool MessageStream::Invalid(size_t* used) {
  // Skip the bad byte so the search cannot find this same start again.
  ++counters_->bytes_skipped;
  *used = 1;
  LoseSync();
  return true;
}

bool MessageStream::StepBody(std::string_view rest, const ChunkMeta& meta, size_t* used) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(body_remaining_, rest.size()));
  if (!body_cut_ && body_.size() < keep_) body_.append(rest.substr(0, keep_ - body_.size()).substr(0, n));
  body_remaining_ -= n;
  *used = n;
  if (body_remaining_ == 0) Deliver(body_, !body_cut_ && body_.size() == cur_.body_len, meta.ts_ns);
  return true;
}

void MessageStream::Deliver(std::string_view body, bool complete, uint64_t end_ns) {
  state_ = State::kHeader;
  cur_.body = body;
  cur_.body_complete = complete;
  cur_.end_ns = end_ns;
  // Only a StartupMessage ends the startup phase: SSL and GSS requests are
  // followed by another startup packet.
  if (cur_.kind == Frame::Kind::kStartup && (cur_.code >> 16) == 3) startup_possible_ = false;
  // The sink may stop this stream; nothing here touches the body afterwards.
  sink_->OnFrame(side_, cur_);
  cur_.body = {};
  if (body_.capacity() > 2 * kMaxQueryText) std::string().swap(body_);
}

void MessageStream::LoseSync() {
  ++counters_->resyncs;
  state_ = State::kResync;
  startup_possible_ = false;
  sink_->OnLostSync(side_);
}

void MessageStream::OnClose() {
  if (state_ == State::kStopped) return;
  // A message cut by the close was never complete: the peer cannot act on it.
  counters_->bytes_skipped += buf_.size() + (state_ == State::kBody ? body_.size() : 0);
  Stop();
  std::string().swap(buf_);
  std::string().swap(body_);
}

void MessageStream::Stop() {
  // Buffers are released by OnChunk: Stop may be called while a view into them is in use.
  state_ = State::kStopped;
  answers_expected_ = 0;
}

}  // namespace sonde::pg
