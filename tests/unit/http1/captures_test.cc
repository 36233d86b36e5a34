// Bytes recorded from real clients and servers (tests/captures/http1, see
// record.sh), decoded whole and then under every possible chunking.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "test_util.h"

namespace sonde::test {
namespace {

struct Expected {
  std::string method;
  std::string target;
  uint64_t req_body;
  int status;
  std::string reason;
  uint64_t resp_body;
};

struct Case {
  std::string name;
  std::string request;   // bytes the client sent
  std::string response;  // bytes the server sent
  std::vector<Expected> expected;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// What record.py's raw server answered to every recorded client.
const char kRecorderReply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
const char kRecorderHeadReply[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n";

Case ClientCase(const std::string& file, Expected e) {
  bool head = e.method == "HEAD";
  return {file, ReadCapture(file), head ? kRecorderHeadReply : kRecorderReply, {e}};
}

Case ServerCase(const std::string& file, const std::string& request, std::vector<Expected> e) {
  return {file, request, ReadCapture(file), std::move(e)};
}

std::vector<Case> AllCases() {
  const std::string host = "Host: 127.0.0.1\r\n";
  const std::string close = "Connection: close\r\n";
  auto get = [&](const std::string& path, const std::string& method = "GET") {
    return method + " " + path + " HTTP/1.1\r\n" + host + close + "\r\n";
  };
  return {
      ClientCase("curl_get.req", {"GET", "/hello?x=1", 0, 200, "OK", 2}),
      ClientCase("curl_head.req", {"HEAD", "/head-me", 0, 200, "OK", 0}),
      ClientCase("curl_post_form.req", {"POST", "/form", 7, 200, "OK", 2}),
      ClientCase("curl_post_chunked.req", {"POST", "/upload", 3000, 200, "OK", 2}),
      ClientCase("curl_put_large.req", {"PUT", "/put/big.bin", 20000, 200, "OK", 2}),
      ClientCase("py_requests_get.req", {"GET", "/api/items?limit=5", 0, 200, "OK", 2}),
      ClientCase("py_requests_post_json.req", {"POST", "/api/items", 28, 200, "OK", 2}),
      ClientCase("py_requests_chunked.req", {"POST", "/api/stream", 60, 200, "OK", 2}),
      ClientCase("node_get.req", {"GET", "/node/get?q=a%20b", 0, 200, "OK", 2}),
      ClientCase("node_post_chunked.req", {"POST", "/node/chunked", 19, 200, "OK", 2}),
      ClientCase("node_post_len.req", {"POST", "/node/len", 17, 200, "OK", 2}),
      ServerCase("pyhttp_get.resp", get("/hello.txt"), {{"GET", "/hello.txt", 0, 200, "OK", 13}}),
      ServerCase("pyhttp_head.resp", get("/data.bin", "HEAD"),
                 {{"HEAD", "/data.bin", 0, 200, "OK", 0}}),
      ServerCase("pyhttp_404.resp", get("/missing"),
                 {{"GET", "/missing", 0, 404, "File not found", 335}}),
      ServerCase("pyhttp_304.resp", get("/data.bin"),
                 {{"GET", "/data.bin", 0, 304, "Not Modified", 0}}),
      ServerCase("node_len.resp", get("/len"), {{"GET", "/len", 0, 200, "OK", 1234}}),
      ServerCase("node_chunked.resp", get("/chunked"), {{"GET", "/chunked", 0, 200, "OK", 350}}),
      ServerCase("node_trailers.resp", get("/trailers"), {{"GET", "/trailers", 0, 200, "OK", 22}}),
      ServerCase("node_204.resp", get("/nocontent"),
                 {{"GET", "/nocontent", 0, 204, "No Content", 0}}),
      ServerCase("node_304.resp", get("/notmodified"),
                 {{"GET", "/notmodified", 0, 304, "Not Modified", 0}}),
      ServerCase("node_head.resp", get("/len", "HEAD"), {{"HEAD", "/len", 0, 200, "OK", 0}}),
      ServerCase("node_http10_close.resp", "GET /stream HTTP/1.0\r\n" + host + "\r\n",
                 {{"GET", "/stream", 0, 200, "OK", 18}}),
      ServerCase("node_pipelined.resp",
                 "GET /len HTTP/1.1\r\n" + host + "\r\nGET /chunked HTTP/1.1\r\n" + host +
                     "\r\nGET /nocontent HTTP/1.1\r\n" + host + close + "\r\n",
                 {{"GET", "/len", 0, 200, "OK", 1234},
                  {"GET", "/chunked", 0, 200, "OK", 350},
                  {"GET", "/nocontent", 0, 204, "No Content", 0}}),
      ServerCase("node_continue.resp",
                 "POST /echo HTTP/1.1\r\n" + host + close +
                     "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n12345",
                 {{"POST", "/echo", 5, 200, "OK", 5}}),
      ServerCase("node_upgrade.resp",
                 "GET /ws HTTP/1.1\r\n" + host +
                     "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                 {{"GET", "/ws", 0, 101, "Switching Protocols", 0}}),
  };
}

// A traced server: requests arrive on ingress, responses leave on egress.
std::vector<Message> DecodeWhole(const Case& c, DecodeCounters* counters = nullptr) {
  Feeder f(Role::kServer);
  f.Send(Direction::kIngress, c.request);
  f.Send(Direction::kEgress, c.response);
  f.Close();
  if (counters) *counters = f.counters();
  return f.Drain();
}

class CaptureTest : public ::testing::TestWithParam<Case> {};

TEST_P(CaptureTest, DecodesExactly) {
  const Case& c = GetParam();
  DecodeCounters counters;
  std::vector<Message> msgs = DecodeWhole(c, &counters);
  ASSERT_EQ(msgs.size(), c.expected.size()) << Dump(msgs);
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Expected& e = c.expected[i];
    const HttpExchange& ex = Ex(msgs[i]);
    EXPECT_EQ(ex.request.method, e.method);
    EXPECT_EQ(ex.request.target, e.target);
    EXPECT_EQ(ex.request.version,
              c.request.find(" HTTP/1.0\r\n") != std::string::npos ? "1.0" : "1.1");
    EXPECT_EQ(ex.request.body_size, e.req_body);
    EXPECT_FALSE(ex.request_incomplete);
    ASSERT_TRUE(ex.response.has_value());
    EXPECT_EQ(ex.response->status, e.status);
    EXPECT_EQ(ex.response->reason, e.reason);
    EXPECT_EQ(ex.response->body_size, e.resp_body);
    EXPECT_NE(FindHeader(ex.request.headers, "host"), nullptr);
  }
  EXPECT_EQ(counters.resyncs, 0u);
  EXPECT_EQ(counters.gaps, 0u);
  EXPECT_EQ(counters.bytes_skipped, 0u);
  EXPECT_EQ(counters.orphan_responses, 0u);
}

// Feeding a prefix may only produce messages that the whole input produces
// too (in order); the rest then completes the same result.
void ExpectPrefixThenRest(const Case& c, bool split_request, const std::string& want) {
  const std::string& split = split_request ? c.request : c.response;
  for (size_t k = 0; k <= split.size(); ++k) {
    Feeder f(Role::kServer);
    std::string_view s(split);
    if (split_request) {
      f.Send(Direction::kIngress, s.substr(0, k), 10, 1);
      std::string early = Dump(f.Drain());
      ASSERT_EQ(early, "") << "no response yet, so nothing can complete; k=" << k;
      f.Send(Direction::kIngress, s.substr(k), 20, 2);
      f.Send(Direction::kEgress, c.response, 30, 3);
    } else {
      f.Send(Direction::kIngress, c.request, 10, 1);
      f.Send(Direction::kEgress, s.substr(0, k), 20, 2);
      std::string early = Dump(f.Drain());
      ASSERT_EQ(want.compare(0, early.size(), early), 0) << "k=" << k << "\n" << early;
      f.Send(Direction::kEgress, s.substr(k), 30, 3);
      f.Close(40);
      ASSERT_EQ(early + Dump(f.Drain()), want) << "k=" << k;
      continue;
    }
    f.Close(40);
    ASSERT_EQ(Dump(f.Drain()), want) << "k=" << k;
    ASSERT_EQ(f.counters().resyncs, 0u) << "k=" << k;
  }
}

TEST_P(CaptureTest, RequestSplitAtEveryByte) {
  const Case& c = GetParam();
  ExpectPrefixThenRest(c, true, Dump(DecodeWhole(c)));
}

TEST_P(CaptureTest, ResponseSplitAtEveryByte) {
  const Case& c = GetParam();
  ExpectPrefixThenRest(c, false, Dump(DecodeWhole(c)));
}

TEST_P(CaptureTest, OneByteChunks) {
  const Case& c = GetParam();
  Feeder f(Role::kServer);
  for (char ch : c.request) f.Send(Direction::kIngress, std::string(1, ch));
  for (char ch : c.response) f.Send(Direction::kEgress, std::string(1, ch));
  f.Close();
  EXPECT_EQ(Dump(f.Drain()), Dump(DecodeWhole(c)));
  EXPECT_EQ(f.counters().resyncs, 0u);
}

// The same bytes seen from the client's side of the connection.
TEST_P(CaptureTest, ClientRoleSeesTheSameExchange) {
  const Case& c = GetParam();
  Feeder f(Role::kClient);
  f.Send(Direction::kEgress, c.request);
  f.Send(Direction::kIngress, c.response);
  f.Close();
  std::vector<Message> msgs = f.Drain();
  std::vector<Message> server = DecodeWhole(c);
  ASSERT_EQ(msgs.size(), server.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].conn.role, Role::kClient);
    msgs[i].conn.role = Role::kServer;
  }
  EXPECT_EQ(Dump(msgs), Dump(server));
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Http1Captures, CaptureTest, ::testing::ValuesIn(AllCases()), CaseName);

TEST(Http1Captures, TrailersJoinTheHeaderList) {
  Case c = AllCases()[17];
  ASSERT_EQ(c.name, "node_trailers.resp");
  std::vector<Message> msgs = DecodeWhole(c);
  ASSERT_EQ(msgs.size(), 1u);
  const HttpResponse& r = *Ex(msgs[0]).response;
  ASSERT_NE(FindHeader(r.headers, "X-Checksum"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "X-Checksum"), "c0ffee");
  EXPECT_EQ(r.headers.back().first, "X-Checksum");
  EXPECT_EQ(*FindHeader(r.headers, "Transfer-Encoding"), "chunked");
}

TEST(Http1Captures, HeaderNamesKeptAsSent) {
  std::vector<Message> msgs = DecodeWhole(AllCases()[11]);  // python http.server
  ASSERT_EQ(msgs.size(), 1u);
  const HttpResponse& r = *Ex(msgs[0]).response;
  EXPECT_EQ(r.version, "1.0");
  bool found = false;
  for (const auto& [name, value] : r.headers) {
    if (name == "Content-type") {  // python's spelling, not canonicalised
      found = true;
      EXPECT_EQ(value, "text/plain");
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace sonde::test
