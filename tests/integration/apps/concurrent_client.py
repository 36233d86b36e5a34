"""GETs BASE/work/0 .. BASE/work/N-1 (or BASE/PREFIX/<n>) from C threads at
once (one keep-alive session per thread); prints "done OK_COUNT" at the end.
Usage: concurrent_client.py BASE N C [PREFIX]"""
import sys
import threading

import requests

base, total, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
prefix = sys.argv[4] if len(sys.argv) > 4 else "work"
next_n = iter(range(total))
lock = threading.Lock()
ok = [0]


def worker():
    with requests.Session() as s:
        while True:
            with lock:
                n = next(next_n, None)
            if n is None:
                return
            if s.get("%s/%s/%d" % (base, prefix, n)).status_code == 200:
                with lock:
                    ok[0] += 1


threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done", ok[0], flush=True)
