/* Outgoing traceparent injection (propagation.inject_traceparent).
 *
 * A sock_ops program on the cgroup v2 root marks the TCP sockets that
 * selected processes connect (TCP_CONNECT_CB runs inside connect(), in the
 * connecting task, so the pid filter applies to the right process) and puts
 * them into a sockhash once established (ACTIVE_ESTABLISHED_CB may run in
 * softirq, on another task: there only the mark set at connect is trusted).
 * Sockets of other processes never enter the sockhash, so their sends never
 * run the sk_msg program.
 *
 * The sk_msg program runs in the sending task for every chunk a send moves
 * through a sockhash socket. It follows the HTTP/1 request framing of the
 * socket (per-socket state in socket local storage): at each request
 * boundary it scans the header block; when the whole block is in this chunk,
 * the request line is HTTP/1.x and there is no traceparent header, it
 * inserts "traceparent: 00-<trace id>-<span id>-01\r\n" right after the
 * request line (bpf_msg_push_data) and reports the ids in a ring buffer
 * event, so that the CLIENT span of that request carries exactly them.
 * When the sending thread is handling a SERVER request (its identity was
 * chosen by the read tracepoints, see inj_server_read), the inserted trace
 * id is that request's and its span is the parent.
 * Content-Length bodies are skipped; a request with Transfer-Encoding or
 * Upgrade, or bytes that are not an HTTP/1.x request at a boundary, end the
 * injection on that socket for good (counted), never a guess. */
#ifndef SONDE_INJECT_BPF_H
#define SONDE_INJECT_BPF_H

#include "common.bpf.h"

#define SK_PASS 1

/* Header bytes scanned per pull (one bpf_loop), windows per header block, and
 * loop steps (bodies skipped + windows scanned) per chunk. */
#define INJ_WINDOW 4096
#define INJ_MAX_HEAD 16384
#define INJ_MAX_STEPS 1024
/* Bytes at the head of a chunk made contiguous again after an insertion. */
#define INJ_COALESCE 16384

/* FNV-1a 64 of the lower-cased header names that matter. */
#define INJ_FNV_OFFSET 0xcbf29ce484222325ull
#define INJ_FNV_PRIME 0x100000001b3ull
#define INJ_H_CONTENT_LENGTH 0x2d69a1e6ee916e7dull    /* 14 bytes */
#define INJ_H_TRANSFER_ENCODING 0x8640bd735e9d802cull /* 17 bytes */
#define INJ_H_TRACEPARENT 0xa22e83ed935e6e5eull       /* 11 bytes */
#define INJ_H_UPGRADE 0x7f7d77d7c2a03db7ull           /* 7 bytes */
#define INJ_HTTP1_PREFIX 0x485454502f312e00ull        /* "HTTP/1." and one byte */

enum inj_phase {
  PH_REQLINE = 0,
  PH_LINE_START = 1,
  PH_NAME = 2,
  PH_VALUE = 3,
  PH_END_CR = 4,
  PH_DONE = 5,     /* the empty line ending the header block was read */
  PH_BAD = 6,      /* not an HTTP/1.x request */
  PH_TOO_LARGE = 7,
};

enum inj_header { HD_OTHER = 0, HD_CL = 1, HD_TE = 2, HD_TP = 3, HD_UPGRADE = 4 };

#define HF_VERSION_OK 0x01
#define HF_TP 0x02
#define HF_TE 0x04
#define HF_UPGRADE 0x08
#define HF_CL_DIGIT 0x10
#define HF_CL_END 0x20

/* The header-block scanner's state: survives between chunks when a block is
 * split over several writes (so the framing is still followed). */
struct inj_head {
  __u64 w;          /* the last 8 bytes of the request line */
  __u64 name_hash;
  __u64 cl;         /* Content-Length */
  __u32 total;      /* bytes of the block so far */
  __u32 line_len;
  __u32 reqline_len;/* request line with its CRLF */
  __u32 name_len;
  __u8 phase;       /* enum inj_phase */
  __u8 cur;         /* enum inj_header: whose value is being read */
  __u8 flags;       /* HF_* */
  __u8 prev;
  __u32 _pad;
};

enum inj_mode { MODE_IDLE = 0, MODE_HEAD = 1, MODE_OFF = 2 };

/* Per socket, in socket local storage. Also holds the state of the chunk
 * being processed: the socket is locked while its send runs the program,
 * whereas a per-CPU scratch could be clobbered by a preempting sender. */
struct inj_sock {
  __u64 sent;       /* bytes the process wrote through this socket (inserted lines excluded) */
  __u64 body_left;  /* of the current request */
  __u64 req_pos;    /* stream offset of the request whose header is being scanned */
  struct inj_head h;
  __u8 mode;        /* enum inj_mode */
  __u8 head_split;  /* the current header block began in an earlier chunk */
  __u8 selected;    /* this chunk's sender is a selected process */
  __u8 pushed;      /* a line was inserted into this chunk */
  __u32 stop;       /* this chunk ended injection: 1 + enum sonde_inject_outcome */
  /* The chunk being processed (offsets include inserted lines). */
  __u32 off;
  __u32 size;
  __u32 req_off;    /* where the request begun in this chunk starts */
  __u32 base;       /* the scan window: [base, end), msg->data points at base */
  __u32 end;
  __u32 _pad1;
  __u64 pos;        /* stream offset of the byte at `off` */
  __u64 id;         /* the sender's pid_tgid */
  __u64 chunk_pos;  /* stream offset of the chunk's first byte */
};

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct inj_sock);
} inj_socks SEC(".maps");

/* Sockets whose sends run inject_msg, keyed by socket cookie. */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, __u64);
} inj_sockhash SEC(".maps");

/* Outcomes by enum sonde_inject_outcome. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SONDE_INJ__COUNT);
  __type(key, __u32);
  __type(value, __u64);
} inject_counts SEC(".maps");

/* Set by user space when injection is on: server reads then record the
 * identity of the request each thread is handling. */
const volatile __u32 inject_on = 0;

#include "server_ctx.bpf.h"

static __always_inline void inj_count(__u32 outcome) {
  __u64* v = bpf_map_lookup_elem(&inject_counts, &outcome);
  if (v) *v += 1;
}

SEC("sockops")
int inject_sockops(struct bpf_sock_ops* skops) {
  __u32 op = skops->op;
  if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) return 1;
  if (skops->family != AF_INET && skops->family != AF_INET6) return 1;
  struct bpf_sock* sk = skops->sk;
  if (!sk) return 1;
  if (op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
    /* Inside connect(): the current task is the connecting one. */
    if (!is_selected(bpf_get_current_pid_tgid() >> 32)) return 1;
    bpf_sk_storage_get(&inj_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    return 1;
  }
  /* Established: maybe in softirq, so only the mark made at connect counts. */
  if (!bpf_sk_storage_get(&inj_socks, sk, 0, 0)) return 1;
  __u64 cookie = bpf_get_socket_cookie(skops);
  if (bpf_sock_hash_update(skops, &inj_sockhash, &cookie, BPF_NOEXIST)) inj_count(SONDE_INJ_SOCKHASH_FULL);
  return 1;
}

/* What both bpf_loop callbacks get: the chunk and the socket's state. All
 * scanning state lives in the socket storage, whose contents the verifier
 * does not track, so each callback body is verified once. */
struct inj_ctx {
  struct sk_msg_md* msg;
  struct inj_sock* st;
};

static __always_inline __u8 inj_lower(__u8 c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* One byte of a header block (bpf_loop callback): byte i of the window. */
static long inj_scan_step(__u32 i, void* ctx) {
  struct inj_ctx* x = ctx;
  struct inj_sock* st = x->st;
  if (i >= st->end - st->base) return 1;
  struct sk_msg_md* msg = x->msg;
  void* data = (void*)(long)msg->data;
  void* data_end = (void*)(long)msg->data_end;
  __u8* p = data + (i & (INJ_WINDOW - 1));
  if ((void*)(p + 1) > data_end) return 1;
  __u8 c = *p;
  st->off = st->base + i + 1;
  struct inj_head* h = &st->h;
  h->total++;
  if (h->total > INJ_MAX_HEAD) {
    h->phase = PH_TOO_LARGE;
    return 1;
  }
  switch (h->phase) {
    case PH_REQLINE:
      if (h->line_len == 0 && !(c >= 'A' && c <= 'Z')) {
        h->phase = PH_BAD;
        return 1;
      }
      h->line_len++;
      if (c == '\r') {
        if ((h->w & ~0xffull) == INJ_HTTP1_PREFIX && ((h->w & 0xff) == '0' || (h->w & 0xff) == '1'))
          h->flags |= HF_VERSION_OK;
      } else if (c == '\n') {
        if (h->prev != '\r' || !(h->flags & HF_VERSION_OK)) {
          h->phase = PH_BAD;
          return 1;
        }
        h->reqline_len = h->line_len;
        h->phase = PH_LINE_START;
      } else if (c < 0x20 || c >= 0x7f) {
        h->phase = PH_BAD;
        return 1;
      }
      h->w = (h->w << 8) | c;
      break;
    case PH_LINE_START:
      if (c == '\r') {
        h->phase = PH_END_CR;
      } else {
        h->name_hash = (INJ_FNV_OFFSET ^ inj_lower(c)) * INJ_FNV_PRIME;
        h->name_len = 1;
        h->phase = PH_NAME;
      }
      break;
    case PH_END_CR:
      h->phase = c == '\n' ? PH_DONE : PH_BAD;
      return 1;
    case PH_NAME:
      if (c == ':') {
        __u64 hash = h->name_hash;
        __u32 n = h->name_len;
        h->cur = HD_OTHER;
        if (n == 14 && hash == INJ_H_CONTENT_LENGTH) {
          h->cur = HD_CL;
          h->cl = 0;
          h->flags &= ~(HF_CL_DIGIT | HF_CL_END);
        } else if (n == 17 && hash == INJ_H_TRANSFER_ENCODING) {
          h->flags |= HF_TE;
        } else if (n == 11 && hash == INJ_H_TRACEPARENT) {
          h->flags |= HF_TP;
        } else if (n == 7 && hash == INJ_H_UPGRADE) {
          h->flags |= HF_UPGRADE;
        }
        h->phase = PH_VALUE;
      } else if (c == '\r' || c == '\n') {
        h->phase = PH_BAD; /* a header line without a colon */
        return 1;
      } else {
        h->name_hash = (h->name_hash ^ inj_lower(c)) * INJ_FNV_PRIME;
        h->name_len++;
      }
      break;
    case PH_VALUE:
      if (c == '\n') {
        if (h->cur == HD_CL && !(h->flags & HF_CL_DIGIT)) {
          h->phase = PH_BAD; /* an empty Content-Length */
          return 1;
        }
        h->phase = PH_LINE_START;
      } else if (h->cur == HD_CL) {
        if (c >= '0' && c <= '9') {
          if ((h->flags & HF_CL_END) || h->cl > (1ull << 40)) {
            h->phase = PH_BAD;
            return 1;
          }
          h->cl = h->cl * 10 + (c - '0');
          h->flags |= HF_CL_DIGIT;
        } else if (c == ' ' || c == '\t' || c == '\r') {
          if (h->flags & HF_CL_DIGIT) h->flags |= HF_CL_END;
        } else {
          h->phase = PH_BAD; /* a list or garbage: the framing is not certain */
          return 1;
        }
      }
      break;
    default:
      return 1;
  }
  h->prev = c;
  return 0;
}

static __always_inline char inj_hex(__u32 n) { return n < 10 ? '0' + n : 'a' + (n - 10); }

/* Inserts the traceparent line at chunk offset `at` and reports it. Nothing
 * is inserted when the report cannot be queued: a span would be missing. */
static __noinline int inj_push(struct sk_msg_md* msg, struct inj_sock* st, __u32 at) {
  struct sonde_inject_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    inj_count(SONDE_INJ_EVENT_LOST);
    return 1;
  }
  __builtin_memset(e, 0, sizeof(*e));
  __u64 id = st->id;
  inj_random(e->span_id, 8);
  e->span_id[0] |= 1; /* never all zero (invalid per the W3C spec) */
  struct inj_thread_ctx* tc = bpf_map_lookup_elem(&inj_threads, &id);
  if (tc && tc->active && !tc->concurrent) {
    /* The thread is handling a SERVER request: this call is its child. */
    __builtin_memcpy(e->trace_id, tc->trace_id, 16);
    __builtin_memcpy(e->parent_id, tc->span_id, 8);
    e->flags = tc->flags;
  } else {
    inj_random(e->trace_id, 16);
    e->trace_id[0] |= 1;
    e->flags = 1;
  }
  if (bpf_msg_push_data(msg, at, SONDE_TRACEPARENT_LINE_LEN, 0)) goto fail;
  if (bpf_msg_pull_data(msg, at, at + SONDE_TRACEPARENT_LINE_LEN, 0)) goto fail_pop;
  char* d = (void*)(long)msg->data;
  if ((void*)(d + SONDE_TRACEPARENT_LINE_LEN) > (void*)(long)msg->data_end) goto fail_pop;
  __builtin_memcpy(d, "traceparent: 00-", 16);
  for (int i = 0; i < 16; i++) {
    d[16 + 2 * i] = inj_hex(e->trace_id[i] >> 4);
    d[17 + 2 * i] = inj_hex(e->trace_id[i] & 15);
  }
  d[48] = '-';
  for (int i = 0; i < 8; i++) {
    d[49 + 2 * i] = inj_hex(e->span_id[i] >> 4);
    d[50 + 2 * i] = inj_hex(e->span_id[i] & 15);
  }
  d[65] = '-';
  d[66] = inj_hex(e->flags >> 4);
  d[67] = inj_hex(e->flags & 15);
  d[68] = '\r';
  d[69] = '\n';

  e->hdr.kind = SONDE_EV_INJECT;
  e->hdr.tid = (__u32)id;
  e->hdr.ts_ns = bpf_ktime_get_ns();
  e->pid = id >> 32;
  e->pos = st->req_pos;
  __u32 family = msg->family;
  e->tuple.family = family;
  e->tuple.lport = msg->local_port;
  __u32 rp = msg->remote_port;
  e->tuple.rport = bpf_ntohs((__u16)(rp > 0xffff ? rp >> 16 : rp));
  if (family == AF_INET) {
    __u32 l4 = msg->local_ip4, r4 = msg->remote_ip4;
    __builtin_memcpy(e->tuple.laddr, &l4, 4);
    __builtin_memcpy(e->tuple.raddr, &r4, 4);
  } else {
    __u32 a;
    a = msg->local_ip6[0]; __builtin_memcpy(e->tuple.laddr + 0, &a, 4);
    a = msg->local_ip6[1]; __builtin_memcpy(e->tuple.laddr + 4, &a, 4);
    a = msg->local_ip6[2]; __builtin_memcpy(e->tuple.laddr + 8, &a, 4);
    a = msg->local_ip6[3]; __builtin_memcpy(e->tuple.laddr + 12, &a, 4);
    a = msg->remote_ip6[0]; __builtin_memcpy(e->tuple.raddr + 0, &a, 4);
    a = msg->remote_ip6[1]; __builtin_memcpy(e->tuple.raddr + 4, &a, 4);
    a = msg->remote_ip6[2]; __builtin_memcpy(e->tuple.raddr + 8, &a, 4);
    a = msg->remote_ip6[3]; __builtin_memcpy(e->tuple.raddr + 12, &a, 4);
  }
  bpf_ringbuf_submit(e, wake_flags_reserved(sizeof(*e)));
  inj_count(SONDE_INJ_INJECTED);
  return 0;
fail_pop:
  bpf_msg_pop_data(msg, at, SONDE_TRACEPARENT_LINE_LEN, 0);
fail:
  bpf_ringbuf_discard(e, 0);
  return -1;
}

static __always_inline long inj_stop(struct inj_sock* st, __u32 outcome) {
  st->mode = MODE_OFF;
  st->stop = outcome + 1;
  inj_count(outcome);
  return 1;
}

/* One step over the chunk (bpf_loop callback): skip body bytes, or scan one
 * window of a header block and, at its end, decide and maybe insert. */
static long inj_step(__u32 i, void* ctx) {
  struct inj_ctx* x = ctx;
  struct inj_sock* st = x->st;
  struct sk_msg_md* msg = x->msg;
  __u32 off = st->off;
  __u32 size = st->size;
  if (off >= size) return 1;
  if (st->body_left) {
    __u64 n = size - off;
    if (n > st->body_left) n = st->body_left;
    st->body_left -= n;
    st->off = off + (__u32)n;
    st->pos += n;
    return 0;
  }
  if (st->mode == MODE_IDLE) {
    __builtin_memset(&st->h, 0, sizeof(st->h));
    st->mode = MODE_HEAD;
    st->head_split = 0;
    st->req_pos = st->pos;
    st->req_off = off;
  }
  __u32 end = size - off > INJ_WINDOW ? off + INJ_WINDOW : size;
  if (bpf_msg_pull_data(msg, off, end, 0)) return inj_stop(st, SONDE_INJ_PUSH_FAILED);
  st->base = off;
  st->end = end;
  st->off = off;
  bpf_loop(INJ_WINDOW, inj_scan_step, x, 0);
  __u32 now = st->off;
  st->pos += now - off;
  __u8 phase = st->h.phase;
  if (phase == PH_BAD) return inj_stop(st, SONDE_INJ_STOP_NOT_HTTP1);
  if (phase == PH_TOO_LARGE) return inj_stop(st, SONDE_INJ_STOP_TOO_LARGE);
  if (phase != PH_DONE) {
    if (now < end) return inj_stop(st, SONDE_INJ_PUSH_FAILED); /* the window could not be read */
    if (now >= size) st->head_split = 1;                       /* continues in the next chunk */
    return 0;
  }
  /* A whole header block. */
  st->mode = MODE_IDLE;
  st->body_left = st->h.cl;
  __u8 fl = st->h.flags;
  if (st->head_split) {
    inj_count(SONDE_INJ_HEADERS_SPLIT);
  } else if (fl & HF_TP) {
    inj_count(SONDE_INJ_HAS_TRACEPARENT);
  } else if (!st->selected) {
    inj_count(SONDE_INJ_NOT_SELECTED);
  } else if (st->req_pos + st->h.total > st->chunk_pos + capture_cap) {
    /* The data event of this write carries only its first capture_cap
     * bytes (a chunk is one write unless the write is several hundred KiB). */
    inj_count(SONDE_INJ_BEYOND_CAPTURE);
  } else {
    int r = inj_push(msg, st, st->req_off + st->h.reqline_len);
    if (r < 0) return inj_stop(st, SONDE_INJ_PUSH_FAILED);
    if (r == 0) {
      st->pushed = 1;
      st->off += SONDE_TRACEPARENT_LINE_LEN;
      st->size += SONDE_TRACEPARENT_LINE_LEN;
    }
  }
  if (fl & HF_TE) return inj_stop(st, SONDE_INJ_STOP_CHUNKED);
  if (fl & HF_UPGRADE) return inj_stop(st, SONDE_INJ_STOP_UPGRADE);
  return 0;
}

SEC("sk_msg")
int inject_msg(struct sk_msg_md* msg) {
  struct bpf_sock* sk = msg->sk;
  if (!sk) return SK_PASS;
  struct inj_sock* st = bpf_sk_storage_get(&inj_socks, sk, 0, 0);
  if (!st || st->mode == MODE_OFF) return SK_PASS;
  __u64 id = bpf_get_current_pid_tgid();
  st->id = id;
  st->selected = is_selected(id >> 32) ? 1 : 0;
  st->size = msg->size;
  st->off = 0;
  st->pos = st->sent;
  st->chunk_pos = st->sent;
  st->stop = 0;
  st->pushed = 0;
  struct inj_ctx x = {msg, st};
  bpf_loop(INJ_MAX_STEPS, inj_step, &x, 0);
  /* An insertion splits the chunk's scatterlist in three. tcp_bpf sends
   * each piece as its own send without MSG_MORE, so Nagle would hold the
   * pieces after the first until the peer's (delayed) ACK: 40 ms per
   * request. Making the head of the chunk one piece again avoids that. */
  if (st->pushed) bpf_msg_pull_data(msg, 0, st->size < INJ_COALESCE ? st->size : INJ_COALESCE, 0);
  if (st->stop) return SK_PASS;
  if (st->off < st->size) {
    inj_stop(st, SONDE_INJ_STOP_TOO_LARGE); /* more requests in one write than steps */
    return SK_PASS;
  }
  st->sent = st->pos;
  return SK_PASS;
}

#endif /* SONDE_INJECT_BPF_H */
