#include "decoders/postgres/pg_decoder.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "decoders/postgres/pg_parser.h"

namespace sonde {

namespace {

// An undecided mix of frontend and backend evidence is not worth more bytes
// than the tracker stashes anyway.
constexpr size_t kMaxAmbiguous = 512;

}  // namespace

PgDecoder::PgDecoder(const ConnInfo& info, const DecoderLimits& limits, DecodeCounters* counters)
    : info_(info),
      counters_(counters != nullptr ? counters : &own_counters_),
      frontend_(pg::Side::kFrontend, this, counters_),
      backend_(pg::Side::kBackend, this, counters_),
      session_(limits, counters_) {}

InferResult PgDecoder::Infer(Direction dir, std::string_view first_bytes) {
  if (first_bytes.empty()) return {};
  const bool egress = dir == Direction::kEgress;
  // The role when these bytes are the frontend's (client's) or the backend's.
  const Role if_frontend = egress ? Role::kClient : Role::kServer;
  const Role if_backend = egress ? Role::kServer : Role::kClient;
  if (first_bytes[0] == '\0') {
    switch (pg::CheckStartupPacket(first_bytes)) {
      case pg::Check::kYes: return {InferVerdict::kYes, if_frontend};
      case pg::Check::kNeedMore: return {InferVerdict::kNeedMore, Role::kUnknown};
      case pg::Check::kNo: return {};
    }
  }
  const pg::Check fe = pg::CheckMessages(pg::Side::kFrontend, first_bytes);
  const pg::Check be = pg::CheckMessages(pg::Side::kBackend, first_bytes);
  if (fe == pg::Check::kYes && be != pg::Check::kYes) return {InferVerdict::kYes, if_frontend};
  if (be == pg::Check::kYes && fe != pg::Check::kYes) return {InferVerdict::kYes, if_backend};
  if (fe == pg::Check::kYes || fe == pg::Check::kNeedMore || be == pg::Check::kNeedMore) {
    // Both sides fit (a lone CommandComplete is also a valid Close): the next
    // message tells.
    if (first_bytes.size() < kMaxAmbiguous) return {InferVerdict::kNeedMore, Role::kUnknown};
  }
  return {};
}

bool PgDecoder::DecideRole(Direction dir, std::string_view data) {
  InferResult r = Infer(dir, data);
  if (r.verdict != InferVerdict::kYes) return false;
  info_.role = r.role;
  info_.role_inferred = true;
  return true;
}

bool PgDecoder::CarriesFrontend(Direction dir) const {
  return (info_.role == Role::kClient) == (dir == Direction::kEgress);
}

void PgDecoder::OnData(Direction dir, const DataChunk& chunk) {
  const uint64_t wire = std::max<uint64_t>(chunk.total_len, chunk.data.size());
  if (closed_ || encrypted_) {
    if (encrypted_) counters_->bytes_skipped += wire;
    return;
  }
  if (info_.role == Role::kUnknown && !DecideRole(dir, chunk.data)) {
    // Nothing can be framed until one direction shows where messages start;
    // the caller is expected to have stashed short prefixes.
    counters_->bytes_skipped += wire;
    return;
  }
  (CarriesFrontend(dir) ? frontend_ : backend_).OnChunk(chunk);
  Collect();
}

void PgDecoder::OnFrame(pg::Side side, const pg::Frame& f) {
  if (encrypted_) return;
  if (side == pg::Side::kFrontend && f.kind == pg::Frame::Kind::kStartup) {
    switch (f.code) {
      case pg::kSslRequestCode:
      case pg::kGssEncRequestCode:
        encryption_requested_ = true;
        backend_.ExpectAnswer();
        return;
      case pg::kCancelRequestCode: cancel_request_ = true; return;
      default: break;
    }
  }
  if (f.kind == pg::Frame::Kind::kAnswer) {
    // 'S' (TLS) or 'G' (GSSAPI): everything after is encrypted. 'N': plain
    // traffic goes on with a new startup packet.
    if (f.type != 'N') StopEncrypted();
    return;
  }
  if (side == pg::Side::kFrontend) {
    session_.OnFrontend(f);
  } else {
    session_.OnBackend(f);
  }
}

void PgDecoder::OnLostSync(pg::Side side) {
  // A client that was told 'S' starts its TLS handshake where a startup
  // packet was expected; the answer may simply not have been decoded yet.
  if (side == pg::Side::kFrontend && encryption_requested_ && session_.params().user.empty()) {
    StopEncrypted();
    return;
  }
  session_.OnLostSync(side);
}

void PgDecoder::StopEncrypted() {
  encrypted_ = true;
  frontend_.Stop();
  backend_.Stop();
}

void PgDecoder::OnClose(uint64_t ts_ns) {
  if (closed_) return;
  closed_ = true;
  frontend_.OnClose();
  backend_.OnClose();
  session_.OnClose();
  Collect();
}

void PgDecoder::Collect() {
  std::vector<PgExchange> done;
  session_.TakeExchanges(&done);
  for (PgExchange& ex : done) {
    Message m;
    m.conn = info_;
    m.payload = std::move(ex);
    out_.push_back(std::move(m));
  }
}

void PgDecoder::Drain(std::vector<Message>* out) {
  if (out->empty()) {
    out->swap(out_);
  } else {
    std::move(out_.begin(), out_.end(), std::back_inserter(*out));
  }
  out_.clear();
}

size_t PgDecoder::buffered_bytes() const {
  return frontend_.buffered_bytes() + backend_.buffered_bytes() + session_.footprint();
}

}  // namespace sonde
