"""An HTTP/1.1 server that records exactly what it reads: every byte read on
a connection is appended to OUT_DIR/<peer port>.recv before the request is
answered (with "200 OK", body "ok"). It frames requests by Content-Length
only, which is all the injection test's client uses.

usage: recording_server.py PORT OUT_DIR"""
import os
import socket
import sys
import threading

port = int(sys.argv[1])
out_dir = sys.argv[2]
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


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
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                need = end + 4 + content_length(bytes(buf[:end]))
                if len(buf) < need:
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
