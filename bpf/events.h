/* The ABI between sonde's BPF programs and user space: fixed-size records
 * written to the ring buffer. Included by both sides; bump SONDE_ABI_VERSION
 * on any layout change. */
#ifndef SONDE_EVENTS_H
#define SONDE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SONDE_ABI_VERSION 5

/* Upper bound of bytes captured per syscall; the configured cap is <= this. */
#define SONDE_MAX_CAPTURE 16384
/* iovec entries walked per readv/writev/recvmsg/sendmsg (bpf_loop); the
 * kernel's own limit (UIO_MAXIOV). gRPC's C core sends 29 and more. */
#define SONDE_MAX_IOV 1024
#define SONDE_COMM_LEN 16

/* Selected processes are one bit per tgid in an array of 64-bit words
 * (the `pid_bits` map, mmapped by user space). PID_MAX_LIMIT on 64-bit
 * kernels is 4194304, so these 512 KiB cover every possible pid. */
#define SONDE_PID_LIMIT 4194304
#define SONDE_PID_WORDS (SONDE_PID_LIMIT / 64)

enum sonde_event_kind {
  SONDE_EV_DATA = 1,
  SONDE_EV_OPEN = 2,   /* accept (server) or connect (client) */
  SONDE_EV_CLOSE = 3,
  SONDE_EV_EXEC = 4,
  SONDE_EV_EXIT = 5,
  SONDE_EV_FORK = 6,
  SONDE_EV_LISTEN = 7,
  SONDE_EV_MMAP_EXEC = 8, /* a selected process mapped a file executable (a library loaded) */
  SONDE_EV_INJECT = 9,    /* sk_msg inserted a traceparent into an outgoing request */
  SONDE_EV_SERVER_CTX = 10, /* a server thread read a request: the span identity BPF gave it */
  SONDE_EV_THREAD = 11,   /* a thread of a selected process created a thread */
};

/* sonde_data_event.flags */
#define SONDE_DATA_F_TLS 0x1 /* plaintext from the SSL_read/SSL_write uprobes */

enum sonde_dir { SONDE_DIR_EGRESS = 0, SONDE_DIR_INGRESS = 1 };
enum sonde_role { SONDE_ROLE_UNKNOWN = 0, SONDE_ROLE_CLIENT = 1, SONDE_ROLE_SERVER = 2 };

/* Why something was not delivered; index into the `drops` counter map. */
enum sonde_drop_reason {
  SONDE_DROP_RINGBUF_FULL = 0,   /* event lost: ring buffer had no room */
  SONDE_DROP_TRUNCATED = 1,      /* data events whose bytes exceeded the cap */
  SONDE_DROP_TRUNCATED_BYTES = 2,/* bytes not captured because of the cap */
  SONDE_DROP_CONN_MAP_FULL = 3,  /* connection not tracked: conns map full */
  SONDE_DROP_ARGS_MAP_FULL = 4,  /* syscall not captured: no in-flight args slot (task storage) */
  SONDE_DROP_IOV_LIMIT = 5,      /* iovec entries beyond SONDE_MAX_IOV not captured */
  SONDE_DROP_READ_FAILED = 6,    /* user memory could not be read */
  SONDE_DROP_TLS_UNBOUND = 7,    /* TLS plaintext whose socket was not known yet */
  SONDE_DROP__COUNT = 8,
};

/* What the traceparent injector (sk_msg) did with outgoing HTTP/1 requests;
 * index into the `inject_counts` map. "Stop" reasons end injection on that
 * socket for good (its framing can no longer be followed). */
enum sonde_inject_outcome {
  SONDE_INJ_INJECTED = 0,           /* a traceparent line was inserted */
  SONDE_INJ_HAS_TRACEPARENT = 1,    /* the request carried one already: left alone */
  SONDE_INJ_HEADERS_SPLIT = 2,      /* its header block spanned several writes: not injected */
  SONDE_INJ_NOT_SELECTED = 3,       /* sent by a process that is not (or no longer) selected */
  SONDE_INJ_PUSH_FAILED = 4,        /* bpf_msg_push_data / pull failed (memory) */
  SONDE_INJ_STOP_NOT_HTTP1 = 5,     /* bytes at a request boundary were not an HTTP/1.x request */
  SONDE_INJ_STOP_CHUNKED = 6,       /* a request with Transfer-Encoding: its body is not followed */
  SONDE_INJ_STOP_UPGRADE = 7,       /* Upgrade request: the connection may stop speaking HTTP/1 */
  SONDE_INJ_STOP_TOO_LARGE = 8,     /* header block over the scan limit, or too many requests per write */
  SONDE_INJ_SOCKHASH_FULL = 9,      /* a selected process's socket could not enter the sockhash */
  SONDE_INJ_EVENT_LOST = 10,        /* not injected: no room in the ring buffer for its report */
  SONDE_INJ_BEYOND_CAPTURE = 11,    /* its header block lies beyond the bytes captured of the write:
                                     * sonde could not build its CLIENT span, so the callee would
                                     * name a parent nobody exports */
  SONDE_INJ__COUNT = 12,
};

/* The line inserted: "traceparent: 00-<32 hex>-<16 hex>-01\r\n". */
#define SONDE_TRACEPARENT_LINE_LEN 70

struct sonde_conn_id {
  __u32 pid;       /* tgid */
  __s32 fd;
  __u64 pstart_ns; /* process start time, ns since boot */
  __u32 gen;       /* generation: unique per connection seen */
  __u32 _pad;
};

struct sonde_tuple {
  __u16 family;    /* AF_INET / AF_INET6 */
  __u16 lport;     /* host byte order */
  __u16 rport;
  __u16 _pad;
  __u8 laddr[16];  /* IPv4 in the first 4 bytes */
  __u8 raddr[16];
};

struct sonde_event_hdr {
  __u32 kind;
  __u32 tid;
  __u64 ts_ns;     /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
};

/* A data record is reserved in the ring buffer at one of a few fixed sizes
 * (the header plus 64, 128, 256, ... or SONDE_MAX_CAPTURE bytes of data[],
 * the smallest that holds what is captured) and the bytes are copied into
 * it once, so a record is usually longer than its payload: cap_len, not the
 * record length, says how many bytes of data[] are valid. */
struct sonde_data_event {
  struct sonde_event_hdr hdr;
  struct sonde_conn_id conn;
  struct sonde_tuple tuple;
  __u64 pos;       /* stream offset of data[0] in this direction */
  __u32 total_len; /* bytes the syscall moved */
  __u32 cap_len;   /* bytes captured in data[] */
  __u8 dir;        /* enum sonde_dir */
  __u8 role;       /* enum sonde_role as known in the kernel */
  __u8 flags;      /* SONDE_DATA_F_* */
  __u8 _pad0;
  __u32 _pad1;
  /* The calling thread's async context (bpf/async_ctx.h): for CPython the
   * current contextvars Context, which tells the tasks of an event loop
   * apart. 0 when unknown or not a described runtime. */
  __u64 async_ctx;
  __u8 data[SONDE_MAX_CAPTURE];
};

struct sonde_conn_event {
  struct sonde_event_hdr hdr;
  struct sonde_conn_id conn;
  struct sonde_tuple tuple;
  __u8 role;
  __u8 _pad[7];
};

struct sonde_proc_event {
  struct sonde_event_hdr hdr;
  __u32 pid;
  __u32 ppid;      /* FORK: the parent */
  __u64 start_ns;
  char comm[SONDE_COMM_LEN];
};

/* SONDE_EV_THREAD: hdr.tid is the creating thread. */
struct sonde_thread_event {
  struct sonde_event_hdr hdr;
  __u32 pid;       /* tgid */
  __u32 new_tid;
};

struct sonde_listen_event {
  struct sonde_event_hdr hdr;
  __u32 pid;
  __u16 port;
  __u16 family;
};

/* One traceparent inserted by sk_msg, emitted before the data event of the
 * write that carried the request (the sk_msg program runs inside the
 * syscall). User space gives the CLIENT span of that request these ids. */
struct sonde_inject_event {
  struct sonde_event_hdr hdr;
  __u32 pid;          /* tgid of the sending task */
  __u32 _pad0;
  struct sonde_tuple tuple; /* the socket, seen from the sender */
  __u64 pos;          /* egress stream offset of the request's first byte (bytes the process wrote) */
  __u8 trace_id[16];
  __u8 span_id[8];    /* the CLIENT span's id, sent as the traceparent parent-id */
  __u8 parent_id[8];  /* zero: the CLIENT span is a root */
  __u8 flags;         /* trace flags sent (01: sampled) */
  __u8 _pad1[7];
};

/* With injection on: a selected process read the start of an HTTP/1
 * request on a server connection. BPF chose the request's span identity
 * (continuing a valid incoming traceparent, else a new trace) and will use
 * it as the parent of what that thread sends until it writes on a server
 * connection again; user space gives the SERVER span the same identity.
 * Emitted before the data event of the read. */
struct sonde_server_ctx_event {
  struct sonde_event_hdr hdr;
  struct sonde_conn_id conn;
  __u64 pos;          /* ingress stream offset of the request's first byte */
  __u8 trace_id[16];
  __u8 span_id[8];    /* the SERVER span's id */
  __u8 parent_id[8];  /* from the incoming traceparent; zero: a new trace */
  __u8 flags;
  __u8 _pad[7];
};

#endif /* SONDE_EVENTS_H */
