// In-process links for thread-per-request servers: which CLIENT spans get
// which SERVER span as parent, and when none is given.
#include "spans/thread_links.h"

#include <gtest/gtest.h>

#include "spans/trace_context.h"

namespace sonde {
namespace {

constexpr uint32_t kPid = 42;

ConnInfo Conn(Role role, int fd) {
  ConnInfo c;
  c.key = ConnKey{kPid, 1000, fd, static_cast<uint32_t>(fd)};
  c.role = role;
  return c;
}

RequestStart Start(int fd, uint32_t tid, uint64_t at, HeaderList trace = {}) {
  return RequestStart{Conn(Role::kServer, fd), tid, at, std::move(trace)};
}

Message ServerMsg(int fd, uint32_t tid, uint64_t start, uint64_t end) {
  HttpExchange ex;
  ex.request.tid = tid;
  ex.request.start_ns = start;
  ex.request.end_ns = start;
  HttpResponse r;
  r.end_ns = end;
  ex.response = r;
  return Message{Conn(Role::kServer, fd), ex};
}

Message ClientMsg(int fd, uint32_t tid, uint64_t start, uint64_t end) {
  RedisExchange ex;
  ex.command.tid = tid;
  ex.command.start_ns = start;
  ex.command.end_ns = start;
  RedisReply r;
  r.end_ns = end;
  ex.reply = r;
  return Message{Conn(Role::kClient, fd), ex};
}

Span Built(std::string_view source = "none") {
  Span s;
  s.trace_id = TraceId{9};
  s.span_id = SpanId{9};
  s.attributes.push_back({"sonde.parent.source", AttrValue(std::string(source))});
  return s;
}

std::string Source(const Span& s) { return std::get<std::string>(*FindAttr(s.attributes, "sonde.parent.source")); }

// Builds `m`'s span and applies the links, as the agent does.
Span Link(ThreadLinks& links, const Message& m, std::string_view source = "none") {
  Span s = Built(source);
  MessageTiming t = TimingOf(m);
  links.Apply(m, t.tid, t.start_ns, &s);
  return s;
}

TEST(ThreadLinks, CallMadeWhileHandlingARequestIsItsChild) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  links.OnServerRequest(Start(5, 101, 1000));
  // The client call completes before the server's response: it is linked
  // to the identity chosen when the request was read.
  Span client = Link(links, ClientMsg(7, 101, 1100, 1200));
  Message server_msg = ServerMsg(5, 101, 1000, 1500);
  links.OnServerDone(server_msg.conn.key, 101, 1000, 1500);
  Span server = Link(links, server_msg);
  EXPECT_EQ(client.trace_id, server.trace_id);
  EXPECT_EQ(client.parent_span_id, server.span_id);
  EXPECT_TRUE(IsZero(server.parent_span_id));
  EXPECT_EQ(Source(client), "thread");
  EXPECT_EQ(Source(server), "none");
  EXPECT_EQ(links.stats().linked, 1u);
}

TEST(ThreadLinks, ServerIdentityContinuesTheIncomingTraceparent) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  HeaderList trace = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                      {"tracestate", "k=v"}};
  links.OnServerRequest(Start(5, 101, 1000, trace));
  Span client = Link(links, ClientMsg(7, 101, 1100, 1200));
  Span server = Link(links, ServerMsg(5, 101, 1000, 1500), "header");
  auto expected = ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(expected);
  EXPECT_EQ(server.trace_id, expected->trace_id);
  EXPECT_EQ(server.parent_span_id, expected->parent_id);
  EXPECT_EQ(server.trace_state, "k=v");
  EXPECT_EQ(client.trace_id, expected->trace_id);
  EXPECT_EQ(client.parent_span_id, server.span_id);
  // The parent's sampled flag comes from the header.
  Span again = Built();
  ThreadLinks::Linked l = links.Apply(ClientMsg(8, 101, 1300, 1400), 101, 1300, &again);
  EXPECT_TRUE(l.parent_linked);
  ASSERT_TRUE(l.parent_sampled.has_value());
  EXPECT_TRUE(*l.parent_sampled);
}

TEST(ThreadLinks, OtherThreadsAndCallsOutsideTheRequestGetNoParent) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  links.OnServerRequest(Start(5, 101, 1000));
  links.OnServerDone(Conn(Role::kServer, 5).key, 101, 1000, 1500);
  EXPECT_EQ(Source(Link(links, ClientMsg(7, 202, 1100, 1200))), "none") << "another thread";
  EXPECT_EQ(Source(Link(links, ClientMsg(7, 101, 900, 950))), "none") << "before the request";
  EXPECT_EQ(Source(Link(links, ClientMsg(7, 101, 1600, 1700))), "none") << "after the response";
}

TEST(ThreadLinks, KeepAliveSequenceLinksEachCallToItsOwnRequest) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  links.OnServerRequest(Start(5, 101, 1000));
  links.OnServerRequest(Start(5, 101, 2000));
  // Both server exchanges are known to have ended before the calls are linked.
  links.OnServerDone(Conn(Role::kServer, 5).key, 101, 1000, 1500);
  links.OnServerDone(Conn(Role::kServer, 5).key, 101, 2000, 2500);
  Span c1 = Link(links, ClientMsg(7, 101, 1100, 1200));
  Span c2 = Link(links, ClientMsg(7, 101, 2100, 2200));
  Span s1 = Link(links, ServerMsg(5, 101, 1000, 1500));
  Span s2 = Link(links, ServerMsg(5, 101, 2000, 2500));
  EXPECT_EQ(c1.parent_span_id, s1.span_id);
  EXPECT_EQ(c2.parent_span_id, s2.span_id);
  EXPECT_NE(s1.trace_id, s2.trace_id);
}

TEST(ThreadLinks, ConcurrentRequestsOnOneThreadAreAmbiguous) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  // An event loop: two requests read by the same thread, both unanswered.
  links.OnServerRequest(Start(5, 101, 1000));
  links.OnServerRequest(Start(6, 101, 1050));
  Span c = Link(links, ClientMsg(7, 101, 1100, 1200));
  EXPECT_EQ(Source(c), "none");
  EXPECT_EQ(c.trace_id, TraceId{9}) << "left as built";
  EXPECT_EQ(links.stats().ambiguous, 1u);
}

TEST(ThreadLinks, ClientWithItsOwnTraceparentIsLeftAlone) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  links.OnServerRequest(Start(5, 101, 1000));
  Span c = Link(links, ClientMsg(7, 101, 1100, 1200), "header");
  EXPECT_EQ(Source(c), "header");
  EXPECT_EQ(c.trace_id, TraceId{9});
}

TEST(ThreadLinks, ExpireForgetsOldRequests) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  links.OnServerRequest(Start(5, 101, 1000));
  links.Expire(1000 + 400'000'000'000ull);
  EXPECT_EQ(Source(Link(links, ClientMsg(7, 101, 1100, 1200))), "none");
}

TEST(ThreadLinks, ThreadStartedByAHandlerInheritsItsRequest) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  links.OnServerRequest(Start(5, 101, 1000));
  links.OnThreadCreated(kPid, 101, 201, 1050);  // the handler starts a worker
  links.OnThreadCreated(kPid, 201, 301, 1060);  // which starts another
  Span worker = Link(links, ClientMsg(7, 201, 1100, 1200));
  Span nested = Link(links, ClientMsg(8, 301, 1150, 1250));
  Message server_msg = ServerMsg(5, 101, 1000, 1500);
  links.OnServerDone(server_msg.conn.key, 101, 1000, 1500);
  Span server = Link(links, server_msg);
  for (const Span* s : {&worker, &nested}) {
    EXPECT_EQ(s->parent_span_id, server.span_id);
    EXPECT_EQ(s->trace_id, server.trace_id);
    EXPECT_EQ(Source(*s), "thread");
  }
  EXPECT_EQ(links.stats().inherited, 2u);
  // After the request ended the worker's calls are its own.
  EXPECT_EQ(Source(Link(links, ClientMsg(7, 201, 1600, 1700))), "none");
}

TEST(ThreadLinks, ThreadStartedOutsideARequestInheritsNothing) {
  IdGenerator ids;
  ThreadLinks links(&ids);
  // An accept loop starting a thread per connection handles no request itself.
  links.OnThreadCreated(kPid, 100, 101, 900);
  links.OnServerRequest(Start(5, 102, 1000));
  EXPECT_EQ(Source(Link(links, ClientMsg(7, 101, 1100, 1200))), "none");
  // Started while its creator had two requests in flight: ambiguous.
  links.OnServerRequest(Start(6, 103, 2000));
  links.OnServerRequest(Start(9, 103, 2010));
  links.OnThreadCreated(kPid, 103, 104, 2020);
  EXPECT_EQ(Source(Link(links, ClientMsg(8, 104, 2100, 2200))), "none");
  // A thread's own request wins over the one it inherited.
  links.OnServerRequest(Start(10, 101, 3000));
  Span own = Link(links, ClientMsg(7, 101, 3100, 3200));
  EXPECT_EQ(Source(own), "thread");
  EXPECT_EQ(links.stats().inherited, 0u);
}

}  // namespace
}  // namespace sonde

namespace sonde {
namespace {

// With traceparent injection the kernel chooses a SERVER request's identity
// when it reads it; the SERVER span and the thread's CLIENT spans use it.
TEST(ThreadLinksKernel, ServerRequestAdoptsTheKernelIdentity) {
  IdGenerator gen(7);
  ThreadLinks links(&gen);
  ServerIdentity k;
  k.trace_id.fill(0x31);
  k.span_id.fill(0x32);
  k.flags = 1;
  ConnInfo conn;
  conn.key = ConnKey{42, 1000, 5, 5};
  conn.role = Role::kServer;
  links.OnKernelIdentity(conn.key, 300, k);
  RequestStart other{conn, 9, 50, {}, 0};  // another request of the connection
  links.OnServerRequest(other);
  RequestStart r{conn, 9, 100, {}, 300};
  links.OnServerRequest(r);
  EXPECT_EQ(links.stats().kernel_identities, 1u);

  HttpExchange ex;
  ex.request.tid = 9;
  ex.request.start_ns = 100;
  ex.request.end_ns = 100;
  HttpResponse resp;
  resp.end_ns = 200;
  ex.response = resp;
  Span server;
  links.Apply(Message{conn, ex}, 9, 100, &server);
  EXPECT_EQ(server.trace_id, k.trace_id);
  EXPECT_EQ(server.span_id, k.span_id);
  EXPECT_TRUE(IsZero(server.parent_span_id));

  Span earlier;
  HttpExchange ex0 = ex;
  ex0.request.start_ns = 50;
  links.Apply(Message{conn, ex0}, 9, 50, &earlier);
  EXPECT_NE(earlier.trace_id, k.trace_id);  // its own, chosen in user space
}

TEST(ThreadLinksKernel, IncomingTracestateIsKeptWhenTheTraceMatches) {
  IdGenerator gen(7);
  ThreadLinks links(&gen);
  ServerIdentity k;
  // 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
  const uint8_t tid[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                           0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
  std::copy(tid, tid + 16, k.trace_id.begin());
  k.span_id.fill(0x44);
  k.parent_id = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
  k.flags = 1;
  ConnInfo conn;
  conn.key = ConnKey{42, 1000, 5, 5};
  conn.role = Role::kServer;
  links.OnKernelIdentity(conn.key, 0, k);
  links.OnServerRequest(RequestStart{conn, 9, 100,
                                     {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                                      {"tracestate", "vendor=x"}},
                                     0});
  HttpExchange ex;
  ex.request.tid = 9;
  ex.request.start_ns = 100;
  Span server;
  links.Apply(Message{conn, ex}, 9, 100, &server);
  EXPECT_EQ(server.span_id, k.span_id);
  EXPECT_EQ(server.parent_span_id, k.parent_id);
  EXPECT_EQ(server.trace_state, "vendor=x");
}

}  // namespace
}  // namespace sonde
