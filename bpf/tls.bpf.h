/* TLS plaintext capture: uprobes on OpenSSL's SSL_read/SSL_write (and the
 * _ex variants) see the bytes before encryption and after decryption; this
 * file holds their per-thread state and the mapping from an SSL object to
 * the socket it runs over.
 *
 * How an SSL object is mapped to its socket (ssl_fds):
 *  1. Nested syscall: OpenSSL's socket BIO (Python, curl, grpc++) reads and
 *     writes the socket from inside SSL_read/SSL_write/SSL_do_handshake, so a
 *     socket syscall made by the thread while an SSL call is in flight binds
 *     that SSL object to that socket.
 *  2. Memory BIO (Node.js): SSL_* only touch memory buffers; the runtime
 *     moves ciphertext between those buffers and the socket itself, on the
 *     same thread, right before SSL_read (it read the socket, then decrypts)
 *     and right after SSL_write/SSL_do_handshake (it encrypted, then writes
 *     the socket). So: an SSL_read that returns without a binding takes the
 *     socket this thread read since its previous SSL call ended, when that
 *     read started with a TLS record header; any SSL call that returns
 *     without a binding marks the object "pending" (a client's first
 *     SSL_read or SSL_do_handshake produces the ClientHello; SSL_write its
 *     record), and the thread's next socket write that starts with a TLS
 *     record header, within TLS_PENDING_NS, binds it.
 * A socket bound to an SSL object is flagged CONN_F_TLS: its ciphertext is
 * no longer sent to user space, only the plaintext is (SONDE_DATA_F_TLS,
 * with its own stream positions). Plaintext that arrives before its socket
 * is known is counted as SONDE_DROP_TLS_UNBOUND. */
#ifndef SONDE_TLS_BPF_H
#define SONDE_TLS_BPF_H

#include "socket.bpf.h"

#define TLS_DIR_HANDSHAKE 2 /* tls_call.dir of SSL_do_handshake: no bytes */

struct tls_call {
  __u64 ssl;
  __u64 buf;
  __u64 len_ptr;   /* SSL_*_ex: where the byte count is written */
  __u64 enter_ns;
  __u8 dir;        /* enum sonde_dir, or TLS_DIR_HANDSHAKE */
  __u8 ex;
  __u8 active;
  __u8 _pad[5];
};

/* How long a pending SSL object waits for its socket write (memory BIO). */
#define TLS_PENDING_NS 20000000ull

struct tls_thread {
  struct tls_call call;
  __u64 pending_write_ssl; /* bind to the next socket write that starts a TLS record */
  __u64 pending_ns;        /* when it became pending */
  __s32 last_in_fd;        /* socket read since the previous SSL call ended, or -1 */
  __u32 seen;              /* the slot was initialised by an SSL call */
};

/* Threads that made an SSL call (task local storage). */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct tls_thread);
} tls_threads SEC(".maps");

static __always_inline struct tls_thread* tls_thread_slot(int create) {
  return bpf_task_storage_get(&tls_threads, bpf_get_current_task_btf(), 0,
                              create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

struct ssl_key {
  __u64 ssl;
  __u32 tgid;
  __u32 _pad;
};

/* SSL object -> socket fd. Entries go at SSL_free (or LRU). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct ssl_key);
  __type(value, __s32);
} ssl_fds SEC(".maps");

static __always_inline void tls_bind(__u32 tgid, __u64 ssl, __s32 fd, struct conn_state* st) {
  struct ssl_key k = {};
  k.ssl = ssl;
  k.tgid = tgid;
  __s32* cur = bpf_map_lookup_elem(&ssl_fds, &k);
  if (!cur || *cur != fd) bpf_map_update_elem(&ssl_fds, &k, &fd, BPF_ANY);
  st->flags |= CONN_F_TLS;
}

/* Whether the bytes a syscall moved start with a TLS record header:
 * content type 20..23, protocol version 3.x. */
static __always_inline int starts_tls_record(struct call_args* a) {
  __u64 p = a->ptr;
  if (a->kind != ARG_BUF) {
    __u64 iov_ptr = a->ptr;
    if (a->kind == ARG_MSG) {
      struct user_msghdr msg;
      if (bpf_probe_read_user(&msg, sizeof(msg), (void*)a->ptr)) return 0;
      iov_ptr = (__u64)msg.msg_iov;
    }
    struct iovec iov;
    if (bpf_probe_read_user(&iov, sizeof(iov), (void*)iov_ptr)) return 0;
    if (iov.iov_len < 3) return 0;
    p = (__u64)iov.iov_base;
  }
  __u8 h[3];
  if (bpf_probe_read_user(h, sizeof(h), (void*)p)) return 0;
  return h[0] >= 20 && h[0] <= 23 && h[1] == 3 && h[2] <= 4;
}

/* Called for every completed data syscall on a tracked socket: learns SSL
 * object -> socket bindings, and returns non-zero when the bytes are
 * ciphertext (then they are not emitted). */
static __always_inline int tls_on_syscall(__u64 id, struct call_args* a, struct conn_state* st) {
  if (!tls_probes_on) return st->flags & CONN_F_TLS;
  struct tls_thread* tt = tls_thread_slot(0);
  if (tt && tt->seen) {
    __u32 tgid = id >> 32;
    if (tt->call.active) {
      tls_bind(tgid, tt->call.ssl, a->fd, st);
    } else if (a->dir == SONDE_DIR_EGRESS) {
      if (tt->pending_write_ssl && a->enter_ns - tt->pending_ns < TLS_PENDING_NS &&
          starts_tls_record(a)) {
        tls_bind(tgid, tt->pending_write_ssl, a->fd, st);
        tt->pending_write_ssl = 0;
      }
    } else if ((st->flags & CONN_F_TLS) || starts_tls_record(a)) {
      tt->last_in_fd = a->fd;
    }
  }
  return st->flags & CONN_F_TLS;
}

static __always_inline int tls_enter(__u64 ssl, __u64 buf, __u64 len_ptr, __u8 dir, __u8 ex) {
  __u64 id = bpf_get_current_pid_tgid();
  if (!is_selected(id >> 32)) return 0;
  struct tls_thread* tt = tls_thread_slot(1);
  if (!tt) return 0;
  if (!tt->seen) {
    tt->seen = 1;
    tt->last_in_fd = -1;
  }
  tt->call.ssl = ssl;
  tt->call.buf = buf;
  tt->call.len_ptr = len_ptr;
  tt->call.enter_ns = bpf_ktime_get_ns();
  tt->call.dir = dir;
  tt->call.ex = ex;
  tt->call.active = 1;
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_free_enter, void* ssl) {
  struct ssl_key k = {};
  k.ssl = (__u64)ssl;
  k.tgid = bpf_get_current_pid_tgid() >> 32;
  bpf_map_delete_elem(&ssl_fds, &k);
  return 0;
}

#endif /* SONDE_TLS_BPF_H */
