/* Shared by sonde's BPF programs and user space: where, in a traced
 * process, the calling thread's "async context" is found, so that data
 * events can say which task of an event loop made the syscall.
 *
 * CPython: every asyncio Task runs its steps inside its own contextvars
 * Context, and the interpreter keeps the current one in the thread state
 * (PyThreadState.context). The thread states of the main interpreter are a
 * list reached from the exported _PyRuntime; each records the kernel's id of
 * its thread (native_thread_id). User space finds _PyRuntime, checks the
 * interpreter's version and fills one `sonde_py_runtime` per process. */
#ifndef SONDE_ASYNC_CTX_H
#define SONDE_ASYNC_CTX_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Thread states walked to find the calling thread's (bpf_loop bound). */
#define SONDE_PY_MAX_THREADS 512

struct sonde_py_runtime {
  __u64 runtime_addr;     /* address of _PyRuntime in the process */
  __u32 interp_head;      /* _PyRuntimeState.interpreters.head */
  __u32 threads_head;     /* PyInterpreterState.threads.head */
  __u32 tstate_next;      /* PyThreadState.next */
  __u32 tstate_native_id; /* PyThreadState.native_thread_id */
  __u32 tstate_context;   /* PyThreadState.context */
  __u32 version;          /* PY_VERSION_HEX, for diagnostics */
};

/* Node.js: the context of a syscall made inside a native callback scope
 * (node::InternalCallbackScope, seen by uprobes on its constructor and
 * destructor) is the timestamp of the socket read that the callback
 * handles (the read libuv made just before entering the scope), with this
 * bit set. */
#define SONDE_ASYNC_CTX_NODE_READ (1ull << 63)
/* Nested scopes followed per thread. */
#define SONDE_NODE_MAX_SCOPES 8
/* A scope entered this long after the thread's last read is not that
 * read's callback (a timer, an immediate). */
#define SONDE_NODE_READ_WINDOW_NS 1000000ull
/* InternalCallbackScope::kSkipTaskQueues: a scope that runs no nextTick or
 * promise jobs when it closes (the HTTP parser's callbacks). What its
 * callback queues runs in the scope that follows it for the same read. */
#define SONDE_NODE_SKIP_TASK_QUEUES 2

/* Index into the `async_ctx_stats` counters. */
enum sonde_async_stat {
  SONDE_ASYNC_CTX_READ = 0,       /* data events given a context (may be NULL) */
  SONDE_ASYNC_THREAD_LOOKUPS = 1, /* thread-state list walks */
  SONDE_ASYNC_NO_THREAD = 2,      /* walks that found no state for the thread */
  SONDE_ASYNC_READ_FAILED = 3,    /* process memory could not be read */
  SONDE_ASYNC_NODE_SCOPES = 4,     /* Node callback scopes entered */
  SONDE_ASYNC_NODE_OVERFLOW = 5,   /* scopes nested deeper than SONDE_NODE_MAX_SCOPES */
  SONDE_ASYNC_NODE_DEFERRING = 6,  /* ... of which ran no task queues (kSkipTaskQueues) */
  SONDE_ASYNC__COUNT = 7,
};

#endif /* SONDE_ASYNC_CTX_H */
