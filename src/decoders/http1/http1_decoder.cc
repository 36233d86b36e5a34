#include "decoders/http1/http1_decoder.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "decoders/http1/http1_parser.h"

namespace sonde {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

namespace {

// Rough heap cost of a queued request, for the per-connection byte budget.
size_t Footprint(const HttpRequest& r) {
  size_t n = sizeof(HttpRequest) + r.method.size() + r.target.size() + r.version.size();
  for (const auto& [k, v] : r.headers) n += k.size() + v.size() + 2 * sizeof(std::string);
  return n;
}

}  // namespace

Http1Decoder::Http1Decoder(const ConnInfo& info, const DecoderLimits& limits,
                           DecodeCounters* counters)
    : info_(info),
      limits_(limits),
      counters_(counters != nullptr ? counters : &own_counters_),
      requests_(http1::MessageStream::Kind::kRequests, this, counters_),
      responses_(http1::MessageStream::Kind::kResponses, this, counters_) {}

bool Http1Decoder::LooksLikeHttp1(std::string_view first_bytes) {
  http1::StartKind k = http1::ClassifyStart(first_bytes);
  return k == http1::StartKind::kRequest || k == http1::StartKind::kResponse;
}

InferResult Http1Decoder::Infer(Direction dir, std::string_view first_bytes) {
  const bool egress = dir == Direction::kEgress;
  switch (http1::ClassifyStart(first_bytes)) {
    case http1::StartKind::kRequest:
      return {InferVerdict::kYes, egress ? Role::kClient : Role::kServer};
    case http1::StartKind::kResponse:
      return {InferVerdict::kYes, egress ? Role::kServer : Role::kClient};
    case http1::StartKind::kMaybe: return {InferVerdict::kNeedMore, Role::kUnknown};
    case http1::StartKind::kNo: break;
  }
  return {};
}

bool Http1Decoder::DecideRole(Direction dir, std::string_view data) {
  InferResult r = Infer(dir, data);
  if (r.verdict != InferVerdict::kYes) return false;
  info_.role = r.role;
  info_.role_inferred = true;
  return true;
}

bool Http1Decoder::CarriesRequests(Direction dir) const {
  return (info_.role == Role::kClient) == (dir == Direction::kEgress);
}

void Http1Decoder::OnData(Direction dir, const DataChunk& chunk) {
  if (closed_ || upgraded()) return;
  if (info_.role == Role::kUnknown && !DecideRole(dir, chunk.data)) {
    // Until one direction starts with a start line there is no way to frame
    // anything; the caller is expected to have stashed short prefixes.
    counters_->bytes_skipped += std::max<uint64_t>(chunk.total_len, chunk.data.size());
    return;
  }
  (CarriesRequests(dir) ? requests_ : responses_).OnChunk(chunk);
  if (upgraded()) requests_.Stop();
}

void Http1Decoder::OnClose(uint64_t ts_ns) {
  if (closed_) return;
  closed_ = true;
  requests_.OnClose(ts_ns);
  responses_.OnClose(ts_ns);
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    EmitExchange(std::move(p.request), p.complete, std::nullopt);
  }
  pending_bytes_ = 0;
}

void Http1Decoder::Drain(std::vector<Message>* out) {
  // Moved rather than swapped, so that this connection keeps its (small)
  // vector instead of allocating one per message.
  std::move(out_.begin(), out_.end(), std::back_inserter(*out));
  out_.clear();
}

size_t Http1Decoder::buffered_bytes() const {
  return requests_.buffered_bytes() + responses_.buffered_bytes() + pending_bytes_;
}

void Http1Decoder::OnRequest(HttpRequest&& req, bool complete) {
  // Bounded in case nobody drains them.
  if (limits_.request_starts && info_.role == Role::kServer && limits_.request_starts->size() < 65536) {
    RequestStart r{info_, req.tid, req.start_ns, {}, req.pos};
    for (const auto& [name, value] : req.headers)
      if (name.size() >= 10 && (EqualsIgnoreCase(name, "traceparent") || EqualsIgnoreCase(name, "tracestate")))
        r.trace_headers.emplace_back(name, value);
    limits_.request_starts->push_back(std::move(r));
  }
  Pending p;
  p.footprint = Footprint(req);
  p.request = std::move(req);
  p.complete = complete;
  pending_bytes_ += p.footprint;
  pending_.push_back(std::move(p));
  // More unanswered requests than any real pipeline holds means responses are
  // being lost; report the oldest as unanswered rather than hold them forever.
  while (pending_.size() > 1 &&
         (pending_.size() > limits_.max_pending || pending_bytes_ > limits_.max_pending_bytes)) {
    Pending old = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= old.footprint;
    ++counters_->pending_overflows;
    EmitExchange(std::move(old.request), old.complete, std::nullopt);
  }
}

void Http1Decoder::OnResponse(HttpResponse&& resp) {
  if (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= p.footprint;
    EmitExchange(std::move(p.request), p.complete, std::move(resp));
    return;
  }
  if (const HttpRequest* in_progress = requests_.InProgressRequest()) {
    // Answered before its body finished (e.g. 413, or 417 to Expect).
    HttpRequest copy = *in_progress;
    requests_.MarkInProgressAnswered();
    EmitExchange(std::move(copy), false, std::move(resp));
    return;
  }
  ++counters_->orphan_responses;
}

std::string_view Http1Decoder::MethodForNextResponse() {
  if (!pending_.empty()) return pending_.front().request.method;
  if (const HttpRequest* in_progress = requests_.InProgressRequest()) return in_progress->method;
  return {};
}

void Http1Decoder::EmitExchange(HttpRequest&& req, bool complete,
                                std::optional<HttpResponse>&& resp) {
  Message m;
  m.conn = info_;
  HttpExchange ex;
  ex.request = std::move(req);
  ex.response = std::move(resp);
  ex.request_incomplete = !complete;
  m.payload = std::move(ex);
  out_.push_back(std::move(m));
}

}  // namespace sonde
