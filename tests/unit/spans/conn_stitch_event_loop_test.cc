// Same-host stitching of calls made on an event loop: the reservation asks
// the event-loop rule (AsyncLinks, through SetLoopParentLookup) which request
// the callback that wrote the call served.
#include "conn_stitch_fixture.h"

namespace sonde {
namespace {

using namespace stitch_test;

TEST(ConnStitch, AnEventLoopsCallTakesTheParentItsCallbackNames) {
  // The client runs an event loop with two requests in flight on one thread
  // (the thread rule finds no parent); the callback that wrote the call
  // names the second one, and the lookup says so before the span is built.
  Fixture f;
  ConnInfo front_a = Info(kClientPid, 4, Role::kServer, 9000, 33000);
  ConnInfo front_b = Info(kClientPid, 5, Role::kServer, 9000, 33001);
  f.Emit({RequestStart{front_a, 11, 900, {}, 0}, RequestStart{front_b, 11, 910, {}, 0}}, {});
  constexpr uint64_t kCallback = (1ull << 63) | 910;
  std::vector<std::pair<uint32_t, uint64_t>> asked;
  f.stitch.SetLoopParentLookup([&](const ConnKey& call, uint32_t tid, uint64_t ctx) {
    asked.emplace_back(tid, ctx);
    EXPECT_EQ(call, ClientConn().key);
    LoopParent p;
    p.decided = true;
    p.request = *f.links.IdentityOf(front_b.key, 11, 910);
    // That request is itself stitched: it has a parent whose sampled flag
    // is not known (no traceparent came in).
    p.request->parent_id = SpanId{1};
    return p;
  });
  f.Open(ClientConn(), 950);
  f.Open(ServerConn(), 960);
  f.stitch.OnData(ClientConn(), Direction::kEgress, Chunk(0, 80, 1000, 11), kCallback);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  Span server = f.Emit({StartOf(sm)}, {sm})[0];
  Span client;
  client.attributes = {{"sonde.parent.source", AttrValue(std::string("none"))}};
  ConnStitch::Result r = f.stitch.AdoptClient(Http(ClientConn(), 0, 11, 1000, 1150), &client);
  ASSERT_TRUE(r.applied);
  EXPECT_TRUE(r.thread_linked);
  EXPECT_FALSE(r.parent_sampled.has_value()) << "the trace's own decision applies, not 'not sampled'";
  Span b = f.Emit({}, {Http(front_b, 0, 11, 910, 1200)})[0];
  ExpectChild(server, client);
  EXPECT_EQ(client.parent_span_id, b.span_id);
  EXPECT_EQ(client.trace_id, b.trace_id) << "the callee joins the trace of the request the callback served";
  EXPECT_EQ(Source(client), "async_task");
  ASSERT_TRUE(r.parent_request.has_value()) << "what its reply's callbacks continue";
  EXPECT_EQ(r.parent_request->span_id, b.span_id);
  EXPECT_EQ(asked, (std::vector<std::pair<uint32_t, uint64_t>>{{11, kCallback}}));
  EXPECT_EQ(f.stitch.stats().loop_linked, 1u);
}

// The client is an event loop handling one request (read at 900 on thread
// 11, the front connection); the event-loop lookup answers `answer` for its
// call, written at 1000 in a callback. Returns the front request's, the
// call's and the callee's spans.
struct LoopCall {
  Span front, client, server;
};
LoopCall RunLoopCall(Fixture& f, LoopParent answer) {
  ConnInfo front = Info(kClientPid, 4, Role::kServer, 9000, 33000);
  f.Emit({RequestStart{front, 11, 900, {}, 0}}, {});
  f.stitch.SetLoopParentLookup([answer](const ConnKey&, uint32_t, uint64_t) { return answer; });
  f.Open(ClientConn(), 950);
  f.Open(ServerConn(), 960);
  f.stitch.OnData(ClientConn(), Direction::kEgress, Chunk(0, 80, 1000, 11), (1ull << 63) | 500);
  Message sm = Http(ServerConn(), 0, 21, 1010, 1100);
  LoopCall out;
  out.server = f.Emit({StartOf(sm)}, {sm})[0];
  out.client = f.Build(Http(ClientConn(), 0, 11, 1000, 1150));
  out.front = f.Emit({}, {Http(front, 0, 11, 900, 1200)})[0];
  return out;
}

TEST(ConnStitch, AnEventLoopsCallWithoutADecisionFallsBackToTheThreadRule) {
  Fixture f;
  LoopCall c = RunLoopCall(f, LoopParent{});
  ExpectChild(c.server, c.client);
  EXPECT_EQ(c.client.parent_span_id, c.front.span_id);
  EXPECT_EQ(Source(c.client), "thread");
  EXPECT_EQ(f.stitch.stats().loop_undecided, 1u);
}

TEST(ConnStitch, AnEventLoopsCallDecidedWithoutParentStartsATrace) {
  // One request in flight, so the thread rule would name it; the callback
  // says the call's request is unknown: no parent, not the thread's guess.
  Fixture f;
  LoopCall c = RunLoopCall(f, LoopParent{true, std::nullopt});
  ExpectChild(c.server, c.client);
  EXPECT_TRUE(IsZero(c.client.parent_span_id));
  EXPECT_EQ(Source(c.client), "none");
  EXPECT_EQ(f.stitch.stats().loop_unlinked, 1u);
}

}  // namespace
}  // namespace sonde
