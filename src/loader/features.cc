#include "loader/features.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "loader/loader.h"

namespace sonde {
namespace {

bool Exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

std::string ReadFirstLine(const char* path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

FeatureReport ProgType(const char* name, bpf_prog_type type, bool required, const char* enables) {
  int r = libbpf_probe_bpf_prog_type(type, nullptr);
  FeatureReport f{name, r == 1, required,
                  r == 1 ? "program type loads" : (r == 0 ? "program type refused" : "probe failed"),
                  enables};
  return f;
}

}  // namespace

std::vector<FeatureReport> ProbeFeatures() {
  libbpf_set_print(nullptr);
  std::vector<FeatureReport> out;
  bool root = geteuid() == 0;
  out.push_back({"privileges", root, true, root ? "running as root" : "not root: probes below may fail",
                 "loading any BPF program"});
  out.push_back({"BTF", Exists("/sys/kernel/btf/vmlinux"), true, "/sys/kernel/btf/vmlinux",
                 "CO-RE reads of kernel structs (sockets, tasks)"});
  std::string err;
  bool tracefs = Exists("/sys/kernel/tracing/events") || (root && EnsureTracefs(&err));
  out.push_back({"tracefs", tracefs, true, tracefs ? "/sys/kernel/tracing" : err,
                 "attaching syscall and scheduler tracepoints"});
  out.push_back(ProgType("tracepoint programs", BPF_PROG_TYPE_TRACEPOINT, true,
                         "syscall capture (accept/connect/close/read/write/...), process exec/exit"));
  out.push_back(ProgType("raw tracepoint programs", BPF_PROG_TYPE_RAW_TRACEPOINT, true,
                         "fork tracking (children of selected processes)"));
  int rb = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
  out.push_back({"ring buffer", rb == 1, true, rb == 1 ? "BPF_MAP_TYPE_RINGBUF creates" : "refused",
                 "event delivery to user space"});
  int ts = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr);
  out.push_back({"task local storage", ts == 1, true, ts == 1 ? "BPF_MAP_TYPE_TASK_STORAGE creates" : "refused",
                 "per-thread syscall arguments and TLS call state"});
  int loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, nullptr);
  out.push_back({"bpf_loop helper", loop == 1, true, loop == 1 ? "allowed in tracepoints" : "refused",
                 "walking iovec arrays of any length (readv/writev/sendmsg/recvmsg)"});
  bool uprobe = Exists("/sys/bus/event_source/devices/uprobe/type");
  out.push_back({"uprobes", uprobe, false, "/sys/bus/event_source/devices/uprobe",
                 "TLS plaintext (OpenSSL SSL_read/SSL_write), runtime async tracking"});
  bool kprobe = Exists("/sys/bus/event_source/devices/kprobe/type") ||
                Exists("/sys/kernel/tracing/kprobe_events");
  out.push_back({"kprobes", kprobe, false,
                 kprobe ? "kprobe PMU present" : "kernel built without kprobes",
                 "optional acceleration only; sonde's capture path never needs them"});
  bool ftrace = Exists("/sys/kernel/tracing/available_filter_functions");
  FeatureReport fentry = ProgType("fentry/fexit (tracing programs)", BPF_PROG_TYPE_TRACING, false,
                                  "optional acceleration only; not used by the capture path");
  if (fentry.available && !ftrace) {
    fentry.available = false;
    fentry.detail = "program type known but no ftrace to attach trampolines";
  }
  out.push_back(fentry);
  out.push_back(ProgType("sock_ops programs", BPF_PROG_TYPE_SOCK_OPS, false,
                         "socket-level hooks for trace-context propagation"));
  out.push_back(ProgType("sk_msg programs", BPF_PROG_TYPE_SK_MSG, false,
                         "traceparent injection into outgoing HTTP/1.1 (bpf_msg_push_data)"));
  {
    std::ifstream mounts("/proc/mounts");
    std::stringstream ss;
    ss << mounts.rdbuf();
    std::string cg = FindCgroup2Mount(ss.str());
    out.push_back({"cgroup v2", !cg.empty(), false, cg.empty() ? "no cgroup2 mount in /proc/mounts" : cg,
                   "where the sock_ops program of traceparent injection attaches (its root)"});
  }
  out.push_back(ProgType("tc (sched_cls) programs", BPF_PROG_TYPE_SCHED_CLS, false,
                         "packet-level capture on interfaces"));
  std::string lockdown = ReadFirstLine("/sys/kernel/security/lockdown");
  bool locked = lockdown.find("[none]") == std::string::npos && !lockdown.empty();
  int pwu = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_probe_write_user, nullptr);
  bool write_user = pwu == 1 && !locked;
  out.push_back({"bpf_probe_write_user", write_user, false,
                 locked ? "kernel lockdown: " + lockdown : (pwu == 1 ? "helper allowed" : "helper refused"),
                 "not used by sonde (it never writes into traced processes)"});
  bool stats = Exists("/proc/sys/kernel/bpf_stats_enabled");
  out.push_back({"BPF run-time statistics", stats, false, "/proc/sys/kernel/bpf_stats_enabled",
                 "per-program run time in self-metrics and benchmarks"});
  return out;
}

}  // namespace sonde
