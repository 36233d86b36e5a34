"""Shared helpers of the overhead benchmark (bench/harness.py): paths,
logging, ports, and the /proc readings every measurement is made of."""
import os
import resource
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TICK = os.sysconf("SC_CLK_TCK")
ADMIN_PORT = 19474


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


# ---------------------------------------------------------------- /proc helpers

def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return {"ppid": int(rest[1]), "utime": int(rest[11]), "stime": int(rest[12]),
            "cutime": int(rest[13]), "cstime": int(rest[14])}


def tree(root):
    """pids of root and its live descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            children.setdefault(proc_stat(int(d))["ppid"], []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu(root):
    """CPU seconds (user+sys) of root's live tree plus its reaped children."""
    total = 0
    for p in tree(root):
        try:
            st = proc_stat(p)
        except OSError:
            continue
        total += st["utime"] + st["stime"]
        if p == root:
            total += st["cutime"] + st["cstime"]
    return total / TICK


def cpu(pid):
    st = proc_stat(pid)
    return (st["utime"] + st["stime"]) / TICK


def rss_mib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def hide_port(cmd, port):
    return cmd.replace(f" {port}", " <port>").replace(f":{port}", ":<port>")


def stop_proc(proc, sig=signal.SIGTERM, timeout=15):
    """Sends sig and waits; kills what is still there after timeout s."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
