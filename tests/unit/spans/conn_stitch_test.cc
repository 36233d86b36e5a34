// Same-host stitching from built messages: which SERVER spans become the
// children of which CLIENT spans, and when none is stitched (event-loop
// callers: conn_stitch_event_loop_test.cc).
#include "conn_stitch_fixture.h"

namespace sonde {
namespace {

using namespace stitch_test;

TEST(ConnStitch, Http1KeepAliveRequestsPairByPosition) {
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  // Three requests on one connection; the server answers each before the
  // client's message completes.
  const uint64_t pos[] = {0, 120, 250};
  std::vector<Span> servers, clients;
  for (int i = 0; i < 3; ++i) {
    const uint64_t t = 1000 + i * 1000;
    f.Write(ClientConn(), pos[i], pos[i] == 250 ? 90 : 120, t, 11);
    Message sm = Http(ServerConn(), pos[i], 21, t + 10, t + 100);
    servers.push_back(f.Emit({StartOf(sm)}, {sm})[0]);
    clients.push_back(f.Emit({}, {Http(ClientConn(), pos[i], 11, t, t + 150)})[0]);
  }
  for (int i = 0; i < 3; ++i) {
    ExpectChild(servers[i], clients[i]);
    EXPECT_EQ(Source(clients[i]), "none");
    EXPECT_TRUE(IsZero(clients[i].parent_span_id));
  }
  EXPECT_NE(clients[0].trace_id, clients[1].trace_id);
  EXPECT_EQ(f.stitch.stats().stitched, 3u);
  EXPECT_EQ(f.stitch.stats().adopted, 3u);
  EXPECT_EQ(f.stitch.reservations(), 0u);
}

TEST(ConnStitch, Http1ServerCallsJoinTheClientsTrace) {
  // The server's own call, linked by thread to the request it handles, is
  // built before the SERVER span: it must already see the client's trace.
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1900);
  ConnInfo downstream = Info(kServerPid, 9, Role::kClient, 45000, 6379);
  f.Open(downstream, 1050);
  std::vector<Span> call = f.Emit({StartOf(sm)}, {Redis(downstream, 0, 21, 1100, 1200)});
  std::vector<Span> both = f.Emit({}, {sm, Http(ClientConn(), 0, 11, 1000, 1950)});
  const Span& server = both[0];
  const Span& client = both[1];
  ExpectChild(server, client);
  EXPECT_EQ(call[0].trace_id, client.trace_id);
  EXPECT_EQ(call[0].parent_span_id, server.span_id);
  EXPECT_EQ(Source(call[0]), "thread");
}

TEST(ConnStitch, ClientThreadParentDecidesTheTrace) {
  // The client is itself handling a request on its thread: its call (and so
  // the remote SERVER span) belongs to that request's trace.
  Fixture f;
  ConnInfo front = Info(kClientPid, 4, Role::kServer, 9000, 33000);
  f.Emit({RequestStart{front, 11, 900, {}, 0}}, {});
  f.Open(ClientConn(), 950);
  f.Open(ServerConn(), 960);
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  ThreadLinks::Linked l;
  Span client = f.Build(Http(ClientConn(), 0, 11, 1000, 1150), &l);
  Span front_span = f.Emit({}, {Http(front, 0, 11, 900, 1200)})[0];
  ExpectChild(server, client);
  EXPECT_EQ(client.parent_span_id, front_span.span_id);
  EXPECT_EQ(client.trace_id, front_span.trace_id);
  EXPECT_EQ(Source(client), "thread");
  EXPECT_TRUE(l.parent_linked);
}

TEST(ConnStitch, RedisPipelineEachCommandItsOwnParent) {
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 41000, 6379);
  ConnInfo s = Info(kServerPid, 8, Role::kServer, 6379, 41000);
  f.Open(c, 100);
  f.Open(s, 105);
  f.Write(c, 0, 90, 1000, 11);  // three commands in one write
  std::vector<Message> server_msgs = {Redis(s, 0, 21, 1010, 1020), Redis(s, 30, 21, 1010, 1030),
                                      Redis(s, 60, 21, 1010, 1040)};
  std::vector<Message> client_msgs = {Redis(c, 0, 11, 1000, 1050), Redis(c, 30, 11, 1000, 1050),
                                      Redis(c, 60, 11, 1000, 1050)};
  // Server and client messages drained in the same round, clients first.
  std::vector<Message> all = client_msgs;
  all.insert(all.end(), server_msgs.begin(), server_msgs.end());
  std::vector<Span> spans = f.Emit({}, all);
  for (int i = 0; i < 3; ++i) ExpectChild(spans[3 + i], spans[i]);
  EXPECT_NE(spans[0].span_id, spans[1].span_id);
  EXPECT_EQ(f.stitch.stats().stitched, 3u);
}

TEST(ConnStitch, ClientBuiltBeforeServerDecidedIsTakenAsItIs) {
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 41000, 6379);
  ConnInfo s = Info(kServerPid, 8, Role::kServer, 6379, 41000);
  f.Open(c, 100);
  f.Open(s, 105);
  f.Write(c, 0, 30, 1000, 11);
  Span client = f.Emit({}, {Redis(c, 0, 11, 1000, 1050)})[0];
  Span server = f.Emit({}, {Redis(s, 0, 21, 1010, 1040)})[0];
  ExpectChild(server, client);
}

TEST(ConnStitch, PostgresStatementsOfOneQueryPairByIndex) {
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 42000, 5432);
  ConnInfo s = Info(kServerPid, 8, Role::kServer, 5432, 42000);
  f.Open(c, 100);
  f.Open(s, 105);
  f.Write(c, 0, 40, 900, 11);     // startup
  f.Write(c, 200, 60, 1000, 11);  // "BEGIN; SELECT 1" in one Query
  std::vector<Span> spans = f.Emit({}, {Pg(s, 200, 0, 21, 1010, 1020), Pg(s, 200, 1, 21, 1020, 1030),
                                        Pg(c, 200, 0, 11, 1000, 1040), Pg(c, 200, 1, 11, 1000, 1040)});
  ExpectChild(spans[0], spans[2]);
  ExpectChild(spans[1], spans[3]);
}

TEST(ConnStitch, Http2ByHeadersFramePositionAndStream) {
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 43000, 50051);
  ConnInfo s = Info(kServerPid, 8, Role::kServer, 50051, 43000);
  f.Open(c, 100);
  f.Open(s, 105);
  f.Write(c, 0, 24 + 9 + 18, 900, 11);  // preface, SETTINGS
  f.Write(c, 51, 100, 1000, 12);        // HEADERS + DATA of stream 1
  f.Write(c, 151, 100, 1001, 13);       // stream 3
  std::vector<Span> spans = f.Emit({}, {H2(s, 151, 3, 21, 1010, 1050), H2(s, 51, 1, 22, 1010, 1060),
                                        H2(c, 151, 3, 13, 1001, 1070), H2(c, 51, 1, 12, 1000, 1080)});
  ExpectChild(spans[0], spans[2]);
  ExpectChild(spans[1], spans[3]);
}

TEST(ConnStitch, Http2StreamMismatchIsNotStitched) {
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 43000, 50051);
  ConnInfo s = Info(kServerPid, 8, Role::kServer, 50051, 43000);
  f.Open(c, 100);
  f.Open(s, 105);
  f.Write(c, 51, 100, 1000, 12);
  std::vector<Span> spans = f.Emit({}, {H2(s, 51, 1, 21, 1010, 1050)});
  Span client = f.Emit({}, {H2(c, 51, 3, 12, 1000, 1080)})[0];
  EXPECT_NE(client.span_id, spans[0].parent_span_id);
  EXPECT_EQ(Source(client), "none");
}

TEST(ConnStitch, ClientJoinedMidStreamIsNotStitched) {
  Fixture f;
  f.Open(ServerConn(), 110);  // the client's connect predates sonde: no open
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "none");
  EXPECT_TRUE(IsZero(server.parent_span_id));
  EXPECT_EQ(f.stitch.stats().stitched, 0u);
}

TEST(ConnStitch, ServerJoinedMidStreamIsNotStitched) {
  Fixture f;
  f.Open(ClientConn(), 100);  // the server's accept predates sonde
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  Span client = f.Emit({}, {Http(ClientConn(), 0, 11, 1000, 1150)})[0];
  EXPECT_EQ(Source(server), "none");
  EXPECT_NE(server.trace_id, client.trace_id);
  EXPECT_EQ(f.stitch.stats().not_aligned, 1u);
}

TEST(ConnStitch, ABusyConnectionsWritesOfOneBatchAreAllKept) {
  // 500 keep-alive requests captured before the agent drains them: the
  // server's decisions come after all the writes.
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  std::vector<Message> msgs;
  std::vector<RequestStart> starts;
  for (int i = 0; i < 500; ++i) {
    const uint64_t t = 1000 + i * 100;
    f.Write(ClientConn(), i * 50, 50, t, 11);
    msgs.push_back(Http(ServerConn(), i * 50, 21, t + 10, t + 50));
    starts.push_back(StartOf(msgs.back()));
  }
  for (int i = 0; i < 500; ++i) msgs.push_back(Http(ClientConn(), i * 50, 11, 1000 + i * 100, 1000 + i * 100 + 60));
  std::vector<Span> spans = f.Emit(starts, msgs);
  for (int i = 0; i < 500; ++i) ExpectChild(spans[i], spans[500 + i]);
  EXPECT_EQ(f.stitch.stats().no_client_bytes, 0u);
  EXPECT_EQ(f.stitch.reservations(), 0u);
}

TEST(ConnStitch, OldWritesBeyondTheWindowAreForgotten) {
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  for (int i = 0; i < 100; ++i) f.Write(ClientConn(), i * 50, 50, 1000 + i * 1'000'000'000ull, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "none");
  EXPECT_EQ(f.stitch.stats().no_client_bytes, 1u);
  // Its CLIENT span is built as usual, and nothing is kept for it.
  Span client = f.Emit({}, {Http(ClientConn(), 0, 11, 1000, 1150)})[0];
  EXPECT_EQ(Source(client), "none");
}

TEST(ConnStitch, UnseenClientBytesAreNotGuessed) {
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 80, 21, 2010, 2100);  // the write at 80 was not captured
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "none");
  EXPECT_EQ(f.stitch.stats().no_client_bytes, 1u);
}

TEST(ConnStitch, TwoLiveClientsWithTheTupleAreAmbiguous) {
  // The same addresses in two network namespaces, both traced.
  Fixture f;
  f.Open(ClientConn(3), 100);
  f.Open(Info(kClientPid + 1, 3, Role::kClient, 40000, 8080), 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(3), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "none");
  EXPECT_EQ(f.stitch.stats().ambiguous, 1u);
}

TEST(ConnStitch, LoopbackPairsOnlyWithinOneNetworkNamespace) {
  // Two containers, each with its own 127.0.0.1:40000 -> 127.0.0.1:8080.
  Fixture f;
  f.stitch.SetNetnsLookup([](uint32_t pid) -> uint64_t { return pid == kClientPid + 1 ? 2 : 1; });
  ConnInfo other = Info(kClientPid + 1, 3, Role::kClient, 40000, 8080);
  f.Open(ClientConn(3), 100);
  f.Open(other, 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(3), 0, 80, 1000, 11);
  f.Write(other, 0, 80, 1000, 12);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  Span client = f.Emit({}, {Http(ClientConn(3), 0, 11, 1000, 1150)})[0];
  ExpectChild(server, client);
  EXPECT_EQ(f.stitch.stats().ambiguous, 0u);
}

TEST(ConnStitch, LoopbackInAnotherNamespaceAloneIsNoPeer) {
  Fixture f;
  f.stitch.SetNetnsLookup([](uint32_t pid) -> uint64_t { return pid; });
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "none");
}

TEST(ConnStitch, PodAddressesPairAcrossNamespaces) {
  Fixture f;
  f.stitch.SetNetnsLookup([](uint32_t pid) -> uint64_t { return pid; });
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 40000, 8080, "10.1.0.5");
  c.peer_addr = "10.1.0.6";
  ConnInfo s = Info(kServerPid, 7, Role::kServer, 8080, 40000, "10.1.0.6");
  s.peer_addr = "10.1.0.5";
  f.Open(c, 100);
  f.Open(s, 110);
  f.Write(c, 0, 80, 1000, 11);
  Message sm = Http(s, 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  Span client = f.Emit({}, {Http(c, 0, 11, 1000, 1150)})[0];
  ExpectChild(server, client);
}

TEST(ConnStitch, EarlierConnectionWithTheSamePortsIsNotAPeer) {
  Fixture f;
  f.Open(ClientConn(3), 100);
  f.Write(ClientConn(3), 0, 80, 150, 11);
  f.stitch.OnClose(ClientConn(3).key, 200);
  f.Open(ClientConn(4), 300);  // the port is reused by a new connection
  f.Open(ServerConn(), 310);
  f.Write(ClientConn(4), 0, 80, 1000, 12);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  Span client = f.Emit({}, {Http(ClientConn(4), 0, 12, 1000, 1150)})[0];
  ExpectChild(server, client);
}

TEST(ConnStitch, IncomingTraceparentWins) {
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(), 0, 140, 1000, 11);
  HeaderList tp = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100, tp);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "header");
  EXPECT_EQ(ToHex(server.trace_id), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(f.stitch.stats().header_wins, 1u);
  EXPECT_EQ(f.stitch.stats().stitched, 0u);
}

TEST(ConnStitch, TlsIsNotStitched) {
  Fixture f;
  ConnInfo c = ClientConn();
  f.Open(c, 100);
  f.Open(ServerConn(), 110);
  c.tls = true;
  f.Write(c, 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  std::get<HttpExchange>(sm.payload).request.method = "GET";
  sm.conn.tls = true;
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "none");
  EXPECT_EQ(f.stitch.stats().not_aligned, 1u);
}

TEST(ConnStitch, UnclaimedReservationsExpire) {
  Fixture f;
  f.Open(ClientConn(), 100);
  f.Open(ServerConn(), 110);
  f.Write(ClientConn(), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  f.Emit({StartOf(sm)}, {sm});
  EXPECT_EQ(f.stitch.reservations(), 1u);
  f.stitch.Expire(1000 + 61'000'000'000ull);
  EXPECT_EQ(f.stitch.reservations(), 0u);
  EXPECT_EQ(f.stitch.stats().expired, 1u);
  f.stitch.OnClose(ClientConn().key, 2000);
  f.stitch.OnClose(ServerConn().key, 2000);
  f.stitch.Expire(2000 + 31'000'000'000ull + 61'000'000'000ull);
  EXPECT_EQ(f.stitch.connections(), 0u);
}

TEST(ConnStitch, ProcessExitClosesItsConnections) {
  Fixture f;
  f.Open(ClientConn(), 100);
  f.stitch.OnProcessExit(kClientPid, 500);
  f.Open(ClientConn(4), 600);  // same ports, after the old process's end
  f.Open(ServerConn(), 610);
  f.Write(ClientConn(4), 0, 80, 1000, 12);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  EXPECT_EQ(Source(server), "connection");
}

TEST(ConnStitch, ForkedServerContinuesTheAcceptedConnection) {
  // A PostgreSQL backend: the postmaster accepts, forks, and the child
  // reads the socket from its first byte (the kernel knows it as the
  // child's, first seen through data, role inferred).
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 42000, 5432);
  ConnInfo accepted = Info(kServerPid, 9, Role::kServer, 5432, 42000);
  ConnInfo backend = Info(kServerPid + 1, 9, Role::kServer, 5432, 42000);
  backend.role_inferred = true;
  f.Open(c, 100);
  f.Open(accepted, 105);
  f.stitch.OnClose(accepted.key, 120);  // the postmaster closes its copy
  f.Write(c, 0, 40, 130, 11);
  f.stitch.OnData(backend, Direction::kIngress, Chunk(0, 40, 131, 31));
  f.Write(c, 40, 30, 1000, 11);
  f.stitch.OnData(backend, Direction::kIngress, Chunk(40, 30, 1001, 31));
  std::vector<Span> spans = f.Emit({}, {Pg(backend, 40, 0, 31, 1001, 1020), Pg(c, 40, 0, 11, 1000, 1030)});
  ExpectChild(spans[0], spans[1]);
}

TEST(ConnStitch, ForkedSocketAfterTheOpenerMovedBytesIsNotAligned) {
  Fixture f;
  ConnInfo c = Info(kClientPid, 3, Role::kClient, 42000, 5432);
  ConnInfo accepted = Info(kServerPid, 9, Role::kServer, 5432, 42000);
  ConnInfo child = Info(kServerPid + 1, 9, Role::kServer, 5432, 42000);
  f.Open(c, 100);
  f.Open(accepted, 105);
  f.Write(c, 0, 40, 130, 11);
  f.stitch.OnData(accepted, Direction::kIngress, Chunk(0, 40, 131, 21));  // the opener read first
  f.Write(c, 40, 30, 1000, 11);
  f.stitch.OnData(child, Direction::kIngress, Chunk(0, 30, 1001, 31));  // the child's own count
  std::vector<Span> spans = f.Emit({}, {Pg(child, 0, 0, 31, 1001, 1020), Pg(c, 40, 0, 11, 1000, 1030)});
  EXPECT_EQ(Source(spans[0]), "none");
  EXPECT_NE(spans[0].trace_id, spans[1].trace_id);
}

TEST(ConnStitch, ShortConnectionsStitchPastTheTableSizeByForgettingOldClosedOnes) {
  // A front end that opens a connection per request: the closed records,
  // kept for late decisions, must not fill the table so that new
  // connections are no longer stitched.
  ConnStitchOptions opts;
  opts.max_connections = 8;
  Fixture f(opts);
  for (int i = 0; i < 40; ++i) {
    const uint16_t port = static_cast<uint16_t>(41000 + i);
    const uint64_t t = 1000 + i * 1000;
    ConnInfo client = ClientConn(100 + i, port), server = ServerConn(200 + i, port);
    f.Open(client, t);
    f.Open(server, t + 5);
    f.Write(client, 0, 80, t + 10, 11);
    Message sm = Http(server, 0, 21, t + 20, t + 100);
    Span s = f.Emit({StartOf(sm)}, {sm})[0];
    Span c = f.Emit({}, {Http(client, 0, 11, t + 10, t + 150)})[0];
    ExpectChild(s, c);
    f.stitch.OnClose(client.key, t + 200);
    f.stitch.OnClose(server.key, t + 210);
  }
  EXPECT_EQ(f.stitch.stats().stitched, 40u);
  EXPECT_EQ(f.stitch.stats().dropped, 0u);
  EXPECT_EQ(f.stitch.stats().evicted, 72u);  // every pair but the last four
  EXPECT_LE(f.stitch.connections(), 8u);
}

TEST(ConnStitch, OpenConnectionsAreNeverForgottenForNewOnes) {
  ConnStitchOptions opts;
  opts.max_connections = 2;
  Fixture f(opts);
  f.Open(ClientConn(3, 40000), 100);
  f.Open(ServerConn(7, 40000), 110);
  f.Open(ClientConn(4, 40001), 120);  // no room: not recorded, counted
  EXPECT_EQ(f.stitch.stats().dropped, 1u);
  EXPECT_EQ(f.stitch.stats().evicted, 0u);
  f.Write(ClientConn(3, 40000), 0, 80, 1000, 11);
  Message sm = Http(ServerConn(7, 40000), 0, 21, 1010, 1100);
  EXPECT_EQ(Source(f.Emit({StartOf(sm)}, {sm})[0]), "connection");
}

}  // namespace
}  // namespace sonde
