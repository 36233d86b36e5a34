// Finds, in a traced process, what the BPF programs need to read the
// calling thread's async context (bpf/async_ctx.h): for CPython, the address
// of _PyRuntime and the offsets of the interpreter's thread-state list and
// of PyThreadState.context. The version is read from the binary (Py_Version)
// and only layouts sonde knows are used; any other version is refused, so
// the kernel never follows offsets that do not fit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "async_ctx.h"

namespace sonde {

// The offsets of one CPython minor version into `rt` (runtime_addr left
// alone); false for versions whose layout sonde does not know.
bool PythonLayoutFor(uint32_t version_hex, sonde_py_runtime* rt);

struct PythonProbe {
  enum class Status { kNotPython, kSupported, kUnsupportedVersion, kUnreadable };
  Status status = Status::kNotPython;
  sonde_py_runtime rt{};
  uint32_t version = 0;  // PY_VERSION_HEX, 0 when unknown
  std::string file;      // the executable or libpython that holds the runtime
};

// Looks at a process (its executable and any mapped libpython*.so*).
PythonProbe ProbePython(uint32_t pid, const std::string& proc_root = "/proc");

std::string PythonVersionText(uint32_t version_hex);  // "3.11.2"

struct AsyncContextStats {
  uint64_t python_processes = 0;   // described to the kernel
  uint64_t unsupported_python = 0; // a CPython whose version sonde does not know
};

// Which traced processes have their async context read in the kernel. Scan
// is cheap to repeat: a process is judged once (until Forget).
class AsyncContextTargets {
 public:
  using Set = std::function<void(uint32_t pid, const sonde_py_runtime& rt)>;
  using Clear = std::function<void(uint32_t pid)>;
  AsyncContextTargets(Set set, Clear clear, std::string proc_root = "/proc")
      : set_(std::move(set)), clear_(std::move(clear)), proc_(std::move(proc_root)) {}

  // Judges `pid` unless it was already; returns true when it was judged now.
  bool Scan(uint32_t pid);
  // A process whose libpython may have been mapped since it was judged.
  void Rescan(uint32_t pid);
  void Forget(uint32_t pid);
  bool Known(uint32_t pid) const { return judged_.count(pid) != 0; }
  const AsyncContextStats& stats() const { return stats_; }

 private:
  Set set_;
  Clear clear_;
  std::string proc_;
  std::unordered_map<uint32_t, PythonProbe::Status> judged_;
  AsyncContextStats stats_;
};

}  // namespace sonde
