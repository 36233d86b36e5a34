// Framing and pairing on hand-written byte streams: each test is one rule of
// HTTP/1.x that real traffic relies on.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kIn = Direction::kIngress;
constexpr Direction kOut = Direction::kEgress;

std::string Ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(Http1Decoder, PipelinedRequestsPairInOrder) {
  Feeder f(Role::kServer);
  f.Send(kIn,
         "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
         "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
         "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody");
  EXPECT_EQ(f.decoder().pending_requests(), 3u);
  EXPECT_TRUE(f.Drain().empty());
  // The HEAD response announces 1000 bytes it never sends.
  f.Send(kOut, Ok("abc") + "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" +
                   "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(Ex(m[0]).request.target, "/a");
  EXPECT_EQ(Ex(m[0]).response->body_size, 3u);
  EXPECT_EQ(Ex(m[1]).request.method, "HEAD");
  EXPECT_EQ(Ex(m[1]).response->status, 200);
  EXPECT_EQ(Ex(m[1]).response->body_size, 0u);
  EXPECT_EQ(Ex(m[2]).request.target, "/c");
  EXPECT_EQ(Ex(m[2]).request.body_size, 4u);
  EXPECT_EQ(Ex(m[2]).response->status, 201);
  EXPECT_EQ(Ex(m[2]).response->reason, "Created");
  EXPECT_EQ(f.decoder().pending_requests(), 0u);
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(Http1Decoder, ResponsesInterleavedWithLaterRequests) {
  Feeder f(Role::kClient);
  f.Send(kOut, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  f.Send(kIn, Ok("one"));
  f.Send(kOut, "GET /3 HTTP/1.1\r\n\r\n");
  f.Send(kIn, Ok("two!") + Ok("three"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(Ex(m[0]).request.target, "/1");
  EXPECT_EQ(Ex(m[0]).response->body_size, 3u);
  EXPECT_EQ(Ex(m[1]).request.target, "/2");
  EXPECT_EQ(Ex(m[1]).response->body_size, 4u);
  EXPECT_EQ(Ex(m[2]).request.target, "/3");
  EXPECT_EQ(Ex(m[2]).response->body_size, 5u);
  EXPECT_EQ(m[0].conn.role, Role::kClient);
  EXPECT_FALSE(m[0].conn.role_inferred);
}

TEST(Http1Decoder, ChunkedWithExtensionsAndTrailers) {
  Feeder f(Role::kServer);
  f.Send(kIn,
         "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n3;a;b=\"q;x\"\r\nabc\r\n0;last\r\nX-Sum: 1\r\nX-Other:  v  \r\n\r\n"
         "GET /next HTTP/1.1\r\n\r\n");
  f.Send(kOut, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  const HttpRequest& up = Ex(m[0]).request;
  EXPECT_EQ(up.body_size, 8u);
  ASSERT_EQ(up.headers.size(), 3u);
  EXPECT_EQ(up.headers[1], (std::pair<std::string, std::string>{"X-Sum", "1"}));
  EXPECT_EQ(up.headers[2], (std::pair<std::string, std::string>{"X-Other", "v"}));
  EXPECT_EQ(Ex(m[1]).request.target, "/next");
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(Http1Decoder, InterimResponsesAreNotFinal) {
  Feeder f(Role::kServer);
  f.Send(kIn, "POST /p HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 100, 7);
  f.Send(kOut, "HTTP/1.1 100 Continue\r\n\r\n", 200, 8);
  EXPECT_TRUE(f.Drain().empty());
  f.Send(kIn, "12345", 300, 7);
  f.Send(kOut,
         "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
         400, 8);
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Dump(m, true),
            "server POST /p HTTP/1.1 body=5 {Content-Length=5|Expect=100-continue} [100-300 t7]"
            " -> 200 OK HTTP/1.1 body=0 {Content-Length=0} [400-400 t8]\n");
}

TEST(Http1Decoder, NoBodyFor204And304EvenWithContentLength) {
  Feeder f(Role::kServer);
  f.Send(kIn, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  f.Send(kOut,
         "HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n"
         "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n" +
             Ok("x"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(Ex(m[0]).response->status, 304);
  EXPECT_EQ(Ex(m[0]).response->body_size, 0u);
  EXPECT_EQ(Ex(m[1]).response->status, 204);
  EXPECT_EQ(Ex(m[1]).response->body_size, 0u);
  EXPECT_EQ(Ex(m[2]).response->body_size, 1u);
}

TEST(Http1Decoder, SwitchingProtocolsEndsHttp) {
  Feeder f(Role::kServer);
  f.Send(kIn, "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  f.Send(kOut, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
  f.Send(kIn, "\x81\x85\x01\x02\x03\x04garbage");
  f.Send(kIn, "GET /not-http-anymore HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("nope"));
  f.Close();
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).response->status, 101);
  EXPECT_TRUE(f.decoder().upgraded());
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

TEST(Http1Decoder, ConnectTunnelOnlyWhenAccepted) {
  Feeder refused(Role::kClient);
  refused.Send(kOut, "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n");
  refused.Send(kIn, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  refused.Send(kOut, "GET http://db/ HTTP/1.1\r\n\r\n");
  refused.Send(kIn, Ok("fine"));
  std::vector<Message> m = refused.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FALSE(refused.decoder().upgraded());
  EXPECT_EQ(Ex(m[1]).request.target, "http://db/");

  Feeder tunnel(Role::kClient);
  tunnel.Send(kOut, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  tunnel.Send(kIn, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x10");
  tunnel.Send(kOut, "\x16\x03\x01\x02\x00");
  m = tunnel.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).response->reason, "Connection established");
  EXPECT_TRUE(tunnel.decoder().upgraded());
  EXPECT_EQ(tunnel.counters().resyncs, 0u);
}

TEST(Http1Decoder, BodyUntilCloseCompletesOnClose) {
  Feeder f(Role::kClient);
  f.Send(kOut, "GET /old HTTP/1.0\r\n\r\n", 10, 1);
  f.Send(kIn, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc", 20, 1);
  f.Send(kIn, "defg", 30, 1);
  EXPECT_TRUE(f.Drain().empty());
  f.Close(99);
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).response->body_size, 7u);
  EXPECT_EQ(Ex(m[0]).response->start_ns, 20u);
  EXPECT_EQ(Ex(m[0]).response->end_ns, 30u) << "last byte, not the close";
  EXPECT_FALSE(Ex(m[0]).request_incomplete);
}

TEST(Http1Decoder, BareLineFeedsAndStrayBlankLines) {
  Feeder f(Role::kServer);
  // Some old clients send CRLF after a POST body; RFC 9112 says to ignore it.
  f.Send(kIn, "POST /a HTTP/1.1\nContent-Length: 2\n\nhi\r\n\r\nGET /b HTTP/1.1\n\n");
  f.Send(kOut, "HTTP/1.1 200 OK\nContent-Length: 1\n\nxHTTP/1.1 200 OK\n\n");
  f.Close();
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.body_size, 2u);
  EXPECT_EQ(Ex(m[1]).request.target, "/b");
  EXPECT_EQ(Ex(m[1]).response->body_size, 0u) << "until close, and nothing came";
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(Http1Decoder, TimestampsComeFromFirstAndLastByte) {
  Feeder f(Role::kServer);
  f.Send(kIn, "GET /a HTTP/1.1\r\nHost: x", 10, 7);
  f.Send(kIn, "\r\n\r\nGET /b HTTP/1.1\r\n", 20, 8);
  f.Send(kIn, "\r\nGET /c HT", 30, 9);
  f.Send(kIn, "TP/1.1\r\n\r\n", 40, 9);
  f.Send(kOut, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab", 50, 3);
  f.Send(kOut, "cd", 60, 4);
  f.Send(kOut, "ef" + Ok("") + Ok(""), 70, 5);
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(Ex(m[0]).request.start_ns, 10u);
  EXPECT_EQ(Ex(m[0]).request.end_ns, 20u);
  EXPECT_EQ(Ex(m[0]).request.tid, 7u);
  EXPECT_EQ(Ex(m[1]).request.start_ns, 20u);
  EXPECT_EQ(Ex(m[1]).request.end_ns, 30u);
  EXPECT_EQ(Ex(m[1]).request.tid, 8u);
  EXPECT_EQ(Ex(m[2]).request.start_ns, 30u);
  EXPECT_EQ(Ex(m[2]).request.end_ns, 40u);
  EXPECT_EQ(Ex(m[0]).response->start_ns, 50u);
  EXPECT_EQ(Ex(m[0]).response->end_ns, 70u);
  EXPECT_EQ(Ex(m[0]).response->tid, 3u);
  EXPECT_EQ(Ex(m[2]).response->start_ns, 70u);
  EXPECT_EQ(Ex(m[2]).response->tid, 5u);
}

TEST(Http1Decoder, CloseReportsUnansweredAndCutRequests) {
  Feeder f(Role::kServer);
  f.Send(kIn, "GET /answered HTTP/1.1\r\n\r\nGET /pending HTTP/1.1\r\n\r\n");
  f.Send(kIn, "PUT /cut HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789");
  f.Send(kOut, Ok("r"));
  f.Close();
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(Ex(m[0]).request.target, "/answered");
  EXPECT_TRUE(Ex(m[0]).response.has_value());
  EXPECT_EQ(Ex(m[1]).request.target, "/pending");
  EXPECT_FALSE(Ex(m[1]).response.has_value());
  EXPECT_FALSE(Ex(m[1]).request_incomplete);
  EXPECT_EQ(Ex(m[2]).request.target, "/cut");
  EXPECT_FALSE(Ex(m[2]).response.has_value());
  EXPECT_TRUE(Ex(m[2]).request_incomplete);
  EXPECT_EQ(Ex(m[2]).request.body_size, 10u);
}

TEST(Http1Decoder, EarlyResponsePairsWithRequestStillSendingItsBody) {
  Feeder f(Role::kServer);
  f.Send(kIn, "POST /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'u'));
  f.Send(kOut, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
  f.Send(kIn, std::string(900, 'u'));
  f.Send(kIn, "GET /after HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("after"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).response->status, 413);
  EXPECT_TRUE(Ex(m[0]).request_incomplete);
  EXPECT_EQ(Ex(m[0]).request.body_size, 100u);
  EXPECT_EQ(Ex(m[1]).request.target, "/after");
  EXPECT_EQ(Ex(m[1]).response->body_size, 5u);
  EXPECT_EQ(f.counters().orphan_responses, 0u);
}

TEST(Http1Decoder, OrphanResponseIsCountedNotEmitted) {
  Feeder f(Role::kServer);
  f.Send(kOut, Ok("who asked"));
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.counters().orphan_responses, 1u);
}

TEST(Http1Decoder, TooManyPendingRequestsFlushOldest) {
  DecoderLimits limits;
  limits.max_pending = 2;
  Feeder f(Role::kServer, limits);
  f.Send(kIn, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).request.target, "/a");
  EXPECT_FALSE(Ex(m[0]).response.has_value());
  EXPECT_EQ(f.counters().pending_overflows, 1u);
  f.Send(kOut, Ok("b") + Ok("c"));
  m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.target, "/b");
  EXPECT_EQ(Ex(m[1]).request.target, "/c");
}

TEST(Http1Decoder, ManyHeadersKeepFirstButFramingSeesAll) {
  std::string head = "POST /h HTTP/1.1\r\n";
  for (int i = 0; i < 300; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
  head += "Content-Length: 3\r\n\r\nabc";
  Feeder f(Role::kServer);
  f.Send(kIn, head + "GET /next HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("") + Ok(""));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.headers.size(), 256u);
  EXPECT_EQ(Ex(m[0]).request.body_size, 3u);
  EXPECT_EQ(Ex(m[1]).request.target, "/next");
}

TEST(Http1Decoder, UnknownRoleInferredFromFirstRequestLine) {
  Feeder f(Role::kUnknown);
  f.Send(kOut, "tail of a body from before sonde started");
  EXPECT_EQ(f.counters().bytes_skipped, 40u);
  f.Send(kIn, "GET /inferred HTTP/1.1\r\n\r\n");
  EXPECT_EQ(f.decoder().conn().role, Role::kServer);
  f.Send(kOut, Ok("yes"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].conn.role, Role::kServer);
  EXPECT_TRUE(m[0].conn.role_inferred);
  EXPECT_EQ(Ex(m[0]).response->body_size, 3u);
}

TEST(Http1Decoder, UnknownRoleInferredFromResponseLine) {
  Feeder f(Role::kUnknown);
  // The response to a request sent before sonde started: decides the role
  // (responses come in, so this side is the client) but has no partner.
  f.Send(kIn, Ok("late"));
  EXPECT_EQ(f.decoder().conn().role, Role::kClient);
  EXPECT_EQ(f.counters().orphan_responses, 1u);
  f.Send(kOut, "GET /next HTTP/1.1\r\n\r\n");
  f.Send(kIn, Ok("next"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].conn.role, Role::kClient);
  EXPECT_TRUE(m[0].conn.role_inferred);
  EXPECT_EQ(Ex(m[0]).request.target, "/next");
}

}  // namespace
}  // namespace sonde::test

namespace sonde::test {
namespace {

// Same-host stitching pairs the two ends by where each request starts in
// the stream: both roles must report the same positions, and a server's
// request starts say it too.
TEST(Http1Decoder, RequestsCarryTheirStreamPositionAtBothEnds) {
  const std::string r1 = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  const std::string r2 = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  for (Role role : {Role::kClient, Role::kServer}) {
    std::vector<RequestStart> starts;
    DecoderLimits limits;
    limits.request_starts = &starts;
    Feeder f(role, limits);
    const Direction req = role == Role::kClient ? Direction::kEgress : Direction::kIngress;
    const Direction resp = role == Role::kClient ? Direction::kIngress : Direction::kEgress;
    f.Send(req, r1);
    f.Send(resp, ok);
    f.Send(req, r2);
    f.Send(resp, ok);
    std::vector<Message> m = f.Drain();
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(Ex(m[0]).request.pos, 0u);
    EXPECT_EQ(Ex(m[1]).request.pos, r1.size());
    if (role == Role::kServer) {
      ASSERT_EQ(starts.size(), 2u);
      EXPECT_EQ(starts[1].pos, r1.size());
    }
  }
}

}  // namespace
}  // namespace sonde::test
