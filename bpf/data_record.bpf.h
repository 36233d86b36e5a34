/* Data records: the fixed part of a data event, and the two ways its
 * payload gets into the ring (a record reserved at a size class and filled
 * straight from user memory, or this CPU's scratch event for payloads
 * assembled piecewise), with the truncation counters. */
#ifndef SONDE_DATA_RECORD_BPF_H
#define SONDE_DATA_RECORD_BPF_H

#include "common.bpf.h"
#include "async_ctx.bpf.h"

/* Fills the fixed part of a data event. Every field is written: a record
 * reserved in the ring holds whatever an earlier record left there. */
static __always_inline void fill_data(struct sonde_data_event* e, __u64 id, __s32 fd, struct conn_state* st,
                                      __u8 dir, __u64 ts_ns, __u64 pos, __u32 total, __u8 flags,
                                      __u64 async_ctx) {
  e->hdr.kind = SONDE_EV_DATA;
  e->hdr.tid = (__u32)id;
  e->hdr.ts_ns = ts_ns;
  e->conn.pid = id >> 32;
  e->conn.fd = fd;
  e->conn.pstart_ns = st->pstart_ns;
  e->conn.gen = st->gen;
  e->conn._pad = 0;
  e->tuple = st->tuple;
  e->pos = pos;
  e->total_len = total;
  e->dir = dir;
  e->role = st->role;
  e->flags = flags;
  e->_pad0 = 0;
  e->_pad1 = 0;
  e->async_ctx = async_ctx;
}

static __always_inline __u64 current_async_ctx(__u32 tgid) {
  __u64 c = async_ctx_of_current(tgid);
  return c ? c : node_ctx_of_current();
}

static __always_inline void count_truncation(__u32 got, __u64 total) {
  if ((__u64)got < total) {
    count_drop(SONDE_DROP_TRUNCATED, 1);
    count_drop(SONDE_DROP_TRUNCATED_BYTES, total - got);
  }
}

/* The data event in this CPU's scratch slot: for the paths that assemble
 * the payload piecewise (iovecs) or scan it afterwards (injection). */
static __always_inline struct sonde_data_event* begin_data(__u64 id, __s32 fd, struct conn_state* st,
                                                           __u8 dir, __u64 ts_ns, __u64 pos,
                                                           __u32 total, __u8 flags) {
  __u32 cpu = bpf_get_smp_processor_id();
  struct scratch* s = bpf_map_lookup_elem(&scratch_map, &cpu);
  if (!s) return NULL;
  struct sonde_data_event* e = &s->ev;
  fill_data(e, id, fd, st, dir, ts_ns, pos, total, flags, current_async_ctx(id >> 32));
  return e;
}

static __always_inline void finish_data(struct sonde_data_event* e, __u32 got, __u64 total) {
  if (got > SONDE_MAX_CAPTURE) got = SONDE_MAX_CAPTURE;
  count_truncation(got, total);
  e->cap_len = got;
  emit(e, offsetof(struct sonde_data_event, data) + got);
}

#define DATA_HDR_LEN offsetof(struct sonde_data_event, data)

/* One record of size class `cls` reserved in the ring, its header filled
 * and `want` (<= cls) bytes read from user memory at `src` straight into
 * it: one copy. */
static __always_inline void emit_data_class(__u32 cls, __u64 id, __s32 fd, struct conn_state* st, __u8 dir,
                                            __u64 ts, __u64 pos, __u64 total, __u8 flags, __u64 async_ctx,
                                            __u64 src, __u32 want) {
  struct sonde_data_event* e = bpf_ringbuf_reserve(&events, DATA_HDR_LEN + cls, 0);
  if (!e) {
    count_truncation(want, total);
    count_drop(SONDE_DROP_RINGBUF_FULL, 1);
    return;
  }
  fill_data(e, id, fd, st, dir, ts, pos, (__u32)total, flags, async_ctx);
  __u32 n = want;
  if (n > cls) n = cls;
  __u32 got = 0;
  if (n) {
    if (bpf_probe_read_user(e->data, n, (void*)src))
      count_drop(SONDE_DROP_READ_FAILED, 1);
    else
      got = n;
  }
  count_truncation(got, total);
  e->cap_len = got;
  bpf_ringbuf_submit(e, wake_flags_reserved(DATA_HDR_LEN + cls));
}

/* A data event whose payload is one user buffer, in the smallest size class
 * that holds min(total, capture_cap) bytes. Classes double from 64 bytes,
 * so the unused tail of a record is smaller than its payload (or than 64
 * bytes). With capture_cap a constant the verifier drops the classes above
 * it. */
static __always_inline void emit_data_buf(__u64 id, __s32 fd, struct conn_state* st, __u8 dir, __u64 ts,
                                          __u64 pos, __u64 total, __u8 flags, __u64 src) {
  __u32 want = total < capture_cap ? (__u32)total : capture_cap;
  if (want > SONDE_MAX_CAPTURE) want = SONDE_MAX_CAPTURE;
  __u64 actx = current_async_ctx(id >> 32);
#define SONDE_CLASS(c) emit_data_class(c, id, fd, st, dir, ts, pos, total, flags, actx, src, want)
  if (want <= 64)
    SONDE_CLASS(64);
  else if (want <= 128)
    SONDE_CLASS(128);
  else if (want <= 256)
    SONDE_CLASS(256);
  else if (want <= 512)
    SONDE_CLASS(512);
  else if (want <= 1024)
    SONDE_CLASS(1024);
  else if (want <= 2048)
    SONDE_CLASS(2048);
  else if (want <= 4096)
    SONDE_CLASS(4096);
  else if (want <= 8192)
    SONDE_CLASS(8192);
  else
    SONDE_CLASS(SONDE_MAX_CAPTURE);
#undef SONDE_CLASS
}

#endif /* SONDE_DATA_RECORD_BPF_H */
