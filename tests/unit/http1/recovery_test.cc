// What the capture path does to streams: capped syscalls (holes), lost
// events (gaps), repeated bytes, garbage, and input designed to grow memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "test_util.h"

namespace sonde::test {
namespace {

constexpr Direction kIn = Direction::kIngress;
constexpr Direction kOut = Direction::kEgress;

std::string Ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(Http1Recovery, BodyLargerThanCaptureCap) {
  Feeder f(Role::kServer);
  const std::string head = "POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
  // One write(2) of head + body; only the first 4096 bytes were captured.
  f.Send(kIn, head + std::string(100000, 'b'), 10, 1, 4096);
  f.Send(kIn, "GET /after HTTP/1.1\r\n\r\n", 20);
  const std::string rhead = "HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n";
  f.Send(kOut, rhead + std::string(50000, 'r'), 30, 1, 1000);
  // A body written in several capped syscalls.
  f.Send(kOut, "HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n", 40);
  for (int i = 0; i < 3; ++i) f.Send(kOut, std::string(10000, 'x'), 50 + i, 1, 100);
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.body_size, 100000u);
  EXPECT_FALSE(Ex(m[0]).request_incomplete);
  EXPECT_EQ(Ex(m[0]).request.end_ns, 10u);
  EXPECT_EQ(Ex(m[0]).response->body_size, 50000u);
  EXPECT_EQ(Ex(m[1]).request.target, "/after");
  EXPECT_EQ(Ex(m[1]).response->body_size, 30000u);
  EXPECT_EQ(Ex(m[1]).response->end_ns, 52u);
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

TEST(Http1Recovery, HoleInsideChunkDataIsConsumed) {
  Feeder f(Role::kClient);
  f.Send(kOut, "GET /c HTTP/1.1\r\n\r\n");
  f.Send(kIn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  f.Send(kIn, "2710\r\n" + std::string(10000, 'd'), 0, 1, 100);
  f.Send(kIn, "\r\n0\r\n\r\n");
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).response->body_size, 10000u);
  EXPECT_EQ(f.counters().resyncs, 0u);
}

TEST(Http1Recovery, ChunkFramingLostInHoleResyncs) {
  Feeder f(Role::kClient);
  f.Send(kOut, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  f.Send(kIn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  // The hole covers the chunk data, its CRLF and the next size line.
  f.Send(kIn, "10\r\n0123456789abcdef\r\n20\r\n" + std::string(32, 'z'), 0, 1, 10);
  f.Send(kIn, "\r\n0\r\n\r\n" + Ok("bee"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).response->status, 200) << "status survives a cut body";
  EXPECT_EQ(Ex(m[0]).response->body_size, 6u) << "the captured part of the first chunk";
  EXPECT_EQ(Ex(m[1]).request.target, "/b");
  EXPECT_EQ(Ex(m[1]).response->body_size, 3u);
  EXPECT_EQ(f.counters().resyncs, 1u);
}

TEST(Http1Recovery, HeadersInsideHoleResync) {
  Feeder f(Role::kServer);
  std::string huge_cookie = "GET /lost HTTP/1.1\r\nCookie: " + std::string(8000, 'c') + "\r\n\r\n";
  f.Send(kIn, huge_cookie, 0, 1, 4096);
  f.Send(kIn, "GET /found HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("f"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).request.target, "/found");
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().bytes_skipped, huge_cookie.size());
}

TEST(Http1Recovery, GapInsideKnownLengthBodyIsConsumed) {
  Feeder f(Role::kServer);
  f.Send(kIn, "POST /g HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'a'));
  f.Lose(kIn, 500);
  f.Send(kIn, std::string(400, 'a'), 77);
  f.Send(kOut, Ok("ok"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).request.body_size, 1000u);
  EXPECT_FALSE(Ex(m[0]).request_incomplete);
  EXPECT_EQ(Ex(m[0]).request.end_ns, 77u);
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().bytes_skipped, 0u);
}

TEST(Http1Recovery, GapPastEndOfBodyResyncs) {
  Feeder f(Role::kServer);
  f.Send(kIn, "POST /g HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(50, 'a'));
  f.Lose(kIn, 200);  // 50 body bytes, then 150 bytes of something
  f.Send(kIn, "GET /next HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("1") + Ok("2"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.body_size, 100u);
  EXPECT_EQ(Ex(m[1]).request.target, "/next");
  EXPECT_EQ(f.counters().gaps, 1u);
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().bytes_skipped, 150u);
}

TEST(Http1Recovery, GapBetweenMessagesAndInsideHeaders) {
  Feeder f(Role::kServer);
  f.Send(kIn, "GET /1 HTTP/1.1\r\n\r\n");
  f.Lose(kIn, 19);  // a whole request lost
  f.Send(kIn, "GET /3 HTTP/1.1\r\nHo");
  f.Lose(kIn, 10);  // the rest of /3's head lost
  f.Send(kIn, "GET /4 HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("1") + Ok("4"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.target, "/1");
  EXPECT_EQ(Ex(m[1]).request.target, "/4");
  EXPECT_EQ(f.counters().gaps, 2u);
  EXPECT_EQ(f.counters().resyncs, 2u);
  EXPECT_EQ(f.counters().bytes_skipped, 19u + 19u + 10u);
}

TEST(Http1Recovery, RepeatedAndOverlappingBytesAreIgnored) {
  Feeder f(Role::kServer);
  const std::string a = "GET /a HTTP/1.1\r\n\r\n";
  const std::string b = "GET /b HTTP/1.1\r\n\r\n";
  f.SendAt(kIn, 0, a);
  f.SendAt(kIn, 0, a);                                      // duplicate
  f.SendAt(kIn, 5, a.substr(5));                            // inside what was seen
  f.SendAt(kIn, a.size() - 4, a.substr(a.size() - 4) + b);  // overlaps the end
  f.SendAt(kOut, 0, Ok("1") + Ok("2"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.target, "/a");
  EXPECT_EQ(Ex(m[1]).request.target, "/b");
  EXPECT_EQ(f.counters().resyncs, 0u);
  EXPECT_EQ(f.counters().gaps, 0u);
}

TEST(Http1Recovery, GarbageBeforeAndBetweenMessages) {
  Feeder f(Role::kServer);
  f.Send(kIn, std::string("\x00\x01garbage\r\n", 11) + "GET /a HTTP/1.1\r\n\r\n" + "more junk!!" +
                  "GET /b HTTP/1.1\r\n\r\n");
  f.Send(kOut, "\xff\xfe" + Ok("a") + "trailing noise " + Ok("b"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.target, "/a");
  EXPECT_EQ(Ex(m[0]).response->body_size, 1u);
  EXPECT_EQ(Ex(m[1]).request.target, "/b");
  EXPECT_EQ(f.counters().resyncs, 4u);
  EXPECT_EQ(f.counters().bytes_skipped, 11u + 11u + 2u + 15u);
}

TEST(Http1Recovery, ResyncCandidateSpanningChunks) {
  Feeder f(Role::kServer);
  f.Send(kIn, "\x01\x02GET /a HT", 10, 1);  // garbage, then a start line cut short
  f.Send(kIn, "TP/1.1\r", 20, 2);
  f.Send(kIn, "\n\r\nGET /fake\x01 HTTP/1.1\r\n", 30, 3);  // a candidate that turns bad
  f.Send(kIn, "GET /b HTTP/1.1\r\n\r\n", 40, 4);
  f.Send(kOut, Ok("a") + Ok("b"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).request.target, "/a");
  EXPECT_EQ(Ex(m[0]).request.start_ns, 10u);
  EXPECT_EQ(Ex(m[0]).request.end_ns, 30u);
  EXPECT_EQ(Ex(m[0]).request.tid, 1u);
  EXPECT_EQ(Ex(m[1]).request.target, "/b");
  EXPECT_EQ(f.counters().resyncs, 2u);
  EXPECT_EQ(f.counters().bytes_skipped, 2u + std::string("GET /fake\x01 HTTP/1.1\r\n").size());
}

TEST(Http1Recovery, MalformedHeaderSkipsThatMessageOnly) {
  Feeder f(Role::kServer);
  const std::string bad = "GET /bad HTTP/1.1\r\nBroken header line\r\n\r\n";
  f.Send(kIn, bad + "GET /good HTTP/1.1\r\n\r\n");
  f.Send(kOut, Ok("g"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).request.target, "/good");
  EXPECT_EQ(f.counters().resyncs, 1u);
  EXPECT_EQ(f.counters().bytes_skipped, bad.size());
}

TEST(Http1Recovery, InvalidChunkSizeEmitsWhatIsKnown) {
  Feeder f(Role::kClient);
  f.Send(kOut, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  f.Send(kIn,
         "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n" + Ok("b"));
  std::vector<Message> m = f.Drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(Ex(m[0]).response->status, 500);
  EXPECT_EQ(Ex(m[0]).response->body_size, 3u);
  EXPECT_EQ(Ex(m[1]).response->body_size, 1u);
  EXPECT_EQ(f.counters().resyncs, 1u);
}

TEST(Http1Recovery, HeadJustUnderLimitIsAcceptedOverLimitIsNot) {
  auto make = [](size_t filler) {
    return "GET /h HTTP/1.1\r\nX-Filler: " + std::string(filler, 'f') + "\r\n\r\n";
  };
  const size_t overhead = make(0).size();
  Feeder ok(Role::kServer);
  ok.Send(kIn, make(http1::kMaxHeadBytes - overhead));
  ok.Send(kOut, Ok(""));
  EXPECT_EQ(ok.Drain().size(), 1u);

  Feeder big(Role::kServer);
  std::string over = make(http1::kMaxHeadBytes - overhead + 1);
  for (size_t i = 0; i < over.size(); i += 1000) big.Send(kIn, over.substr(i, 1000));
  big.Send(kIn, "GET /ok HTTP/1.1\r\n\r\n");
  big.Send(kOut, Ok(""));
  std::vector<Message> m = big.Drain();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(Ex(m[0]).request.target, "/ok");
  EXPECT_EQ(big.counters().resyncs, 1u);
  EXPECT_EQ(big.counters().bytes_skipped, over.size());
}

// Whatever arrives, the decoder holds at most about one header block.
TEST(Http1Recovery, MemoryStaysBounded) {
  const size_t kBound = http1::kMaxHeadBytes * 3;
  struct Attack {
    std::string name;
    std::string prefix;
    std::string unit;  // repeated forever
  };
  const Attack attacks[] = {
      {"endless target", "GET /", "a"},
      {"endless headers", "GET / HTTP/1.1\r\n", "X-A: b\r\n"},
      {"endless chunk extension", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;", "e"},
      {"endless trailers", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
       "T: v\r\n"},
      {"start line prefixes", "", "GET /x HTTP/1.1\rGET"},
      {"endless pipelined requests", "",
       "GET / HTTP/1.1\r\nX-Big: " + std::string(200, 'v') + "\r\n\r\n"},
  };
  for (const Attack& a : attacks) {
    Feeder f(Role::kServer);
    f.Send(kIn, a.prefix);
    std::string block;
    while (block.size() < 4096) block += a.unit;
    size_t peak = 0;
    for (int i = 0; i < 512; ++i) {  // ~2 MiB
      f.Send(kIn, block);
      peak = std::max(peak, f.decoder().buffered_bytes());
      f.Drain();
    }
    EXPECT_LT(peak, kBound) << a.name;
  }
}

}  // namespace
}  // namespace sonde::test
