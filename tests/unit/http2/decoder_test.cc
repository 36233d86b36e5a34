// Streams and their ends (END_STREAM both ways, RST_STREAM, GOAWAY, close),
// pairing of multiplexed streams, padding, priority, CONTINUATION,
// Trailers-Only, interim responses, pushes, gRPC message counting,
// timestamps, settings, and bounds — from frames built here (headers
// encoded by nghttp2's deflater).
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kOut = Direction::kEgress;
constexpr Direction kIn = Direction::kIngress;
const std::string kPreface(http2::kClientPreface);

// A fresh connection seen from its open: prefaces and settings both ways.
void Open(Feeder& f) {
  f.FromClient(kPreface + Settings({{4, 65535}}));
  f.FromServer(Settings({{3, 100}}));
  f.FromClient(Settings({}, true));
  f.FromServer(Settings({}, true));
}

// A whole unary gRPC call on `stream`.
void Unary(Feeder& f, Conversation& c, uint32_t stream, std::string_view path, int status = 0) {
  f.FromClient(c.Request(stream, GrpcRequest(path), false) +
               Data(stream, GrpcMessage("request"), true));
  f.FromServer(c.Response(stream, GrpcResponse(), false) + Data(stream, GrpcMessage("reply!"), false));
  f.FromServer(c.Response(stream, GrpcTrailers(status), true));
}

TEST(Http2Decoder, UnaryGrpcCall) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  Unary(f, c, 1, "/pkg.Svc/Get");
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(Dump(msgs),
            "stream 1: POST /pkg.Svc/Get req=12/1msg -> 200 resp=11/1msg frames=1/1\n"
            "  request: :method=POST :scheme=http :path=/pkg.Svc/Get :authority=svc.local:50051 "
            "content-type=application/grpc te=trailers\n"
            "  response: :status=200 content-type=application/grpc\n"
            "  trailers: grpc-status=0\n");
  const HttpExchange& ex = Ex(msgs[0]);
  EXPECT_EQ(ex.request.version, "2");
  EXPECT_EQ(ex.response->version, "2");
  EXPECT_FALSE(ex.request_incomplete);
  EXPECT_EQ(msgs[0].conn.role, Role::kClient);
  EXPECT_TRUE(f.decoder().hpack_in_sync(kOut));
  EXPECT_TRUE(f.decoder().hpack_in_sync(kIn));
  EXPECT_EQ(f.decoder().open_streams(), 0u);
}

TEST(Http2Decoder, TimestampsAndThreads) {
  Feeder f(Role::kServer);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/a.B/C"), false), 5000, 7);
  f.FromClient(Data(1, GrpcMessage("x"), false), 5100, 7);
  f.FromClient(Data(1, GrpcMessage("y"), true), 5200, 7);
  f.FromServer(c.Response(1, GrpcResponse(), false), 6000, 9);
  f.FromServer(Data(1, GrpcMessage("z"), false), 6100, 8);
  f.FromServer(c.Response(1, GrpcTrailers(0), true), 6200, 8);
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  const HttpExchange& ex = Ex(msgs[0]);
  EXPECT_EQ(ex.request.start_ns, 5000u);
  EXPECT_EQ(ex.request.end_ns, 5200u);
  EXPECT_EQ(ex.request.tid, 7u);
  EXPECT_EQ(ex.response->start_ns, 6000u);
  EXPECT_EQ(ex.response->end_ns, 6200u);
  EXPECT_EQ(ex.response->tid, 9u);
  EXPECT_EQ(ex.h2->request_messages, 2u);
  EXPECT_EQ(ex.h2->request_data_frames, 2u);
}

TEST(Http2Decoder, StartIsTheSyscallWithTheFirstByteOfHeaders) {
  // The HEADERS frame begins at the end of one syscall and ends in the next.
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  const std::string req = c.Request(1, {{":method", "GET"}, {":path", "/"}, {":scheme", "http"},
                                        {":authority", "a"}}, true);
  f.FromClient(WindowUpdate(0, 10) + req.substr(0, 4), 100, 3);
  f.FromClient(req.substr(4), 200, 4);
  f.FromServer(c.Response(1, {{":status", "204"}}, true), 300, 5);
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(Ex(msgs[0]).request.start_ns, 100u);
  EXPECT_EQ(Ex(msgs[0]).request.tid, 3u);
  EXPECT_EQ(Ex(msgs[0]).request.end_ns, 200u);
}

TEST(Http2Decoder, ResponseEndsAtTrailersNotHeaders) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/s.S/Stream"), false) + Data(1, GrpcMessage("q"), true));
  f.FromServer(c.Response(1, GrpcResponse(), false));
  for (int i = 0; i < 3; ++i) f.FromServer(Data(1, GrpcMessage("item"), false));
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.decoder().open_streams(), 1u);
  f.FromServer(c.Response(1, GrpcTrailers(0), true));
  EXPECT_EQ(Summary(f.Drain()),
            "stream 1: POST /s.S/Stream req=6/1msg -> 200 resp=27/3msg frames=1/3\n");
}

TEST(Http2Decoder, TrailersOnlyResponse) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/s.S/Missing"), false) + Data(1, GrpcMessage("q"), true));
  Fields only = {{":status", "200"}, {"content-type", "application/grpc"},
                 {"grpc-status", "12"}, {"grpc-message", "unimplemented"}};
  f.FromServer(c.Response(1, only, true));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  const HttpExchange& ex = Ex(msgs[0]);
  EXPECT_EQ(ex.response->status, 200);
  ASSERT_NE(FindHeader(ex.response->headers, "grpc-status"), nullptr);
  EXPECT_EQ(*FindHeader(ex.response->headers, "grpc-status"), "12");
  EXPECT_TRUE(ex.response->trailers.empty());
  EXPECT_EQ(ex.h2->response_messages, 0u);
}

TEST(Http2Decoder, MultiplexedStreamsPairById) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  // Three requests out, answered in another order with interleaved DATA.
  // (Blocks are encoded one statement at a time: the encoder's table must
  // change in wire order.)
  std::string out = c.Request(1, GrpcRequest("/s.S/A"), false);
  out += Data(1, GrpcMessage("a"), true);
  out += c.Request(3, GrpcRequest("/s.S/B"), false);
  out += Data(3, GrpcMessage("bb"), true);
  out += c.Request(5, GrpcRequest("/s.S/C"), false);
  out += Data(5, GrpcMessage("ccc"), true);
  f.FromClient(out);
  std::string back = c.Response(5, GrpcResponse(), false);
  back += c.Response(1, GrpcResponse(), false);
  back += Data(5, GrpcMessage("55555"), false) + Data(1, GrpcMessage("1"), false);
  back += c.Response(3, GrpcResponse(), false);
  back += Data(3, GrpcMessage("333"), false);
  f.FromServer(back);
  f.FromServer(c.Response(5, GrpcTrailers(0), true));
  f.FromServer(c.Response(3, GrpcTrailers(5, "gone"), true));
  f.FromServer(c.Response(1, GrpcTrailers(0), true));
  EXPECT_EQ(Summary(f.Drain()),
            "stream 5: POST /s.S/C req=8/1msg -> 200 resp=10/1msg frames=1/1\n"
            "stream 3: POST /s.S/B req=7/1msg -> 200 resp=8/1msg frames=1/1\n"
            "stream 1: POST /s.S/A req=6/1msg -> 200 resp=6/1msg frames=1/1\n");
}

TEST(Http2Decoder, PaddingAndPriorityAreStripped) {
  Feeder f(Role::kServer);
  Conversation c;
  Open(f);
  const std::string block = c.client_enc.Encode(GrpcRequest("/p.P/Pad"));
  f.FromClient(Headers(1, block, false, 16384, 7, true));
  f.FromClient(Data(1, GrpcMessage("padded"), false, 200));
  f.FromClient(Data(1, "", true, 0));
  f.FromServer(Headers(1, c.server_enc.Encode(GrpcResponse()), false, 16384, 0));
  f.FromServer(Data(1, GrpcMessage("ok"), false, 255));
  f.FromServer(c.Response(1, GrpcTrailers(0), true));
  EXPECT_EQ(Summary(f.Drain()),
            "stream 1: POST /p.P/Pad req=11/1msg -> 200 resp=7/1msg frames=1/1\n");
}

TEST(Http2Decoder, ContinuationFramesJoin) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  Fields req = GrpcRequest("/c.C/Cont");
  req.emplace_back("x-long", std::string(3000, 'v'));
  // One-byte fragments: HEADERS and many CONTINUATIONs.
  f.FromClient(Headers(1, c.client_enc.Encode(req), true, 1));
  f.FromServer(Headers(1, c.server_enc.Encode(GrpcResponse()), false, 3));
  f.FromServer(c.Response(1, GrpcTrailers(0), true));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(Ex(msgs[0]).request.headers.size(), 7u);
  EXPECT_EQ(*FindHeader(Ex(msgs[0]).request.headers, "x-long"), std::string(3000, 'v'));
  EXPECT_FALSE(Ex(msgs[0]).h2->request_headers_partial);
  EXPECT_FALSE(Ex(msgs[0]).h2->response_headers_partial);
}

TEST(Http2Decoder, InterruptedHeaderBlockIsPartial) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  const std::string block = c.client_enc.Encode(GrpcRequest("/i.I/Cut"));
  // HEADERS without END_HEADERS, then a DATA frame instead of CONTINUATION.
  std::string frames = Headers(1, block, false, 10);
  frames = frames.substr(0, 9 + 10);  // the HEADERS frame alone
  f.FromClient(frames + Data(1, GrpcMessage("q"), true));
  f.FromServer(c.Reply(1));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(Ex(msgs[0]).h2->request_headers_partial);
  EXPECT_FALSE(f.decoder().hpack_in_sync(kOut));
  EXPECT_TRUE(f.decoder().hpack_in_sync(kIn));
}

TEST(Http2Decoder, RstStreamEndsTheExchange) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/r.R/Watch"), false) + Data(1, GrpcMessage("w"), true));
  f.FromServer(c.Response(1, GrpcResponse(), false) + Data(1, GrpcMessage("event"), false));
  f.FromClient(RstStream(1, 8), 9000);
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(Summary(msgs),
            "stream 1: POST /r.R/Watch req=6/1msg -> 200 resp=10/1msg frames=1/1 RST(8)\n");
  EXPECT_EQ(Ex(msgs[0]).request.end_ns, 9000u);
  // Frames still in flight for it are not orphans, nor a new stream.
  f.FromServer(Data(1, GrpcMessage("late"), false) + c.Response(1, GrpcTrailers(1), true));
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.counters().orphan_responses, 0u);
  EXPECT_EQ(f.decoder().open_streams(), 0u);
}

TEST(Http2Decoder, RstBeforeAnyResponse) {
  Feeder f(Role::kServer);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, {{":method", "GET"}, {":scheme", "https"}, {":path", "/slow"},
                             {":authority", "x"}}, true));
  f.FromServer(RstStream(1, 7));
  EXPECT_EQ(Summary(f.Drain()), "stream 1: GET /slow req=0 -> (none) frames=0/0 RST(7)\n");
}

TEST(Http2Decoder, ServerGoawayEndsStreamsAboveLastId) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  for (uint32_t id : {1u, 3u, 5u}) {
    f.FromClient(c.Request(id, GrpcRequest("/g.G/Go"), false) + Data(id, GrpcMessage("q"), true));
  }
  f.FromServer(Goaway(1, 0));
  EXPECT_EQ(Summary(f.Drain()),
            "stream 3: POST /g.G/Go req=6/1msg -> (none) frames=1/0 GOAWAY\n"
            "stream 5: POST /g.G/Go req=6/1msg -> (none) frames=1/0 GOAWAY\n");
  f.FromServer(c.Reply(1));
  EXPECT_EQ(Summary(f.Drain()), "stream 1: POST /g.G/Go req=6/1msg -> 200 resp=0 frames=1/0\n");
}

TEST(Http2Decoder, ClientGoawayDoesNotEndClientStreams) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/g.G/Go"), true) + Goaway(0, 0));
  EXPECT_TRUE(f.Drain().empty());
  f.FromServer(c.Reply(1));
  EXPECT_EQ(f.Drain().size(), 1u);
}

TEST(Http2Decoder, InterimResponsesAreDropped) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, {{":method", "PUT"}, {":scheme", "http"}, {":path", "/f"},
                             {":authority", "h"}, {"expect", "100-continue"}}, false));
  f.FromServer(c.Response(1, {{":status", "100"}}, false), 2000);
  f.FromClient(Data(1, "payload", true));
  f.FromServer(c.Response(1, {{":status", "103"}, {"link", "</s.css>"}}, false), 2100);
  f.FromServer(c.Response(1, {{":status", "201"}}, true), 2200);
  const auto msgs = f.Drain();
  EXPECT_EQ(Dump(msgs),
            "stream 1: PUT /f req=7 -> 201 resp=0 frames=1/0\n"
            "  request: :method=PUT :scheme=http :path=/f :authority=h expect=100-continue\n"
            "  response: :status=201\n");
  EXPECT_EQ(Ex(msgs[0]).response->start_ns, 2200u);
}

TEST(Http2Decoder, PushedStreamsAreSkipped) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"},
                             {":authority", "h"}}, true));
  // PUSH_PROMISE (padded) for stream 2, whose response shares the server's table.
  const std::string promised = c.server_enc.Encode(
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/style.css"}, {":authority", "h"}});
  std::string pp = std::string(1, '\x03') + std::string("\0\0\0\x02", 4) + promised + "\0\0\0";
  f.FromServer(Frame(http2::kPushPromise, http2::kFlagEndHeaders | http2::kFlagPadded, 1, pp));
  f.FromServer(c.Response(1, {{":status", "200"}, {"x-a", "1"}}, false));
  f.FromServer(c.Response(2, {{":status", "200"}, {"content-type", "text/css"}}, false) +
               Data(2, "body{}", true));
  f.FromServer(Data(1, "<html>", true));
  EXPECT_EQ(Summary(f.Drain()), "stream 1: GET / req=0 -> 200 resp=6 frames=0/1\n");
  EXPECT_TRUE(f.decoder().hpack_in_sync(kIn));
  EXPECT_EQ(f.counters().orphan_responses, 0u);
  // The table stayed right: a later response reuses entries.
  f.FromClient(c.Request(3, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"},
                             {":authority", "h"}}, true));
  f.FromServer(c.Response(3, {{":status", "200"}, {"content-type", "text/css"}}, true));
  EXPECT_EQ(Dump(f.Drain()),
            "stream 3: GET / req=0 -> 200 resp=0 frames=0/0\n"
            "  request: :method=GET :scheme=http :path=/ :authority=h\n"
            "  response: :status=200 content-type=text/css\n");
}

TEST(Http2Decoder, GrpcMessagesAcrossFrames) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/m.M/Many"), false));
  // Two messages in one frame, then one cut inside its prefix, then a
  // zero-length message, then a large one over three frames.
  const std::string m1 = GrpcMessage("first"), m2 = GrpcMessage("second");
  const std::string m3 = GrpcMessage("third-message"), m4 = GrpcMessage("");
  const std::string m5 = GrpcMessage(std::string(40000, 'q'));
  f.FromClient(Data(1, m1 + m2 + m3.substr(0, 2), false));
  f.FromClient(Data(1, m3.substr(2) + m4, false));
  f.FromClient(Data(1, m5.substr(0, 16000), false) + Data(1, m5.substr(16000, 16000), false));
  f.FromClient(Data(1, m5.substr(32000), true));
  f.FromServer(c.Response(1, {{":status", "200"}, {"content-type", "application/grpc+proto"}},
                          false) +
               c.Response(1, GrpcTrailers(0), true));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(Ex(msgs[0]).h2->request_messages, 5u);
  EXPECT_EQ(Ex(msgs[0]).h2->request_data_frames, 5u);
  EXPECT_EQ(Ex(msgs[0]).request.body_size, m1.size() + m2.size() + m3.size() + m4.size() + m5.size());
}

TEST(Http2Decoder, OtherContentIsNotCountedAsGrpc) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, {{":method", "POST"}, {":scheme", "http"}, {":path", "/json"},
                             {":authority", "h"}, {"content-type", "application/json"}}, false) +
               Data(1, GrpcMessage("looks like grpc"), true));
  f.FromServer(c.Response(1, {{":status", "200"}}, true));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(Ex(msgs[0]).h2->request_messages, 0u);
}

TEST(Http2Decoder, CloseEmitsOpenStreams) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(c.Request(1, GrpcRequest("/o.O/Open"), false) + Data(1, GrpcMessage("q"), false));
  f.FromClient(c.Request(3, GrpcRequest("/o.O/Done"), false) + Data(3, GrpcMessage("q"), true));
  f.FromServer(c.Response(3, GrpcResponse(), false));
  f.Close();
  EXPECT_EQ(Summary(f.Drain()),
            "stream 1: POST /o.O/Open req=6/1msg INCOMPLETE -> (none) frames=1/0\n"
            "stream 3: POST /o.O/Done req=6/1msg -> 200 resp=0 frames=1/0\n");
}

TEST(Http2Decoder, ControlFramesAndExtensionsAreSkipped) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromClient(Ping() + WindowUpdate(0, 1000) + Frame(http2::kPriority, 0, 1, std::string(5, '\0')));
  f.FromClient(Frame(0x10, 0, 0, "priority-update") + Frame(0x0a, 0, 0, std::string(20, 'a')));
  Unary(f, c, 1, "/e.E/X");
  f.FromServer(Ping(true));
  EXPECT_EQ(f.Drain().size(), 1u);
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

TEST(Http2Decoder, LargerFramesOnlyAfterSettings) {
  Feeder f(Role::kClient);
  Conversation c;
  f.FromClient(kPreface + Settings({}));
  // The server allows 64 KiB frames: the client may send them.
  f.FromServer(Settings({{http2::kSettingMaxFrameSize, 65536}}));
  f.FromClient(c.Request(1, GrpcRequest("/f.F/Big"), false) +
               Data(1, GrpcMessage(std::string(50000, 'b')), true));
  f.FromServer(c.Reply(1));
  EXPECT_EQ(Summary(f.Drain()),
            "stream 1: POST /f.F/Big req=50005/1msg -> 200 resp=0 frames=1/0\n");
  EXPECT_EQ(f.counters().resyncs, 0u);
  // The server never said so for its own frames: a 50000-byte frame from it
  // breaks framing.
  f.FromClient(c.Request(3, GrpcRequest("/f.F/Big"), true));
  f.FromServer(c.Response(3, GrpcResponse(), false) + Data(3, std::string(50000, 'c'), false));
  EXPECT_EQ(f.counters().resyncs, 1u);
}

TEST(Http2Decoder, LargerHeaderTableAfterSettings) {
  Feeder f(Role::kClient);
  Conversation c;
  f.FromClient(kPreface + Settings({}));
  f.FromServer(Settings({{http2::kSettingHeaderTableSize, 16384}}));
  // The client's encoder grows its table to 16384 (a size update first).
  std::string block = std::string("\x3f\xe1\x7f", 3);  // size update 16384
  block += c.client_enc.Encode(GrpcRequest("/t.T/Table"));
  f.FromClient(Headers(1, block, true));
  f.FromServer(c.Reply(1));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_FALSE(Ex(msgs[0]).h2->request_headers_partial);
  EXPECT_TRUE(f.decoder().hpack_in_sync(kOut));
}

TEST(Http2Decoder, RoleFromThePreface) {
  for (Direction pre : {kOut, kIn}) {
    Feeder f(MakeConn(Role::kUnknown));
    Conversation c;
    const Direction other = pre == kOut ? kIn : kOut;
    f.Send(pre, kPreface + Settings({}));
    f.Send(other, Settings({}));
    f.Send(pre, c.Request(1, GrpcRequest("/r.R/Role"), true));
    f.Send(other, c.Reply(1));
    const auto msgs = f.Drain();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].conn.role, pre == kOut ? Role::kClient : Role::kServer);
    EXPECT_TRUE(msgs[0].conn.role_inferred);
    EXPECT_EQ(Ex(msgs[0]).request.method, "POST");
    EXPECT_TRUE(f.decoder().hpack_in_sync(kOut));
    EXPECT_TRUE(f.decoder().hpack_in_sync(kIn));
  }
}

TEST(Http2Decoder, RoleFromPseudoHeadersWhenJoinedMidStream) {
  // Role unknown, no preface: the :status block going out says the traced
  // process is the server, even before any request is seen.
  Feeder f(MakeConn(Role::kUnknown, false));
  Conversation c;
  f.Send(kOut, c.Response(1, GrpcResponse(), false));
  f.Send(kIn, c.Request(3, {{":method", "GET"}, {":path", "/x"}, {":scheme", "http"},
                            {":authority", "h"}}, true));
  f.Send(kOut, c.Response(3, {{":status", "200"}}, true));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].conn.role, Role::kServer);
  EXPECT_EQ(Ex(msgs[0]).request.target, "/x");
  EXPECT_EQ(Ex(msgs[0]).response->status, 200);
  EXPECT_EQ(f.counters().orphan_responses, 1u);  // stream 1's request predates the join
  EXPECT_FALSE(f.decoder().hpack_in_sync(kOut));
}

TEST(Http2Decoder, TlsPlaintextDecodesTheSame) {
  ConnInfo tls = MakeConn(Role::kClient);
  tls.tls = true;
  Feeder plain(Role::kClient), secure(tls);
  Conversation c1, c2;
  Open(plain);
  Open(secure);
  Unary(plain, c1, 1, "/t.T/Tls");
  Unary(secure, c2, 1, "/t.T/Tls");
  const auto a = plain.Drain(), b = secure.Drain();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].conn.tls);
  EXPECT_EQ(Dump(a), Dump(b));
}

TEST(Http2Decoder, OrphanResponsesAreCounted) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  f.FromServer(c.Response(7, GrpcResponse(), false) + Data(7, GrpcMessage("x"), false));
  EXPECT_TRUE(f.Drain().empty());
  EXPECT_EQ(f.counters().orphan_responses, 1u);
  EXPECT_EQ(f.decoder().open_streams(), 0u);
}

TEST(Http2Decoder, OpenStreamsAreBounded) {
  DecoderLimits limits;
  limits.max_pending = 8;
  Feeder f(Role::kClient, limits);
  Conversation c;
  Open(f);
  for (uint32_t id = 1; id < 2 * 100; id += 2) {
    f.FromClient(c.Request(id, GrpcRequest("/b.B/Many"), false));
    EXPECT_LE(f.decoder().open_streams(), 8u);
  }
  EXPECT_EQ(f.counters().pending_overflows, 92u);
  const auto msgs = f.Drain();
  EXPECT_EQ(msgs.size(), 92u);
  EXPECT_EQ(Ex(msgs[0]).h2->stream_id, 1u);
  EXPECT_TRUE(Ex(msgs[0]).request_incomplete);
}

TEST(Http2Decoder, HeaderBytesAreBounded) {
  DecoderLimits limits;
  limits.max_pending_bytes = 64 * 1024;
  Feeder f(Role::kClient, limits);
  Conversation c;
  Open(f);
  for (uint32_t id = 1; id < 2 * 40; id += 2) {
    Fields req = GrpcRequest("/b.B/Fat");
    req.emplace_back("x-fat", std::string(8000, static_cast<char>('a' + id % 26)));
    f.FromClient(c.Request(id, req, false));
    EXPECT_LT(f.decoder().buffered_bytes(), 64 * 1024 + 48 * 1024);
  }
  EXPECT_GT(f.counters().pending_overflows, 0u);
}

TEST(Http2Decoder, OversizedHeaderBlockIsCut) {
  Feeder f(Role::kClient);
  Conversation c;
  Open(f);
  // 80 KiB of distinct literal fields (never indexed, so nothing in the
  // table depends on them) over CONTINUATION frames.
  Fields req = GrpcRequest("/h.H/Huge");
  for (int i = 0; i < 80; ++i) {
    std::string v;
    for (int k = 0; v.size() < 2048; ++k) v += std::to_string(k * 7919 % 10007) + "~%";
    req.emplace_back("x-f" + std::to_string(i), v);
  }
  f.FromClient(Headers(1, c.client_enc.Encode(req), true));
  f.FromServer(c.Reply(1));
  const auto msgs = f.Drain();
  ASSERT_EQ(msgs.size(), 1u);
  const HttpExchange& ex = Ex(msgs[0]);
  EXPECT_TRUE(ex.h2->request_headers_partial);
  EXPECT_EQ(ex.request.method, "POST");
  EXPECT_EQ(ex.request.target, "/h.H/Huge");
  EXPECT_LT(ex.request.headers.size(), req.size());
  EXPECT_GT(f.counters().bytes_skipped, 0u);
  EXPECT_FALSE(ex.h2->response_headers_partial);
  EXPECT_LT(f.decoder().buffered_bytes(), 200u * 1024);
}

}  // namespace
}  // namespace sonde::test

namespace sonde::test {
namespace {

// Same-host stitching names a stream's request by the position of its
// HEADERS frame: both roles must report the same one.
TEST(Http2Decoder, RequestsCarryTheirHeadersFramePositionAtBothEnds) {
  const std::string preface = std::string(http2::kClientPreface) + Settings({{4, 65535}});
  for (Role role : {Role::kClient, Role::kServer}) {
    Feeder f(role);
    Conversation c;
    f.FromClient(preface);
    f.FromServer(Settings({{3, 100}}));
    const std::string r1 = c.Request(1, GrpcRequest("/pkg.Svc/A"), false) + Data(1, GrpcMessage("a"), true);
    const std::string r3 = c.Request(3, GrpcRequest("/pkg.Svc/B"), false) + Data(3, GrpcMessage("b"), true);
    f.FromClient(r1 + r3);  // two streams in one write
    f.FromServer(c.Reply(3));
    f.FromServer(c.Reply(1));
    std::vector<Message> m = f.Drain();
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(Ex(m[0]).h2->stream_id, 3u);
    EXPECT_EQ(Ex(m[0]).request.pos, preface.size() + r1.size());
    EXPECT_EQ(Ex(m[1]).h2->stream_id, 1u);
    EXPECT_EQ(Ex(m[1]).request.pos, preface.size());
  }
}

}  // namespace
}  // namespace sonde::test
