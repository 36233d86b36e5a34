#include "decoders/http2/h2_framer.h"

#include <algorithm>

namespace sonde::http2 {

namespace {

// The buffer only ever holds a partial frame header or preface.
constexpr size_t kMaxBuffer = 256;

bool IsBlockFrame(uint8_t type) {
  return type == kHeaders || type == kPushPromise || type == kContinuation;
}

}  // namespace

FrameReader::FrameReader(Direction dir, FrameSink* sink, DecodeCounters* counters)
    : ChunkStream(kMaxBuffer, counters), dir_(dir), sink_(sink) {}

void FrameReader::RaiseMaxFrameSize(uint32_t size) {
  max_frame_size_ = std::max(max_frame_size_, std::min(size, kLargestMaxFrameSize));
}

void FrameReader::BeforeFeed(std::string_view data, bool syscall_start, const DataChunk&) {
  // Writers put whole frames in a syscall more often than not: a syscall
  // whose bytes read as frames from its first byte is where to pick up.
  if (state_ == State::kResync && syscall_start &&
      ProbeFrames(data, max_frame_size_) == Probe::kYes) {
    state_ = State::kHeader;
  }
}

size_t FrameReader::Run(std::string_view view, uint64_t base, const ChunkMeta& meta) {
  size_t off = 0;
  while (off < view.size()) {
    std::string_view rest = view.substr(off);
    size_t used = 0;
    switch (state_) {
      case State::kStopped: return view.size();
      case State::kResync:
        counters_->bytes_skipped += rest.size();
        return view.size();
      case State::kStart:
        if (!StepStart(rest, &used)) return off;
        break;
      case State::kHeader:
        if (!StepHeader(rest, base + off, &used)) return off;
        break;
      case State::kPayload:
        used = StepPayload(rest, base + off);
        break;
    }
    off += used;
  }
  return off;
}

bool FrameReader::StepStart(std::string_view rest, size_t* used) {
  const size_t n = std::min(rest.size(), kClientPreface.size());
  if (rest.substr(0, n) == kClientPreface.substr(0, n)) {
    if (n < kClientPreface.size()) return false;
    *used = kClientPreface.size();
    state_ = State::kHeader;
    sink_->OnPreface(dir_);
    return true;
  }
  Probe probe = ProbeFrames(rest, max_frame_size_);
  // One frame longer than the buffer could ever show whole: not enough to go on.
  if (probe == Probe::kNeedMore && rest.size() >= kMaxBuffer / 2) probe = Probe::kNo;
  switch (probe) {
    case Probe::kNeedMore: return false;
    case Probe::kYes: state_ = State::kHeader; break;
    case Probe::kNo:
      // Joined inside a frame: wait for a syscall that starts with one.
      state_ = State::kResync;
      sink_->OnFramingLost(dir_);
      break;
  }
  return true;
}

bool FrameReader::StepHeader(std::string_view rest, uint64_t pos, size_t* used) {
  if (rest.size() < kFrameHeaderBytes) return false;
  const FrameHeader h = ParseFrameHeader(rest.data());
  // A header block must continue with its CONTINUATION frames; anything
  // else means it was cut short (or these bytes are not what they seem).
  if (block_open_ && (h.type != kContinuation || h.stream_id != block_ev_.stream_id)) {
    block_damaged_ = true;
    EmitBlock(false, last_ts_);
  }
  if (!ShapeValid(h, max_frame_size_)) {
    LoseFraming();
    counters_->bytes_skipped += rest.size();
    *used = rest.size();
    return true;
  }
  *used = kFrameHeaderBytes;
  frame_ = h;
  left_ = h.length;
  offset_ = 0;
  pad_ = -1;
  control_.clear();
  control_lost_ = false;
  const ChunkMeta start = MetaAt(pos);
  last_ts_ = MetaAt(pos + kFrameHeaderBytes - 1).ts_ns;
  sink_->OnFrameStart(dir_, h);
  if (h.type == kHeaders || h.type == kPushPromise) {
    block_open_ = true;
    block_damaged_ = block_cut_ = false;
    block_.clear();
    block_ev_ = HeaderBlockEvent{};
    block_ev_.stream_id = h.stream_id;
    block_ev_.end_stream = h.type == kHeaders && h.has(kFlagEndStream);
    block_ev_.push_promise = h.type == kPushPromise;
    block_ev_.start_ts = start.ts_ns;
    block_ev_.start_tid = start.tid;
    block_ev_.start_pos = pos;
  } else if (h.type == kContinuation && !block_open_) {
    // Its HEADERS went unseen: the fragment cannot be decoded, and the
    // table changes in it are lost.
    block_open_ = true;
    block_damaged_ = block_cut_ = true;
    block_.clear();
    block_ev_ = HeaderBlockEvent{};
    block_ev_.stream_id = h.stream_id;
    block_ev_.start_ts = start.ts_ns;
    block_ev_.start_tid = start.tid;
  }
  if (IsBlockFrame(h.type)) {
    block_frame_start_ = block_.size();
    block_frame_kept_ = 0;
  }
  state_ = State::kPayload;
  if (left_ == 0) FinishFrame(last_ts_);
  return true;
}

size_t FrameReader::StepPayload(std::string_view rest, uint64_t pos) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, rest.size()));
  last_ts_ = MetaAt(pos + n - 1).ts_ns;
  Payload(rest.substr(0, n), n);
  if (left_ == 0) FinishFrame(last_ts_);
  return n;
}

void FrameReader::Payload(std::string_view data, uint64_t n) {
  // `data` is the captured prefix of the `n` bytes.
  switch (frame_.type) {
    case kData: {
      uint64_t skip = 0;  // leading bytes that are the pad length field
      if (frame_.has(kFlagPadded) && offset_ == 0 && n > 0) {
        if (!data.empty()) {
          pad_ = static_cast<uint8_t>(data[0]);
          data.remove_prefix(1);
        }
        skip = 1;
      }
      if (!frame_.has(kFlagPadded)) pad_ = 0;
      // Payload offsets [start, end) hold data; the rest is padding.
      const uint64_t start = frame_.has(kFlagPadded) ? 1 : 0;
      const uint64_t pad = pad_ < 0 ? 0 : static_cast<uint64_t>(pad_);
      const uint64_t end = frame_.length >= start + pad ? frame_.length - pad : start;
      const uint64_t from = std::max(offset_ + skip, start);
      const uint64_t to = std::min(offset_ + n, end);
      if (to > from) {
        const uint64_t total = to - from;
        const uint64_t first = from - (offset_ + skip);  // offset within `data`
        std::string_view captured =
            first < data.size() ? data.substr(first, total) : std::string_view();
        sink_->OnDataBytes(dir_, frame_.stream_id, captured, total - captured.size());
      }
      break;
    }
    case kHeaders:
    case kPushPromise:
    case kContinuation: {
      // Only the bytes before the first one missing are of use.
      if (block_cut_) break;
      const size_t room =
          kMaxHeaderBlockBytes + 16 - std::min(kMaxHeaderBlockBytes + 16, block_.size());
      const size_t take = std::min(room, data.size());
      block_.append(data.substr(0, take));
      block_frame_kept_ += take;
      if (take < data.size()) counters_->bytes_skipped += data.size() - take;
      if (take < n) block_cut_ = block_damaged_ = true;
      break;
    }
    default: {
      if (data.size() < n) control_lost_ = true;
      const size_t room = kMaxControlPayload - std::min(kMaxControlPayload, control_.size());
      control_.append(data.substr(0, std::min(room, data.size())));
      break;
    }
  }
  offset_ += n;
  left_ -= n;
}

void FrameReader::FinishFrame(uint64_t end_ts) {
  state_ = State::kHeader;
  if (IsBlockFrame(frame_.type)) {
    FinishBlockFrame(end_ts);
    return;
  }
  FrameEvent ev;
  ev.header = frame_;
  ev.payload = control_;
  ev.whole = !control_lost_ && control_.size() == frame_.length;
  ev.end_ts = end_ts;
  if (frame_.type == kData) {
    const uint64_t overhead =
        frame_.has(kFlagPadded) ? 1 + static_cast<uint64_t>(std::max(pad_, 0)) : 0;
    ev.data_length = frame_.length >= overhead ? frame_.length - overhead : 0;
    ev.payload = {};
  }
  sink_->OnFrame(dir_, ev);
  if (control_.capacity() > kMaxControlPayload) std::string().swap(control_);
}

void FrameReader::FinishBlockFrame(uint64_t end_ts) {
  // Turn this frame's raw payload (block_frame_kept_ bytes from
  // block_frame_start_) into its fragment: drop the pad length, priority
  // and promised stream id in front and the padding behind.
  const size_t head = FragmentOffset(frame_);
  size_t pad = 0;
  if (frame_.type != kContinuation && frame_.has(kFlagPadded)) {
    if (block_frame_kept_ > 0) {
      pad = static_cast<uint8_t>(block_[block_frame_start_]);
    } else {
      block_damaged_ = block_cut_ = true;
    }
  }
  if (head + pad > frame_.length) {
    // Padding larger than the frame: malformed, nothing in it can be trusted.
    block_damaged_ = block_cut_ = true;
    block_.resize(block_frame_start_);
  } else {
    const uint64_t frag_end = frame_.length - pad;  // raw payload offsets [head, frag_end)
    const uint64_t kept_end = std::min<uint64_t>(block_frame_kept_, frag_end);
    const size_t keep = kept_end > head ? static_cast<size_t>(kept_end - head) : 0;
    if (keep > 0) {
      block_.erase(block_frame_start_, head);
      block_.resize(block_frame_start_ + keep);
    } else {
      block_.resize(block_frame_start_);
    }
  }
  if (block_.size() > kMaxHeaderBlockBytes) {
    counters_->bytes_skipped += block_.size() - kMaxHeaderBlockBytes;
    block_.resize(kMaxHeaderBlockBytes);
    block_damaged_ = block_cut_ = true;
  }
  block_frame_kept_ = 0;
  if (frame_.has(kFlagEndHeaders)) EmitBlock(!block_damaged_, end_ts);
}

void FrameReader::EmitBlock(bool complete, uint64_t end_ts) {
  if (!block_open_) return;
  block_open_ = false;
  block_ev_.bytes = block_;
  block_ev_.complete = complete;
  block_ev_.end_ts = end_ts;
  sink_->OnHeaderBlock(dir_, block_ev_);
  block_.clear();
  if (block_.capacity() > 4096) std::string().swap(block_);
}

void FrameReader::LoseFraming() {
  if (block_open_) {
    block_damaged_ = true;
    EmitBlock(false, last_ts_);
  }
  ++counters_->resyncs;
  state_ = State::kResync;
  sink_->OnFramingLost(dir_);
}

void FrameReader::Skip(uint64_t n, const ChunkMeta& meta, bool) {
  if (n == 0 || state_ == State::kStopped) return;
  if (state_ == State::kPayload) {
    // Within the current frame the framing survives.
    const uint64_t k = std::min(n, left_);
    last_ts_ = meta.ts_ns;
    Payload({}, k);
    n -= k;
    if (left_ == 0) FinishFrame(meta.ts_ns);
    if (n == 0) return;
  }
  counters_->bytes_skipped += n;
  if (state_ == State::kResync) return;
  // Frame headers were among the unseen bytes.
  counters_->bytes_skipped += buf_.size();
  buf_.clear();
  num_metas_ = 0;
  LoseFraming();
}

void FrameReader::OnBufferOverflow(const ChunkMeta&) {
  if (state_ != State::kResync) LoseFraming();
}

void FrameReader::OnClose() {
  if (state_ == State::kStopped) return;
  if (block_open_) {
    block_damaged_ = true;
    EmitBlock(false, last_ts_);
  }
  counters_->bytes_skipped += buf_.size();
  state_ = State::kStopped;
  std::string().swap(buf_);
  std::string().swap(block_);
  std::string().swap(control_);
  num_metas_ = 0;
}

}  // namespace sonde::http2
