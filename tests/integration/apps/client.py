"""Drives HTTP requests with python3-requests over one keep-alive session and
prints, as JSON, what the client saw and when (wall clock ns)."""
import json
import sys
import time

import requests

base = sys.argv[1]
plan = json.loads(sys.argv[2])
with requests.Session() as s:
    for step in plan:
        body = b"y" * step.get("body", 0) if step.get("body") else None
        t0 = time.time_ns()
        r = s.request(step.get("method", "GET"), base + step["path"], headers=step.get("headers", {}), data=body)
        _ = r.content
        t1 = time.time_ns()
        print("RESULT", step["path"], r.status_code, t0, t1, flush=True)
