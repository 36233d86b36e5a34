// Opens, verifies and attaches sonde's BPF programs, polls the ring buffer
// and owns the pid filter map: the only interface user space has to the kernel.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loader/event.h"

struct sonde_py_runtime;

struct sonde_bpf;
struct ring_buffer;
struct bpf_link;

namespace sonde {

struct LoaderOptions {
  uint32_t capture_bytes = 4096;       // bytes captured per syscall (<= SONDE_MAX_CAPTURE)
  bool trace_all = false;              // every process except sonde itself
  uint32_t ringbuf_bytes = 8u << 20;   // power of two
  uint32_t wakeup_bytes = 64u << 10;   // wake the poller once this much is queued
  // Insert traceparent into outgoing HTTP/1 requests of selected processes
  // (sock_ops on the cgroup v2 root + sk_msg on a sockhash).
  bool inject_traceparent = false;
};

class Loader {
 public:
  using Callback = std::function<void(const Event&)>;

  // Loads and attaches everything. On failure returns nullptr and sets
  // *error to one sentence saying what is missing and how to fix it.
  static std::unique_ptr<Loader> Open(const LoaderOptions& opts, std::string* error);
  ~Loader();  // detaches every program

  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  void SelectPid(uint32_t pid);
  void UnselectPid(uint32_t pid);
  // Forgets the kernel's state of a connection (after its process exited).
  void ForgetConnection(uint32_t pid, int32_t fd);
  // Deletes connection state of processes that no longer exist.
  size_t SweepDeadProcesses();

  // Waits up to timeout_ms for events, then delivers everything queued.
  // Returns the number of events delivered, or -1 on error.
  int Poll(int timeout_ms, const Callback& cb);

  // Attaches the TLS plaintext uprobes to one file (a libssl, or an
  // executable carrying OpenSSL) given the file offsets of its SSL_*
  // functions (see elf_symbols.h); SSL_read and SSL_write are required.
  // Returns an id for DetachTls, or 0 with *error set.
  uint64_t AttachTls(const std::string& path, const std::map<std::string, uint64_t>& offsets,
                     std::string* error);
  void DetachTls(uint64_t id);

  // Where the async context of `pid`'s threads is read (bpf/async_ctx.h);
  // Clear stops reading it.
  void SetAsyncRuntime(uint32_t pid, const sonde_py_runtime& rt);
  void ClearAsyncRuntime(uint32_t pid);
  AsyncContextCounters ReadAsyncCounters() const;

  // Uprobes on node::InternalCallbackScope's constructor, destructor and Close in
  // one file (a node executable), at these file offsets. Returns an id for
  // DetachTls (the same bookkeeping), or 0 with *error set.
  uint64_t AttachNodeScopes(const std::string& path, uint64_t ctor_offset, uint64_t wrap_ctor_offset,
                            uint64_t dtor_offset, uint64_t close_offset, std::string* error);

  DropCounters ReadDrops() const;
  InjectCounters ReadInjectCounters() const;
  // The cgroup v2 directory the sock_ops program is attached to ("" when off).
  const std::string& inject_cgroup() const { return inject_cgroup_; }
  // Run time and count per program; all zero unless kernel.bpf_stats_enabled=1.
  std::vector<ProgramStats> ReadProgramStats() const;
  size_t attached_programs() const { return links_; }
  uint64_t malformed_events() const { return malformed_; }

 private:
  Loader() = default;
  static int OnRecord(void* ctx, void* data, size_t size);

  sonde_bpf* skel_ = nullptr;
  ring_buffer* rb_ = nullptr;
  // The kernel's selected-process bitmap (pid_bits), mapped into sonde.
  uint64_t* pid_bits_ = nullptr;
  size_t links_ = 0;
  std::map<uint64_t, std::vector<bpf_link*>> tls_links_;
  uint64_t next_tls_id_ = 1;
  uint64_t malformed_ = 0;
  bpf_link* sockops_link_ = nullptr;
  bool sk_msg_attached_ = false;
  std::string inject_cgroup_;
  const Callback* cb_ = nullptr;
};

// Mounts tracefs at /sys/kernel/tracing when it is not mounted (tracepoint
// attachment needs it). Returns false with *error set when that fails.
bool EnsureTracefs(std::string* error);

// The mount point of the cgroup v2 hierarchy according to a /proc/mounts
// text: "/sys/fs/cgroup" on pure v2 hosts, "/sys/fs/cgroup/unified" in the
// hybrid layout; "" when there is none.
std::string FindCgroup2Mount(const std::string& proc_mounts);

}  // namespace sonde
