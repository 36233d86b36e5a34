/* The SERVER request a thread handles, for traceparent injection
 * (inject.bpf.h): when a selected thread reads an HTTP/1.x request line on a
 * server connection, the read tracepoint chooses the request's span identity
 * (continuing a valid incoming traceparent, else a new trace), reports it
 * (SONDE_EV_SERVER_CTX) so that the SERVER span takes it, and keeps it per
 * thread so that sk_msg can continue that trace in the calls the thread makes.
 * A write on a server connection (the response) ends it. Included by
 * inject.bpf.h after its header-name constants. */
#ifndef SONDE_SERVER_CTX_BPF_H
#define SONDE_SERVER_CTX_BPF_H

#include "common.bpf.h"

/* The SERVER request a thread is handling, by pid_tgid: written by the read
 * tracepoints, read by sk_msg (which cannot use task storage). */
struct inj_thread_ctx {
  __u8 trace_id[16];
  __u8 span_id[8];
  __u8 flags;
  __u8 active;     /* read, not yet answered (no write on a server connection since) */
  __u8 concurrent; /* sticky: this thread once read a request while handling another (an
                    * event loop); its calls are never given a request's context */
  __u8 _pad[5];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct inj_thread_ctx);
} inj_threads SEC(".maps");

static __always_inline void inj_random(__u8* out, int n) {
  for (int i = 0; i < n; i += 4) {
    __u32 r = bpf_get_prandom_u32();
    __builtin_memcpy(out + i, &r, 4);
  }
}

struct inj_find {
  struct sonde_data_event* e;
  __u32 len;
  __u32 at;       /* offset of the traceparent value, 0: none */
  __u32 first_nl; /* offset of the request line's '\n', 0: not seen */
  __u32 _pad;
};

#define INJ_LE_TRACEPAR 0x7261706563617274ull /* "tracepar" */
#define INJ_LE_ENT 0x3a746e65u                /* "ent:" */

/* Byte i of a request head: after a line end, is the next line
 * "traceparent:"? Stops at the empty line ending the head. */
static long inj_find_step(__u32 i, void* ctx) {
  struct inj_find* f = ctx;
  if (i + 14 >= f->len) return 1;
  __u8* d = f->e->data;
  __u32 k = i & (SONDE_MAX_CAPTURE - 1);
  if (d[k] != '\n') return 0;
  if (!f->first_nl) f->first_nl = i;
  if (d[k + 1] == '\r') return 1;
  __u64 a;
  __u32 b;
  __builtin_memcpy(&a, d + k + 1, 8);
  __builtin_memcpy(&b, d + k + 9, 4);
  if ((a | 0x2020202020202020ull) == INJ_LE_TRACEPAR && (b | 0x00202020u) == INJ_LE_ENT) {
    f->at = i + 13;
    return 1;
  }
  return 0;
}

static __always_inline int inj_hexval(__u8 c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Parses "00-<32 hex>-<16 hex>-<2 hex>" (optional whitespace around) at
 * d[at..len); the rules of src/spans/trace_context.cc for version 00. */
static __always_inline int inj_parse_tp(__u8* d, __u32 at, __u32 len, struct sonde_server_ctx_event* ev) {
  for (int k = 0; k < 4; k++)
    if (at < len && (d[at & (SONDE_MAX_CAPTURE - 1)] == ' ' || d[at & (SONDE_MAX_CAPTURE - 1)] == '\t')) at++;
  if (at + 57 > len) return -1;
  __u8* p = d + (at & (SONDE_MAX_CAPTURE - 1));
  if (p[0] != '0' || p[1] != '0' || p[2] != '-' || p[35] != '-' || p[52] != '-') return -1;
  if (p[55] != '\r' && p[55] != ' ' && p[55] != '\t') return -1;
  __u8 nz_t = 0, nz_s = 0;
  for (int k = 0; k < 16; k++) {
    int hi = inj_hexval(p[3 + 2 * k]), lo = inj_hexval(p[4 + 2 * k]);
    if (hi < 0 || lo < 0) return -1;
    ev->trace_id[k] = (__u8)(hi << 4 | lo);
    nz_t |= ev->trace_id[k];
  }
  for (int k = 0; k < 8; k++) {
    int hi = inj_hexval(p[36 + 2 * k]), lo = inj_hexval(p[37 + 2 * k]);
    if (hi < 0 || lo < 0) return -1;
    ev->parent_id[k] = (__u8)(hi << 4 | lo);
    nz_s |= ev->parent_id[k];
  }
  int fh = inj_hexval(p[53]), fl = inj_hexval(p[54]);
  if (fh < 0 || fl < 0 || !nz_t || !nz_s) return -1;
  ev->flags = (__u8)(fh << 4 | fl);
  return 0;
}

/* A read on a server connection: when its bytes begin an HTTP/1 request,
 * choose the request's identity, remember it as this thread's, report it. */
static __always_inline void inj_server_read(__u64 id, struct sonde_data_event* e, __u32 got) {
  if (got < 16) return;
  __u8* d = e->data;
  /* "METHOD " with an uppercase method of 3 to 7 letters. */
  int sp = 0;
  for (int k = 0; k < 8; k++) {
    __u8 c = d[k];
    if (c == ' ') {
      sp = k;
      break;
    }
    if (c < 'A' || c > 'Z') return;
  }
  if (sp < 3) return;
  struct sonde_server_ctx_event ev = {};
  ev.hdr.kind = SONDE_EV_SERVER_CTX;
  ev.hdr.tid = (__u32)id;
  ev.hdr.ts_ns = bpf_ktime_get_ns();
  ev.conn = e->conn;
  ev.pos = e->pos;
  struct inj_find f = {e, got > SONDE_MAX_CAPTURE - 16 ? SONDE_MAX_CAPTURE - 16 : got, 0, 0, 0};
  bpf_loop(SONDE_MAX_CAPTURE, inj_find_step, &f, 0);
  /* Only HTTP/1.x: the request line ends in "HTTP/1.x\r\n" (not the HTTP/2
   * preface "PRI * HTTP/2.0"). */
  if (f.first_nl < 10) return;
  __u8* le = d + ((f.first_nl - 9) & (SONDE_MAX_CAPTURE - 1));
  if (le[0] != 'H' || le[1] != 'T' || le[2] != 'T' || le[3] != 'P' || le[4] != '/' || le[5] != '1' ||
      le[6] != '.' || le[8] != '\r')
    return;
  if (!f.at || inj_parse_tp(d, f.at, f.len, &ev)) {
    __builtin_memset(ev.parent_id, 0, 8);
    inj_random(ev.trace_id, 16);
    ev.trace_id[0] |= 1;
    ev.flags = 1;
  }
  inj_random(ev.span_id, 8);
  ev.span_id[0] |= 1;
  struct inj_thread_ctx tc = {};
  __builtin_memcpy(tc.trace_id, ev.trace_id, 16);
  __builtin_memcpy(tc.span_id, ev.span_id, 8);
  tc.flags = ev.flags;
  tc.active = 1;
  /* Two requests in flight on one thread: which one a call belongs to is
   * unknowable here, so this thread's calls start new traces from now on
   * (sonde does not guess; the user-space thread links do the same). */
  struct inj_thread_ctx* old = bpf_map_lookup_elem(&inj_threads, &id);
  if (old) tc.concurrent = old->concurrent | old->active;
  bpf_map_update_elem(&inj_threads, &id, &tc, BPF_ANY);
  emit(&ev, sizeof(ev));
}

/* The thread wrote on a server connection (its response): it no longer
 * handles that request. */
static __always_inline void inj_server_write(__u64 id) {
  struct inj_thread_ctx* tc = bpf_map_lookup_elem(&inj_threads, &id);
  if (tc) tc->active = 0;
}

#endif /* SONDE_SERVER_CTX_BPF_H */
