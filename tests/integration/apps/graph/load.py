"""Drives the call graph: C threads GET BASE/api/<n> with unique n for S
seconds (one keep-alive session per thread), then print "done OK TOTAL"."""
import sys
import threading
import time

import requests

base, seconds, concurrency = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + seconds
lock = threading.Lock()
counter = [0, 0]  # next n, ok


def worker():
    with requests.Session() as s:
        while time.monotonic() < deadline:
            with lock:
                n = counter[0]
                counter[0] += 1
            try:
                if s.get("%s/api/%d" % (base, n), timeout=30).status_code == 200:
                    with lock:
                        counter[1] += 1
            except requests.RequestException as e:
                print("error", n, e, flush=True)


threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done", counter[1], counter[0], flush=True)
