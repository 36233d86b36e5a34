#include "exporter/console_exporter.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "test_spans.h"

namespace sonde {
namespace {

using sonde::test::MakeResource;
using sonde::test::MakeSpan;

// A request to flask-app that calls the inventory service: three spans, three
// levels, handed over out of order as they would arrive from the hot thread.
std::vector<Span> ThreeSpanTrace() {
  auto flask = MakeResource("flask-app", 1234);
  auto inventory = MakeResource("inventory", 77);

  Span root = MakeSpan(1, 1, 0, "GET /users/{id}", SpanKind::kServer, flask, 0, 12300);
  root.attributes = {{"http.request.method", std::string("GET")},
                     {"url.path", std::string("/users/42")},
                     {"http.route", std::string("/users/{id}")},
                     {"http.response.status_code", int64_t{200}},
                     {"client.address", std::string("10.0.0.7")}};

  Span call = MakeSpan(1, 2, 1, "GET", SpanKind::kClient, flask, 1, 5400);
  call.attributes = {{"server.address", std::string("inventory")},
                     {"server.port", int64_t{8080}},
                     {"http.response.status_code", int64_t{503}}};
  call.status = StatusCode::kError;
  call.status_message = "upstream unavailable";

  Span handler = MakeSpan(1, 3, 2, "GET /stock", SpanKind::kServer, inventory, 2, 850);
  handler.attributes = {{"http.response.status_code", int64_t{503}}, {"url.path", std::string("/stock")}};

  return {handler, root, call};
}

TEST(ConsoleExporter, PrintsATraceAsAnIndentedTree) {
  ConsoleExporter console(nullptr, ColorMode::kNever);
  EXPECT_EQ(console.Format(ThreeSpanTrace()),
            "trace 101112131415161718191a1b1c1d1e01  3 spans\n"
            "  SERVER GET /users/{id}  200  12.3ms  service=flask-app pid=1234\n"
            "      http.route=/users/{id}  url.path=/users/42  client.address=10.0.0.7\n"
            "    CLIENT GET  503  5.4ms  service=flask-app pid=1234\n"
            "        server.address=inventory  server.port=8080  error=\"upstream unavailable\"\n"
            "      SERVER GET /stock  503  850us  service=inventory pid=77\n"
            "          url.path=/stock\n");
}

TEST(ConsoleExporter, GroupsInterleavedTracesAndShowsOrphansWithTheirParent) {
  auto svc = MakeResource("svc", 5);
  Span a1 = MakeSpan(1, 1, 0, "A root", SpanKind::kServer, svc, 0, 2000);
  Span b1 = MakeSpan(2, 2, 9, "B orphan", SpanKind::kConsumer, nullptr, 1, 1500000);
  Span a2 = MakeSpan(1, 3, 1, "A child", SpanKind::kInternal, svc, 2, 10);
  b1.status = StatusCode::kOk;
  ConsoleExporter console(nullptr, ColorMode::kNever);
  EXPECT_EQ(console.Format({a1, b1, a2}),
            "trace 101112131415161718191a1b1c1d1e01  2 spans\n"
            "  SERVER A root  -  2.0ms  service=svc pid=5\n"
            "    INTERNAL A child  -  10us  service=svc pid=5\n"
            "trace 101112131415161718191a1b1c1d1e02  1 span\n"
            "  CONSUMER B orphan  OK  1.50s  parent=a0a1a2a3a4a5a609\n");
}

TEST(ConsoleExporter, ShowsSomeAttributesWhenNoneIsAKeyOne) {
  Span s = MakeSpan(1, 1, 0, "custom", SpanKind::kInternal, nullptr);
  s.attributes = {{"x.count", int64_t{3}},
                  {"x.ratio", 0.5},
                  {"x.flag", false},
                  {"x.text", std::string("a b")},
                  {"x.list", StringArray{"a", "b c"}}};
  ConsoleExporter console(nullptr, ColorMode::kNever);
  EXPECT_EQ(console.Format({s}),
            "trace 101112131415161718191a1b1c1d1e01  1 span\n"
            "  INTERNAL custom  -  1.0ms\n"
            "      x.count=3  x.ratio=0.5  x.flag=false  x.text=\"a b\"  x.list=[a, \"b c\"]\n");
}

TEST(ConsoleExporter, EscapesCapturedBytesThatWouldDriveTheTerminal) {
  Span s = MakeSpan(1, 1, 0, "GET /\x1b[2J\xFF", SpanKind::kServer, nullptr);
  s.attributes = {{"url.path", std::string("/a\nb")}};
  ConsoleExporter console(nullptr, ColorMode::kNever);
  std::string out = console.Format({s});
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("GET /\\x1b[2J\\xff"), std::string::npos);
  EXPECT_NE(out.find("url.path=/a\\nb"), std::string::npos);
}

TEST(ConsoleExporter, ColorsOnlyWhenAsked) {
  auto spans = ThreeSpanTrace();
  std::string colored = ConsoleExporter(nullptr, ColorMode::kAlways).Format(spans);
  EXPECT_NE(colored.find("\x1b[32mSERVER\x1b[0m"), std::string::npos);
  EXPECT_NE(colored.find("\x1b[31m503\x1b[0m"), std::string::npos);

  // kAuto on a file that is not a terminal: plain text.
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ConsoleExporter console(f);
  ASSERT_TRUE(console.Export(spans));
  std::rewind(f);
  std::string written;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) written.append(buf, n);
  std::fclose(f);
  EXPECT_EQ(written, ConsoleExporter(nullptr, ColorMode::kNever).Format(spans));
  EXPECT_EQ(written.find('\x1b'), std::string::npos);
}

TEST(ConsoleExporter, EmptyBatchWritesNothing) {
  ConsoleExporter console(nullptr, ColorMode::kNever);
  EXPECT_EQ(console.Format({}), "");
}

}  // namespace
}  // namespace sonde
