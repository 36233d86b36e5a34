/* sonde's capture programs: syscall tracepoints for TCP connection life
 * cycle and data, scheduler tracepoints for process discovery, and uprobes
 * on OpenSSL for TLS plaintext (attached per library by user space). */
#include "tls.bpf.h"
#include "inject.bpf.h"
#include "async_ctx.bpf.h"
#include "data_record.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- data syscalls: arguments saved on enter, bytes copied on exit ---- */

static __always_inline int enter_data(__s32 fd, __u64 ptr, __u32 count, __u8 kind, __u8 dir) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (!is_selected(tgid)) return 0;
  __u64 key = conn_key(tgid, fd);
  if (!bpf_map_lookup_elem(&conns, &key)) {
    /* First sight of this fd: a socket opened before sonde started, or a
     * non-socket fd (rejected here, at the cost of a few kernel reads). */
    struct sock* sk = fd_to_tcp_sock(fd);
    if (!sk) return 0;
    if (!track_conn(tgid, fd, sk, SONDE_ROLE_UNKNOWN)) return 0;
  }
  struct call_args* a = inflight_slot(1);
  if (!a) {
    count_drop(SONDE_DROP_ARGS_MAP_FULL, 1);
    return 0;
  }
  a->ptr = ptr;
  a->enter_ns = bpf_ktime_get_ns();
  a->fd = fd;
  a->count = count;
  a->kind = kind;
  a->dir = dir;
  a->valid = 1;
  return 0;
}

static __always_inline __u32 copy_buf(__u8* dst, __u64 src, __u32 n) {
  if (n > SONDE_MAX_CAPTURE) n = SONDE_MAX_CAPTURE;
  if (n == 0) return 0;
  if (bpf_probe_read_user(dst, n, (void*)src)) {
    count_drop(SONDE_DROP_READ_FAILED, 1);
    return 0;
  }
  return n;
}

struct iov_walk {
  __u64 iov_ptr;
  __u64 iovcnt;
  __u32 want;
  __u32 off;
};

/* One iovec entry, as a bpf_loop callback: the verifier checks the body
 * once, whatever the number of entries. The bytes go to this CPU's scratch
 * event, the one the caller fills (tracepoints do not migrate). */
static long copy_iov_step(__u32 i, void* ctx) {
  struct iov_walk* w = ctx;
  if (i >= w->iovcnt || w->off >= w->want) return 1;
  struct iovec iov;
  if (bpf_probe_read_user(&iov, sizeof(iov), (void*)(w->iov_ptr + (__u64)i * sizeof(struct iovec)))) {
    count_drop(SONDE_DROP_READ_FAILED, 1);
    return 1;
  }
  __u32 off = w->off;
  __u64 len = iov.iov_len;
  if (len > w->want - off) len = w->want - off;
  /* Bounds the verifier can follow: off < MAX and len <= MAX keep the
   * write inside data[] plus the spill area behind it. */
  if (off >= SONDE_MAX_CAPTURE) return 1;
  if (len > SONDE_MAX_CAPTURE) len = SONDE_MAX_CAPTURE;
  if (len == 0) return 0;
  __u32 cpu = bpf_get_smp_processor_id();
  struct scratch* s = bpf_map_lookup_elem(&scratch_map, &cpu);
  if (!s) return 1;
  if (bpf_probe_read_user(s->ev.data + off, len, iov.iov_base)) {
    count_drop(SONDE_DROP_READ_FAILED, 1);
    return 1;
  }
  w->off = off + (__u32)len;
  return 0;
}

/* Copies up to `want` bytes of an iovec array into the scratch event. */
static __always_inline __u32 copy_iov(__u64 iov_ptr, __u64 iovcnt, __u32 want) {
  struct iov_walk w = {};
  w.iov_ptr = iov_ptr;
  w.iovcnt = iovcnt;
  w.want = want;
  bpf_loop(SONDE_MAX_IOV, copy_iov_step, &w, 0);
  if (iovcnt > SONDE_MAX_IOV && w.off < want) count_drop(SONDE_DROP_IOV_LIMIT, 1);
  return w.off;
}

/* The arguments of the syscall this thread is returning from, from its
 * saved user registers: the kernel does not change them while it runs the
 * syscall, so the exit tracepoint still finds fd, pointer and count in the
 * first three argument registers. Receives are captured this way (no enter
 * program at all), and a send that was already blocked when sonde attached
 * (no saved arguments) too. */
static __always_inline int args_from_regs(__u32 tgid, __u8 kind, __u8 dir, struct call_args* a) {
  /* A BTF pointer: plain loads, no probe-read helper calls. */
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
  if (!regs) return -1;
  a->fd = (__s32)regs->di;
  a->ptr = regs->si;
  a->count = (__u32)regs->dx;
  a->kind = kind;
  a->dir = dir;
  a->enter_ns = 0;
  __u64 key = conn_key(tgid, a->fd);
  if (bpf_map_lookup_elem(&conns, &key)) return 0;
  struct sock* sk = fd_to_tcp_sock(a->fd);
  if (!sk || !track_conn(tgid, a->fd, sk, SONDE_ROLE_UNKNOWN)) return -1;
  return 0;
}

static __always_inline int exit_data(long ret, __u8 kind, __u8 dir_hint) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  struct call_args a = {};
  if (dir_hint == SONDE_DIR_INGRESS) {
    /* Receives have no enter program: the arguments come from the registers. */
    if (ret <= 0 || !is_selected(tgid)) return 0;
    if (args_from_regs(tgid, kind, dir_hint, &a)) return 0;
  } else {
    /* Unselected processes stop here, before any per-thread lookup. A slot
     * left valid by a process unselected mid-call is overwritten by its
     * next enter. */
    if (!is_selected(tgid)) return 0;
    struct call_args* ap = inflight_slot(0);
    if (ap && ap->valid) {
      a = *ap;
      ap->valid = 0;
    } else {
      ap = NULL;
    }
    if (ret <= 0) return 0;
    if (!ap) {
      if (args_from_regs(tgid, kind, dir_hint, &a)) return 0;
      a.enter_ns = bpf_ktime_get_ns();
    }
  }

  __u64 key = conn_key(tgid, a.fd);
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  if (!st) return 0;
  if (tls_on_syscall(id, &a, st)) return 0; /* ciphertext: the uprobes report the plaintext */
  __u8 dir = a.dir & 1;
  /* A write starts when it is issued; a read's bytes exist when it returns. */
  __u64 ts = dir == SONDE_DIR_EGRESS ? a.enter_ns : bpf_ktime_get_ns();
  __u64 pos = __sync_fetch_and_add(&st->pos[dir], (__u64)ret);
  node_on_data(dir, ts);

  int inj_read = inject_on && st->role == SONDE_ROLE_SERVER && dir == SONDE_DIR_INGRESS;
  if (a.kind == ARG_BUF && !inj_read) {
    if (inject_on && st->role == SONDE_ROLE_SERVER) inj_server_write(id);
    emit_data_buf(id, a.fd, st, dir, ts, pos, (__u64)ret, 0, a.ptr);
    return 0;
  }

  /* iovecs, or a server read that injection scans: assembled in scratch. */
  struct sonde_data_event* e = begin_data(id, a.fd, st, dir, ts, pos, (__u32)ret, 0);
  if (!e) return 0;
  __u32 want = (__u64)ret < capture_cap ? (__u32)ret : capture_cap;
  __u32 got = 0;
  if (a.kind == ARG_BUF) {
    got = copy_buf(e->data, a.ptr, want);
  } else {
    __u64 iov_ptr = a.ptr;
    __u64 iovcnt = a.count;
    if (a.kind == ARG_MSG) {
      struct user_msghdr msg;
      if (bpf_probe_read_user(&msg, sizeof(msg), (void*)a.ptr)) {
        count_drop(SONDE_DROP_READ_FAILED, 1);
        return 0;
      }
      iov_ptr = (__u64)msg.msg_iov;
      iovcnt = msg.msg_iovlen;
    }
    got = copy_iov(iov_ptr, iovcnt, want);
  }
  if (inject_on && st->role == SONDE_ROLE_SERVER) {
    if (dir == SONDE_DIR_INGRESS)
      inj_server_read(id, e, got);
    else
      inj_server_write(id);
  }
  finish_data(e, got, (__u64)ret);
  return 0;
}

/* Sends: enter saves the arguments and the time the write was issued, exit
 * copies. Receives: exit only (their time is when they return, and their
 * arguments are still in the registers), one program run fewer per receive
 * for every process on the machine. The fd, the buffer (or iovec array,
 * or msghdr) and the iovec count are the first three arguments of all eight
 * syscalls. */
#define SEND_PROGS(name, kind)                                                     \
  SEC("tracepoint/syscalls/sys_enter_" #name)                                      \
  int enter_##name(struct trace_event_raw_sys_enter* ctx) {                        \
    return enter_data((__s32)ctx->args[0], ctx->args[1], (__u32)ctx->args[2], kind, SONDE_DIR_EGRESS); \
  }                                                                                \
  SEC("tracepoint/syscalls/sys_exit_" #name)                                       \
  int exit_##name(struct trace_event_raw_sys_exit* ctx) { return exit_data(ctx->ret, kind, SONDE_DIR_EGRESS); }

#define RECV_PROGS(name, kind)                                                     \
  SEC("tracepoint/syscalls/sys_exit_" #name)                                       \
  int exit_##name(struct trace_event_raw_sys_exit* ctx) { return exit_data(ctx->ret, kind, SONDE_DIR_INGRESS); }

RECV_PROGS(read, ARG_BUF)
SEND_PROGS(write, ARG_BUF)
RECV_PROGS(recvfrom, ARG_BUF)
SEND_PROGS(sendto, ARG_BUF)
RECV_PROGS(readv, ARG_IOV)
SEND_PROGS(writev, ARG_IOV)
RECV_PROGS(recvmsg, ARG_MSG)
SEND_PROGS(sendmsg, ARG_MSG)

/* ---- connection life cycle ---- */

static __always_inline void emit_conn(__u32 kind, __u32 tgid, __s32 fd, struct conn_state* st) {
  struct sonde_conn_event ev = {};
  ev.hdr.kind = kind;
  ev.hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev.hdr.ts_ns = bpf_ktime_get_ns();
  ev.conn.pid = tgid;
  ev.conn.fd = fd;
  ev.conn.pstart_ns = st->pstart_ns;
  ev.conn.gen = st->gen;
  ev.tuple = st->tuple;
  ev.role = st->role;
  emit(&ev, sizeof(ev));
}

static __always_inline int on_accepted(long ret) {
  if (ret < 0) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!is_selected(tgid)) return 0;
  struct sock* sk = fd_to_tcp_sock((__s32)ret);
  if (!sk) return 0;
  struct conn_state* st = track_conn(tgid, (__s32)ret, sk, SONDE_ROLE_SERVER);
  if (st) emit_conn(SONDE_EV_OPEN, tgid, (__s32)ret, st);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit* ctx) { return on_accepted(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit* ctx) { return on_accepted(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  if (!is_selected(id >> 32)) return 0;
  struct call_args* a = inflight_slot(1);
  if (!a) {
    count_drop(SONDE_DROP_ARGS_MAP_FULL, 1);
    return 0;
  }
  a->fd = (__s32)ctx->args[0];
  a->kind = ARG_BUF;
  a->valid = 1;
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  struct call_args* ap = inflight_slot(0);
  if (!ap || !ap->valid) return 0;
  __s32 fd = ap->fd;
  ap->valid = 0;
  long ret = ctx->ret;
  if (ret != 0 && ret != -EINPROGRESS) return 0;
  struct sock* sk = fd_to_tcp_sock(fd);
  if (!sk) return 0;
  __u32 tgid = id >> 32;
  struct conn_state* st = track_conn(tgid, fd, sk, SONDE_ROLE_CLIENT);
  if (st) emit_conn(SONDE_EV_OPEN, tgid, fd, st);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter* ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!is_selected(tgid)) return 0;
  __s32 fd = (__s32)ctx->args[0];
  __u64 key = conn_key(tgid, fd);
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  if (!st) return 0;
  emit_conn(SONDE_EV_CLOSE, tgid, fd, st);
  bpf_map_delete_elem(&conns, &key);
  return 0;
}

/* Every process's listen(): lets user space select processes by port. */
SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter* ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid == self_pid) return 0;
  struct sock* sk = fd_to_tcp_sock((__s32)ctx->args[0]);
  if (!sk) return 0;
  struct sonde_listen_event ev = {};
  ev.hdr.kind = SONDE_EV_LISTEN;
  ev.hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev.hdr.ts_ns = bpf_ktime_get_ns();
  ev.pid = tgid;
  ev.port = BPF_CORE_READ(sk, __sk_common.skc_num);
  ev.family = BPF_CORE_READ(sk, __sk_common.skc_family);
  emit(&ev, sizeof(ev));
  return 0;
}

/* ---- processes ---- */

static __always_inline void emit_proc(__u32 kind, __u32 pid, __u32 ppid, __u64 start_ns) {
  struct sonde_proc_event ev = {};
  ev.hdr.kind = kind;
  ev.hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev.hdr.ts_ns = bpf_ktime_get_ns();
  ev.pid = pid;
  ev.ppid = ppid;
  ev.start_ns = start_ns;
  bpf_get_current_comm(ev.comm, sizeof(ev.comm));
  emit(&ev, sizeof(ev));
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void* ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid == self_pid) return 0;
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  emit_proc(SONDE_EV_EXEC, tgid, BPF_CORE_READ(task, real_parent, tgid),
            BPF_CORE_READ(task, group_leader, start_time));
  return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (inject_on) bpf_map_delete_elem(&inj_threads, &id);
  if ((__u32)id != tgid) return 0; /* a thread, not the process */
  if (!is_selected(tgid)) return 0;
  emit_proc(SONDE_EV_EXIT, tgid, 0, process_start_ns());
  unselect_pid(tgid);
  return 0;
}

/* A child of a selected process is selected from its first instruction,
 * before user space could react (forking servers: gunicorn, cluster). A new
 * thread of a selected process is reported with the thread that created it,
 * so work a request handler hands to a thread it starts stays linked. */
SEC("raw_tracepoint/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args* ctx) {
  struct task_struct* parent = (struct task_struct*)ctx->args[0];
  struct task_struct* child = (struct task_struct*)ctx->args[1];
  __u32 pid = BPF_CORE_READ(child, pid);
  __u32 tgid = BPF_CORE_READ(child, tgid);
  if (pid != tgid) {
    if (!is_selected(tgid)) return 0;
    struct sonde_thread_event ev = {};
    ev.hdr.kind = SONDE_EV_THREAD;
    ev.hdr.tid = BPF_CORE_READ(parent, pid);
    ev.hdr.ts_ns = bpf_ktime_get_ns();
    ev.pid = tgid;
    ev.new_tid = pid;
    emit(&ev, sizeof(ev));
    return 0;
  }
  __u32 ppid = BPF_CORE_READ(parent, tgid);
  if (!is_selected(ppid)) return 0;
  if (!trace_all) select_pid(pid);
  emit_proc(SONDE_EV_FORK, pid, ppid, BPF_CORE_READ(child, start_time));
  return 0;
}

/* A selected process mapped a file executable: a library was loaded (Python
 * imports ssl late), so user space looks for TLS libraries again. */
SEC("tracepoint/syscalls/sys_enter_mmap")
int enter_mmap(struct trace_event_raw_sys_enter* ctx) {
  if (!(ctx->args[2] & 0x4 /* PROT_EXEC */) || (__s32)ctx->args[4] < 0) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!is_selected(tgid)) return 0;
  struct sonde_proc_event ev = {};
  ev.hdr.kind = SONDE_EV_MMAP_EXEC;
  ev.hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev.hdr.ts_ns = bpf_ktime_get_ns();
  ev.pid = tgid;
  emit(&ev, sizeof(ev));
  return 0;
}

/* ---- TLS plaintext (uprobes; see tls.bpf.h) ---- */

static __always_inline int tls_exit(struct pt_regs* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  struct tls_thread* tt = tls_thread_slot(0);
  if (!tt || !tt->call.active) return 0;
  struct tls_call c = tt->call;
  __s32 last_in = tt->last_in_fd;
  tt->call.active = 0;
  tt->last_in_fd = -1;
  /* Every probed function returns int: only the low 32 bits of the return register count. */
  int ret = (int)PT_REGS_RC(ctx);
  __u32 tgid = id >> 32;

  __u64 n = 0;
  if (c.dir <= SONDE_DIR_INGRESS) {
    if (c.ex) {
      if (ret == 1 && c.len_ptr) bpf_probe_read_user(&n, sizeof(n), (void*)c.len_ptr);
    } else if (ret > 0) {
      n = (__u64)ret;
    }
  }

  struct ssl_key k = {};
  k.ssl = c.ssl;
  k.tgid = tgid;
  __s32 fd = -1;
  __s32* fdp = bpf_map_lookup_elem(&ssl_fds, &k);
  if (fdp) {
    fd = *fdp;
  } else if (c.dir == SONDE_DIR_INGRESS && last_in >= 0) {
    /* Memory BIO: the ciphertext came from the socket this thread just read. */
    __u64 key = conn_key(tgid, last_in);
    struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
    if (st) {
      tls_bind(tgid, c.ssl, last_in, st);
      fd = last_in;
    }
  }
  if (fd < 0) {
    tt->pending_write_ssl = c.ssl;
    tt->pending_ns = bpf_ktime_get_ns();
    if (n) count_drop(SONDE_DROP_TLS_UNBOUND, 1);
    return 0;
  }
  if (!n) return 0;
  if (n > 0xffffffffull) n = 0xffffffffull;

  __u64 key = conn_key(tgid, fd);
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  if (!st) {
    struct sock* sk = fd_to_tcp_sock(fd);
    if (!sk) return 0;
    st = track_conn(tgid, fd, sk, SONDE_ROLE_UNKNOWN);
    if (!st) return 0;
  }
  st->flags |= CONN_F_TLS;
  __u8 dir = c.dir & 1;
  __u64 ts = dir == SONDE_DIR_EGRESS ? c.enter_ns : bpf_ktime_get_ns();
  __u64 pos = __sync_fetch_and_add(&st->tls_pos[dir], n);
  emit_data_buf(id, fd, st, dir, ts, pos, n, SONDE_DATA_F_TLS, c.buf);
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void* ssl, const void* buf, int num) {
  return tls_enter((__u64)ssl, (__u64)buf, 0, SONDE_DIR_EGRESS, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void* ssl, const void* buf, __u64 num, __u64* written) {
  return tls_enter((__u64)ssl, (__u64)buf, (__u64)written, SONDE_DIR_EGRESS, 1);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void* ssl, void* buf, int num) {
  return tls_enter((__u64)ssl, (__u64)buf, 0, SONDE_DIR_INGRESS, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void* ssl, void* buf, __u64 num, __u64* readbytes) {
  return tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, SONDE_DIR_INGRESS, 1);
}

SEC("uprobe")
int BPF_KPROBE(ssl_handshake_enter, void* ssl) {
  return tls_enter((__u64)ssl, 0, 0, TLS_DIR_HANDSHAKE, 0);
}

/* One return program serves every SSL function: the call's kind was saved on entry. */
SEC("uretprobe")
int ssl_call_exit(struct pt_regs* ctx) { return tls_exit(ctx); }
