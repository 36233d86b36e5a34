// In-process links for event loops (spans/async_links.h), from messages and
// data-event contexts as the agent feeds them: which CLIENT spans get which
// SERVER span as parent, when they are released, and when none is given.
#include "spans/async_links.h"

#include <gtest/gtest.h>

#include "spans/trace_context.h"

namespace sonde {
namespace {

constexpr uint32_t kPid = 42;
constexpr uint32_t kLoop = 101;  // the event loop's thread
constexpr uint64_t kLoopCtx = 0x7000;  // the reader callback's context

ConnInfo Conn(Role role, int fd) {
  ConnInfo c;
  c.key = ConnKey{kPid, 1000, fd, static_cast<uint32_t>(fd)};
  c.role = role;
  return c;
}

// An HTTP/1 exchange on `conn` made by thread `tid`: the request at
// `req_at`, the response from `resp_at` to `end`.
Message HttpMessage(const ConnInfo& conn, uint32_t tid, uint64_t req_at, uint64_t resp_at, uint64_t end) {
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.tid = tid;
  ex.request.start_ns = req_at;
  ex.request.end_ns = req_at;
  HttpResponse r;
  r.tid = tid;
  r.start_ns = resp_at;
  r.end_ns = end;
  ex.response = r;
  return Message{conn, ex};
}

std::string Source(const Span& s) { return std::get<std::string>(*FindAttr(s.attributes, "sonde.parent.source")); }

// The agent's side of both link kinds, for one process.
class Loop {
 public:
  Loop() : threads_(&ids_), links_(&threads_, Opts()) {}

  static AsyncLinks::Options Opts() {
    AsyncLinks::Options o;
    o.max_held = 4;
    o.max_hold_ns = 1'000'000;
    return o;
  }

  // A request read on `fd` at `at` in context `ctx`.
  void Read(int fd, uint64_t at, uint64_t ctx = kLoopCtx, uint32_t tid = kLoop) {
    links_.OnData(Conn(Role::kServer, fd).key, Direction::kIngress, at, ctx);
    threads_.OnServerRequest(RequestStart{Conn(Role::kServer, fd), tid, at, {}});
  }
  // Its response written from `resp_at` (context `ctx`) to `end`; the
  // server exchange is decoded: returns its span.
  Span Answer(int fd, uint64_t read_at, uint64_t resp_at, uint64_t end, uint64_t ctx, uint32_t tid = kLoop) {
    links_.OnData(Conn(Role::kServer, fd).key, Direction::kEgress, resp_at, ctx);
    Message m = HttpMessage(Conn(Role::kServer, fd), tid, read_at, resp_at, end);
    threads_.OnServerDone(m.conn.key, tid, read_at, end);
    links_.OnServerDone(m);
    Span s;
    s.attributes.push_back({"sonde.parent.source", AttrValue(std::string("none"))});
    threads_.Apply(m, tid, read_at, &s);
    return s;
  }
  // A Redis call written on `fd` at `at` in context `ctx`, answered at
  // `end`; returns whether its span was held.
  bool Call(int fd, uint64_t at, uint64_t end, uint64_t ctx, std::string_view source = "none",
            uint32_t tid = kLoop) {
    if (ctx) links_.OnData(Conn(Role::kClient, fd).key, Direction::kEgress, at, ctx);
    RedisExchange ex;
    ex.command.tid = tid;
    ex.command.start_ns = at;
    ex.command.end_ns = at;
    RedisReply r;
    r.end_ns = end;
    ex.reply = r;
    Span s;
    s.name = "call@" + std::to_string(at);
    s.trace_id = TraceId{9};
    s.span_id = SpanId{static_cast<uint8_t>(fd)};
    s.attributes.push_back({"sonde.parent.source", AttrValue(std::string(source))});
    return links_.Hold(Message{Conn(Role::kClient, fd), ex}, &s, at);
  }
  std::vector<AsyncLinks::Released> Release(uint64_t now = 0, bool all = false) {
    std::vector<AsyncLinks::Released> out;
    links_.Release(now, &out, all);
    return out;
  }

  IdGenerator ids_;
  ThreadLinks threads_;
  AsyncLinks links_;
};

TEST(AsyncLinks, ConcurrentRequestsOnOneLoopAreToldApartByTheirTasks) {
  Loop loop;
  loop.Read(5, 1000);
  loop.Read(6, 1050);
  // Two tasks (contexts 0xA and 0xB) call out while both requests are open:
  // by thread alone this is ambiguous.
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xB));
  EXPECT_TRUE(loop.Call(8, 1150, 1250, 0xA));
  EXPECT_TRUE(loop.Release().empty()) << "the requests that could have made them are open";
  Span a = loop.Answer(5, 1000, 1300, 1310, 0xA);
  EXPECT_TRUE(loop.Release().empty()) << "request 6 is still open and was read before both calls";
  Span b = loop.Answer(6, 1050, 1400, 1410, 0xB);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].span.name, "call@1100");
  EXPECT_EQ(out[0].span.parent_span_id, b.span_id);
  EXPECT_EQ(out[0].span.trace_id, b.trace_id);
  EXPECT_EQ(out[1].span.parent_span_id, a.span_id);
  EXPECT_EQ(out[1].span.trace_id, a.trace_id);
  for (const auto& r : out) {
    EXPECT_TRUE(r.parent_linked);
    EXPECT_FALSE(r.parent_sampled.has_value()) << "no traceparent came in";
    EXPECT_EQ(Source(r.span), "async_task");
  }
  EXPECT_EQ(loop.links_.stats().linked_task, 2u);
}

TEST(AsyncLinks, ACallIsReleasedOnceNoEarlierRequestOfItsThreadIsOpen) {
  Loop loop;
  loop.Read(5, 1000);
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xA));
  loop.Read(6, 1150);  // read after the call: cannot have made it
  Span a = loop.Answer(5, 1000, 1300, 1310, 0xA);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].span.parent_span_id, a.span_id);
}

TEST(AsyncLinks, ACallFromAnotherTaskGetsNoParent) {
  Loop loop;
  loop.Read(5, 1000);
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xC));  // a background task, or one the handler spawned
  loop.Answer(5, 1000, 1300, 1310, 0xA);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked);
  EXPECT_EQ(Source(out[0].span), "none");
  EXPECT_EQ(out[0].span.trace_id, TraceId{9}) << "left as built";
  EXPECT_EQ(loop.links_.stats().no_match, 1u);
}

TEST(AsyncLinks, ACallOutsideTheRequestsIntervalGetsNoParent) {
  Loop loop;
  loop.Read(5, 1000);
  loop.Answer(5, 1000, 1300, 1310, 0xA);
  EXPECT_TRUE(loop.Call(7, 1400, 1500, 0xA));  // the context's task ended; its address may be reused
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked);
}

TEST(AsyncLinks, AReusedContextAddressLinksToTheRequestAliveAtTheCall) {
  Loop loop;
  loop.Read(5, 1000);
  loop.Answer(5, 1000, 1300, 1310, 0xA);
  loop.Read(5, 2000);
  EXPECT_TRUE(loop.Call(7, 2100, 2200, 0xA));
  Span second = loop.Answer(5, 2000, 2300, 2310, 0xA);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].span.parent_span_id, second.span_id);
}

TEST(AsyncLinks, AContextSeenOnTwoOpenRequestsIsAmbiguous) {
  Loop loop;
  // Two responses written from the same context (the loop's writer
  // callback after the transport buffered them): never a task's own.
  loop.Read(5, 1000);
  loop.Read(6, 1010);
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xD));
  loop.Answer(5, 1000, 1300, 1310, 0xD);
  loop.Answer(6, 1010, 1320, 1330, 0xD);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked);
  EXPECT_EQ(loop.links_.stats().ambiguous, 1u);
}

TEST(AsyncLinks, AThreadThatKeepsOneContextIsLinkedAsThread) {
  Loop loop;
  // A thread-per-request server whose thread has one Context for its life:
  // the request was read in the context it was answered in.
  loop.Read(5, 1000, 0xE, 202);
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xE, "none", 202));
  Span s = loop.Answer(5, 1000, 1300, 1310, 0xE, 202);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].span.parent_span_id, s.span_id);
  EXPECT_EQ(Source(out[0].span), "thread");
  EXPECT_EQ(loop.links_.stats().linked_thread, 1u);
}

TEST(AsyncLinks, OtherThreadsDoNotMatch) {
  Loop loop;
  loop.Read(5, 1000);
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xA, "none", 303));
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u) << "thread 303 handles no request: decided at once";
  loop.Answer(5, 1000, 1300, 1310, 0xA);
  EXPECT_FALSE(out[0].parent_linked);
}

TEST(AsyncLinks, CallsWithoutAKnownContextOrWithTheirOwnParentAreNotHeld) {
  Loop loop;
  loop.Read(5, 1000);
  EXPECT_FALSE(loop.Call(7, 1100, 1200, 0)) << "no context logged for its write";
  EXPECT_FALSE(loop.Call(8, 1100, 1200, 0xA, "header")) << "an instrumented client's own traceparent";
  EXPECT_EQ(loop.links_.held(), 0u);
}

TEST(AsyncLinks, ATraceparentsSampledFlagReachesTheChild) {
  Loop loop;
  loop.links_.OnData(Conn(Role::kServer, 5).key, Direction::kIngress, 1000, kLoopCtx);
  loop.threads_.OnServerRequest(RequestStart{
      Conn(Role::kServer, 5), kLoop, 1000, {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}}});
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xA));
  loop.Answer(5, 1000, 1300, 1310, 0xA);
  auto out = loop.Release();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].parent_sampled.has_value());
  EXPECT_FALSE(*out[0].parent_sampled);
}

TEST(AsyncLinks, HeldSpansAreBoundedInTimeAndNumber) {
  Loop loop;
  loop.Read(5, 1000);  // never answered
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xA));
  EXPECT_TRUE(loop.Release(1100 + 500'000).empty());
  auto out = loop.Release(1100 + 2'000'000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked);
  EXPECT_EQ(loop.links_.stats().timed_out, 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(loop.Call(10 + i, 3000 + i, 3100, 0xA));
  out = loop.Release(3000);
  ASSERT_EQ(out.size(), 1u) << "the oldest was pushed out";
  EXPECT_EQ(out[0].span.name, "call@3000");
  EXPECT_EQ(loop.links_.stats().overflow, 1u);
  out = loop.Release(3000, /*all=*/true);
  EXPECT_EQ(out.size(), 4u);
}

TEST(AsyncLinks, ClosedConnectionsKeepTheirContextsForTheirLastMessages) {
  Loop loop;
  loop.Read(5, 1000);
  loop.links_.OnData(Conn(Role::kClient, 7).key, Direction::kEgress, 1100, 0xA);
  loop.links_.OnClose(Conn(Role::kClient, 7).key, 1250);
  EXPECT_TRUE(loop.Call(7, 1100, 1200, 0xA));
  loop.links_.Expire(1250 + 10'000'000'000ull);
  EXPECT_FALSE(loop.Call(7, 1100, 1200, 0)) << "forgotten once expired";
}

// ---- Node.js: contexts name the read whose callback made the syscall ----

constexpr uint64_t kNodeRead = 1ull << 63;  // SONDE_ASYNC_CTX_NODE_READ

// A Node process: every read is logged; a call's context is the read its
// callback handles.
class NodeLoop : public Loop {
 public:
  // A request arrives on server connection `fd` at `at`.
  void Request(int fd, uint64_t at) {
    links_.OnNodeRead(Conn(Role::kServer, fd), at, kLoop);
    threads_.OnServerRequest(RequestStart{Conn(Role::kServer, fd), kLoop, at, {}});
  }
  // A reply read on client connection `fd` at `at`.
  void Reply(int fd, uint64_t at) { links_.OnNodeRead(Conn(Role::kClient, fd), at, kLoop); }
  // A call on `fd` written at `at` inside the callback of the read at
  // `trigger` (0: outside any callback), its reply read at `end`.
  bool CallIn(uint64_t trigger, int fd, uint64_t at, uint64_t end) {
    return Call(fd, at, end, trigger ? (kNodeRead | trigger) : 0);
  }
  // An HTTP/1 call on `fd` (a connection that carries one request at a
  // time), written at `at` in the callback of the read at `trigger`.
  static Message HttpCall(int fd, uint64_t at, uint64_t end) {
    return HttpMessage(Conn(Role::kClient, fd), kLoop, at, end, end);
  }
  bool HttpCallIn(uint64_t trigger, int fd, uint64_t at, uint64_t end) {
    links_.OnData(Conn(Role::kClient, fd).key, Direction::kEgress, at, kNodeRead | trigger);
    Span s;
    s.name = "http@" + std::to_string(at);
    s.attributes.push_back({"sonde.parent.source", AttrValue(std::string("none"))});
    return links_.Hold(HttpCall(fd, at, end), &s, at);
  }
  const ServerIdentity& RequestId(int fd, uint64_t at) { return *threads_.IdentityOf(Conn(Role::kServer, fd).key, kLoop, at); }
};

TEST(AsyncLinksNode, CallsFollowTheReadsTheirCallbacksHandle) {
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Request(6, 1010);
  // Each request's handler calls Redis on its own connection from the
  // request's callback, then, from the reply's callback, calls again.
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  EXPECT_TRUE(loop.CallIn(1010, 21, 1011, 1110));
  loop.Reply(20, 1100);
  loop.Reply(21, 1110);
  EXPECT_TRUE(loop.CallIn(1110, 22, 1111, 1200));  // request 6's second call
  EXPECT_TRUE(loop.CallIn(1100, 23, 1101, 1210));  // request 5's second call
  auto out = loop.Release(2000);
  ASSERT_EQ(out.size(), 4u);
  Span s5 = loop.Answer(5, 1000, 1300, 1310, 0);
  Span s6 = loop.Answer(6, 1010, 1320, 1330, 0);
  EXPECT_EQ(out[0].span.parent_span_id, s5.span_id);
  EXPECT_EQ(out[1].span.parent_span_id, s6.span_id);
  EXPECT_EQ(out[2].span.parent_span_id, s6.span_id);
  EXPECT_EQ(out[3].span.parent_span_id, s5.span_id);
  for (const auto& r : out) EXPECT_EQ(Source(r.span), "async_task");
}

TEST(AsyncLinksNode, AReadCompletingCallsOfTwoRequestsLinksNothingAfterIt) {
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Request(6, 1010);
  // One shared connection: both calls' replies arrive in one read.
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  EXPECT_TRUE(loop.CallIn(1010, 20, 1011, 1100));
  loop.Reply(20, 1100);
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 1200));
  auto out = loop.Release(2000);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].parent_linked);
  EXPECT_TRUE(out[1].parent_linked);
  EXPECT_FALSE(out[2].parent_linked);
  EXPECT_EQ(loop.links_.stats().ambiguous, 1u);
}

TEST(AsyncLinksNode, ACallWaitsForTheCallWhoseReplyItsCallbackHandled) {
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Reply(20, 1100);  // read before the call that it answers is decoded
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 1200));
  EXPECT_TRUE(loop.Release(1200).empty()) << "its reply's call is not known yet";
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  auto out = loop.Release(1300);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].parent_linked);
  EXPECT_TRUE(out[1].parent_linked);
  EXPECT_EQ(out[0].span.parent_span_id, out[1].span.parent_span_id);
}

TEST(AsyncLinksNode, CallsOutsideCallbacksOrAfterUnknownReadsGetNoParent) {
  NodeLoop loop;
  loop.Request(5, 1000);
  EXPECT_FALSE(loop.CallIn(0, 20, 1001, 1100)) << "a timer's callback: no read, not held";
  loop.Reply(20, 1100);
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 1200)) << "follows a call that has no parent";
  EXPECT_TRUE(loop.CallIn(999, 22, 1102, 1200)) << "a read sonde did not see";
  auto out = loop.Release(2000);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].parent_linked);
  EXPECT_FALSE(out[1].parent_linked);
}

TEST(AsyncLinksNode, AReplyThatMakesNoSpanIsWaitedForBoundedly) {
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Reply(20, 1100);  // e.g. PostgreSQL's startup answer: no call decoded
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 1200));
  EXPECT_TRUE(loop.Release(1200).empty());
  auto out = loop.Release(1200 + 2'000'000'000ull);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked);
}

TEST(AsyncLinksNode, ReadsOfIdleThreadsAreForgotten) {
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.links_.Expire(1000 + 60'000'000'000ull);
  EXPECT_FALSE(loop.CallIn(0, 20, 1001, 1100)) << "not held";
  EXPECT_TRUE(loop.CallIn(1000, 21, 1002, 1100)) << "held: its context names a read";
  auto out = loop.Release(2000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked) << "the read it names was forgotten";
}

TEST(AsyncLinksNode, APooledConnectionHandedOnInAReplysCallbackLinksNothing) {
  // An http.Agent with maxSockets (or pg-pool) hands the connection whose
  // reply request 5's callback read to request 6, which was waiting: request
  // 6's call is written from request 5's callback, on that connection.
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Request(6, 1010);
  EXPECT_TRUE(loop.HttpCallIn(1000, 20, 1001, 1100));
  loop.Reply(20, 1100);
  EXPECT_TRUE(loop.HttpCallIn(1100, 20, 1101, 1200)) << "request 6's, handed the freed connection";
  EXPECT_TRUE(loop.CallIn(1100, 21, 1102, 1210)) << "request 5's own next call, on another connection";
  auto out = loop.Release(2000);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].span.parent_span_id, loop.RequestId(5, 1000).span_id);
  EXPECT_FALSE(out[1].parent_linked) << "which request waited for the connection is not known";
  EXPECT_EQ(out[2].span.parent_span_id, loop.RequestId(5, 1000).span_id);
  EXPECT_EQ(loop.links_.stats().ambiguous, 1u);
}

TEST(AsyncLinksNode, ARedisConnectionsNextCommandInItsReplysCallbackIsLinked) {
  // A multiplexed connection (ioredis) is not handed from request to
  // request: the next command from the reply's callback is the request's.
  NodeLoop loop;
  loop.Request(5, 1000);
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  loop.Reply(20, 1100);
  EXPECT_TRUE(loop.CallIn(1100, 20, 1101, 1200));
  auto out = loop.Release(2000);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].span.parent_span_id, loop.RequestId(5, 1000).span_id);
}

TEST(AsyncLinksNode, ParentNowDecidesFromTheCallbacksReadWhenItCan) {
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Request(6, 1010);
  const ConnKey call = Conn(Role::kClient, 30).key;
  LoopParent p = loop.links_.ParentNow(call, kLoop, kNodeRead | 1010);
  ASSERT_TRUE(p.decided);
  ASSERT_TRUE(p.request.has_value());
  EXPECT_EQ(p.request->span_id, loop.RequestId(6, 1010).span_id);
  EXPECT_FALSE(loop.links_.ParentNow(call, kLoop, kLoopCtx).decided) << "not a Node.js callback";
  p = loop.links_.ParentNow(call, kLoop, kNodeRead | 1100);
  EXPECT_TRUE(p.decided && !p.request) << "a read sonde did not see (it precedes the write that names it)";
  loop.Reply(20, 1100);
  EXPECT_FALSE(loop.links_.ParentNow(call, kLoop, kNodeRead | 1100).decided) << "its call is not decoded yet";
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  EXPECT_FALSE(loop.links_.ParentNow(call, kLoop, kNodeRead | 1100).decided) << "its call is not decided yet";
  ASSERT_EQ(loop.Release(2000).size(), 1u);
  p = loop.links_.ParentNow(call, kLoop, kNodeRead | 1100);
  ASSERT_TRUE(p.decided);
  ASSERT_TRUE(p.request.has_value());
  EXPECT_EQ(p.request->span_id, loop.RequestId(5, 1000).span_id);
}

TEST(AsyncLinksNode, ParentNowNamesNoRequestForAHandedOnConnection) {
  NodeLoop loop;
  loop.Request(5, 1000);
  EXPECT_TRUE(loop.HttpCallIn(1000, 20, 1001, 1100));
  loop.Reply(20, 1100);
  ASSERT_EQ(loop.Release(2000).size(), 1u);
  LoopParent p = loop.links_.ParentNow(Conn(Role::kClient, 20).key, kLoop, kNodeRead | 1100);
  EXPECT_TRUE(p.decided);
  EXPECT_FALSE(p.request.has_value());
}

TEST(AsyncLinksNode, ACallDecidedElsewhereIsContinuedByItsReplysCallbacks) {
  // A stitched call takes its reserved identity, not a held decision; the
  // calls its reply's callback makes follow its request, without waiting.
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.links_.OnCallDecided(NodeLoop::HttpCall(20, 1001, 1100), loop.RequestId(5, 1000));
  loop.Reply(20, 1100);
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 1200));
  auto out = loop.Release(1200);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].span.parent_span_id, loop.RequestId(5, 1000).span_id);
  loop.links_.OnCallDecided(NodeLoop::HttpCall(22, 1201, 1300), std::nullopt);
  loop.Reply(22, 1300);
  EXPECT_TRUE(loop.CallIn(1300, 23, 1301, 1400));
  out = loop.Release(1400);
  ASSERT_EQ(out.size(), 1u) << "decided at once: its reply's call had no parent";
  EXPECT_FALSE(out[0].parent_linked);
}

TEST(AsyncLinksNode, AReadWhoseCallsWereForgottenLinksNothing) {
  // One connection shared by every request (ioredis): one read completes a
  // call of request 5 and one of request 6. Many calls later, the record of
  // the first is dropped to bound the list; a call that read's callback
  // makes then (an HTTP call answered late, so decided late) must not take
  // request 6 for the only request left in the read.
  NodeLoop loop;
  loop.Request(5, 1000);
  loop.Request(6, 1010);
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  EXPECT_TRUE(loop.CallIn(1010, 20, 1011, 1100));
  ASSERT_EQ(loop.Release(1100).size(), 2u);
  loop.Reply(20, 1100);
  for (uint64_t i = 0; i < 4095; ++i) loop.CallIn(0, 20, 2000 + 2 * i, 2001 + 2 * i);
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 20000));
  auto out = loop.Release(20000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].parent_linked);
}

TEST(AsyncLinksNode, ACallDecidedAtOnceDoesNotTakeTheRecordOfAnotherCallOfTheSameRead) {
  // Two calls answered in one read: request 5's is held, the other (sent
  // outside any callback) is decided at once without parent. Each keeps its
  // own record, so the read's callback sees both: no parent.
  NodeLoop loop;
  loop.Request(5, 1000);
  EXPECT_TRUE(loop.CallIn(1000, 20, 1001, 1100));
  EXPECT_FALSE(loop.CallIn(0, 20, 1002, 1100));
  loop.Reply(20, 1100);
  EXPECT_TRUE(loop.CallIn(1100, 21, 1101, 1200));
  auto out = loop.Release(1300);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].parent_linked);
  EXPECT_FALSE(out[1].parent_linked);
}

}  // namespace
}  // namespace sonde
