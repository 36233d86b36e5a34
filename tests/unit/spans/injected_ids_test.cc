// CLIENT spans of requests sonde gave a traceparent take the ids the kernel
// reported, matched by connection addresses and request stream offset.
#include "spans/injected_ids.h"

#include <gtest/gtest.h>

namespace sonde {
namespace {

constexpr uint32_t kPid = 42;

ConnInfo Conn(Role role, uint16_t local_port) {
  ConnInfo c;
  c.key = ConnKey{kPid, 1000, 7, 3};
  c.role = role;
  c.local_addr = "127.0.0.1";
  c.local_port = local_port;
  c.peer_addr = "127.0.0.1";
  c.peer_port = 8080;
  return c;
}

Message Http1(Role role, uint16_t local_port, uint64_t pos, std::string version = "1.1") {
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = "/x";
  ex.request.version = std::move(version);
  ex.request.pos = pos;
  return Message{Conn(role, local_port), ex};
}

InjectedContext Report(uint16_t local_port, uint64_t pos, uint8_t seed, uint64_t ts = 1000) {
  InjectedContext c;
  c.pid = kPid;
  c.local_addr = "127.0.0.1";
  c.local_port = local_port;
  c.peer_addr = "127.0.0.1";
  c.peer_port = 8080;
  c.stream_pos = pos;
  c.trace_id.fill(seed);
  c.span_id.fill(static_cast<uint8_t>(seed + 1));
  c.flags = 1;
  c.ts_ns = ts;
  return c;
}

std::string Attr(const Span& s, const std::string& key) {
  const AttrValue* v = FindAttr(s.attributes, key);
  if (!v) return "";
  if (const auto* str = std::get_if<std::string>(v)) return *str;
  if (const auto* b = std::get_if<bool>(v)) return *b ? "true" : "false";
  return "?";
}

TEST(InjectedIds, ClientSpanTakesTheInjectedIdsOfItsRequest) {
  InjectedIds ids;
  ids.Add(Report(5000, 0, 0x11));
  ids.Add(Report(5000, 120, 0x22));
  Span s;
  s.trace_id.fill(0xee);
  s.span_id.fill(0xee);
  s.parent_span_id.fill(0xee);
  s.trace_state = "a=b";
  s.attributes.push_back({"sonde.parent.source", AttrValue(std::string("none"))});
  ASSERT_TRUE(ids.Apply(Http1(Role::kClient, 5000, 120), &s));
  EXPECT_EQ(ToHex(s.trace_id), std::string(32, '2'));
  EXPECT_EQ(ToHex(s.span_id), "2323232323232323");
  EXPECT_TRUE(IsZero(s.parent_span_id));
  EXPECT_EQ(s.trace_state, "");
  EXPECT_EQ(Attr(s, "sonde.parent.source"), "none");
  EXPECT_EQ(Attr(s, "sonde.traceparent.injected"), "true");
  // Consumed: the same request is not matched twice.
  Span again;
  EXPECT_FALSE(ids.Apply(Http1(Role::kClient, 5000, 120), &again));
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.stats().applied, 1u);
}

TEST(InjectedIds, OnlyTheSameConnectionAndOffsetMatch) {
  InjectedIds ids;
  ids.Add(Report(5000, 0, 0x11));
  Span s;
  EXPECT_FALSE(ids.Apply(Http1(Role::kClient, 5001, 0), &s));   // another connection
  EXPECT_FALSE(ids.Apply(Http1(Role::kClient, 5000, 1), &s));   // another request
  EXPECT_FALSE(ids.Apply(Http1(Role::kServer, 5000, 0), &s));   // a server's request
  EXPECT_FALSE(ids.Apply(Http1(Role::kClient, 5000, 0, "2"), &s));  // HTTP/2
  Message tls = Http1(Role::kClient, 5000, 0);
  tls.conn.tls = true;  // plaintext offsets are another stream
  EXPECT_FALSE(ids.Apply(tls, &s));
  EXPECT_TRUE(IsZero(s.trace_id));
  EXPECT_TRUE(ids.Apply(Http1(Role::kClient, 5000, 0), &s));
}

TEST(InjectedIds, AParentFromTheKernelIsKept) {
  InjectedIds ids;
  InjectedContext c = Report(5000, 0, 0x11);
  c.parent_id.fill(0x77);
  ids.Add(c);
  Span s;
  ASSERT_TRUE(ids.Apply(Http1(Role::kClient, 5000, 0), &s));
  EXPECT_EQ(ToHex(s.parent_span_id), "7777777777777777");
  EXPECT_EQ(Attr(s, "sonde.parent.source"), "thread");
}

TEST(InjectedIds, UnclaimedReportsExpire) {
  InjectedIds ids;
  ids.Add(Report(5000, 0, 0x11, 1'000));
  ids.Add(Report(5000, 50, 0x22, 5'000'000'000));
  ids.Expire(3'000'000'000, 1'000'000'000);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.stats().expired, 1u);
  Span s;
  EXPECT_FALSE(ids.Apply(Http1(Role::kClient, 5000, 0), &s));
  EXPECT_TRUE(ids.Apply(Http1(Role::kClient, 5000, 50), &s));
}

}  // namespace
}  // namespace sonde
