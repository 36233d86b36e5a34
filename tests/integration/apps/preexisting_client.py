"""Opens a keep-alive connection and makes one request; waits for a line on
stdin; then makes two more on the same connection (the connection predates
the agent). Usage: preexisting_client.py PORT [CA_CERT]   (with CA_CERT: HTTPS)"""
import http.client
import ssl
import sys
import time

if len(sys.argv) > 2:
    conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]),
                                       context=ssl.create_default_context(cafile=sys.argv[2]))
else:
    conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
conn.request("GET", "/items/1")
conn.getresponse().read()
print("connected", flush=True)
sys.stdin.readline()
for path in ("/items/2", "/missing"):
    t0 = time.time_ns()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    print("RESULT", path, r.status, t0, time.time_ns(), flush=True)
print("done", flush=True)
