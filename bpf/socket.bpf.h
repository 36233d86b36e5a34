/* From a file descriptor of the current process to its TCP socket. */
#ifndef SONDE_SOCKET_BPF_H
#define SONDE_SOCKET_BPF_H

#include "common.bpf.h"

/* The struct sock behind `fd` when it is a TCP socket over IPv4/IPv6, else
 * NULL. Most non-socket fds are rejected after reading the inode mode. */
static __always_inline struct sock* fd_to_tcp_sock(__s32 fd) {
  if (fd < 0) return NULL;
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  struct fdtable* fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt) return NULL;
  if ((__u32)fd >= BPF_CORE_READ(fdt, max_fds)) return NULL;
  struct file** fds = BPF_CORE_READ(fdt, fd);
  struct file* file = NULL;
  if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file) return NULL;
  umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
  if ((mode & S_IFMT) != S_IFSOCK) return NULL;
  struct socket* sock = BPF_CORE_READ(file, private_data);
  if (!sock) return NULL;
  struct sock* sk = BPF_CORE_READ(sock, sk);
  if (!sk) return NULL;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != AF_INET && family != AF_INET6) return NULL;
  if (BPF_CORE_READ(sk, sk_type) != SOCK_STREAM) return NULL;
  if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP) return NULL;
  return sk;
}

static __always_inline void read_tuple(struct sock* sk, struct sonde_tuple* t) {
  __builtin_memset(t, 0, sizeof(*t));
  t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
  t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
  t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if (t->family == AF_INET) {
    BPF_CORE_READ_INTO(&t->laddr, sk, __sk_common.skc_rcv_saddr);
    BPF_CORE_READ_INTO(&t->raddr, sk, __sk_common.skc_daddr);
  } else {
    BPF_CORE_READ_INTO(&t->laddr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO(&t->raddr, sk, __sk_common.skc_v6_daddr);
  }
}

/* Starts tracking a connection (new generation) and returns its state. */
static __always_inline struct conn_state* track_conn(__u32 tgid, __s32 fd, struct sock* sk,
                                                     __u8 role) {
  struct conn_state st = {};
  st.pstart_ns = process_start_ns();
  st.gen = (__u32)__sync_fetch_and_add(&next_gen, 1) + 1;
  st.role = role;
  read_tuple(sk, &st.tuple);
  __u64 key = conn_key(tgid, fd);
  if (bpf_map_update_elem(&conns, &key, &st, BPF_ANY)) {
    count_drop(SONDE_DROP_CONN_MAP_FULL, 1);
    return NULL;
  }
  return bpf_map_lookup_elem(&conns, &key);
}

#endif /* SONDE_SOCKET_BPF_H */
