/* The calling thread's async context, for data events of processes whose
 * runtime user space has described (async_ctx.h). Read at the syscall: the
 * thread is inside it, so its interpreter state does not change meanwhile
 * (CPython released the GIL, but only this thread writes its own
 * PyThreadState.context). */
#ifndef SONDE_ASYNC_CTX_BPF_H
#define SONDE_ASYNC_CTX_BPF_H

#include "common.bpf.h"
#include "async_ctx.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* tgid */
  __type(value, struct sonde_py_runtime);
} py_runtimes SEC(".maps");

/* The thread state found for a thread, kept so the list is walked once. */
struct py_thread {
  __u64 runtime_addr; /* of the process it was found in (exec changes it) */
  __u64 tstate;       /* 0: none found */
  __u64 retry_ns;     /* none found: walk again after this */
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct py_thread);
} py_threads SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SONDE_ASYNC__COUNT);
  __type(key, __u32);
  __type(value, __u64);
} async_ctx_stats SEC(".maps");

static __always_inline void count_async(__u32 what) {
  __u64* v = bpf_map_lookup_elem(&async_ctx_stats, &what);
  if (v) *v += 1;
}

/* The thread id as the process sees it (its own pid namespace): what
 * CPython stored in native_thread_id. */
static __always_inline __u32 ns_tid(void) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct pid* p = BPF_CORE_READ(task, thread_pid);
  if (!p) return 0;
  unsigned int level = BPF_CORE_READ(p, level);
  struct upid up = {};
  if (bpf_core_read(&up, sizeof(up), &p->numbers[level & 31])) return 0;
  return (__u32)up.nr;
}

struct py_walk {
  __u64 ts;       /* current list entry */
  __u64 found;
  __u32 tid;
  __u32 off_next;
  __u32 off_tid;
  __u32 failed;
};

static long py_walk_step(__u32 i, void* ctx) {
  struct py_walk* w = ctx;
  if (!w->ts) return 1;
  __u64 v = 0;
  if (bpf_probe_read_user(&v, sizeof(v), (void*)(w->ts + w->off_tid))) {
    w->failed = 1;
    return 1;
  }
  if (v == w->tid) {
    w->found = w->ts;
    return 1;
  }
  if (bpf_probe_read_user(&v, sizeof(v), (void*)(w->ts + w->off_next))) {
    w->failed = 1;
    return 1;
  }
  w->ts = v;
  return 0;
}

#define PY_RETRY_NS 1000000000ull

/* PyThreadState.context of the calling thread (a PyContext*, NULL before
 * the thread first used contextvars), or 0 when not known. */
static __always_inline __u64 async_ctx_of_current(__u32 tgid) {
  if (!py_runtimes_on) return 0;
  struct sonde_py_runtime* rt = bpf_map_lookup_elem(&py_runtimes, &tgid);
  if (!rt) return 0;
  struct py_thread* pt =
      bpf_task_storage_get(&py_threads, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!pt) return 0;
  __u32 tid = ns_tid();
  __u64 ts = 0;
  if (pt->runtime_addr == rt->runtime_addr && pt->tstate) {
    /* A thread state is freed when its thread ends; still ours? */
    __u64 v = 0;
    if (!bpf_probe_read_user(&v, sizeof(v), (void*)(pt->tstate + rt->tstate_native_id)) && v == tid)
      ts = pt->tstate;
  }
  if (!ts) {
    __u64 now = bpf_ktime_get_ns();
    if (pt->runtime_addr == rt->runtime_addr && !pt->tstate && now < pt->retry_ns) return 0;
    count_async(SONDE_ASYNC_THREAD_LOOKUPS);
    struct py_walk w = {};
    __u64 interp = 0;
    if (bpf_probe_read_user(&interp, sizeof(interp), (void*)(rt->runtime_addr + rt->interp_head)) || !interp ||
        bpf_probe_read_user(&w.ts, sizeof(w.ts), (void*)(interp + rt->threads_head))) {
      count_async(SONDE_ASYNC_READ_FAILED);
      return 0;
    }
    w.tid = tid;
    w.off_next = rt->tstate_next;
    w.off_tid = rt->tstate_native_id;
    bpf_loop(SONDE_PY_MAX_THREADS, py_walk_step, &w, 0);
    if (w.failed) count_async(SONDE_ASYNC_READ_FAILED);
    pt->runtime_addr = rt->runtime_addr;
    pt->tstate = w.found;
    if (!w.found) {
      pt->retry_ns = now + PY_RETRY_NS;
      count_async(SONDE_ASYNC_NO_THREAD);
      return 0;
    }
    ts = w.found;
  }
  __u64 ctx = 0;
  if (bpf_probe_read_user(&ctx, sizeof(ctx), (void*)(ts + rt->tstate_context))) {
    count_async(SONDE_ASYNC_READ_FAILED);
    return 0;
  }
  count_async(SONDE_ASYNC_CTX_READ);
  return ctx;
}

/* ---- Node.js: native callback scopes ---- */

struct node_scope {
  __u64 self;     /* the InternalCallbackScope object */
  __u64 trigger;  /* SONDE_ASYNC_CTX_NODE_READ | ts of the read it handles; 0: none */
  __u64 keeps_read; /* it took the pending read but runs no task queues: the read stays pending */
};

struct node_thread {
  __u64 last_read_ns; /* the thread's latest socket read not yet handed to a scope */
  __u64 read_since_ns; /* when that read became pending (or was left pending again) */
  __u32 depth;
  __u32 closing_depth;
  struct node_scope stack[SONDE_NODE_MAX_SCOPES];
  __u64 closing[SONDE_NODE_MAX_SCOPES]; /* scopes inside Close(), innermost last */
  __u64 wrap_pending; /* entered through the AsyncWrap* constructor, which delegates */
};

/* Threads that entered a callback scope (task local storage). */
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct node_thread);
} node_threads SEC(".maps");

/* A data syscall finished: a read is remembered for the scope that follows. */
static __always_inline void node_on_data(__u8 dir, __u64 ts) {
  if (dir != SONDE_DIR_INGRESS || !node_scopes_on) return;
  struct node_thread* nt = bpf_task_storage_get(&node_threads, bpf_get_current_task_btf(), 0, 0);
  if (nt) nt->last_read_ns = nt->read_since_ns = ts;
}

static __always_inline __u64 node_ctx_of_current(void) {
  if (!node_scopes_on) return 0;
  struct node_thread* nt = bpf_task_storage_get(&node_threads, bpf_get_current_task_btf(), 0, 0);
  if (!nt) return 0;
  __u32 d = nt->depth;
  if (d == 0 || d > SONDE_NODE_MAX_SCOPES) return 0;
  return nt->stack[(d - 1) & (SONDE_NODE_MAX_SCOPES - 1)].trigger;
}

static __always_inline int node_scope_push(__u64 self, int wrap, __u64 flags) {
  if (!is_selected(bpf_get_current_pid_tgid() >> 32)) return 0;
  struct node_thread* nt =
      bpf_task_storage_get(&node_threads, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!nt) return 0;
  count_async(SONDE_ASYNC_NODE_SCOPES);
  __u32 d = nt->depth;
  if (d >= SONDE_NODE_MAX_SCOPES) {
    count_async(SONDE_ASYNC_NODE_OVERFLOW);
    nt->depth = d + 1; /* still counted, so the destructors balance */
    return 0;
  }
  if (wrap) {
    nt->wrap_pending = self;
  } else if (nt->wrap_pending == self) {
    /* InternalCallbackScope(AsyncWrap*, int) delegating to the other
     * constructor: one scope, already pushed. */
    nt->wrap_pending = 0;
    return 0;
  }
  if (d > 0 && nt->stack[(d - 1) & (SONDE_NODE_MAX_SCOPES - 1)].self == self) {
    /* Two live scopes never share an address: the one below ended unseen. */
    d--;
  }
  __u64 now = bpf_ktime_get_ns();
  /* Node runs the nextTick queue and promise jobs when an outermost scope
   * without kSkipTaskQueues closes. The HTTP parser's callbacks skip them:
   * the request handler runs there, and what it queues (process.nextTick:
   * an http.Agent's write) runs when the parser's onExecute scope, entered
   * next for the same read, closes. So a scope that does not drain leaves
   * the read it took pending for the one that does. */
  const __u32 drains = d == 0 && !(flags & SONDE_NODE_SKIP_TASK_QUEUES);
  __u64 trigger = 0;
  __u32 keeps = 0;
  if (nt->last_read_ns && now - nt->read_since_ns < SONDE_NODE_READ_WINDOW_NS) {
    trigger = SONDE_ASYNC_CTX_NODE_READ | nt->last_read_ns;
    keeps = !drains;
  } else if (d > 0) {
    trigger = nt->stack[(d - 1) & (SONDE_NODE_MAX_SCOPES - 1)].trigger; /* nested: the outer read */
  }
  if (!drains) count_async(SONDE_ASYNC_NODE_DEFERRING);
  if (!keeps) nt->last_read_ns = 0;
  nt->stack[d & (SONDE_NODE_MAX_SCOPES - 1)].self = self;
  nt->stack[d & (SONDE_NODE_MAX_SCOPES - 1)].trigger = trigger;
  nt->stack[d & (SONDE_NODE_MAX_SCOPES - 1)].keeps_read = keeps;
  nt->depth = d + 1;
  return 0;
}

/* InternalCallbackScope(Environment*, Local<Object>, const async_context&, int flags) */
SEC("uprobe")
int BPF_KPROBE(node_scope_enter, void* self, void* env, void* object, void* async_context, long flags) {
  return node_scope_push((__u64)self, 0, (__u64)flags);
}

/* InternalCallbackScope(AsyncWrap*, int flags) */
SEC("uprobe")
int BPF_KPROBE(node_scope_enter_wrap, void* self, void* async_wrap, long flags) {
  return node_scope_push((__u64)self, 1, (__u64)flags);
}

/* Removes scope `self` (and any left open above it) from the thread's stack. */
static __always_inline void node_scope_pop(struct node_thread* nt, __u64 self) {
  __u32 d = nt->depth;
  if (d == 0) return;
  if (d > SONDE_NODE_MAX_SCOPES) {
    nt->last_read_ns = 0;
    nt->depth = d - 1;
    return;
  }
  __u64 keeps = 0, found = 0;
#pragma unroll
  for (__u32 k = 1; k <= SONDE_NODE_MAX_SCOPES; ++k) {
    if (k > d) break;
    if (nt->stack[(d - k) & (SONDE_NODE_MAX_SCOPES - 1)].self == self) {
      keeps = k == 1 && nt->stack[(d - k) & (SONDE_NODE_MAX_SCOPES - 1)].keeps_read;
      nt->depth = d - k;
      found = 1;
      break;
    }
  }
  /* A scope that took the read without draining leaves it to the scope
   * that follows (within the window from now); any other end consumes it,
   * so a timer that runs next is not taken for that read's callback. The
   * second end of a scope already popped (Close, then the destructor's
   * Close) changes nothing. */
  if (!found) return;
  if (keeps && nt->last_read_ns)
    nt->read_since_ns = bpf_ktime_get_ns();
  else
    nt->last_read_ns = 0;
}

/* A scope ends in Close(), which runs the callback's nextTick queue and
 * promise jobs first (the destructor, often inlined, calls it): the scope
 * is popped when Close returns. Close is idempotent, so `self` is matched. */
SEC("uprobe")
int BPF_KPROBE(node_scope_close_enter, void* self) {
  struct node_thread* nt = bpf_task_storage_get(&node_threads, bpf_get_current_task_btf(), 0, 0);
  if (!nt) return 0;
  __u32 c = nt->closing_depth;
  if (c < SONDE_NODE_MAX_SCOPES) nt->closing[c & (SONDE_NODE_MAX_SCOPES - 1)] = (__u64)self;
  nt->closing_depth = c + 1;
  return 0;
}

SEC("uretprobe")
int node_scope_close_exit(struct pt_regs* ctx) {
  struct node_thread* nt = bpf_task_storage_get(&node_threads, bpf_get_current_task_btf(), 0, 0);
  if (!nt || nt->closing_depth == 0) return 0;
  __u32 c = nt->closing_depth - 1;
  nt->closing_depth = c;
  if (c < SONDE_NODE_MAX_SCOPES) node_scope_pop(nt, nt->closing[c & (SONDE_NODE_MAX_SCOPES - 1)]);
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(node_scope_exit, void* self) {
  struct node_thread* nt = bpf_task_storage_get(&node_threads, bpf_get_current_task_btf(), 0, 0);
  if (nt) node_scope_pop(nt, (__u64)self);
  return 0;
}

#endif /* SONDE_ASYNC_CTX_BPF_H */
