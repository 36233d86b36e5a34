"""A plain http.server service for sonde's integration tests (HTTP/1.1, keep-alive).
Usage: http_server.py PORT [CERT KEY]   (with CERT and KEY: HTTPS through the ssl module)"""
import http.server
import json
import socketserver
import ssl
import sys
import urllib.request


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return total
                total += len(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return len(self.rfile.read(n)) if n else 0

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/items/"):
            self._send(200, json.dumps({"id": path[7:]}).encode())
        elif path == "/missing":
            self._send(404, b'{"error":"not found"}')
        elif path == "/boom":
            self._send(500, b'{"error":"boom"}')
        elif path == "/big":
            self._send(200, b"x" * (1 << 20), "application/octet-stream")
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"alpha", b"beta" * 100, b"gamma"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/call":
            port = self.path.split("port=")[1]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/items/7") as r:
                body = r.read()
            self._send(200, body)
        else:
            self._send(404, b"{}")

    def do_POST(self):
        n = self._read_body()
        self._send(201, json.dumps({"received": n}).encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening", flush=True)
    srv.serve_forever()
