#!/usr/bin/python3
"""Records real HTTP/1.x bytes for the decoder tests.

Requests: a raw-socket server saves exactly what a real client sent
(<name>.req). Responses: a raw-socket client saves exactly what a real server
sent back (<name>.resp). Run through record.sh.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

OUT = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's python3, which has python3-requests


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"  {name}: {len(data)} bytes")


def read_until_idle(conn, idle=0.5):
    """Reads until the peer stays silent for `idle` seconds or closes."""
    conn.settimeout(idle)
    data = b""
    while True:
        try:
            d = conn.recv(65536)
        except socket.timeout:
            if b"\r\n\r\n" in data:
                return data
            continue
        if not d:
            return data
        data += d


def record_request(name, argv):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    result = {}

    def serve():
        conn, _ = srv.accept()
        data = read_until_idle(conn)
        result["data"] = data
        if data.startswith(b"HEAD "):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    args = [a.replace("{port}", str(port)) for a in argv]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, timeout=30)
    t.join(timeout=30)
    srv.close()
    save(name + ".req", result["data"])


def exchange(port, payload, wait_for=None, then=None):
    """Sends `payload` to a real server and returns everything it sends until close."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(payload)
    data = b""
    if wait_for is not None:
        while wait_for not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.sendall(then)
    s.settimeout(10)
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return data


def record_requests(files):
    print("requests from real clients:")
    url = "http://127.0.0.1:{port}"
    record_request("curl_get", ["curl", "-sS", "-o", "/dev/null", url + "/hello?x=1"])
    record_request("curl_head", ["curl", "-sS", "-o", "/dev/null", "-I", url + "/head-me"])
    record_request("curl_post_form", ["curl", "-sS", "-o", "/dev/null", "-d", "a=1&b=2", url + "/form"])
    record_request("curl_post_chunked", ["curl", "-sS", "-o", "/dev/null", "-H", "Transfer-Encoding: chunked",
                                         "--data-binary", "@" + files["3000"], url + "/upload"])
    record_request("curl_put_large", ["curl", "-sS", "-o", "/dev/null", "-H", "Expect:", "-T", files["20000"],
                                      url + "/put/big.bin"])
    record_request("py_requests_get", [PY, "-c",
        "import requests; requests.get('" + url + "/api/items?limit=5', headers={'X-Trace': '1'})"])
    record_request("py_requests_post_json", [PY, "-c",
        "import requests; requests.post('" + url + "/api/items', json={'name': 'widget', 'qty': 3})"])
    record_request("py_requests_chunked", [PY, "-c",
        "import requests; requests.post('" + url + "/api/stream', data=(b'x' * n for n in (10, 20, 30)))"])
    node_req = ("const http = require('http');"
                "const r = http.request({host: '127.0.0.1', port: {port}, method: 'POST', path: '/node/%s',"
                " headers: %s}, (res) => res.resume());")
    record_request("node_get", ["node", "-e",
        "require('http').get('http://127.0.0.1:{port}/node/get?q=a%20b', (res) => res.resume());"])
    record_request("node_post_chunked", ["node", "-e",
        node_req % ("chunked", "{}") + "r.write('hello '); r.write('chunked '); r.end('world');"])
    record_request("node_post_len", ["node", "-e",
        node_req % ("len", "{'Content-Type': 'application/json', 'Content-Length': 17}") +
        "r.end('{\"hello\":\"world\"}');"])


def record_responses(files):
    print("responses from real servers:")
    www = tempfile.mkdtemp(prefix="sonde-www-")
    with open(os.path.join(www, "hello.txt"), "wb") as f:
        f.write(b"hello, world\n")
    with open(os.path.join(www, "data.bin"), "wb") as f:
        f.write(bytes(i % 251 for i in range(5000)))
    py = subprocess.Popen([PY, "-m", "http.server", "--bind", "127.0.0.1", "0", "--directory", www],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    # "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
    port = int(py.stdout.readline().split(" port ")[1].split()[0])
    host = b"Host: 127.0.0.1\r\n"
    save("pyhttp_get.resp", exchange(port, b"GET /hello.txt HTTP/1.1\r\n" + host + b"\r\n"))
    save("pyhttp_head.resp", exchange(port, b"HEAD /data.bin HTTP/1.1\r\n" + host + b"\r\n"))
    save("pyhttp_404.resp", exchange(port, b"GET /missing HTTP/1.1\r\n" + host + b"\r\n"))
    save("pyhttp_304.resp", exchange(port, b"GET /data.bin HTTP/1.1\r\n" + host +
                                     b"If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n\r\n"))
    py.terminate()
    py.wait()

    node = subprocess.Popen(["node", os.path.join(OUT, "node_server.js")], stdout=subprocess.PIPE, text=True)
    port = int(node.stdout.readline())
    close = b"Connection: close\r\n"

    def get(path, method=b"GET"):
        return exchange(port, method + b" " + path + b" HTTP/1.1\r\n" + host + close + b"\r\n")

    save("node_len.resp", get(b"/len"))
    save("node_chunked.resp", get(b"/chunked"))
    save("node_trailers.resp", get(b"/trailers"))
    save("node_204.resp", get(b"/nocontent"))
    save("node_304.resp", get(b"/notmodified"))
    save("node_head.resp", get(b"/len", b"HEAD"))
    save("node_http10_close.resp", exchange(port, b"GET /stream HTTP/1.0\r\n" + host + b"\r\n"))
    save("node_pipelined.resp", exchange(port,
         b"GET /len HTTP/1.1\r\n" + host + b"\r\n" +
         b"GET /chunked HTTP/1.1\r\n" + host + b"\r\n" +
         b"GET /nocontent HTTP/1.1\r\n" + host + close + b"\r\n"))
    save("node_continue.resp", exchange(port,
         b"POST /echo HTTP/1.1\r\n" + host + close + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n",
         wait_for=b"\r\n\r\n", then=b"12345"))
    save("node_upgrade.resp", exchange(port,
         b"GET /ws HTTP/1.1\r\n" + host + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
         b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
    node.terminate()
    node.wait()


def main():
    tmp = tempfile.mkdtemp(prefix="sonde-rec-")
    files = {}
    for size in (3000, 20000):
        path = os.path.join(tmp, f"body{size}.bin")
        with open(path, "wb") as f:
            f.write(bytes((i * 7) % 256 for i in range(size)))
        files[str(size)] = path
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("all", "requests"):
        record_requests(files)
    if what in ("all", "responses"):
        record_responses(files)


if __name__ == "__main__":
    main()
