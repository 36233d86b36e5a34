#include "decoders/http1/http1_stream.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace sonde::http1 {

namespace {

// Every buffered state gives up (invalid) before holding kMaxHeadBytes, so a
// buffer this size always makes progress; chunks are appended piecewise to
// keep it from growing past it.
constexpr size_t kMaxBuffer = kMaxHeadBytes + 4096;

void KeepFirstHeaders(HeaderList* headers) {
  if (headers->size() > kMaxHeaders) headers->resize(kMaxHeaders);
}

}  // namespace

MessageStream::MessageStream(Kind kind, StreamSink* sink, DecodeCounters* counters)
    : ChunkStream(kMaxBuffer, counters), kind_(kind), sink_(sink) {}

const HttpRequest* MessageStream::InProgressRequest() const {
  if (kind_ != Kind::kRequests || !in_message_ || answered_) return nullptr;
  return &req_;
}

void MessageStream::OnBufferOverflow(const ChunkMeta&) {
  if (state_ != State::kResync) {
    LoseSync();
  } else {
    EnterResync(false);  // a kept candidate is no longer contiguous
  }
}

void MessageStream::Skip(uint64_t n, const ChunkMeta& meta, bool) {
  if (n == 0 || state_ == State::kStopped) return;
  switch (state_) {
    case State::kBody: {
      uint64_t k = std::min(n, body_remaining_);
      AddBody(k, meta.ts_ns);
      body_remaining_ -= k;
      n -= k;
      if (body_remaining_ == 0) FinishMessage(meta.ts_ns);
      if (n == 0) return;
      break;
    }
    case State::kChunkData:
      if (n <= body_remaining_) {
        AddBody(n, meta.ts_ns);
        body_remaining_ -= n;
        if (body_remaining_ == 0) state_ = State::kChunkEnd;
        return;
      }
      break;
    case State::kUntilClose: AddBody(n, meta.ts_ns); return;
    default: break;
  }
  if (state_ == State::kStopped) return;
  // Framing bytes fell into the hole; whatever is buffered is no longer contiguous.
  counters_->bytes_skipped += n + buf_.size();
  buf_.clear();
  num_metas_ = 0;
  if (state_ != State::kResync) {
    LoseSync();
  } else {
    EnterResync(false);  // a kept candidate is no longer contiguous
  }
}

size_t MessageStream::Run(std::string_view view, uint64_t base, const ChunkMeta& meta) {
  size_t off = 0;
  for (;;) {
    std::string_view rest = view.substr(off);
    size_t used = 0;
    switch (state_) {
      case State::kStopped: return view.size();
      case State::kResync:
        if (!StepResync(rest, &used)) return off + used;
        off += used;
        break;
      case State::kHead:
        if (rest.empty()) return off;
        if (!StepHead(rest, base + off, meta, &used)) return off + used;
        off += used;
        break;
      case State::kBody:
      case State::kChunkData: {
        if (rest.empty()) return off;
        uint64_t n = std::min<uint64_t>(body_remaining_, rest.size());
        AddBody(n, meta.ts_ns);
        body_remaining_ -= n;
        off += static_cast<size_t>(n);
        if (body_remaining_ == 0) {
          if (state_ == State::kBody) {
            FinishMessage(meta.ts_ns);
          } else {
            state_ = State::kChunkEnd;
          }
        }
        break;
      }
      case State::kChunkSize: {
        uint64_t size = 0;
        ParseState st = ParseChunkSizeLine(rest, &size, &used);
        if (st == ParseState::kNeedsMoreData) return off;
        if (st == ParseState::kInvalid) {
          LoseSync();  // resync starts right here: the bad line may be the next message
          break;
        }
        off += used;
        last_ts_ = meta.ts_ns;
        if (size == 0) {
          state_ = State::kTrailers;
          scan_from_ = 0;
        } else {
          body_remaining_ = size;
          state_ = State::kChunkData;
        }
        break;
      }
      case State::kChunkEnd: {
        ParseState st = ParseLineEnd(rest, &used);
        if (st == ParseState::kNeedsMoreData) return off;
        if (st == ParseState::kInvalid) {
          LoseSync();
          break;
        }
        off += used;
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailers: {
        size_t end = FindBlockEnd(rest, &scan_from_);
        if (end == std::string_view::npos) {
          if (rest.size() <= kMaxHeadBytes) return off;
          LoseSync();
          break;
        }
        HeaderList* headers = kind_ == Kind::kRequests ? &req_.headers : &resp_.headers;
        // Trailer fields join the header list: span building looks them up the same way.
        if (end > kMaxHeadBytes || !ParseFields(rest.substr(0, end), headers)) {
          LoseSync();
          break;
        }
        KeepFirstHeaders(headers);
        off += end;
        FinishMessage(meta.ts_ns);
        break;
      }
      case State::kUntilClose: AddBody(rest.size(), meta.ts_ns); return view.size();
    }
  }
}

bool MessageStream::StepResync(std::string_view rest, size_t* used) {
  const bool requests = kind_ == Kind::kRequests;
  size_t from = 0;
  bool complete = false;
  size_t p = std::string_view::npos;
  if (resync_candidate_) {
    // Re-check the kept candidate incrementally rather than rescanning it.
    LineCheck lc = CheckStartLine(rest, requests, &scan_from_);
    if (lc == LineCheck::kPrefix) {
      *used = 0;
      return false;
    }
    resync_candidate_ = false;
    scan_from_ = 0;
    if (lc == LineCheck::kValid) {
      p = 0;
      complete = true;
    } else {
      from = 1;
    }
  }
  if (p == std::string_view::npos) p = FindMessageStart(rest, requests, from, &complete);
  if (p == std::string_view::npos) p = rest.size();
  counters_->bytes_skipped += p;
  *used = p;
  if (p == rest.size()) return false;
  if (!complete) {
    // Keep the candidate buffered; the next check resumes after what was scanned.
    resync_candidate_ = true;
    scan_from_ = rest.size() - p;
    return false;
  }
  state_ = State::kHead;
  start_line_checked_ = true;
  scan_from_ = 0;
  return true;
}

bool MessageStream::StepHead(std::string_view rest, uint64_t pos, const ChunkMeta& meta,
                             size_t* used) {
  auto invalid = [&] {
    // Skip at least one byte so the search cannot find this same start again.
    // When the start line itself was fine, skip all of it: its suffixes
    // ("ET /a HTTP/1.1") look like start lines too.
    size_t nl = rest.find('\n');
    size_t skip = start_line_checked_ && nl != std::string_view::npos ? nl + 1 : 1;
    counters_->bytes_skipped += skip;
    *used = skip;
    EnterResync(true);
    return true;
  };
  if (!start_line_checked_) {
    // Stray line ends between messages are legal (RFC 9112 section 2.2).
    size_t blank = 0;
    while (blank < rest.size() && (rest[blank] == '\r' || rest[blank] == '\n')) ++blank;
    if (blank > 0) {
      *used = blank;
      return true;
    }
    LineCheck lc = CheckStartLine(rest, kind_ == Kind::kRequests, &scan_from_);
    if (lc == LineCheck::kInvalid) {
      scan_from_ = 0;
      return invalid();
    }
    if (lc == LineCheck::kPrefix) return false;
    start_line_checked_ = true;
    scan_from_ = 0;
  }
  size_t end = FindBlockEnd(rest, &scan_from_);
  if (end == std::string_view::npos) {
    if (rest.size() > kMaxHeadBytes) return invalid();
    return false;
  }
  if (end > kMaxHeadBytes) return invalid();
  std::string_view block = rest.substr(0, end);
  ChunkMeta first = MetaAt(pos);
  bool ok;
  if (kind_ == Kind::kRequests) {
    RequestHead head;
    head_pos_ = pos;
    ok = ParseRequestHead(block, &head) && StartRequest(head, first);
  } else {
    ResponseHead head;
    ok = ParseResponseHead(block, &head) && StartResponse(std::move(head), first);
  }
  if (!ok) return invalid();
  start_line_checked_ = false;
  scan_from_ = 0;
  *used = end;
  last_ts_ = meta.ts_ns;
  if (state_ == State::kHead && in_message_) FinishMessage(meta.ts_ns);  // no body
  return true;
}

bool MessageStream::StartRequest(const RequestHead& head, const ChunkMeta& first) {
  BodyFraming framing;
  if (!RequestFraming(head.headers, &framing)) return false;
  req_ = HttpRequest{};
  req_.method = head.method;
  req_.target = head.target;
  req_.version = head.version;
  req_.headers = head.headers;
  KeepFirstHeaders(&req_.headers);
  req_.start_ns = first.ts_ns;
  req_.tid = first.tid;
  req_.stream_pos = head_pos_;
  in_message_ = true;
  answered_ = false;
  // Requests never run until close.
  if (framing.kind == BodyKind::kUntilClose) framing.kind = BodyKind::kNone;
  EnterBody(framing);
  return true;
}

void MessageStream::EnterBody(const BodyFraming& framing) {
  switch (framing.kind) {
    case BodyKind::kLength:
      body_remaining_ = framing.length;
      state_ = State::kBody;
      break;
    case BodyKind::kChunked: state_ = State::kChunkSize; break;
    case BodyKind::kUntilClose: state_ = State::kUntilClose; break;
    case BodyKind::kNone: state_ = State::kHead; break;
  }
}

bool MessageStream::StartResponse(ResponseHead&& head, const ChunkMeta& first) {
  if (head.status < 100) return false;
  if (head.status < 200 && head.status != 101) {
    return true;  // interim (100 Continue, 103 Early Hints): the final response follows
  }
  std::string_view method = sink_->MethodForNextResponse();
  BodyFraming framing;
  upgrade_after_ =
      head.status == 101 || (method == "CONNECT" && head.status >= 200 && head.status < 300);
  if (upgrade_after_) {
    framing = {};  // whatever follows belongs to the new protocol
  } else if (!ResponseFraming(head.headers, head.status, method, &framing)) {
    return false;
  }
  resp_ = HttpResponse{};
  resp_.status = head.status;
  resp_.reason = std::move(head.reason);
  resp_.version = std::move(head.version);
  resp_.headers = std::move(head.headers);
  KeepFirstHeaders(&resp_.headers);
  resp_.start_ns = first.ts_ns;
  resp_.tid = first.tid;
  in_message_ = true;
  EnterBody(framing);
  return true;
}

void MessageStream::AddBody(uint64_t n, uint64_t ts_ns) {
  if (n == 0) return;
  if (kind_ == Kind::kRequests) {
    req_.body_size += n;
  } else {
    resp_.body_size += n;
  }
  last_ts_ = ts_ns;
}

void MessageStream::FinishMessage(uint64_t end_ts) {
  if (kind_ == Kind::kRequests) {
    req_.end_ns = end_ts;
  } else {
    resp_.end_ns = end_ts;
  }
  Emit(true);
  start_line_checked_ = false;
  scan_from_ = 0;
  if (upgrade_after_) {
    upgraded_ = true;
    Stop();
  } else {
    state_ = State::kHead;
  }
}

void MessageStream::Emit(bool complete) {
  if (!in_message_) return;
  in_message_ = false;
  if (kind_ == Kind::kRequests) {
    if (!answered_) sink_->OnRequest(std::move(req_), complete);
    answered_ = false;
  } else {
    sink_->OnResponse(std::move(resp_));
  }
}

void MessageStream::LoseSync() {
  if (in_message_) {
    if (kind_ == Kind::kRequests) {
      req_.end_ns = last_ts_;
    } else {
      resp_.end_ns = last_ts_;
    }
    Emit(false);
  }
  EnterResync(true);
}

void MessageStream::EnterResync(bool count) {
  state_ = State::kResync;
  start_line_checked_ = false;
  resync_candidate_ = false;
  scan_from_ = 0;
  upgrade_after_ = false;
  if (count) ++counters_->resyncs;
}

void MessageStream::OnClose(uint64_t ts_ns) {
  if (state_ == State::kStopped) return;
  if (in_message_) {
    // A body delimited by close is complete now; any other body was cut short.
    bool complete = state_ == State::kUntilClose;
    if (kind_ == Kind::kRequests) {
      req_.end_ns = last_ts_;
    } else {
      resp_.end_ns = last_ts_;
    }
    Emit(complete);
  }
  counters_->bytes_skipped += buf_.size();
  Stop();
}

void MessageStream::Stop() {
  state_ = State::kStopped;
  in_message_ = false;
  std::string().swap(buf_);
  num_metas_ = 0;
}

}  // namespace sonde::http1
