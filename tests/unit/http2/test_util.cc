#include "test_util.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <fstream>
#include <sstream>

namespace sonde::test {

std::string CapturePath(const std::string& name) {
  return std::string(SONDE_HTTP2_CAPTURE_DIR) + "/" + name;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<CapChunk> ReadCapture(const std::string& name) {
  const std::string raw = ReadFileOrEmpty(CapturePath(name + ".cap"));
  EXPECT_FALSE(raw.empty()) << "missing capture " << name;
  std::vector<CapChunk> out;
  std::string_view in = raw;
  while (in.size() >= 5) {
    const auto* p = reinterpret_cast<const uint8_t*>(in.data());
    const size_t len = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
    if (len > in.size() - 5) break;
    out.push_back({p[0] == 0, std::string(in.substr(5, len))});
    in.remove_prefix(5 + len);
  }
  EXPECT_TRUE(in.empty()) << "malformed capture " << name;
  return out;
}

std::string Joined(const std::vector<CapChunk>& cap, bool to_server) {
  std::string s;
  for (const CapChunk& c : cap) {
    if (c.to_server == to_server) s += c.bytes;
  }
  return s;
}

ConnInfo MakeConn(Role role, bool from_open) {
  ConnInfo c;
  c.key = {200, 777, 9, 1};
  c.role = role;
  c.role_inferred = !from_open && role != Role::kUnknown;
  c.local_addr = "127.0.0.1";
  c.local_port = role == Role::kServer ? 50051 : 40000;
  c.peer_addr = "127.0.0.1";
  c.peer_port = role == Role::kServer ? 40000 : 50051;
  return c;
}

const HttpExchange& Ex(const Message& m) { return std::get<HttpExchange>(m.payload); }

namespace {

std::string Printable(std::string_view v) {
  std::string out;
  const size_t limit = 60;
  for (size_t i = 0; i < v.size() && i < limit; ++i) {
    const auto u = static_cast<unsigned char>(v[i]);
    if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += v[i];
    }
  }
  if (v.size() > limit) out += "...(" + std::to_string(v.size()) + " bytes)";
  return out;
}

void DumpFields(std::ostringstream& os, const char* label, const HeaderList& fields) {
  if (fields.empty()) return;
  os << "  " << label << ":";
  for (const auto& [k, v] : fields) {
    // Values that change with every recording.
    if (k == "date" || k == "user-agent") {
      os << " " << k << "=*";
      continue;
    }
    os << " " << k << "=" << Printable(v);
  }
  os << "\n";
}

void SummaryLine(std::ostringstream& os, const HttpExchange& ex, bool with_times) {
  const HttpRequest& rq = ex.request;
  os << "stream " << (ex.h2 ? ex.h2->stream_id : 0) << ": "
     << (rq.method.empty() ? "?" : rq.method) << " " << (rq.target.empty() ? "?" : rq.target)
     << " req=" << rq.body_size;
  if (ex.h2 && ex.h2->request_messages) os << "/" << ex.h2->request_messages << "msg";
  if (ex.request_incomplete) os << " INCOMPLETE";
  if (ex.h2 && ex.h2->request_headers_partial) os << " REQ_PARTIAL";
  if (with_times) os << " [" << rq.start_ns << "-" << rq.end_ns << " t" << rq.tid << "]";
  os << " -> ";
  if (ex.response) {
    const HttpResponse& rs = *ex.response;
    os << rs.status << " resp=" << rs.body_size;
    if (ex.h2 && ex.h2->response_messages) os << "/" << ex.h2->response_messages << "msg";
    if (ex.h2 && ex.h2->response_headers_partial) os << " RESP_PARTIAL";
    if (with_times) os << " [" << rs.start_ns << "-" << rs.end_ns << " t" << rs.tid << "]";
  } else {
    os << "(none)";
  }
  if (ex.h2) {
    os << " frames=" << ex.h2->request_data_frames << "/" << ex.h2->response_data_frames;
    if (ex.h2->rst_error_code) os << " RST(" << *ex.h2->rst_error_code << ")";
    if (ex.h2->goaway) os << " GOAWAY";
    if (ex.h2->data_incomplete) os << " DATA_INCOMPLETE";
  }
  os << "\n";
}

}  // namespace

std::string Dump(const std::vector<Message>& msgs, bool with_times) {
  std::ostringstream os;
  for (const Message& m : msgs) {
    const HttpExchange& ex = Ex(m);
    SummaryLine(os, ex, with_times);
    DumpFields(os, "request", ex.request.headers);
    if (ex.response) {
      DumpFields(os, "response", ex.response->headers);
      DumpFields(os, "trailers", ex.response->trailers);
    }
  }
  return os.str();
}

std::string Summary(const std::vector<Message>& msgs) {
  std::ostringstream os;
  for (const Message& m : msgs) SummaryLine(os, Ex(m), false);
  return os.str();
}

std::string FrameHeaderBytes(uint32_t length, uint8_t type, uint8_t flags, uint32_t stream) {
  std::string h(9, '\0');
  h[0] = static_cast<char>(length >> 16);
  h[1] = static_cast<char>(length >> 8);
  h[2] = static_cast<char>(length);
  h[3] = static_cast<char>(type);
  h[4] = static_cast<char>(flags);
  h[5] = static_cast<char>(stream >> 24);
  h[6] = static_cast<char>(stream >> 16);
  h[7] = static_cast<char>(stream >> 8);
  h[8] = static_cast<char>(stream);
  return h;
}

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  return FrameHeaderBytes(static_cast<uint32_t>(payload.size()), type, flags, stream) +
         std::string(payload);
}

namespace {

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

}  // namespace

std::string Settings(std::initializer_list<std::pair<uint16_t, uint32_t>> entries, bool ack) {
  std::string p;
  for (const auto& [id, v] : entries) {
    p += static_cast<char>(id >> 8);
    p += static_cast<char>(id);
    p += Be32(v);
  }
  return Frame(http2::kSettings, ack ? http2::kFlagAck : 0, 0, p);
}

std::string Data(uint32_t stream, std::string_view data, bool end_stream, int pad) {
  uint8_t flags = end_stream ? http2::kFlagEndStream : 0;
  std::string p;
  if (pad >= 0) {
    flags |= http2::kFlagPadded;
    p += static_cast<char>(pad);
  }
  p += data;
  if (pad > 0) p += std::string(static_cast<size_t>(pad), '\0');
  return Frame(http2::kData, flags, stream, p);
}

std::string RstStream(uint32_t stream, uint32_t code) {
  return Frame(http2::kRstStream, 0, stream, Be32(code));
}

std::string Goaway(uint32_t last_stream, uint32_t code) {
  return Frame(http2::kGoaway, 0, 0, Be32(last_stream) + Be32(code) + "bye");
}

std::string WindowUpdate(uint32_t stream, uint32_t increment) {
  return Frame(http2::kWindowUpdate, 0, stream, Be32(increment));
}

std::string Ping(bool ack) {
  return Frame(http2::kPing, ack ? http2::kFlagAck : 0, 0, "12345678");
}

std::string GrpcMessage(std::string_view body) {
  return std::string(1, '\0') + Be32(static_cast<uint32_t>(body.size())) + std::string(body);
}

Encoder::Encoder() { nghttp2_hd_deflate_new(&deflater_, 4096); }

Encoder::~Encoder() { nghttp2_hd_deflate_del(deflater_); }

std::string Encoder::Encode(const Fields& fields) {
  std::vector<nghttp2_nv> nva;
  for (const auto& [k, v] : fields) {
    nghttp2_nv nv;
    nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(k.data()));
    nv.namelen = k.size();
    nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(v.data()));
    nv.valuelen = v.size();
    nv.flags = NGHTTP2_NV_FLAG_NONE;
    nva.push_back(nv);
  }
  std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
  const auto n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(out.data()),
                                       out.size(), nva.data(), nva.size());
  EXPECT_GE(n, 0);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string Headers(uint32_t stream, std::string_view block, bool end_stream, size_t max_fragment,
                    int pad, bool priority) {
  std::string out;
  bool first = true;
  do {
    std::string_view frag = block.substr(0, max_fragment);
    block.remove_prefix(frag.size());
    const bool last = block.empty();
    uint8_t flags = last ? http2::kFlagEndHeaders : 0;
    std::string p;
    if (first) {
      if (end_stream) flags |= http2::kFlagEndStream;
      if (pad >= 0) {
        flags |= http2::kFlagPadded;
        p += static_cast<char>(pad);
      }
      if (priority) {
        flags |= http2::kFlagPriority;
        p += Be32(0) + std::string(1, '\x0f');
      }
    }
    p += frag;
    if (first && pad > 0) p += std::string(static_cast<size_t>(pad), '\0');
    out += Frame(first ? http2::kHeaders : http2::kContinuation, flags, stream, p);
    first = false;
  } while (!block.empty());
  return out;
}

Fields GrpcRequest(std::string_view path) {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":path", std::string(path)},
          {":authority", "svc.local:50051"},
          {"content-type", "application/grpc"},
          {"te", "trailers"}};
}

Fields GrpcResponse() { return {{":status", "200"}, {"content-type", "application/grpc"}}; }

Fields GrpcTrailers(int status, std::string_view message) {
  Fields f = {{"grpc-status", std::to_string(status)}};
  if (!message.empty()) f.emplace_back("grpc-message", std::string(message));
  return f;
}

Feeder::Feeder(Role role, DecoderLimits limits) : Feeder(MakeConn(role), limits) {}

Feeder::Feeder(const ConnInfo& conn, DecoderLimits limits)
    : dec_(conn, limits, &counters_),
      client_dir_(conn.role == Role::kServer ? Direction::kIngress : Direction::kEgress) {}

void Feeder::Send(Direction dir, std::string_view bytes, uint64_t ts_ns, uint32_t tid,
                  size_t captured) {
  const std::string& kept = store_.emplace_back(bytes.substr(0, captured));
  DataChunk c;
  c.pos = pos_[Idx(dir)];
  c.total_len = static_cast<uint32_t>(bytes.size());
  c.data = kept;
  c.ts_ns = NextTs(ts_ns);
  c.tid = tid;
  pos_[Idx(dir)] += bytes.size();
  dec_.OnData(dir, c);
}

void Feeder::FromClient(std::string_view bytes, uint64_t ts_ns, uint32_t tid) {
  Send(client_dir_, bytes, ts_ns, tid);
}

void Feeder::FromServer(std::string_view bytes, uint64_t ts_ns, uint32_t tid) {
  Send(server_dir(), bytes, ts_ns, tid);
}

std::vector<Message> Feeder::Drain() {
  std::vector<Message> out;
  dec_.Drain(&out);
  return out;
}

void FeedCapture(Feeder& f, const std::vector<CapChunk>& cap, size_t from) {
  for (size_t i = from; i < cap.size(); ++i) {
    if (cap[i].to_server) {
      f.FromClient(cap[i].bytes);
    } else {
      f.FromServer(cap[i].bytes);
    }
  }
}

}  // namespace sonde::test
