#include "loader/loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <sstream>

#include "async_ctx.h"
#include "events.h"
#include "sonde.skel.h"

namespace sonde {
namespace {

int LibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, args);
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '\n') buf[--n] = 0;
  if (level == LIBBPF_WARN)
    spdlog::warn("libbpf: {}", buf);
  else
    spdlog::trace("libbpf: {}", buf);
  return 0;
}

std::string FormatAddr(uint16_t family, const uint8_t* a) {
  char out[INET6_ADDRSTRLEN] = {};
  if (family == 2) {
    inet_ntop(AF_INET, a, out, sizeof(out));
  } else {
    // IPv4-mapped IPv6 (dual-stack listeners): show the IPv4 form.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, kMapped, 12) == 0)
      inet_ntop(AF_INET, a + 12, out, sizeof(out));
    else
      inet_ntop(AF_INET6, a, out, sizeof(out));
  }
  return out;
}

// inet_ntop for both ends of every data event showed up in profiles;
// connections are few and long-lived, so a small direct-mapped cache of
// formatted addresses (one per polling thread) almost always hits.
const std::string& CachedAddr(uint16_t family, const uint8_t* a) {
  struct Slot {
    uint16_t family = 0xffff;
    uint8_t addr[16] = {};
    std::string text;
  };
  thread_local std::array<Slot, 256> slots;
  uint64_t h = family;
  for (int i = 0; i < 16; ++i) h = h * 131 + a[i];
  Slot& s = slots[(h ^ (h >> 17)) & 255];
  if (s.family != family || memcmp(s.addr, a, 16) != 0) {
    s.family = family;
    memcpy(s.addr, a, 16);
    s.text = FormatAddr(family, a);
  }
  return s.text;
}

void FillConn(const sonde_conn_id& id, const sonde_tuple& t, uint8_t role, ConnInfo* c) {
  c->key.pid = id.pid;
  c->key.fd = id.fd;
  c->key.pstart_ns = id.pstart_ns;
  c->key.gen = id.gen;
  c->role = static_cast<Role>(role <= 2 ? role : 0);
  c->local_addr = CachedAddr(t.family, t.laddr);
  c->local_port = t.lport;
  c->peer_addr = CachedAddr(t.family, t.raddr);
  c->peer_port = t.rport;
  c->tls = false;
}

bool HasBpfPrivileges() {
  // Root, or the capabilities BPF tracing needs (CAP_BPF=39, CAP_PERFMON=38,
  // CAP_SYS_ADMIN=21) in the effective set.
  if (geteuid() == 0) return true;
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return false;
  char line[256];
  unsigned long long eff = 0;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "CapEff: %llx", &eff) == 1) break;
  fclose(f);
  auto has = [&](int cap) { return (eff >> cap) & 1ull; };
  return has(21) || (has(39) && has(38));
}

// /proc/mounts escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountField(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Attaches the sock_ops program to the cgroup v2 root and the sk_msg program
// to the sockhash; see bpf/inject.bpf.h.
bool AttachInjection(sonde_bpf* skel, bpf_link** sockops_link, bool* sk_msg_attached, std::string* cgroup,
                     std::string* error) {
  std::ifstream f("/proc/mounts");
  std::stringstream ss;
  ss << f.rdbuf();
  *cgroup = FindCgroup2Mount(ss.str());
  if (cgroup->empty()) {
    *error = "traceparent injection needs a cgroup v2 hierarchy (no cgroup2 mount in /proc/mounts); "
             "mount one or turn propagation.inject_traceparent off";
    return false;
  }
  // The sk_msg program first: a socket entering the sockhash must find it.
  if (bpf_prog_attach(bpf_program__fd(skel->progs.inject_msg), bpf_map__fd(skel->maps.inj_sockhash),
                      BPF_SK_MSG_VERDICT, 0) != 0) {
    *error = std::string("cannot attach the sk_msg program to its sockhash: ") + strerror(errno);
    return false;
  }
  *sk_msg_attached = true;
  int cg = open(cgroup->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    *error = "cannot open the cgroup v2 root " + *cgroup + ": " + strerror(errno);
    return false;
  }
  // A link, not a plain attachment: it goes away with sonde's file
  // descriptors, even when sonde is killed.
  *sockops_link = bpf_program__attach_cgroup(skel->progs.inject_sockops, cg);
  int saved = errno;
  close(cg);
  if (!*sockops_link) {
    *error = "cannot attach the sock_ops program to " + *cgroup + ": " + strerror(saved);
    return false;
  }
  return true;
}

}  // namespace

std::string FindCgroup2Mount(const std::string& proc_mounts) {
  std::istringstream is(proc_mounts);
  std::string line;
  while (std::getline(is, line)) {
    std::istringstream ls(line);
    std::string dev, dir, type;
    if (!(ls >> dev >> dir >> type)) continue;
    if (type == "cgroup2") return UnescapeMountField(dir);
  }
  return {};
}

std::unique_ptr<Loader> Loader::Open(const LoaderOptions& opts, std::string* error) {
  libbpf_set_print(LibbpfLog);
  if (!HasBpfPrivileges()) {
    *error = "sonde needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to load BPF programs: run it with sudo";
    return nullptr;
  }
  struct stat st;
  if (stat("/sys/kernel/btf/vmlinux", &st) != 0) {
    *error = "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): sonde needs a kernel built with CONFIG_DEBUG_INFO_BTF=y";
    return nullptr;
  }
  if (!EnsureTracefs(error)) return nullptr;

  std::unique_ptr<Loader> l(new Loader());
  l->skel_ = sonde_bpf__open();
  if (!l->skel_) {
    *error = std::string("could not open the BPF object: ") + strerror(errno);
    return nullptr;
  }
  uint32_t cap = opts.capture_bytes;
  if (cap > SONDE_MAX_CAPTURE) cap = SONDE_MAX_CAPTURE;
  l->skel_->rodata->capture_cap = cap;
  l->skel_->rodata->trace_all = opts.trace_all ? 1 : 0;
  l->skel_->rodata->self_pid = static_cast<uint32_t>(getpid());
  l->skel_->rodata->wakeup_bytes = opts.wakeup_bytes;
  l->skel_->rodata->inject_on = opts.inject_traceparent ? 1 : 0;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu > 0) bpf_map__set_max_entries(l->skel_->maps.scratch_map, static_cast<uint32_t>(ncpu));
  bpf_map__set_max_entries(l->skel_->maps.events, opts.ringbuf_bytes);
  if (!opts.inject_traceparent) {
    // Not even loaded: with the switch off nothing can touch the traffic.
    bpf_program__set_autoload(l->skel_->progs.inject_sockops, false);
    bpf_program__set_autoload(l->skel_->progs.inject_msg, false);
  }

  int err = sonde_bpf__load(l->skel_);
  if (err) {
    *error = std::string("the kernel refused sonde's BPF programs (") + strerror(-err) +
             "); run `sonde doctor` to see which BPF features this kernel offers";
    return nullptr;
  }
  err = sonde_bpf__attach(l->skel_);
  if (err) {
    *error = std::string("could not attach sonde's tracepoints (") + strerror(-err) +
             "); tracefs must be mounted at /sys/kernel/tracing";
    return nullptr;
  }
  // sonde_bpf__attach attaches every tracepoint; the uprobes wait for
  // AttachTls; sock_ops and sk_msg are attached below.
  bpf_program* prog;
  bpf_object__for_each_program(prog, l->skel_->obj) {
    const char* sec = bpf_program__section_name(prog);
    if (strncmp(sec, "uprobe", 6) != 0 && strncmp(sec, "uretprobe", 9) != 0 && strcmp(sec, "sockops") != 0 &&
        strcmp(sec, "sk_msg") != 0)
      l->links_++;
  }
  if (opts.inject_traceparent) {
    if (!AttachInjection(l->skel_, &l->sockops_link_, &l->sk_msg_attached_, &l->inject_cgroup_, error))
      return nullptr;
    l->links_ += 2;
  }

  void* bits = mmap(nullptr, SONDE_PID_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
                    bpf_map__fd(l->skel_->maps.pid_bits), 0);
  if (bits == MAP_FAILED) {
    *error = std::string("could not map the pid filter: ") + strerror(errno);
    return nullptr;
  }
  l->pid_bits_ = static_cast<uint64_t*>(bits);

  l->rb_ = ring_buffer__new(bpf_map__fd(l->skel_->maps.events), &Loader::OnRecord, l.get(), nullptr);
  if (!l->rb_) {
    *error = std::string("could not open the ring buffer: ") + strerror(errno);
    return nullptr;
  }
  return l;
}

Loader::~Loader() {
  // Injection first: no socket enters the sockhash any more, then the
  // sk_msg program leaves it (the sockets in it are released with the map).
  if (sockops_link_) bpf_link__destroy(sockops_link_);
  if (sk_msg_attached_)
    bpf_prog_detach2(bpf_program__fd(skel_->progs.inject_msg), bpf_map__fd(skel_->maps.inj_sockhash),
                     BPF_SK_MSG_VERDICT);
  for (auto& [id, links] : tls_links_)
    for (bpf_link* link : links) bpf_link__destroy(link);
  if (rb_) ring_buffer__free(rb_);
  if (pid_bits_) munmap(pid_bits_, SONDE_PID_WORDS * sizeof(uint64_t));
  if (skel_) sonde_bpf__destroy(skel_);  // detaches and closes everything
}

uint64_t Loader::AttachTls(const std::string& path, const std::map<std::string, uint64_t>& offsets,
                           std::string* error) {
  if (!offsets.count("SSL_read") || !offsets.count("SSL_write")) {
    *error = "no SSL_read/SSL_write in " + path;
    return 0;
  }
  struct Probe {
    const char* function;
    bpf_program* prog;
    bool retprobe;
  };
  // Return probes first: an entry seen without its return would leave the
  // thread marked as inside an SSL call.
  const Probe probes[] = {
      {"SSL_read", skel_->progs.ssl_call_exit, true},
      {"SSL_read_ex", skel_->progs.ssl_call_exit, true},
      {"SSL_write", skel_->progs.ssl_call_exit, true},
      {"SSL_write_ex", skel_->progs.ssl_call_exit, true},
      {"SSL_do_handshake", skel_->progs.ssl_call_exit, true},
      {"SSL_read", skel_->progs.ssl_read_enter, false},
      {"SSL_read_ex", skel_->progs.ssl_read_ex_enter, false},
      {"SSL_write", skel_->progs.ssl_write_enter, false},
      {"SSL_write_ex", skel_->progs.ssl_write_ex_enter, false},
      {"SSL_do_handshake", skel_->progs.ssl_handshake_enter, false},
      {"SSL_free", skel_->progs.ssl_free_enter, false},
  };
  // Before the first probe can fire: from now on the syscall programs look
  // for this thread's SSL call state.
  __atomic_store_n(&skel_->bss->tls_probes_on, 1, __ATOMIC_SEQ_CST);
  std::vector<bpf_link*> links;
  for (const Probe& p : probes) {
    auto it = offsets.find(p.function);
    if (it == offsets.end()) continue;
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = p.retprobe);
    bpf_link* link = bpf_program__attach_uprobe_opts(p.prog, -1, path.c_str(), it->second, &opts);
    if (!link) {
      *error = std::string("cannot attach a uprobe to ") + p.function + " in " + path + ": " + strerror(errno);
      for (bpf_link* l : links) bpf_link__destroy(l);
      return 0;
    }
    links.push_back(link);
  }
  uint64_t id = next_tls_id_++;
  tls_links_[id] = std::move(links);
  return id;
}

uint64_t Loader::AttachNodeScopes(const std::string& path, uint64_t ctor_offset, uint64_t wrap_ctor_offset,
                                  uint64_t dtor_offset, uint64_t close_offset, std::string* error) {
  std::vector<bpf_link*> links;
  struct Probe {
    bpf_program* prog;
    uint64_t offset;
    bool retprobe;
  };
  // Ends first, so no scope is entered without its end being seen.
  const Probe probes[] = {{skel_->progs.node_scope_close_exit, close_offset, true},
                          {skel_->progs.node_scope_close_enter, close_offset, false},
                          {skel_->progs.node_scope_exit, dtor_offset, false},
                          {skel_->progs.node_scope_enter, ctor_offset, false},
                          {skel_->progs.node_scope_enter_wrap, wrap_ctor_offset, false}};
  // Before the first probe can fire: the data programs read the scope stack.
  __atomic_store_n(&skel_->bss->node_scopes_on, 1, __ATOMIC_SEQ_CST);
  for (const auto& [prog, off, ret] : probes) {
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
    bpf_link* link = bpf_program__attach_uprobe_opts(prog, -1, path.c_str(), off, &opts);
    if (!link) {
      *error = "cannot attach a uprobe to node::InternalCallbackScope in " + path + ": " + strerror(errno);
      for (bpf_link* l : links) bpf_link__destroy(l);
      return 0;
    }
    links.push_back(link);
  }
  uint64_t id = next_tls_id_++;
  tls_links_[id] = std::move(links);
  return id;
}

void Loader::DetachTls(uint64_t id) {
  auto it = tls_links_.find(id);
  if (it == tls_links_.end()) return;
  for (bpf_link* link : it->second) bpf_link__destroy(link);
  tls_links_.erase(it);
}

// Atomic read-modify-write of one word: the BPF programs set and clear
// bits of the same words (fork, exit) with atomic instructions.
void Loader::SelectPid(uint32_t pid) {
  if (pid >= SONDE_PID_LIMIT) return;
  __atomic_fetch_or(&pid_bits_[pid >> 6], uint64_t{1} << (pid & 63), __ATOMIC_SEQ_CST);
}

void Loader::UnselectPid(uint32_t pid) {
  if (pid >= SONDE_PID_LIMIT) return;
  __atomic_fetch_and(&pid_bits_[pid >> 6], ~(uint64_t{1} << (pid & 63)), __ATOMIC_SEQ_CST);
}

void Loader::ForgetConnection(uint32_t pid, int32_t fd) {
  uint64_t key = (static_cast<uint64_t>(pid) << 32) | static_cast<uint32_t>(fd);
  bpf_map__delete_elem(skel_->maps.conns, &key, sizeof(key), 0);
}

size_t Loader::SweepDeadProcesses() {
  int fd = bpf_map__fd(skel_->maps.conns);
  std::vector<uint64_t> dead;
  uint64_t key = 0, next = 0;
  uint64_t* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    uint32_t pid = static_cast<uint32_t>(next >> 32);
    char path[32];
    snprintf(path, sizeof(path), "/proc/%u", pid);
    if (access(path, F_OK) != 0) dead.push_back(next);
    key = next;
    prev = &key;
  }
  for (uint64_t k : dead) bpf_map_delete_elem(fd, &k);
  return dead.size();
}

int Loader::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Loader*>(ctx);
  if (size < sizeof(sonde_event_hdr)) {
    self->malformed_++;
    return 0;
  }
  const auto* hdr = static_cast<const sonde_event_hdr*>(data);
  Event ev;
  ev.tid = hdr->tid;
  ev.ts_ns = hdr->ts_ns;
  switch (hdr->kind) {
    case SONDE_EV_DATA: {
      // The record is one of the size classes of events.h: cap_len, not
      // its size, says how much of data[] was captured.
      const auto* d = static_cast<const sonde_data_event*>(data);
      size_t head = offsetof(sonde_data_event, data);
      if (size < head || d->cap_len > size - head) {
        self->malformed_++;
        return 0;
      }
      ev.kind = EventKind::kData;
      FillConn(d->conn, d->tuple, d->role, &ev.conn);
      ev.dir = d->dir == SONDE_DIR_INGRESS ? Direction::kIngress : Direction::kEgress;
      ev.chunk.pos = d->pos;
      ev.chunk.total_len = d->total_len;
      ev.chunk.data = std::string_view(reinterpret_cast<const char*>(d->data), d->cap_len);
      ev.chunk.ts_ns = hdr->ts_ns;
      ev.chunk.tid = hdr->tid;
      ev.conn.tls = (d->flags & SONDE_DATA_F_TLS) != 0;
      ev.async_ctx = d->async_ctx;
      break;
    }
    case SONDE_EV_OPEN:
    case SONDE_EV_CLOSE: {
      if (size < sizeof(sonde_conn_event)) {
        self->malformed_++;
        return 0;
      }
      const auto* c = static_cast<const sonde_conn_event*>(data);
      ev.kind = hdr->kind == SONDE_EV_OPEN ? EventKind::kOpen : EventKind::kClose;
      FillConn(c->conn, c->tuple, c->role, &ev.conn);
      ev.pid = c->conn.pid;
      break;
    }
    case SONDE_EV_EXEC:
    case SONDE_EV_EXIT:
    case SONDE_EV_FORK:
    case SONDE_EV_MMAP_EXEC: {
      if (size < sizeof(sonde_proc_event)) {
        self->malformed_++;
        return 0;
      }
      const auto* p = static_cast<const sonde_proc_event*>(data);
      ev.kind = hdr->kind == SONDE_EV_EXEC        ? EventKind::kExec
                : hdr->kind == SONDE_EV_EXIT      ? EventKind::kExit
                : hdr->kind == SONDE_EV_MMAP_EXEC ? EventKind::kMmapExec
                                                  : EventKind::kFork;
      ev.pid = p->pid;
      ev.ppid = p->ppid;
      ev.start_ns = p->start_ns;
      ev.comm = std::string_view(p->comm, strnlen(p->comm, sizeof(p->comm)));
      break;
    }
    case SONDE_EV_THREAD: {
      if (size < sizeof(sonde_thread_event)) {
        self->malformed_++;
        return 0;
      }
      const auto* t = static_cast<const sonde_thread_event*>(data);
      ev.kind = EventKind::kThread;
      ev.pid = t->pid;
      ev.new_tid = t->new_tid;
      break;
    }
    case SONDE_EV_LISTEN: {
      if (size < sizeof(sonde_listen_event)) {
        self->malformed_++;
        return 0;
      }
      const auto* l = static_cast<const sonde_listen_event*>(data);
      ev.kind = EventKind::kListen;
      ev.pid = l->pid;
      ev.port = l->port;
      break;
    }
    case SONDE_EV_INJECT: {
      if (size < sizeof(sonde_inject_event)) {
        self->malformed_++;
        return 0;
      }
      const auto* in = static_cast<const sonde_inject_event*>(data);
      ev.kind = EventKind::kInject;
      InjectedTraceparent& t = ev.inject;
      t.pid = in->pid;
      t.tid = hdr->tid;
      t.local_addr = CachedAddr(in->tuple.family, in->tuple.laddr);
      t.local_port = in->tuple.lport;
      t.peer_addr = CachedAddr(in->tuple.family, in->tuple.raddr);
      t.peer_port = in->tuple.rport;
      t.stream_pos = in->pos;
      memcpy(t.trace_id.data(), in->trace_id, 16);
      memcpy(t.span_id.data(), in->span_id, 8);
      memcpy(t.parent_id.data(), in->parent_id, 8);
      t.flags = in->flags;
      t.ts_ns = hdr->ts_ns;
      ev.pid = in->pid;
      break;
    }
    case SONDE_EV_SERVER_CTX: {
      if (size < sizeof(sonde_server_ctx_event)) {
        self->malformed_++;
        return 0;
      }
      const auto* sc = static_cast<const sonde_server_ctx_event*>(data);
      ev.kind = EventKind::kServerContext;
      KernelServerIdentity& k = ev.server_ctx;
      k.conn.pid = sc->conn.pid;
      k.conn.fd = sc->conn.fd;
      k.conn.pstart_ns = sc->conn.pstart_ns;
      k.conn.gen = sc->conn.gen;
      k.stream_pos = sc->pos;
      memcpy(k.trace_id.data(), sc->trace_id, 16);
      memcpy(k.span_id.data(), sc->span_id, 8);
      memcpy(k.parent_id.data(), sc->parent_id, 8);
      k.flags = sc->flags;
      ev.pid = sc->conn.pid;
      break;
    }
    default:
      self->malformed_++;
      return 0;
  }
  (*self->cb_)(ev);
  return 0;
}

int Loader::Poll(int timeout_ms, const Callback& cb) {
  cb_ = &cb;
  // Producers only wake us when much is queued (wakeup batching), so after
  // the wait everything pending is consumed explicitly.
  int n = ring_buffer__poll(rb_, timeout_ms);
  if (n < 0 && n != -EINTR) return -1;
  int m = ring_buffer__consume(rb_);
  cb_ = nullptr;
  if (m < 0) return n > 0 ? n : 0;
  return (n > 0 ? n : 0) + m;
}

void Loader::SetAsyncRuntime(uint32_t pid, const sonde_py_runtime& rt) {
  // Before the entry exists, so BPF never skips a lookup that would hit.
  __atomic_store_n(&skel_->bss->py_runtimes_on, 1, __ATOMIC_SEQ_CST);
  bpf_map__update_elem(skel_->maps.py_runtimes, &pid, sizeof(pid), &rt, sizeof(rt), BPF_ANY);
}

void Loader::ClearAsyncRuntime(uint32_t pid) {
  bpf_map__delete_elem(skel_->maps.py_runtimes, &pid, sizeof(pid), 0);
}

}  // namespace sonde
