#include "sonde_fixture.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace sonde::testing {

std::vector<ClientResult> ParseResults(const std::string& out) {
  std::vector<ClientResult> r;
  std::istringstream is(out);
  std::string line;
  while (std::getline(is, line)) {
    std::istringstream ls(line);
    std::string tag;
    ClientResult c;
    if (ls >> tag >> c.path >> c.status >> c.start_ns >> c.end_ns && tag == "RESULT") r.push_back(c);
  }
  return r;
}

void SondeTest::SetUp() {
  ASSERT_EQ(geteuid(), 0u) << "the integration tests load sonde's BPF programs and need root: run them as root "
                              "(sudo ctest, or the README's test command)";
  receiver_ = std::make_unique<OtlpTestReceiver>();
}

void SondeTest::TearDown() {
  if (sonde_ && HasFailure() && admin_port_) {
    // What sonde lost or cut is often why a span is missing or incomplete.
    std::istringstream metrics(MetricsText());
    std::string line, losses;
    while (std::getline(metrics, line))
      if (line[0] != '#' && (line.find("_lost") != std::string::npos || line.find("truncated") != std::string::npos ||
                             line.find("dropped") != std::string::npos) &&
          line.substr(line.rfind(' ') + 1) != "0")
        losses += "  " + line + "\n";
    if (!losses.empty()) printf("sonde's non-zero loss counters at the failure:\n%s", losses.c_str());
  }
  if (sonde_) StopSonde();
}

std::string SondeTest::MetricsText() {
  Child curl({"curl", "-s", "http://127.0.0.1:" + std::to_string(admin_port_) + "/metrics"});
  return curl.ReadAll(milliseconds(3000));
}

double SondeTest::MetricValue(const std::string& name, const std::string& label, double want, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + milliseconds(timeout_ms);
  double value = -1;
  for (;;) {
    std::istringstream text(MetricsText());
    std::string line;
    value = -1;
    while (std::getline(text, line)) {
      size_t labels_end = line.find("} ");
      if (line.rfind(name + "{", 0) != 0 || labels_end == std::string::npos) continue;
      if (line.substr(0, labels_end).find(label) != std::string::npos) value = std::stod(line.substr(labels_end + 2));
    }
    if (value == want || std::chrono::steady_clock::now() > deadline) return value;
    std::this_thread::sleep_for(milliseconds(200));
  }
}

void SondeTest::StartSonde(std::vector<std::string> args, std::vector<std::string> env) {
  std::vector<std::string> argv = {BinaryDir() + "/sonde", "--output", "otlp", "--admin-address", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  env.push_back("OTEL_EXPORTER_OTLP_ENDPOINT=http://" + receiver_->endpoint());
  env.push_back("OTEL_BSP_SCHEDULE_DELAY=100");
  sonde_ = std::make_unique<Child>(argv, env, Child::Capture::kStderr);
  std::string line;
  ASSERT_TRUE(sonde_->WaitForLine("sonde ready", milliseconds(30000), &line))
      << "sonde did not become ready; it printed:\n" << sonde_->seen();
  size_t at = line.find("/healthz on port ");
  ASSERT_NE(at, std::string::npos) << line;
  admin_port_ = static_cast<uint16_t>(std::stoi(line.substr(at + 17)));
}

void SondeTest::StopSonde() {
  sonde_->Signal(SIGTERM);
  int code = sonde_->Wait(milliseconds(15000));
  EXPECT_EQ(code, 0) << "sonde printed:\n" << sonde_->seen() << sonde_->ReadAll(milliseconds(100));
  // For a person reading a run: what sonde logged, its stop report included.
  if (getenv("SONDE_TEST_SHOW_LOG")) std::fprintf(stderr, "sonde printed:\n%s%s\n", sonde_->seen().c_str(),
                                                  sonde_->ReadAll(milliseconds(100)).c_str());
  sonde_.reset();
}

std::vector<ReceivedSpan> SondeTest::SpansOf(pid_t pid, size_t n, int kind, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + milliseconds(timeout_ms);
  std::vector<ReceivedSpan> out;
  for (;;) {
    out.clear();
    for (auto& s : receiver_->Spans()) {
      auto it = s.resource.find("process.pid");
      if (it == s.resource.end() || it->second != std::to_string(pid)) continue;
      if (kind && s.kind != kind) continue;
      out.push_back(s);
    }
    if (out.size() >= n || std::chrono::steady_clock::now() > deadline) return out;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::vector<ReceivedSpan> SondeTest::SettledSpansOf(pid_t pid, int kind) {
  std::this_thread::sleep_for(milliseconds(600));
  return SpansOf(pid, 0, kind, 0);
}

std::vector<ReceivedSpan> SondeTest::AllSpansOf(pid_t pid, size_t n) {
  SpansOf(pid, n);
  return SettledSpansOf(pid);
}

std::unique_ptr<Child> StartPyServer(uint16_t port, const std::string& cert, const std::string& key) {
  std::vector<std::string> argv = {Python(), SourceDir() + "/tests/integration/apps/http_server.py", std::to_string(port)};
  if (!cert.empty()) argv.insert(argv.end(), {cert, key});
  auto c = std::make_unique<Child>(argv);
  EXPECT_TRUE(c->WaitForLine("listening", milliseconds(10000))) << "http_server.py did not start: " << c->seen();
  EXPECT_TRUE(WaitForPort(port, milliseconds(5000)));
  return c;
}

void ExpectInside(const ReceivedSpan& s, uint64_t t0, uint64_t t1) {
  EXPECT_GE(s.start_unix_ns + kSlackNs, t0) << s.name << " starts before the client started";
  EXPECT_LE(s.end_unix_ns, t1 + kSlackNs) << s.name << " ends after the client finished";
  EXPECT_LE(s.start_unix_ns, s.end_unix_ns) << s.name;
}

const ReceivedSpan* OneNamed(const std::vector<ReceivedSpan>& spans, const std::string& name) {
  const ReceivedSpan* found = nullptr;
  int count = 0;
  for (auto& s : spans)
    if (s.name == name) {
      found = &s;
      ++count;
    }
  EXPECT_EQ(count, 1) << "spans named '" << name << "' among:\n" << Describe(spans);
  return count == 1 ? found : nullptr;
}

std::string Describe(const std::vector<ReceivedSpan>& spans) {
  std::ostringstream os;
  for (auto& s : spans) {
    os << "  kind=" << s.kind << " name='" << s.name << "' status=" << s.status_code;
    for (const char* k : {"url.scheme", "url.path", "http.response.status_code", "network.protocol.version",
                          "rpc.method", "rpc.grpc.status_code", "error.type", "sonde.http.headers_partial"}) {
      auto it = s.attributes.find(k);
      if (it != s.attributes.end()) os << " " << k << "=" << it->second;
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace sonde::testing
