// The stateless framing pieces, one rule at a time.
#include <gtest/gtest.h>

#include <string>

#include "decoders/http1/http1_decoder.h"
#include "decoders/http1/http1_parser.h"

namespace sonde::http1 {
namespace {

TEST(Http1Parser, RequestLineChecks) {
  EXPECT_EQ(CheckRequestLine("GET / HTTP/1.1\r\n"), LineCheck::kValid);
  EXPECT_EQ(CheckRequestLine("GET / HTTP/1.0\n"), LineCheck::kValid);
  EXPECT_EQ(CheckRequestLine("M-SEARCH * HTTP/1.1\r\n"), LineCheck::kValid);
  EXPECT_EQ(CheckRequestLine("GET /a?b=c HTTP/1."), LineCheck::kPrefix);
  EXPECT_EQ(CheckRequestLine("GET /a?b=c HTTP/1.1\r"), LineCheck::kPrefix);
  EXPECT_EQ(CheckRequestLine("GE"), LineCheck::kPrefix);
  EXPECT_EQ(CheckRequestLine(""), LineCheck::kPrefix);
  EXPECT_EQ(CheckRequestLine("get / HTTP/1.1\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine("GET  / HTTP/1.1\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine("GET / HTTP/2.0\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine("PRI * HTTP/2.0\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine("GET key\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine("GET / HTTP/1.1\rX"), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine(std::string(kMaxMethodBytes + 1, 'A')), LineCheck::kInvalid);
  EXPECT_EQ(CheckRequestLine("GET /" + std::string(kMaxStartLineBytes + 1, 'a')),
            LineCheck::kInvalid);
}

TEST(Http1Parser, StatusLineChecks) {
  EXPECT_EQ(CheckStatusLine("HTTP/1.1 200 OK\r\n"), LineCheck::kValid);
  EXPECT_EQ(CheckStatusLine("HTTP/1.0 404 File not found\n"), LineCheck::kValid);
  EXPECT_EQ(CheckStatusLine("HTTP/1.1 200\r\n"), LineCheck::kValid);
  EXPECT_EQ(CheckStatusLine("HTTP/1.1 20"), LineCheck::kPrefix);
  EXPECT_EQ(CheckStatusLine("HTTP/1.1 200 O"), LineCheck::kPrefix);
  EXPECT_EQ(CheckStatusLine("HTTP/2 200\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckStatusLine("HTTP/1.1 2000 OK\r\n"), LineCheck::kInvalid);
  EXPECT_EQ(CheckStatusLine("HTTP/1.1 200 O\x01K\r\n"), LineCheck::kInvalid);
}

TEST(Http1Parser, IncrementalStartLineCheck) {
  const std::string line = "GET /a/long/path?q=1 HTTP/1.1\r\n";
  size_t scan = 0;
  for (size_t n = 1; n < line.size(); ++n) {
    EXPECT_EQ(CheckStartLine(std::string_view(line).substr(0, n), true, &scan), LineCheck::kPrefix)
        << n;
    EXPECT_EQ(scan, n) << "the line-end search resumes where it stopped";
  }
  EXPECT_EQ(CheckStartLine(line, true, &scan), LineCheck::kValid);
  scan = 0;
  EXPECT_EQ(CheckStartLine("\x16\x03\x01", true, &scan), LineCheck::kInvalid) << "rejected early";
  scan = 0;
  EXPECT_EQ(CheckStartLine("HTTP/1.1 200 OK\r\n", false, &scan), LineCheck::kValid);
  scan = 0;
  EXPECT_EQ(CheckStartLine("GET /" + std::string(kMaxStartLineBytes + 64, 'a'), true, &scan),
            LineCheck::kInvalid)
      << "too long to ever become a line";
  scan = 0;
  // A bad byte deep in a long target only counts once the line ends.
  std::string deep = "GET /" + std::string(100, 'a') + '\x01';
  EXPECT_EQ(CheckStartLine(deep, true, &scan), LineCheck::kPrefix);
  EXPECT_EQ(CheckStartLine(deep + " HTTP/1.1\r\n", true, &scan), LineCheck::kInvalid);
}

TEST(Http1Parser, ClassifiesFirstBytes) {
  EXPECT_EQ(ClassifyStart("GET / HTTP/1.1\r\n"), StartKind::kRequest);
  EXPECT_EQ(ClassifyStart("POST /upload"), StartKind::kRequest);  // line still arriving
  EXPECT_EQ(ClassifyStart("HTTP/1.1 200 OK\r\n"), StartKind::kResponse);
  EXPECT_EQ(ClassifyStart("HTTP/1.1 200"), StartKind::kResponse);
  EXPECT_EQ(ClassifyStart("GE"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyStart("HTTP/1"), StartKind::kMaybe);
  EXPECT_EQ(ClassifyStart("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), StartKind::kNo);
  EXPECT_EQ(ClassifyStart("*1\r\n$4\r\nPING\r\n"), StartKind::kNo);                  // Redis
  EXPECT_EQ(ClassifyStart("GET key\r\n"), StartKind::kNo);                           // Redis inline
  EXPECT_EQ(ClassifyStart(std::string("\x16\x03\x01\x02\x00", 5)), StartKind::kNo);  // TLS
  EXPECT_EQ(ClassifyStart(std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8)),
            StartKind::kNo);  // Postgres SSLRequest
}

TEST(Http1Parser, LooksLikeHttp1) {
  EXPECT_TRUE(Http1Decoder::LooksLikeHttp1("DELETE /items/3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(Http1Decoder::LooksLikeHttp1("HTTP/1.0 503 Service Unavailable\r\n"));
  EXPECT_FALSE(Http1Decoder::LooksLikeHttp1("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  EXPECT_FALSE(Http1Decoder::LooksLikeHttp1("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_FALSE(Http1Decoder::LooksLikeHttp1("GE"));  // not yet known
  EXPECT_FALSE(Http1Decoder::LooksLikeHttp1(""));
}

TEST(Http1Parser, InferReportsRole) {
  InferResult r = Http1Decoder::Infer(Direction::kEgress, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(r.verdict, InferVerdict::kYes);
  EXPECT_EQ(r.role, Role::kClient);
  r = Http1Decoder::Infer(Direction::kIngress, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(r.role, Role::kServer);
  r = Http1Decoder::Infer(Direction::kEgress, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(r.role, Role::kServer);
  r = Http1Decoder::Infer(Direction::kIngress, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(r.role, Role::kClient);
  EXPECT_EQ(Http1Decoder::Infer(Direction::kIngress, "OPTI").verdict, InferVerdict::kNeedMore);
  EXPECT_EQ(Http1Decoder::Infer(Direction::kIngress, "\x16\x03").verdict, InferVerdict::kNo);
}

TEST(Http1Parser, RequestHeadKeepsNamesAndTrimsValues) {
  RequestHead h;
  ASSERT_TRUE(
      ParseRequestHead("PUT /a%20b?x=1 HTTP/1.0\r\nHost: example\r\nX-Padded:   spaced value \t\r\n"
                       "x-lower:v\r\nX-Empty:\r\nX-Folded: one\r\n  two\r\n\r\n",
                       &h));
  EXPECT_EQ(h.method, "PUT");
  EXPECT_EQ(h.target, "/a%20b?x=1");
  EXPECT_EQ(h.version, "1.0");
  ASSERT_EQ(h.headers.size(), 5u);
  EXPECT_EQ(h.headers[0], (std::pair<std::string, std::string>{"Host", "example"}));
  EXPECT_EQ(h.headers[1], (std::pair<std::string, std::string>{"X-Padded", "spaced value"}));
  EXPECT_EQ(h.headers[2], (std::pair<std::string, std::string>{"x-lower", "v"}));
  EXPECT_EQ(h.headers[3], (std::pair<std::string, std::string>{"X-Empty", ""}));
  EXPECT_EQ(h.headers[4], (std::pair<std::string, std::string>{"X-Folded", "one two"}));
  EXPECT_EQ(*FindHeader(h.headers, "X-LOWER"), "v");
}

TEST(Http1Parser, RejectsMalformedHeads) {
  RequestHead q;
  EXPECT_FALSE(ParseRequestHead("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", &q));
  EXPECT_FALSE(ParseRequestHead("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &q));
  EXPECT_FALSE(ParseRequestHead("GET / HTTP/1.1\r\n: empty name\r\n\r\n", &q));
  EXPECT_FALSE(ParseRequestHead("GET / HTTP/1.1\r\n folded-first: x\r\n\r\n", &q));
  EXPECT_FALSE(
      ParseRequestHead("GET / HTTP/1.1\r\nX: a\x01"
                       "b\r\n\r\n",
                       &q));
  ResponseHead r;
  ASSERT_TRUE(ParseResponseHead("HTTP/1.1 418 I'm a teapot\r\nA: b\r\n\r\n", &r));
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.reason, "I'm a teapot");
  EXPECT_EQ(r.version, "1.1");
  ASSERT_TRUE(ParseResponseHead("HTTP/1.1 200\n\n", &r));
  EXPECT_EQ(r.reason, "");
  EXPECT_TRUE(r.headers.empty());
}

TEST(Http1Parser, FindsBlockEndIncrementally) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t scan = 0;
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(FindBlockEnd(std::string_view(head).substr(0, n), &scan), std::string_view::npos)
        << n;
  }
  EXPECT_EQ(FindBlockEnd(head, &scan), head.size());
  scan = 0;
  EXPECT_EQ(FindBlockEnd("A: b\n\nrest", &scan), 6u);
  scan = 0;
  EXPECT_EQ(FindBlockEnd("\r\nnext", &scan), 2u);  // an empty trailer section
}

TEST(Http1Parser, ChunkSizeLines) {
  uint64_t size = 0;
  size_t used = 0;
  ASSERT_EQ(ParseChunkSizeLine("1a;name=value;flag\r\nxyz", &size, &used), ParseState::kSuccess);
  EXPECT_EQ(size, 26u);
  EXPECT_EQ(used, 20u);
  ASSERT_EQ(ParseChunkSizeLine("FF \t;x=\"quoted;semi\"\r\n", &size, &used), ParseState::kSuccess);
  EXPECT_EQ(size, 255u);
  ASSERT_EQ(ParseChunkSizeLine("0\n", &size, &used), ParseState::kSuccess);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(ParseChunkSizeLine("1a", &size, &used), ParseState::kNeedsMoreData);
  EXPECT_EQ(ParseChunkSizeLine("1a;ext", &size, &used), ParseState::kNeedsMoreData);
  EXPECT_EQ(ParseChunkSizeLine("1a\r", &size, &used), ParseState::kNeedsMoreData);
  EXPECT_EQ(ParseChunkSizeLine("zz\r\n", &size, &used), ParseState::kInvalid);
  EXPECT_EQ(ParseChunkSizeLine("1g\r\n", &size, &used), ParseState::kInvalid);
  EXPECT_EQ(ParseChunkSizeLine("1\rX", &size, &used), ParseState::kInvalid);
  EXPECT_EQ(ParseChunkSizeLine("10000000000000000\r\n", &size, &used), ParseState::kInvalid);
  EXPECT_EQ(ParseChunkSizeLine("1;" + std::string(kMaxChunkLineBytes, 'e'), &size, &used),
            ParseState::kInvalid);
}

TEST(Http1Parser, RequestFramingRules) {
  BodyFraming f;
  ASSERT_TRUE(RequestFraming({{"Content-Length", "42"}}, &f));
  EXPECT_EQ(f.kind, BodyKind::kLength);
  EXPECT_EQ(f.length, 42u);
  ASSERT_TRUE(RequestFraming({{"content-length", "5, 5"}}, &f));
  EXPECT_EQ(f.length, 5u);
  ASSERT_TRUE(RequestFraming({{"Content-Length", "0"}}, &f));
  EXPECT_EQ(f.kind, BodyKind::kNone);
  ASSERT_TRUE(RequestFraming({}, &f));
  EXPECT_EQ(f.kind, BodyKind::kNone);
  ASSERT_TRUE(
      RequestFraming({{"Transfer-Encoding", "gzip, Chunked"}, {"Content-Length", "9"}}, &f));
  EXPECT_EQ(f.kind, BodyKind::kChunked);
  EXPECT_FALSE(RequestFraming({{"Content-Length", "5, 6"}}, &f));
  EXPECT_FALSE(RequestFraming({{"Content-Length", "5"}, {"Content-Length", "6"}}, &f));
  EXPECT_FALSE(RequestFraming({{"Content-Length", "-1"}}, &f));
  EXPECT_FALSE(RequestFraming({{"Content-Length", "99999999999999999999"}}, &f));
  EXPECT_FALSE(RequestFraming({{"Transfer-Encoding", "gzip"}}, &f));
}

TEST(Http1Parser, ResponseFramingRules) {
  BodyFraming f;
  HeaderList cl = {{"Content-Length", "100"}};
  ASSERT_TRUE(ResponseFraming(cl, 200, "GET", &f));
  EXPECT_EQ(f.kind, BodyKind::kLength);
  ASSERT_TRUE(ResponseFraming(cl, 200, "HEAD", &f));
  EXPECT_EQ(f.kind, BodyKind::kNone);
  ASSERT_TRUE(ResponseFraming(cl, 204, "GET", &f));
  EXPECT_EQ(f.kind, BodyKind::kNone);
  ASSERT_TRUE(ResponseFraming(cl, 304, "GET", &f));
  EXPECT_EQ(f.kind, BodyKind::kNone);
  ASSERT_TRUE(ResponseFraming({}, 200, "GET", &f));
  EXPECT_EQ(f.kind, BodyKind::kUntilClose);
  ASSERT_TRUE(ResponseFraming({{"Transfer-Encoding", "gzip"}}, 200, "", &f));
  EXPECT_EQ(f.kind, BodyKind::kUntilClose);
  ASSERT_TRUE(ResponseFraming({{"Transfer-Encoding", "chunked"}}, 200, "", &f));
  EXPECT_EQ(f.kind, BodyKind::kChunked);
  EXPECT_FALSE(ResponseFraming({{"Content-Length", "abc"}}, 200, "GET", &f));
}

TEST(Http1Parser, FindsNextMessageStartInGarbage) {
  bool complete = false;
  std::string buf = "\x01\x02garbage GET nope\r\nxxGET /ok HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t p = FindMessageStart(buf, true, 0, &complete);
  ASSERT_NE(p, std::string::npos);
  EXPECT_EQ(buf.substr(p, 7), "GET /ok");
  EXPECT_TRUE(complete);

  p = FindMessageStart("junk HTTP/1.1 200 O", false, 0, &complete);
  EXPECT_EQ(p, 5u);
  EXPECT_FALSE(complete);  // a prefix: wait for the rest of the line

  EXPECT_EQ(FindMessageStart("no start here", true, 0, &complete), std::string::npos);
  EXPECT_EQ(FindMessageStart("HTTP/1.1 200 OK\r\n", true, 0, &complete), std::string::npos);
}

}  // namespace
}  // namespace sonde::http1
