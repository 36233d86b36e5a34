#include "exporter/jsonl_exporter.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <sstream>

#include <gtest/gtest.h>

#include "test_spans.h"

namespace sonde {
namespace {

using sonde::test::MakeResource;
using sonde::test::MakeSpan;

// Re-encodes every line of a JSON-lines file with Python's strict parser
// (sorted keys, ASCII only), so a test can compare exact canonical text and
// any invalid line fails the parse. nullopt when python3 is unavailable.
// (The script is passed in single quotes, so it must not contain any.)
std::optional<std::vector<std::string>> CanonicalLines(const std::string& path) {
  static const char* kScript =
      "import json, sys\n"
      "def bad(c): raise ValueError(\"non-standard JSON constant \" + c)\n"
      "with open(sys.argv[1], \"rb\") as f:\n"
      "    for raw in f:\n"
      "        obj = json.loads(raw.decode(\"utf-8\"), parse_constant=bad)\n"
      "        print(json.dumps(obj, sort_keys=True, ensure_ascii=True))\n";
  std::string cmd = "python3 -c '" + std::string(kScript) + "' '" + path + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return std::nullopt;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> RawLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class JsonlExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sonde-jsonl-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "spans.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JsonlExporterTest, EachSpanIsOneParsableLineWithAllFields) {
  Span root = MakeSpan(1, 1, 0, "GET /users/{id}", SpanKind::kServer, MakeResource("flask-app", 1234), 0, 12300);
  root.attributes = {{"http.request.method", std::string("GET")},
                     {"http.response.status_code", int64_t{200}},
                     {"sonde.ratio", 0.25},
                     {"sonde.tls", true},
                     {"sonde.weird", std::string("q\"uote\\ \n\t\x01 caf\xC3\xA9 \xFF")},
                     {"sonde.nan", std::numeric_limits<double>::quiet_NaN()},
                     {"sonde.inf", -std::numeric_limits<double>::infinity()},
                     {"sonde.list", StringArray{"a", "b\""}},
                     {"sonde.empty_list", StringArray{}}};
  root.status = StatusCode::kOk;
  root.trace_state = "k=v";
  Span child = MakeSpan(1, 2, 1, "SELECT", SpanKind::kClient, nullptr, 1, 500);
  child.attributes = {{"sonde.two", 2.0}, {"sonde.min", std::numeric_limits<int64_t>::min()}};
  child.status = StatusCode::kError;
  child.status_message = "line1\nline2";

  {
    JsonlExporter exporter(path_);
    ASSERT_TRUE(exporter.ok());
    ASSERT_TRUE(exporter.Export({root, child}));
  }
  auto lines = CanonicalLines(path_);
  ASSERT_TRUE(lines.has_value()) << "python3 is needed to check the JSON (scripts/install-deps.sh installs it)";
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0],
            R"JSON({"attributes": {"http.request.method": "GET", "http.response.status_code": 200, )JSON"
            R"JSON("sonde.empty_list": [], "sonde.inf": "-Infinity", "sonde.list": ["a", "b\""], )JSON"
            R"JSON("sonde.nan": "NaN", "sonde.ratio": 0.25, "sonde.tls": true, )JSON"
            R"JSON("sonde.weird": "q\"uote\\ \n\t\u0001 caf\u00e9 \\xff"}, )JSON"
            R"JSON("end_unix_ns": 1700000000012300000, "kind": "SERVER", "name": "GET /users/{id}", )JSON"
            R"JSON("parent_span_id": "", "resource": {"process.pid": 1234, "service.name": "flask-app"}, )JSON"
            R"JSON("span_id": "a0a1a2a3a4a5a601", "start_unix_ns": 1700000000000000000, )JSON"
            R"JSON("status": {"code": "OK", "message": ""}, "trace_id": "101112131415161718191a1b1c1d1e01", )JSON"
            R"JSON("trace_state": "k=v"})JSON");
  EXPECT_EQ((*lines)[1],
            R"JSON({"attributes": {"sonde.min": -9223372036854775808, "sonde.two": 2.0}, )JSON"
            R"JSON("end_unix_ns": 1700000000001500000, "kind": "CLIENT", "name": "SELECT", )JSON"
            R"JSON("parent_span_id": "a0a1a2a3a4a5a601", "resource": {}, "span_id": "a0a1a2a3a4a5a602", )JSON"
            R"JSON("start_unix_ns": 1700000000001000000, "status": {"code": "ERROR", "message": "line1\nline2"}, )JSON"
            R"JSON("trace_id": "101112131415161718191a1b1c1d1e01"})JSON");
}

// Each process's resource is written once per exporter and reused for its
// spans; a line must still show the resource of its own span, also when a
// resource object is gone and another one has its address.
TEST_F(JsonlExporterTest, EachLineShowsItsOwnSpansResource) {
  JsonlExporter exporter(path_);
  ASSERT_TRUE(exporter.ok());
  auto flask = MakeResource("flask-app", 1234);
  auto node = MakeResource("node-app", 99);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "a", SpanKind::kServer, flask, 0, 1),
                               MakeSpan(2, 2, 0, "b", SpanKind::kServer, node, 0, 1),
                               MakeSpan(3, 3, 0, "c", SpanKind::kServer, flask, 0, 1)}));
  // Resources built in the same storage, one after the other: each has the
  // address of the one before, which is gone by then.
  alignas(Resource) static unsigned char slot[sizeof(Resource)];
  const Resource* previous = nullptr;
  for (int i = 0; i < 3; ++i) {
    std::shared_ptr<Resource> fresh(new (slot) Resource(), [](Resource* r) { r->~Resource(); });
    fresh->attributes = {{"service.name", "fresh-" + std::to_string(i)}, {"process.pid", int64_t{5000 + i}}};
    if (previous) ASSERT_EQ(fresh.get(), previous);
    previous = fresh.get();
    ASSERT_TRUE(exporter.Export({MakeSpan(4, 4, 0, "d", SpanKind::kServer, fresh, 0, 1)}));
  }
  std::vector<std::string> lines = RawLines(path_);
  ASSERT_EQ(lines.size(), 6u);
  auto resource_of = [](const std::string& line) { return line.substr(line.find("\"resource\":")); };
  EXPECT_EQ(resource_of(lines[0]), R"("resource":{"service.name":"flask-app","process.pid":1234}})");
  EXPECT_EQ(resource_of(lines[1]), R"("resource":{"service.name":"node-app","process.pid":99}})");
  EXPECT_EQ(resource_of(lines[2]), resource_of(lines[0]));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(resource_of(lines[3 + i]), R"("resource":{"service.name":"fresh-)" + std::to_string(i) +
                                             R"(","process.pid":)" + std::to_string(5000 + i) + "}}")
        << "line " << 3 + i;
}

TEST_F(JsonlExporterTest, AllKindsAreNamed) {
  std::vector<Span> spans;
  uint8_t id = 1;
  for (SpanKind k : {SpanKind::kInternal, SpanKind::kServer, SpanKind::kClient, SpanKind::kProducer,
                     SpanKind::kConsumer})
    spans.push_back(MakeSpan(1, id++, 0, "s", k, nullptr));
  std::string kinds;
  for (const Span& s : spans) {
    std::string json = SpanToJson(s);
    size_t at = json.find("\"kind\":\"");
    ASSERT_NE(at, std::string::npos);
    kinds += json.substr(at + 8, json.find('"', at + 8) - at - 8) + " ";
  }
  EXPECT_EQ(kinds, "INTERNAL SERVER CLIENT PRODUCER CONSUMER ");
}

TEST_F(JsonlExporterTest, EveryBatchIsOnDiskWhenExportReturns) {
  JsonlExporter exporter(path_);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "a", SpanKind::kServer, nullptr)}));
  EXPECT_EQ(RawLines(path_).size(), 1u);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 2, 0, "b", SpanKind::kServer, nullptr),
                               MakeSpan(1, 3, 0, "c", SpanKind::kServer, nullptr)}));
  EXPECT_EQ(RawLines(path_).size(), 3u);
  EXPECT_TRUE(exporter.Export({}));
  EXPECT_EQ(RawLines(path_).size(), 3u);
}

TEST_F(JsonlExporterTest, AppendsToAnExistingFile) {
  { std::ofstream(path_) << "{\"earlier\":true}\n"; }
  JsonlExporter exporter(path_);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "a", SpanKind::kServer, nullptr)}));
  auto lines = RawLines(path_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
}

TEST_F(JsonlExporterTest, UnopenablePathFailsExports) {
  JsonlExporter exporter((dir_ / "missing-dir" / "spans.jsonl").string());
  EXPECT_FALSE(exporter.ok());
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "a", SpanKind::kServer, nullptr)}));
}

TEST_F(JsonlExporterTest, ExportAfterShutdownFails) {
  JsonlExporter exporter(path_);
  exporter.Shutdown();
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "a", SpanKind::kServer, nullptr)}));
}

}  // namespace
}  // namespace sonde
