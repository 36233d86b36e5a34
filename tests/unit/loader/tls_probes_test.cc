#include "loader/tls_probes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sonde {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLibssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";

// A fake /proc: <root>/<pid>/{exe,maps,root}. "root" points at the real /,
// so mapped paths resolve to this machine's real files.
class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/sonde-proc-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~FakeProc() { fs::remove_all(root_); }
  void AddProcess(uint32_t pid, const std::string& exe, const std::vector<std::string>& libs) {
    fs::path dir = fs::path(root_) / std::to_string(pid);
    fs::create_directories(dir);
    fs::create_symlink(exe, dir / "exe");
    fs::create_directory_symlink("/", dir / "root");
    std::ofstream maps(dir / "maps");
    uint64_t addr = 0x7f0000000000;
    for (const std::string& lib : libs) {
      maps << std::hex << addr << "-" << addr + 0x1000 << " r--p 00000000 08:01 1234 " << lib << "\n";
      maps << std::hex << addr + 0x1000 << "-" << addr + 0x9000 << " r-xp 00001000 08:01 1234 " << lib << "\n";
      addr += 0x10000;
    }
    maps << "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

struct FakeKernel {
  struct Attach {
    std::string path;
    std::map<std::string, uint64_t> offsets;
  };
  std::vector<Attach> attached;
  std::vector<uint64_t> detached;
  bool fail = false;
  TlsProbeTarget Target() {
    return TlsProbeTarget{[this](const std::string& path, const std::map<std::string, uint64_t>& offsets,
                                 std::string* err) -> uint64_t {
                            if (fail) {
                              *err = "refused";
                              return 0;
                            }
                            attached.push_back({path, offsets});
                            return attached.size();
                          },
                          [this](uint64_t id) { detached.push_back(id); }};
  }
};

std::string Which(const char* name) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    std::string p = std::string(dir) + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

TEST(TlsProbes, AttachesOncePerLibraryAndDetachesWhenUnused) {
  FakeProc proc;
  proc.AddProcess(100, "/bin/true", {"/usr/lib/x86_64-linux-gnu/libc.so.6", kLibssl});
  proc.AddProcess(101, "/bin/true", {kLibssl});
  FakeKernel kernel;
  {
    TlsProbes probes(kernel.Target(), proc.root());
    probes.Scan(100);
    ASSERT_EQ(kernel.attached.size(), 1u);
    EXPECT_EQ(kernel.attached[0].path, proc.root() + "/100/root" + kLibssl);
    for (const char* fn : {"SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex", "SSL_do_handshake", "SSL_free"})
      EXPECT_TRUE(kernel.attached[0].offsets.count(fn)) << fn;

    probes.Scan(101);
    probes.Scan(100);  // again: nothing new
    EXPECT_EQ(kernel.attached.size(), 1u);
    EXPECT_EQ(probes.attached_paths().size(), 1u);

    probes.Forget(100);
    EXPECT_TRUE(kernel.detached.empty()) << "pid 101 still maps the library";
    probes.Forget(101);
    ASSERT_EQ(kernel.detached.size(), 1u);
    EXPECT_EQ(kernel.detached[0], 1u);
    EXPECT_TRUE(probes.attached_paths().empty());

    probes.Scan(101);  // used again: attached again
    EXPECT_EQ(kernel.attached.size(), 2u);
  }
  // Destruction detaches what is left.
  EXPECT_EQ(kernel.detached.size(), 2u);
}

TEST(TlsProbes, ExecutableCarryingOpenSslIsProbed) {
  std::string node = Which("node");
  ASSERT_FALSE(node.empty()) << "node is not installed";
  FakeProc proc;
  proc.AddProcess(200, node, {});
  FakeKernel kernel;
  TlsProbes probes(kernel.Target(), proc.root());
  probes.Scan(200);
  ASSERT_EQ(kernel.attached.size(), 1u) << "node links OpenSSL statically and exports SSL_read/SSL_write";
  EXPECT_EQ(kernel.attached[0].path, proc.root() + "/200/exe");
  EXPECT_TRUE(kernel.attached[0].offsets.count("SSL_read"));
  EXPECT_TRUE(kernel.attached[0].offsets.count("SSL_write"));
}

TEST(TlsProbes, ProcessesWithoutOpenSslAttachNothing) {
  FakeProc proc;
  proc.AddProcess(300, "/bin/true", {"/usr/lib/x86_64-linux-gnu/libc.so.6"});
  FakeKernel kernel;
  TlsProbes probes(kernel.Target(), proc.root());
  probes.Scan(300);
  EXPECT_TRUE(kernel.attached.empty());
  EXPECT_EQ(probes.scanned().count(300), 1u);
  probes.Forget(300);
  EXPECT_TRUE(probes.scanned().empty());
}

TEST(TlsProbes, AttachFailureIsCountedAndNotRetried) {
  FakeProc proc;
  proc.AddProcess(400, "/bin/true", {kLibssl});
  proc.AddProcess(401, "/bin/true", {kLibssl});
  FakeKernel kernel;
  kernel.fail = true;
  TlsProbes probes(kernel.Target(), proc.root());
  probes.Scan(400);
  probes.Scan(401);
  EXPECT_EQ(probes.attach_failures(), 1u);
  EXPECT_TRUE(probes.attached_paths().empty());
}

TEST(TlsProbes, VanishedProcessIsHarmless) {
  FakeProc proc;
  FakeKernel kernel;
  TlsProbes probes(kernel.Target(), proc.root());
  probes.Scan(999);
  probes.Forget(999);
  EXPECT_TRUE(kernel.attached.empty());
}

}  // namespace
}  // namespace sonde
