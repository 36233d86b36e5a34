#include "decoders/http2/h2_stream.h"

#include <algorithm>
#include <utility>

namespace sonde::http2 {

namespace {

size_t ListFootprint(const HeaderList& l) {
  size_t n = l.capacity() * sizeof(HeaderList::value_type);
  for (const auto& [k, v] : l) n += k.capacity() + v.capacity();
  return n;
}

bool IsGrpcContentType(const std::string* ct) {
  return ct != nullptr && ct->starts_with("application/grpc");
}

int ParseStatus(const std::string* s) {
  if (s == nullptr || s->size() != 3) return 0;
  int v = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v >= 100 ? v : 0;
}

}  // namespace

void GrpcCounter::Feed(std::string_view data) {
  while (!data.empty() && !lost_) {
    if (in_body_) {
      const uint64_t k = std::min<uint64_t>(remaining_, data.size());
      remaining_ -= k;
      data.remove_prefix(static_cast<size_t>(k));
      if (remaining_ == 0) Count();
      continue;
    }
    prefix_[have_++] = static_cast<uint8_t>(data[0]);
    data.remove_prefix(1);
    if (have_ == 1 && prefix_[0] > 1) {
      lost_ = true;  // the compressed flag is 0 or 1
      return;
    }
    if (have_ == 5) {
      remaining_ = (uint64_t{prefix_[1]} << 24) | (uint64_t{prefix_[2]} << 16) |
                   (uint64_t{prefix_[3]} << 8) | prefix_[4];
      have_ = 0;
      in_body_ = true;
      if (remaining_ == 0) Count();
    }
  }
}

void GrpcCounter::Skip(uint64_t n) {
  if (n == 0 || lost_) return;
  if (in_body_ && n <= remaining_) {
    remaining_ -= n;
    if (remaining_ == 0) Count();
    return;
  }
  lost_ = true;
}

void GrpcCounter::Count() {
  in_body_ = false;
  ++messages_;
}

size_t Footprint(const Stream& s) {
  size_t n = sizeof(Stream);
  for (const Half& h : s.half) n += ListFootprint(h.headers) + ListFootprint(h.trailers);
  return n;
}

const std::string* FieldValue(const HeaderList& fields, std::string_view name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool IsInformational(const HeaderList& fields) {
  const int status = ParseStatus(FieldValue(fields, ":status"));
  return status >= 100 && status < 200;
}

HttpExchange BuildExchange(Stream&& s, Direction request_dir) {
  Half& rq = s.of(request_dir);
  Half& rs = s.of(request_dir == Direction::kEgress ? Direction::kIngress : Direction::kEgress);
  HttpExchange ex;
  Http2StreamInfo info;
  info.stream_id = s.id;
  info.rst_error_code = s.rst;
  info.goaway = s.goaway;

  HttpRequest& req = ex.request;
  req.version = "2";
  if (const std::string* m = FieldValue(rq.headers, ":method")) req.method = *m;
  if (const std::string* p = FieldValue(rq.headers, ":path")) {
    req.target = *p;
  } else if (req.method == "CONNECT") {
    if (const std::string* a = FieldValue(rq.headers, ":authority")) req.target = *a;
  }
  const bool grpc = IsGrpcContentType(FieldValue(rq.headers, "content-type")) ||
                    IsGrpcContentType(FieldValue(rs.headers, "content-type"));
  req.headers = std::move(rq.headers);
  // Request trailers are rare (gRPC sends none); they join the header list.
  for (auto& f : rq.trailers) req.headers.push_back(std::move(f));
  req.body_size = rq.body;
  req.start_ns = rq.start_ns;
  req.end_ns = rq.end_ns;
  req.tid = rq.tid;
  req.pos = rq.pos;
  ex.request_incomplete = !rq.ended || rq.damaged;
  info.request_headers_partial = rq.partial || rq.blocks == 0;
  info.request_data_frames = rq.data_frames;
  if (grpc) info.request_messages = rq.grpc.messages();

  if (rs.started) {
    HttpResponse resp;
    resp.version = "2";
    resp.status = ParseStatus(FieldValue(rs.headers, ":status"));
    resp.headers = std::move(rs.headers);
    resp.trailers = std::move(rs.trailers);
    resp.body_size = rs.body;
    resp.start_ns = rs.start_ns;
    resp.end_ns = rs.end_ns;
    resp.tid = rs.tid;
    ex.response = std::move(resp);
    info.response_headers_partial = rs.partial || rs.blocks == 0;
    info.response_data_frames = rs.data_frames;
    if (grpc) info.response_messages = rs.grpc.messages();
  }
  info.data_incomplete = rq.data_lost || rs.data_lost || (grpc && (rq.grpc.lost() || rs.grpc.lost()));
  ex.h2 = std::move(info);
  return ex;
}

}  // namespace sonde::http2
