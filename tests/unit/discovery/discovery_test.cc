// Discovery against a fake /proc tree the test writes (the real /proc
// cannot be shaped), plus one check against the real /proc.
#include "discovery/discovery.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sonde {
namespace {

namespace fs = std::filesystem;

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sonde-proc-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "net");
    std::ofstream(root_ / "net/tcp") << "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                                        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n"
                                        "   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1\n";
    std::ofstream(root_ / "net/tcp6") << "  sl  local_address\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  void AddProcess(uint32_t pid, const std::string& exe, const std::string& comm, const std::string& cmdline,
                  const std::string& environ_text = "", uint64_t socket_inode = 0) {
    fs::path d = root_ / std::to_string(pid);
    fs::create_directories(d / "fd");
    fs::create_symlink(exe, d / "exe");
    std::ofstream(d / "comm") << comm << "\n";
    std::ofstream(d / "cmdline") << cmdline;
    std::ofstream(d / "environ") << environ_text;
    std::ofstream(d / "stat") << pid << " (" << comm << ") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0";
    std::ofstream(d / "maps") << "7f00 r-xp /usr/lib/x86_64-linux-gnu/libstdc++.so.6\n";
    if (socket_inode) fs::create_symlink("socket:[" + std::to_string(socket_inode) + "]", d / "fd" / "3");
  }

  fs::path root_;
};

TEST_F(FakeProc, ExeGlobMatchesNameOrPath) {
  AddProcess(10, "/usr/bin/python3.11", "python3", std::string("python3\0app.py\0", 15));
  AddProcess(11, "/usr/bin/node", "node", std::string("node\0s.js\0", 10));
  AddProcess(12, "/opt/svc/bin/api", "api", "api");
  Discovery d({{}, {"python3*", "/opt/svc/*"}, {}}, 1, root_.string());
  std::vector<uint32_t> pids = d.InitialScan();
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<uint32_t>{10, 12}));
  EXPECT_TRUE(d.IsSelected(10));
  EXPECT_FALSE(d.IsSelected(11));
}

TEST_F(FakeProc, PortSelectsTheListeningProcessOnly) {
  AddProcess(20, "/usr/bin/srv", "srv", "srv", "", 4242);    // listens on 8080
  AddProcess(21, "/usr/bin/cli", "cli", "cli", "", 4343);    // connected socket from 8081
  Discovery d({{}, {}, {8080}}, 1, root_.string());
  EXPECT_EQ(d.InitialScan(), (std::vector<uint32_t>{20}));
  // A process that starts listening later is selected by the listen event.
  EXPECT_TRUE(d.OnListen(30, 8080));
  EXPECT_FALSE(d.OnListen(31, 9090));
}

TEST_F(FakeProc, ExecForkExitFollowSelection) {
  AddProcess(40, "/usr/bin/python3", "python3", "python3");
  AddProcess(41, "/usr/bin/curl", "curl", "curl");
  Discovery d({{}, {"python3"}, {}}, 1, root_.string());
  EXPECT_TRUE(d.InitialScan().size() == 1);
  EXPECT_TRUE(d.OnFork(40, 41));  // a fork inherits the selection...
  EXPECT_TRUE(d.IsSelected(41));
  EXPECT_FALSE(d.OnExec(41));     // ...until it execs something that does not match
  EXPECT_FALSE(d.IsSelected(41));
  d.OnExit(40);
  EXPECT_FALSE(d.IsSelected(40));
  EXPECT_FALSE(d.OnFork(40, 42));
}

TEST_F(FakeProc, PidSelectionIsStickyAcrossExec) {
  AddProcess(50, "/bin/sh", "sh", "sh");
  Discovery d({{50}, {}, {}}, 1, root_.string());
  EXPECT_EQ(d.InitialScan(), (std::vector<uint32_t>{50}));
  EXPECT_TRUE(d.OnExec(50));
  EXPECT_TRUE(d.OnFork(50, 51));
}

TEST_F(FakeProc, TraceAllExcludesSelf) {
  Discovery d({}, 77, root_.string());
  EXPECT_TRUE(d.trace_all());
  EXPECT_TRUE(d.IsSelected(5));
  EXPECT_FALSE(d.IsSelected(77));
  EXPECT_FALSE(d.OnExec(77));
}

TEST_F(FakeProc, ProcessInfoReadsEnvironmentAndRuntime) {
  AddProcess(60, "/usr/bin/python3.11", "python3", std::string("python3\0/srv/app.py\0", 20),
             std::string("PATH=/bin\0OTEL_SERVICE_NAME=checkout\0OTEL_RESOURCE_ATTRIBUTES=a=b\0", 66));
  ProcessInfo p;
  ASSERT_TRUE(ReadProcessInfo(root_.string(), 60, &p));
  EXPECT_EQ(p.exe_path, "/usr/bin/python3.11");
  EXPECT_EQ(p.comm, "python3");
  EXPECT_EQ(p.cmdline, (std::vector<std::string>{"python3", "/srv/app.py"}));
  EXPECT_EQ(p.otel_service_name, "checkout");
  EXPECT_EQ(p.otel_resource_attributes, "a=b");
  EXPECT_EQ(p.runtime, Runtime::kPython);
  EXPECT_FALSE(ReadProcessInfo(root_.string(), 61, &p));
}

TEST(RealProc, ReadsThisProcess) {
  ProcessInfo p;
  ASSERT_TRUE(ReadProcessInfo("/proc", static_cast<uint32_t>(getpid()), &p));
  EXPECT_NE(p.exe_path.find("discovery_test"), std::string::npos);
  EXPECT_EQ(p.runtime, Runtime::kCpp);
  EXPECT_GT(p.start_ns, 0u);
}

TEST(Runtime, Detection) {
  EXPECT_EQ(DetectRuntime("/usr/bin/python3.11", ""), Runtime::kPython);
  EXPECT_EQ(DetectRuntime("/usr/bin/node", ""), Runtime::kNode);
  EXPECT_EQ(DetectRuntime("/usr/sbin/nginx", "libc.so.6"), Runtime::kNative);
  EXPECT_EQ(DetectRuntime("/srv/api", "/usr/lib/libstdc++.so.6"), Runtime::kCpp);
  EXPECT_EQ(DetectRuntime("/usr/bin/uwsgi", "/usr/lib/libpython3.11.so.1.0\n/usr/lib/libstdc++.so.6\n"),
            Runtime::kPython);
  EXPECT_EQ(DetectRuntime("/srv/edge", "/usr/lib/libnode.so.108\n"), Runtime::kNode);
  EXPECT_EQ(DetectRuntime("/usr/bin/python3 (deleted)", ""), Runtime::kPython);
  EXPECT_EQ(DetectRuntime("", ""), Runtime::kUnknown);
}

}  // namespace
}  // namespace sonde
