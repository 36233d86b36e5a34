// Connections joined mid-stream and bytes lost on the way (gaps, uncaptured
// tails, garbage): what can be decoded comes out, partial flags say what
// could not, nothing is made up, and memory stays bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "decoders/connection_tracker.h"
#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kOut = Direction::kEgress;
constexpr Direction kIn = Direction::kIngress;
const std::string kPreface(http2::kClientPreface);

const std::vector<std::string> kCaptures = {
    "grpc_unary", "grpc_error",   "grpc_server_stream", "grpc_client_stream", "grpc_bidi",
    "grpc_many",  "grpc_cancel",  "grpcjs_unary",       "curl_get",           "curl_post",
    "curl_big",   "node_padded",  "node_bighdr",        "node_cancel",        "node_push",
};

std::vector<Message> DecodeFrom(const std::vector<CapChunk>& cap, size_t from, Role role,
                                DecodeCounters* counters = nullptr) {
  // A connection sonde did not see open: role known from the traffic only.
  Feeder f(MakeConn(role, false));
  for (size_t i = 0; i < from; ++i) {
    f.SkipAhead(cap[i].to_server ? f.client_dir() : f.server_dir(), cap[i].bytes.size());
  }
  FeedCapture(f, cap, from);
  f.Close();
  if (counters) *counters = f.counters();
  return f.Drain();
}

// `part` holds some of `whole`'s fields, in the same order.
bool Subsequence(const HeaderList& part, const HeaderList& whole) {
  size_t j = 0;
  for (const auto& f : part) {
    while (j < whole.size() && whole[j] != f) ++j;
    if (j == whole.size()) return false;
    ++j;
  }
  return true;
}

// What a mid-stream decode may say about a stream, given the whole decode.
void ExpectNothingMadeUp(const HttpExchange& got, const HttpExchange& truth,
                         const std::string& where) {
  SCOPED_TRACE(where);
  const Http2StreamInfo& h2 = *got.h2;
  EXPECT_TRUE(got.request.method.empty() || got.request.method == truth.request.method);
  EXPECT_TRUE(got.request.target.empty() || got.request.target == truth.request.target);
  if (got.request.method.empty() || got.request.target.empty()) {
    EXPECT_TRUE(h2.request_headers_partial);
  }
  EXPECT_TRUE(Subsequence(got.request.headers, truth.request.headers));
  if (!h2.request_headers_partial) {
    EXPECT_EQ(got.request.headers, truth.request.headers);
  }
  EXPECT_LE(got.request.body_size, truth.request.body_size);
  EXPECT_LE(h2.request_messages, truth.h2->request_messages);
  if (got.response) {
    ASSERT_TRUE(truth.response.has_value());
    EXPECT_TRUE(got.response->status == 0 || got.response->status == truth.response->status);
    if (got.response->status == 0) {
      EXPECT_TRUE(h2.response_headers_partial);
    }
    EXPECT_TRUE(Subsequence(got.response->headers, truth.response->headers));
    EXPECT_TRUE(Subsequence(got.response->trailers, truth.response->trailers));
    if (!h2.response_headers_partial) {
      EXPECT_EQ(got.response->headers, truth.response->headers);
      EXPECT_EQ(got.response->trailers, truth.response->trailers);
    }
    EXPECT_LE(got.response->body_size, truth.response->body_size);
    EXPECT_LE(h2.response_messages, truth.h2->response_messages);
  }
}

// Joined at every chunk of every capture, traced from either side: every
// exchange that comes out is one of the real ones, with nothing made up.
TEST(Http2Join, NothingIsMadeUpWhereverTheJoinIs) {
  size_t exchanges = 0, partial = 0;
  for (const std::string& name : kCaptures) {
    const auto cap = ReadCapture(name);
    std::map<uint32_t, HttpExchange> truth;
    Feeder whole(Role::kClient);
    FeedCapture(whole, cap);
    whole.Close();
    for (const Message& m : whole.Drain()) truth[Ex(m).h2->stream_id] = Ex(m);
    for (size_t k = 1; k < cap.size(); ++k) {
      for (Role role : {Role::kClient, Role::kServer}) {
        for (const Message& m : DecodeFrom(cap, k, role)) {
          const HttpExchange& ex = Ex(m);
          const std::string where = name + " from chunk " + std::to_string(k);
          auto it = truth.find(ex.h2->stream_id);
          ASSERT_NE(it, truth.end()) << where << ": stream " << ex.h2->stream_id;
          ExpectNothingMadeUp(ex, it->second, where);
          EXPECT_EQ(m.conn.role, role);
          ++exchanges;
          partial += ex.h2->request_headers_partial;
        }
      }
    }
  }
  EXPECT_GT(exchanges, 100u);
  EXPECT_GT(partial, 20u);
}

// The brief's case: a long-lived gRPC channel seen from after its first
// call. HPACK's dynamic table is unknown, so :path and the indexed fields
// are gone, never guessed; static and literal fields come through; entries
// inserted after the join are tracked, so later blocks decode more.
TEST(Http2Join, GrpcChannelJoinedAfterItsFirstCall) {
  const auto cap = ReadCapture("grpc_many");
  // The first chunk from the client that starts stream 3's request.
  size_t k = 0;
  for (; k < cap.size(); ++k) {
    const std::string& b = cap[k].bytes;
    if (cap[k].to_server && b.size() > 9 && b[3] == http2::kHeaders && b[8] == 3) break;
  }
  ASSERT_LT(k, cap.size());
  DecodeCounters counters;
  const auto msgs = DecodeFrom(cap, k, Role::kClient, &counters);
  ASSERT_EQ(msgs.size(), 6u);  // streams 3..13; stream 1 started before the join
  for (const Message& m : msgs) {
    const HttpExchange& ex = Ex(m);
    EXPECT_TRUE(ex.h2->request_headers_partial);
    EXPECT_EQ(ex.request.method, "POST");  // a static-table field
    EXPECT_NE(FindHeader(ex.request.headers, ":scheme"), nullptr);
    EXPECT_EQ(FindHeader(ex.request.headers, ":authority"), nullptr);  // indexed before
    ASSERT_TRUE(ex.response.has_value());
    EXPECT_EQ(ex.response->status, 200);  // static too
    EXPECT_FALSE(ex.request_incomplete);
  }
  // The Ping calls' :path was indexed before the join: not guessed.
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(Ex(msgs[i]).request.target.empty()) << i;
    EXPECT_EQ(FindHeader(Ex(msgs[i]).request.headers, ":path"), nullptr);
    EXPECT_EQ(*FindHeader(Ex(msgs[i]).request.headers, "x-call"), std::to_string(i + 1));
  }
  // The last call's path is new, sent as a literal: it decodes, and so
  // does its Trailers-Only status.
  EXPECT_EQ(Ex(msgs[5]).request.target, "/demo.Echo/Fail");
  EXPECT_EQ(*FindHeader(Ex(msgs[5]).response->headers, "grpc-status"), "5");
  EXPECT_EQ(msgs[0].conn.role, Role::kClient);
  EXPECT_EQ(counters.resyncs, 0u);
}

}  // namespace
}  // namespace sonde::test

namespace sonde::test {
namespace {

// The tracker meets a connection that predates sonde: no open, positions
// far from zero, the first bytes in the middle of the conversation.
TEST(Http2Join, TrackerInfersAConnectionJoinedMidStream) {
  const auto cap = ReadCapture("grpc_many");
  for (Role role : {Role::kClient, Role::kServer}) {
    ConnectionTracker tracker;
    ConnInfo info = MakeConn(Role::kUnknown);
    uint64_t pos[2] = {1000000, 2000000}, ts = 10;
    for (size_t i = 8; i < cap.size(); ++i) {
      const bool egress = cap[i].to_server == (role == Role::kClient);
      const Direction dir = egress ? kOut : kIn;
      DataChunk c{pos[static_cast<int>(dir)], static_cast<uint32_t>(cap[i].bytes.size()),
                  cap[i].bytes, ++ts, 3};
      pos[static_cast<int>(dir)] += cap[i].bytes.size();
      tracker.OnData(info, dir, c);
    }
    EXPECT_EQ(tracker.ProtocolOf(info.key), Protocol::kHttp2);
    tracker.OnClose(info.key, ++ts);
    std::vector<Message> out;
    tracker.Drain(&out);
    ASSERT_GE(out.size(), 3u);
    for (const Message& m : out) {
      EXPECT_EQ(m.conn.role, role);
      EXPECT_TRUE(m.conn.role_inferred);
      EXPECT_EQ(Ex(m).request.method, "POST");
    }
  }
}

// A lost event inside a DATA payload: frame boundaries are still known, so
// nothing else is lost.
TEST(Http2Loss, GapInsideDataKeepsFraming) {
  Feeder f(Role::kClient);
  Conversation c;
  f.FromClient(kPreface + Settings({}));
  f.FromServer(Settings({}));
  const std::string msg = GrpcMessage(std::string(3000, 'm'));
  f.FromClient(c.Request(1, GrpcRequest("/l.L/Gap"), false));
  const std::string data = Data(1, msg, true);
  f.FromClient(data.substr(0, 1000));
  f.Lose(f.client_dir(), 1500);
  f.FromClient(data.substr(2500));
  f.FromServer(c.Reply(1));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  const HttpExchange& ex = Ex(msgs[0]);
  EXPECT_EQ(ex.request.body_size, msg.size());
  EXPECT_EQ(ex.h2->request_messages, 1u);  // the gap fell inside the message
  EXPECT_TRUE(ex.h2->data_incomplete);
  EXPECT_FALSE(ex.h2->request_headers_partial);
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_TRUE(f.decoder().hpack_in_sync(f.client_dir()));
}

// A capped syscall whose uncaptured tail held frame headers (a HEADERS
// among them): framing resumes at the next syscall, HPACK of that side
// goes out of sync, later exchanges come out with what decodes.
TEST(Http2Loss, UncapturedTailLosesFramingUntilTheNextSyscall) {
  Feeder f(Role::kClient);
  Conversation c;
  f.FromClient(kPreface + Settings({}));
  f.FromServer(Settings({}));
  // Stream 1's request whole; then one syscall with stream 3's DATA and
  // stream 5's HEADERS, of which only 20 bytes were captured.
  f.FromClient(c.Request(1, GrpcRequest("/l.L/One"), false) + Data(1, GrpcMessage("1"), true));
  std::string w = c.Request(3, GrpcRequest("/l.L/Two"), false);
  f.FromClient(w);
  std::string capped = Data(3, GrpcMessage(std::string(100, 'x')), true);
  capped += c.Request(5, GrpcRequest("/l.L/Lost"), true);
  f.Send(f.client_dir(), capped, 0, 1, 20);
  f.FromClient(c.Request(7, GrpcRequest("/l.L/After"), true));
  f.FromServer(c.Reply(1));
  f.FromServer(c.Reply(3));
  f.FromServer(c.Reply(7));
  f.Close();
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_FALSE(f.decoder().hpack_in_sync(f.client_dir()));
  EXPECT_TRUE(f.decoder().hpack_in_sync(f.server_dir()));
  const std::string s = Summary(f.Drain());
  EXPECT_EQ(s,
            "stream 1: POST /l.L/One req=6/1msg -> 200 resp=0 frames=1/0\n"
            // Stream 3's DATA frame header was captured: its length and
            // END_STREAM are known, its payload went uncaptured.
            "stream 3: POST /l.L/Two req=105/1msg -> 200 resp=0 frames=1/0 DATA_INCOMPLETE\n"
            "stream 7: POST /l.L/After req=0 REQ_PARTIAL -> 200 resp=0 frames=0/0\n")
      << s;
}

TEST(Http2Loss, GarbageIsSkippedAndCounted) {
  Feeder f(Role::kServer);
  Conversation c;
  f.FromClient(kPreface + Settings({}));
  f.FromServer(Settings({}));
  f.FromClient(c.Request(1, GrpcRequest("/g.G/A"), true));
  f.FromClient(std::string(5000, '\xff'));
  f.FromClient(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  f.FromClient(c.Request(3, GrpcRequest("/g.G/B"), true));
  f.FromServer(c.Reply(1));
  f.FromServer(c.Reply(3));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(Ex(msgs[0]).request.target, "/g.G/A");
  EXPECT_EQ(Ex(msgs[1]).request.method, "POST");
  EXPECT_TRUE(Ex(msgs[1]).h2->request_headers_partial);
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_GE(f.counters().bytes_skipped, 5000u);
}

// A response whose request went by before sonde looked is counted, not
// reported; its DATA is not held.
TEST(Http2Loss, ResponsesToUnseenRequestsAreOrphans) {
  const auto cap = ReadCapture("grpc_server_stream");
  // Join with the server's first HEADERS: the request is gone.
  size_t k = 0;
  while (k < cap.size() && !(!cap[k].to_server && cap[k].bytes.size() > 9 &&
                             cap[k].bytes[3] == http2::kHeaders)) {
    ++k;
  }
  ASSERT_LT(k, cap.size());
  DecodeCounters counters;
  EXPECT_TRUE(DecodeFrom(cap, k, Role::kClient, &counters).empty());
  EXPECT_GE(counters.orphan_responses, 1u);
}

// Whatever arrives, held bytes stay within the bounds.
TEST(Http2Loss, RandomBytesStayBounded) {
  uint64_t x = 88172645463325252ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int round = 0; round < 20; ++round) {
    Feeder f(MakeConn(round % 2 ? Role::kClient : Role::kUnknown, round % 3 == 0));
    for (int i = 0; i < 200; ++i) {
      std::string bytes(next() % 3000, '\0');
      for (char& b : bytes) {
        // Mostly small values, so lengths and stream ids look plausible.
        const uint64_t r = next();
        b = static_cast<char>(r % 4 == 0 ? r >> 8 : (r >> 8) % 10);
      }
      f.Send(next() % 2 ? kOut : kIn, bytes, 0, 1, next() % 5 == 0 ? bytes.size() / 2 : SIZE_MAX);
      ASSERT_LT(f.decoder().buffered_bytes(), 2u * 1024 * 1024);
    }
    f.Close();
    f.Drain();
  }
}

}  // namespace
}  // namespace sonde::test
