"""Sends N GET requests in one write (HTTP/1.1 pipelining) and reads N responses."""
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
reqs = b"".join(b"GET /items/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % i for i in range(1, n + 1))
t0 = time.time_ns()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(reqs)
buf = b""
while buf.count(b"HTTP/1.1 ") < n or not buf.endswith(b"}"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
t1 = time.time_ns()
s.close()
print("RESULT pipelined", buf.count(b"HTTP/1.1 200"), t0, t1, flush=True)
