"""An HTTP/1.1 server that records exactly what it reads: every byte read on
a connection is appended to OUT_DIR/<peer port>.recv before the request is
answered (with "200 OK", body "ok"). It frames requests by Content-Length
and chunked Transfer-Encoding.

usage: recording_server.py PORT OUT_DIR"""
import os
import socket
import sys
import threading

port = int(sys.argv[1])
out_dir = sys.argv[2]
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def header(head, want):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == want:
            return value.strip()
    return None


def request_end(buf):
    """Where the first request in buf ends, or -1 when it is incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return -1
    head = bytes(buf[:end])
    at = end + 4
    if (header(head, b"transfer-encoding") or b"").lower() == b"chunked":
        while True:
            nl = buf.find(b"\r\n", at)
            if nl < 0:
                return -1
            size = int(bytes(buf[at:nl]).split(b";")[0], 16)
            at = nl + 2
            if size == 0:
                trailers = buf.find(b"\r\n", at)  # no trailers in the tests: an empty line
                return -1 if trailers < 0 else trailers + 2
            if len(buf) < at + size + 2:
                return -1
            at += size + 2
    need = at + int(header(head, b"content-length") or 0)
    return need if len(buf) >= need else -1


def serve(conn, peer_port):
    with open(os.path.join(out_dir, "%d.recv" % peer_port), "wb") as rec:
        buf = bytearray()
        while True:
            data = conn.recv(1 << 20)
            if not data:
                break
            rec.write(data)
            rec.flush()
            buf += data
            answers = 0
            while True:
                need = request_end(buf)
                if need < 0:
                    break
                del buf[:need]
                answers += 1
            if answers:
                conn.sendall(RESPONSE * answers)
    conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(128)
print("listening", flush=True)
while True:
    c, addr = srv.accept()
    threading.Thread(target=serve, args=(c, addr[1]), daemon=True).start()
