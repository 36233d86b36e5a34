// Runs the real sonde binary (real BPF programs) against an in-test OTLP
// receiver, and helps tests select the spans of one process.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "tests/support/otlp_receiver.h"

namespace sonde::testing {

struct ClientResult {
  std::string path;
  int status = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};

// Parses "RESULT path status start end" lines printed by the test clients.
std::vector<ClientResult> ParseResults(const std::string& out);

class SondeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts sonde with `args` exporting to the receiver; waits for "sonde ready".
  void StartSonde(std::vector<std::string> args = {}, std::vector<std::string> env = {});
  void StopSonde();  // SIGTERM; expects exit code 0

  // Spans whose resource has process.pid == pid (and kind, when non-zero),
  // once at least `n` have arrived (or after the timeout).
  std::vector<ReceivedSpan> SpansOf(pid_t pid, size_t n, int kind = 0, int timeout_ms = 8000);
  // Waits a little for stragglers, then returns every span of pid.
  std::vector<ReceivedSpan> SettledSpansOf(pid_t pid, int kind = 0);
  // Waits for `n` spans of pid (any kind), then for stragglers: every span
  // of pid, so a test can assert that nothing beyond the expected arrived.
  std::vector<ReceivedSpan> AllSpansOf(pid_t pid, size_t n);
  // sonde's /metrics page (Prometheus text).
  std::string MetricsText();
  // The value of the series of metric `name` (as Prometheus prints it)
  // with label `label` (`key="value"`), once it equals `want` or after
  // `timeout_ms` (self-metrics are refreshed once a second); -1 when absent.
  double MetricValue(const std::string& name, const std::string& label, double want, int timeout_ms = 3000);

  std::unique_ptr<OtlpTestReceiver> receiver_;
  std::unique_ptr<Child> sonde_;
  uint16_t admin_port_ = 0;  // sonde's /metrics and /healthz
};

// Starts tests/integration/apps/http_server.py on port (with `cert` and `key`:
// HTTPS) and waits until it accepts connections.
std::unique_ptr<Child> StartPyServer(uint16_t port, const std::string& cert = "", const std::string& key = "");

// The span lies within [t0, t1] (wall clock, what a client measured), allowing
// for the jitter of sonde's monotonic-to-wall-clock conversion.
constexpr uint64_t kSlackNs = 3'000'000;
void ExpectInside(const ReceivedSpan& s, uint64_t t0, uint64_t t1);

// Finds the one span with this name; fails the test when not exactly one.
const ReceivedSpan* OneNamed(const std::vector<ReceivedSpan>& spans, const std::string& name);
std::string Describe(const std::vector<ReceivedSpan>& spans);

constexpr int kServer = 2;
constexpr int kClient = 3;
constexpr int kUnset = 0;
constexpr int kError = 2;

}  // namespace sonde::testing
