/* Maps, configuration and small helpers shared by sonde's BPF programs. */
#ifndef SONDE_COMMON_BPF_H
#define SONDE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

/* Set by user space before load. */
const volatile __u32 capture_cap = 4096;   /* <= SONDE_MAX_CAPTURE */
const volatile __u32 trace_all = 0;        /* 1: every process but sonde itself */
const volatile __u32 self_pid = 0;
const volatile __u32 wakeup_bytes = 65536; /* wake user space once this much is queued */

/* Set by user space (mmapped .bss) once the feature is in use, never reset:
 * until then the per-event lookups that serve it would always miss. */
__u32 tls_probes_on = 0;   /* some SSL_* uprobe was attached */
__u32 py_runtimes_on = 0;  /* some process's CPython runtime was described */
__u32 node_scopes_on = 0;  /* node::InternalCallbackScope uprobes were attached */

/* Selected processes: bit (tgid & 63) of word (tgid >> 6). The first check
 * of every program, so it must be cheap for the processes that are not
 * selected: an array lookup the verifier inlines and one load, no hashing.
 * User space mmaps the array and sets and clears bits with atomic
 * operations, as on_fork/on_exit do here, so no update is lost. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, SONDE_PID_WORDS);
  __type(key, __u32);
  __type(value, __u64);
} pid_bits SEC(".maps");

/* Per-connection state, keyed by (tgid << 32 | fd). */
struct conn_state {
  __u64 pstart_ns;
  __u32 gen;
  __u8 role;
  __u8 flags;   /* CONN_F_* */
  __u8 _pad[2];
  __u64 pos[2]; /* next stream offset, indexed by enum sonde_dir */
  __u64 tls_pos[2]; /* the same for the TLS plaintext of this socket */
  struct sonde_tuple tuple;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct conn_state);
} conns SEC(".maps");

/* conn_state.flags */
#define CONN_F_TLS 0x1 /* an SSL object uses this socket: its bytes are ciphertext */

enum arg_kind { ARG_BUF = 0, ARG_IOV = 1, ARG_MSG = 2 };

/* Arguments of a send (or connect) in flight: one slot per thread, in task
 * local storage (no hash insert and delete per syscall). Receives need none:
 * their exit program reads the arguments from the saved registers. */
struct call_args {
  __u64 ptr;       /* buffer, iovec array or msghdr */
  __u64 enter_ns;
  __s32 fd;
  __u32 count;     /* iovcnt for ARG_IOV */
  __u8 kind;       /* enum arg_kind */
  __u8 dir;
  __u8 valid;      /* set on enter, cleared on exit */
  __u8 _pad[5];
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct call_args);
} inflight SEC(".maps");

/* This thread's in-flight slot; created on demand when `create`. */
static __always_inline struct call_args* inflight_slot(int create) {
  return bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
                              create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Drop counters by enum sonde_drop_reason. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SONDE_DROP__COUNT);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

/* A data event is assembled here before being copied into the ring buffer:
 * the buffer holds twice the cap so that the verifier can prove every
 * (offset < cap, length <= cap) write in bounds. */
struct scratch {
  struct sonde_data_event ev;
  __u8 spill[SONDE_MAX_CAPTURE];
};

/* One slot per CPU (a per-CPU map cannot hold values this large); user space
 * sets max_entries to the number of possible CPUs. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_map SEC(".maps");

/* Source of connection generations. */
__u64 next_gen = 0;

static __always_inline void count_drop(__u32 reason, __u64 n) {
  __u64* v = bpf_map_lookup_elem(&drops, &reason);
  if (v) *v += n;
}

/* Word of pid_bits holding tgid's bit; NULL beyond SONDE_PID_LIMIT. */
static __always_inline __u64* pid_word(__u32 tgid) {
  __u32 w = tgid >> 6;
  return bpf_map_lookup_elem(&pid_bits, &w);
}

static __always_inline int is_selected(__u32 tgid) {
  if (trace_all) return tgid != self_pid && tgid != 0;
  __u64* w = pid_word(tgid);
  return w && ((*w >> (tgid & 63)) & 1);
}

static __always_inline void select_pid(__u32 tgid) {
  __u64* w = pid_word(tgid);
  if (w) __sync_fetch_and_or(w, 1ull << (tgid & 63));
}

static __always_inline void unselect_pid(__u32 tgid) {
  __u64* w = pid_word(tgid);
  if (w) __sync_fetch_and_and(w, ~(1ull << (tgid & 63)));
}

static __always_inline __u64 conn_key(__u32 tgid, __s32 fd) { return ((__u64)tgid << 32) | (__u32)fd; }

static __always_inline __u64 process_start_ns(void) {
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  return BPF_CORE_READ(task, group_leader, start_time);
}

/* Wake-up batching: user space is woken once per wakeup_bytes queued, by
 * the record that makes the bytes available cross a multiple of
 * wakeup_bytes (`avail` counts the record itself). User space drains the
 * ring to empty once woken and polls with a timeout, so a crossing missed
 * by two CPUs racing only delays it to the next multiple or the timeout.
 * An earlier policy forced a wake-up for every record while more than
 * wakeup_bytes were queued: when user space fell behind, those wake-ups (an
 * interrupt each) slowed the producers down (bench/findings.md). */
static __always_inline __u64 wake_flags_for(__u64 avail, __u64 size) {
  __u64 before = avail > size ? avail - size : 0;
  return avail / wakeup_bytes != before / wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* For a record reserved and about to be submitted. */
static __always_inline __u64 wake_flags_reserved(__u64 size) {
  return wake_flags_for(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA), size);
}

static __always_inline long emit(void* data, __u64 size) {
  long err = bpf_ringbuf_output(&events, data, size,
                                wake_flags_for(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size, size));
  if (err) count_drop(SONDE_DROP_RINGBUF_FULL, 1);
  return err;
}

#endif /* SONDE_COMMON_BPF_H */
