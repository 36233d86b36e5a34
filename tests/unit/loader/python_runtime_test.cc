// The CPython description the kernel is given (loader/python_runtime.h),
// checked against a real python3.11 process: following the offsets through
// its memory (process_vm_readv, as the BPF program follows them with
// bpf_probe_read_user) must reach the thread state of its main thread, and
// the context pointer there must change when the process enters a Context.
#include "loader/python_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace sonde {
namespace {

constexpr const char* kPython = "/usr/bin/python3.11";

// A python3.11 child running `script`, its stdout read line by line.
class PythonChild {
 public:
  explicit PythonChild(const char* script) {
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(in[0], 0);
      close(out[0]);
      close(in[1]);
      execl(kPython, kPython, "-c", script, nullptr);
      _exit(127);
    }
    close(out[1]);
    close(in[0]);
    out_ = fdopen(out[0], "r");
    in_ = in[1];
  }
  ~PythonChild() {
    if (in_ >= 0) close(in_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  std::string Line() {
    char buf[256] = {};
    if (!out_ || !fgets(buf, sizeof(buf), out_)) return "";
    return buf;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int in_ = -1;
};

uint64_t ReadWord(pid_t pid, uint64_t addr) {
  uint64_t v = 0;
  iovec local{&v, sizeof(v)};
  iovec remote{reinterpret_cast<void*>(addr), sizeof(v)};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(v)) return 0;
  return v;
}

// What the BPF program does: _PyRuntime -> interpreter -> thread states,
// the one whose native_thread_id is `tid`.
uint64_t ThreadState(pid_t pid, const sonde_py_runtime& rt, uint32_t tid) {
  uint64_t interp = ReadWord(pid, rt.runtime_addr + rt.interp_head);
  if (!interp) return 0;
  uint64_t ts = ReadWord(pid, interp + rt.threads_head);
  for (int i = 0; ts && i < SONDE_PY_MAX_THREADS; ++i) {
    if (ReadWord(pid, ts + rt.tstate_native_id) == tid) return ts;
    ts = ReadWord(pid, ts + rt.tstate_next);
  }
  return 0;
}

TEST(PythonRuntime, KnowsOnlyLayoutsItWasGiven) {
  sonde_py_runtime rt{};
  EXPECT_TRUE(PythonLayoutFor(0x030b02f0, &rt));
  EXPECT_EQ(rt.tstate_context, 224u);
  EXPECT_FALSE(PythonLayoutFor(0x030a0cf0, &rt));  // 3.10
  EXPECT_FALSE(PythonLayoutFor(0x030c00f0, &rt));  // 3.12
  EXPECT_FALSE(PythonLayoutFor(0x020700f0, &rt));
  EXPECT_EQ(PythonVersionText(0x030b02f0), "3.11.2");
}

TEST(PythonRuntime, ReachesTheContextOfARealInterpreterThread) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is not installed";
  // Inside Context.run the thread's current Context is that object, and
  // id() of a CPython object is its address.
  PythonChild py(
      "import contextvars, sys\n"
      "def wait():\n"
      "    print(id(ctx), flush=True)\n"
      "    sys.stdin.readline()\n"
      "ctx = contextvars.Context()\n"
      "ctx.run(wait)\n");
  ASSERT_GT(py.pid(), 0);
  std::string line = py.Line();
  ASSERT_FALSE(line.empty());
  const uint64_t ctx = std::stoull(line);
  PythonProbe p = ProbePython(static_cast<uint32_t>(py.pid()));
  ASSERT_EQ(p.status, PythonProbe::Status::kSupported) << p.file;
  EXPECT_EQ(p.version >> 16, 0x030bu);
  uint64_t ts = ThreadState(py.pid(), p.rt, static_cast<uint32_t>(py.pid()));
  ASSERT_NE(ts, 0u) << "no thread state with native_thread_id == the main thread's tid";
  EXPECT_EQ(ReadWord(py.pid(), ts + p.rt.tstate_context), ctx);
}

TEST(PythonRuntime, AProcessThatIsNotPythonIsNotDescribed) {
  PythonProbe p = ProbePython(static_cast<uint32_t>(getpid()));
  EXPECT_EQ(p.status, PythonProbe::Status::kNotPython);
}

}  // namespace
}  // namespace sonde
