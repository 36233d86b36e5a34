// The sonde binary's command line: bad input is refused before anything is
// attached; doctor, console and JSON-lines outputs work.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

std::string Sonde() { return BinaryDir() + "/sonde"; }

TEST(SondeCli, UnknownFlagIsNamedAndExitsTwo) {
  Child c({Sonde(), "--no-such-flag"}, {}, Child::Capture::kStderr);
  EXPECT_EQ(c.Wait(milliseconds(10000)), 2);
  std::string err = c.ReadAll(milliseconds(500));
  EXPECT_NE(err.find("unknown flag '--no-such-flag'"), std::string::npos) << err;
  EXPECT_EQ(err.find("sonde ready"), std::string::npos);
}

TEST(SondeCli, UnknownConfigKeyIsNamedAndExitsTwo) {
  std::string path = BinaryDir() + "/tests/integration/bad_config.yaml";
  std::ofstream(path) << "select:\n  exe: [python3]\n  exes: [node]\n";
  Child c({Sonde(), "--config", path}, {}, Child::Capture::kStderr);
  EXPECT_EQ(c.Wait(milliseconds(10000)), 2);
  std::string err = c.ReadAll(milliseconds(500));
  EXPECT_NE(err.find("unknown config key 'select.exes'"), std::string::npos) << err;
}

TEST(SondeCli, BadValueIsNamedAndExitsTwo) {
  Child c({Sonde(), "--port", "70000"}, {}, Child::Capture::kStderr);
  EXPECT_EQ(c.Wait(milliseconds(10000)), 2);
  std::string err = c.ReadAll(milliseconds(500));
  EXPECT_NE(err.find("'70000' for --port"), std::string::npos) << err;
}

TEST(SondeCli, DoctorReportsKernelFeatures) {
  Child c({Sonde(), "doctor"});
  EXPECT_EQ(c.Wait(milliseconds(20000)), 0);
  std::string out = c.ReadAll(milliseconds(500));
  EXPECT_NE(out.find("tracepoint programs"), std::string::npos) << out;
  EXPECT_NE(out.find("kprobes"), std::string::npos) << out;
  EXPECT_NE(out.find("sonde can run here"), std::string::npos) << out;
}

TEST_F(SondeTest, JsonlAndConsoleOutputs) {
  ASSERT_EQ(geteuid(), 0u);
  uint16_t port = FreePort();
  Child server({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port)});
  ASSERT_TRUE(server.WaitForLine("listening", milliseconds(10000)));
  std::string jsonl = BinaryDir() + "/tests/integration/spans.jsonl";
  std::remove(jsonl.c_str());
  Child agent({Sonde(), "--pid", std::to_string(server.pid()), "--output", "console", "--output", "jsonl:" + jsonl,
               "--admin-address", "127.0.0.1:0"},
              {"OTEL_BSP_SCHEDULE_DELAY=100"});
  // stdout is captured here; readiness is announced on stderr, so wait for
  // the kernel side by polling until a request yields a span.
  std::string console;
  for (int i = 0; i < 50 && console.find("/items/") == std::string::npos; ++i) {
    Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/items/3"});
    curl.Wait(milliseconds(5000));
    console += agent.ReadAll(milliseconds(400));
  }
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(milliseconds(10000)), 0);
  console += agent.ReadAll(milliseconds(200));
  EXPECT_NE(console.find("SERVER"), std::string::npos) << console;
  EXPECT_NE(console.find("GET /items/{id}"), std::string::npos) << console;
  std::ifstream f(jsonl);
  std::string line;
  ASSERT_TRUE(std::getline(f, line)) << "no span in " << jsonl;
  EXPECT_EQ(line.front(), '{');
  EXPECT_NE(line.find("\"name\":\"GET /items/{id}\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"kind\":\"SERVER\""), std::string::npos) << line;
}

}  // namespace
}  // namespace sonde::testing

namespace sonde::testing {
namespace {

TEST(SondeCli, WithoutPrivilegesSaysWhatIsMissingAndExitsOne) {
  // Drop to an unprivileged user for this one run.
  Child c({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", Sonde()}, {},
          Child::Capture::kStderr);
  EXPECT_EQ(c.Wait(milliseconds(10000)), 1);
  std::string err = c.ReadAll(milliseconds(500));
  EXPECT_NE(err.find("sonde needs root"), std::string::npos) << err;
  EXPECT_EQ(err.find("sonde ready"), std::string::npos) << err;
}

}  // namespace
}  // namespace sonde::testing
