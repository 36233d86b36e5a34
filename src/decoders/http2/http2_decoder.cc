#include "decoders/http2/http2_decoder.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace sonde {

namespace {

using http2::BlockKind;
using http2::FrameHeader;
using http2::Half;
using http2::Stream;

uint32_t U32(std::string_view p) {
  return (uint32_t{static_cast<uint8_t>(p[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(p[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(p[2])} << 8) | static_cast<uint8_t>(p[3]);
}

BlockKind KindOf(const HeaderList& fields) {
  for (const auto& [name, value] : fields) {
    if (name == ":status") return BlockKind::kResponse;
    if (name == ":method" || name == ":path" || name == ":scheme" || name == ":authority") {
      return BlockKind::kRequest;
    }
  }
  return BlockKind::kUnknown;
}

Role RoleOf(Direction client_dir) {
  return client_dir == Direction::kEgress ? Role::kClient : Role::kServer;
}

}  // namespace

Http2Decoder::Http2Decoder(const ConnInfo& info, const DecoderLimits& limits,
                           DecodeCounters* counters)
    : info_(info),
      limits_(limits),
      counters_(counters != nullptr ? counters : &own_counters_),
      seen_from_open_(info.role != Role::kUnknown && !info.role_inferred),
      egress_(Direction::kEgress, this, counters_),
      ingress_(Direction::kIngress, this, counters_) {
  limits_.max_pending = std::max<size_t>(1, limits_.max_pending);
  if (info_.role != Role::kUnknown) {
    client_dir_ = info_.role == Role::kClient ? Direction::kEgress : Direction::kIngress;
  }
}

InferResult Http2Decoder::Infer(Direction dir, std::string_view first_bytes) {
  const bool egress = dir == Direction::kEgress;
  const std::string_view preface = http2::kClientPreface;
  const size_t n = std::min(first_bytes.size(), preface.size());
  if (n > 0 && first_bytes.substr(0, n) == preface.substr(0, n)) {
    if (n < preface.size()) return {InferVerdict::kNeedMore, Role::kUnknown};
    return {InferVerdict::kYes, egress ? Role::kClient : Role::kServer};
  }
  http2::ProbeSummary summary;
  switch (http2::ProbeFrames(first_bytes, http2::kDefaultMaxFrameSize, &summary)) {
    case http2::Probe::kNo: return {};
    case http2::Probe::kNeedMore: return {InferVerdict::kNeedMore, Role::kUnknown};
    case http2::Probe::kYes: break;
  }
  // Who sent these frames: a server pushes, a client's header block has
  // request pseudo-header fields, a server's has :status.
  BlockKind kind = BlockKind::kUnknown;
  bool telling = summary.telling > 0;
  if (!summary.first_headers_fragment.empty()) {
    bool well_formed = false;
    kind = http2::HpackDecoder::Classify(summary.first_headers_fragment, &well_formed);
    telling |= well_formed;
  }
  if (summary.push_promise) kind = BlockKind::kResponse;
  // Only DATA-like frames so far: binary data of another protocol can look
  // like that; see what follows (the tracker stashes a little).
  if (!telling) return {InferVerdict::kNeedMore, Role::kUnknown};
  Role role = Role::kUnknown;
  if (kind == BlockKind::kRequest) role = egress ? Role::kClient : Role::kServer;
  if (kind == BlockKind::kResponse) role = egress ? Role::kServer : Role::kClient;
  return {InferVerdict::kYes, role};
}

void Http2Decoder::OnData(Direction dir, const DataChunk& chunk) {
  if (closed_) return;
  reader(dir).OnChunk(chunk);
}

void Http2Decoder::OnClose(uint64_t ts_ns) {
  if (closed_) return;
  egress_.OnClose();
  ingress_.OnClose();
  closed_ = true;
  while (!streams_.empty()) Finish(streams_.begin()->first);
}

void Http2Decoder::Drain(std::vector<Message>* out) {
  if (out->empty()) {
    out->swap(out_);
  } else {
    std::move(out_.begin(), out_.end(), std::back_inserter(*out));
  }
  out_.clear();
}

size_t Http2Decoder::buffered_bytes() const {
  return egress_.buffered_bytes() + ingress_.buffered_bytes() + hpack_[0].footprint() +
         hpack_[1].footprint() + streams_bytes_;
}

void Http2Decoder::SetClientDir(Direction dir) {
  if (client_dir_) return;
  client_dir_ = dir;
  if (info_.role == Role::kUnknown) {
    info_.role = RoleOf(dir);
    info_.role_inferred = true;
  }
}

void Http2Decoder::OnPreface(Direction dir) {
  dirs_[Idx(dir)].preface = true;
  SetClientDir(dir);
}

void Http2Decoder::OnFrameStart(Direction dir, const FrameHeader& h) {
  DirState& d = dirs_[Idx(dir)];
  if (!d.first_frame_seen) {
    d.first_frame_seen = true;
    d.first_frame_settings = h.type == http2::kSettings && !h.has(http2::kFlagAck);
  }
  if (h.type == http2::kPushPromise) SetClientDir(Other(dir));
}

void Http2Decoder::DecideHpack(Direction dir) {
  DirState& d = dirs_[Idx(dir)];
  if (d.hpack_decided) return;
  d.hpack_decided = true;
  const bool at_open = seen_from_open_ && reader(dir).first_pos() == 0;
  const bool after_preface = d.first_frame_settings && dirs_[Idx(Other(dir))].preface;
  if (!d.lost && (d.preface || at_open || after_preface)) hpack_[Idx(dir)].StartInSync();
}

void Http2Decoder::OnHeaderBlock(Direction dir, const http2::HeaderBlockEvent& b) {
  DecideHpack(dir);
  http2::HpackDecoder& hpack = hpack_[Idx(dir)];
  http2::DecodedBlock block;
  if (b.complete) {
    hpack.Decode(b.bytes, &block);
  } else {
    hpack.DecodeTruncated(b.bytes, &block);
  }
  // Pushed streams (the promised request, then the server's even stream)
  // are decoded for the table's sake only.
  if (b.push_promise || b.stream_id % 2 == 0) return;
  const BlockKind kind = KindOf(block.fields);
  if (kind == BlockKind::kRequest) SetClientDir(dir);
  if (kind == BlockKind::kResponse) SetClientDir(Other(dir));

  Stream* s = StreamFor(dir, b.stream_id);
  if (s == nullptr) return;
  Half& h = s->of(dir);
  if (http2::IsInformational(block.fields) && !b.end_stream) return;  // 100, 103: the final one follows
  if (!h.started) {
    h.started = true;
    h.start_ns = b.start_ts;
    h.tid = b.start_tid;
    h.pos = b.start_pos;
  }
  if (h.blocks == 0) {
    h.order = ++block_order_;
    h.headers = std::move(block.fields);
  } else if (h.blocks == 1) {
    h.trailers = std::move(block.fields);
  } else {
    block.partial = true;  // no third block in HTTP/2: not kept
  }
  h.partial |= block.partial || !b.complete;
  h.blocks = std::min<uint32_t>(h.blocks + 1, 3);
  h.end_ns = b.end_ts;
  if (b.end_stream) h.ended = true;
  Account(*s);
  const uint32_t id = s->id;
  EnforceBounds(id);
  MaybeFinish(id);
}

Stream* Http2Decoder::Find(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

Stream* Http2Decoder::StreamFor(Direction dir, uint32_t id) {
  if (Stream* s = Find(id)) return s;
  if (client_dir_ && dir != *client_dir_) {
    // A response to a request never seen (sent before sonde was watching).
    if (!RecentlyFinished(id)) ++counters_->orphan_responses;
    return nullptr;
  }
  // Client stream ids only grow: a lower one belongs to a stream already
  // reported (or given up on).
  if (id <= highest_id_) return nullptr;
  highest_id_ = id;
  while (streams_.size() >= limits_.max_pending) {
    ++counters_->pending_overflows;
    Finish(streams_.begin()->first);
  }
  Stream& s = streams_[id];
  s.id = id;
  Account(s);
  return &s;
}

void Http2Decoder::Account(Stream& s) {
  const size_t now = http2::Footprint(s);
  streams_bytes_ = streams_bytes_ - std::min(streams_bytes_, s.footprint) + now;
  s.footprint = now;
}

void Http2Decoder::EnforceBounds(uint32_t keep) {
  while (streams_bytes_ > limits_.max_pending_bytes && streams_.size() > 1) {
    auto it = streams_.begin();
    if (it->first == keep) ++it;
    ++counters_->pending_overflows;
    Finish(it->first);
  }
}

void Http2Decoder::OnDataBytes(Direction dir, uint32_t stream_id, std::string_view data,
                               uint64_t uncaptured) {
  Stream* s = Find(stream_id);
  if (s == nullptr) return;
  Half& h = s->of(dir);
  h.body += data.size() + uncaptured;
  h.grpc.Feed(data);
  if (uncaptured > 0) {
    h.grpc.Skip(uncaptured);
    h.data_lost = true;
  }
}

void Http2Decoder::OnFrame(Direction dir, const http2::FrameEvent& f) {
  const FrameHeader& fh = f.header;
  switch (fh.type) {
    case http2::kData: {
      Stream* s = Find(fh.stream_id);
      if (s == nullptr) return;
      Half& h = s->of(dir);
      if (!h.started) {
        // Its header block went unseen (framing lost): the side is there,
        // its fields are not.
        h.started = true;
        h.start_ns = f.end_ts;
      }
      if (f.data_length > 0) ++h.data_frames;
      h.end_ns = f.end_ts;
      if (fh.has(http2::kFlagEndStream)) h.ended = true;
      MaybeFinish(fh.stream_id);
      return;
    }
    case http2::kRstStream: {
      Stream* s = Find(fh.stream_id);
      if (s == nullptr || f.payload.size() < 4) return;
      s->rst = U32(f.payload);
      Half& h = s->of(dir);
      if (h.started) h.end_ns = f.end_ts;
      Finish(fh.stream_id);
      return;
    }
    case http2::kSettings:
      if (!fh.has(http2::kFlagAck)) OnSettings(dir, f.payload);
      return;
    case http2::kGoaway:
      if (f.payload.size() >= 8) OnGoaway(dir, f.payload);
      return;
    default: return;
  }
}

void Http2Decoder::OnSettings(Direction dir, std::string_view p) {
  // What one side settles applies to what the other side sends.
  const Direction peer = Other(dir);
  for (; p.size() >= 6; p.remove_prefix(6)) {
    const uint16_t id = static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) |
                                              static_cast<uint8_t>(p[1]));
    const uint32_t value = U32(p.substr(2));
    if (id == http2::kSettingHeaderTableSize) hpack_[Idx(peer)].OnTableSizeSetting(value);
    if (id == http2::kSettingMaxFrameSize) reader(peer).RaiseMaxFrameSize(value);
  }
}

void Http2Decoder::OnGoaway(Direction dir, std::string_view p) {
  // A server's GOAWAY names the last client stream it will process; a
  // client's speaks of pushed streams, which are not followed.
  if (!client_dir_ || dir == *client_dir_) return;
  const uint32_t last = U32(p) & 0x7fffffffu;
  std::vector<uint32_t> ended;
  for (auto it = streams_.upper_bound(last); it != streams_.end(); ++it) ended.push_back(it->first);
  for (uint32_t id : ended) {
    Find(id)->goaway = true;
    Finish(id);
  }
}

void Http2Decoder::OnFramingLost(Direction dir) {
  DirState& d = dirs_[Idx(dir)];
  d.lost = true;
  d.hpack_decided = true;
  hpack_[Idx(dir)].LoseSync();
  // Frames of the streams this side had open may be among the lost bytes.
  for (auto& [id, s] : streams_) {
    Half& h = s.of(dir);
    if (h.started && !h.ended) {
      h.damaged = true;
      h.data_lost = true;
      h.grpc.Skip(~uint64_t{0});
    }
  }
}

void Http2Decoder::MaybeFinish(uint32_t id) {
  Stream* s = Find(id);
  if (s != nullptr && s->half[0].ended && s->half[1].ended) Finish(id);
}

void Http2Decoder::Finish(uint32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream s = std::move(it->second);
  streams_bytes_ -= std::min(streams_bytes_, s.footprint);
  streams_.erase(it);
  finished_[finished_next_] = id;
  finished_next_ = (finished_next_ + 1) % std::size(finished_);
  Emit(std::move(s));
}

bool Http2Decoder::RecentlyFinished(uint32_t id) const {
  return std::find(std::begin(finished_), std::end(finished_), id) != std::end(finished_);
}

void Http2Decoder::Emit(Stream&& s) {
  Direction request_dir;
  if (client_dir_) {
    request_dir = *client_dir_;
  } else {
    // Nothing said which side is the client: the side whose header block
    // came first opened the stream.
    const Half& e = s.of(Direction::kEgress);
    const Half& i = s.of(Direction::kIngress);
    const bool egress_first = e.blocks > 0 && (i.blocks == 0 || e.order < i.order);
    request_dir = egress_first || (i.blocks == 0 && e.started) ? Direction::kEgress
                                                                : Direction::kIngress;
  }
  if (s.of(request_dir).blocks == 0) {
    ++counters_->orphan_responses;  // only the response side was seen
    return;
  }
  Message m;
  m.conn = info_;
  m.payload = http2::BuildExchange(std::move(s), request_dir);
  out_.push_back(std::move(m));
}

}  // namespace sonde
