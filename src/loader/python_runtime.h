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
#include <map>
#include <set>
#include <unordered_map>

#include "async_ctx.h"

namespace sonde {

// The offsets of one CPython minor version into `rt` (runtime_addr left
// alone); false for versions whose layout sonde does not know.
bool PythonLayoutFor(uint32_t version_hex, sonde_py_runtime* rt);

struct PythonProbe {
  // kNode: not Python, a Node.js executable (set by AsyncContextTargets).
  enum class Status { kNotPython, kSupported, kUnsupportedVersion, kUnreadable, kNode };
  Status status = Status::kNotPython;
  sonde_py_runtime rt{};
  uint32_t version = 0;  // PY_VERSION_HEX, 0 when unknown
  std::string file;      // the executable or libpython that holds the runtime
};

// Looks at a process (its executable, unless `skip_exe`, and any mapped
// libpython*.so*).
PythonProbe ProbePython(uint32_t pid, const std::string& proc_root = "/proc", bool skip_exe = false);

std::string PythonVersionText(uint32_t version_hex);  // "3.11.2"

// node::InternalCallbackScope's constructor (Environment*, Local<Object>,
// const async_context&, int) and destructor, as the Itanium ABI names them.
inline constexpr const char* kNodeScopeCtor =
    "_ZN4node21InternalCallbackScopeC1EPNS_11EnvironmentEN2v85LocalINS3_6ObjectEEERKNS_13async_contextEi";
// InternalCallbackScope(AsyncWrap*, int): the HTTP parser's callbacks.
inline constexpr const char* kNodeScopeWrapCtor = "_ZN4node21InternalCallbackScopeC1EPNS_9AsyncWrapEi";
inline constexpr const char* kNodeScopeDtor = "_ZN4node21InternalCallbackScopeD1Ev";
inline constexpr const char* kNodeScopeClose = "_ZN4node21InternalCallbackScope5CloseEv";

struct AsyncContextStats {
  uint64_t python_processes = 0;   // described to the kernel
  uint64_t unsupported_python = 0; // a CPython whose version sonde does not know
  uint64_t node_processes = 0;     // Node.js processes whose callback scopes are followed
};

// Which traced processes have their async context read in the kernel. Scan
// is cheap to repeat: a process is judged once (until Forget).
class AsyncContextTargets {
 public:
  using Set = std::function<void(uint32_t pid, const sonde_py_runtime& rt)>;
  using Clear = std::function<void(uint32_t pid)>;
  // Node.js: uprobes on the callback scope of a node executable (once per
  // file); returns an id for `detach`, 0 on failure.
  using AttachNode =
      std::function<uint64_t(const std::string& path, uint64_t ctor, uint64_t wrap_ctor, uint64_t dtor, uint64_t close)>;
  using Detach = std::function<void(uint64_t id)>;
  AsyncContextTargets(Set set, Clear clear, AttachNode attach_node = nullptr, Detach detach = nullptr,
                      std::string proc_root = "/proc")
      : set_(std::move(set)),
        clear_(std::move(clear)),
        attach_node_(std::move(attach_node)),
        detach_(std::move(detach)),
        proc_(std::move(proc_root)) {}
  ~AsyncContextTargets() { DetachAll(); }
  // Takes every uprobe off (before the loader goes).
  void DetachAll();
  AsyncContextTargets(const AsyncContextTargets&) = delete;
  AsyncContextTargets& operator=(const AsyncContextTargets&) = delete;
  bool IsNode(uint32_t pid) const { return node_pids_.count(pid) != 0; }

  // Judges `pid` unless it was already; returns true when it was judged now.
  bool Scan(uint32_t pid);
  // A process whose libpython may have been mapped since it was judged.
  void Rescan(uint32_t pid);
  void Forget(uint32_t pid);
  bool Known(uint32_t pid) const { return judged_.count(pid) != 0; }
  const AsyncContextStats& stats() const { return stats_; }

 private:
  bool ScanNode(uint32_t pid);

  Set set_;
  Clear clear_;
  AttachNode attach_node_;
  Detach detach_;
  std::string proc_;
  std::unordered_map<uint32_t, PythonProbe::Status> judged_;
  struct NodeFile {
    uint64_t link_id = 0;
    std::set<uint32_t> pids;
  };
  std::map<std::pair<uint64_t, uint64_t>, NodeFile> node_files_;  // by (device, inode)
  std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>> node_pids_;
  // Executables judged neither CPython nor Node (by device, inode): a
  // server forking a process per connection (postgres) is not read again.
  std::set<std::pair<uint64_t, uint64_t>> plain_exes_;
  AsyncContextStats stats_;
};

}  // namespace sonde
