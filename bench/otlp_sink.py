#!/usr/bin/python3
"""A local OTLP/HTTP receiver for the benchmark's OpenTelemetry JS SDK arm:
accepts POST /v1/traces (and /v1/metrics, /v1/logs), counts the spans of
each export and discards them; GET /stats returns the counts as JSON.

    otlp_sink.py PORT

Run by bench/harness.py as its own process, so its CPU is not the harness's.
Decodes only the protobuf framing needed to count spans
(ExportTraceServiceRequest.resource_spans[].scope_spans[].spans[]).
"""
import gzip
import http.server
import json
import sys
import threading
import zlib


def _varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if c < 0x80:
            return result, i
        shift += 7


def _fields(b):
    """(field number, bytes) of the length-delimited fields of one message."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        wire = key & 7
        if wire == 0:
            _, i = _varint(b, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            ln, i = _varint(b, i)
            yield key >> 3, b[i:i + ln]
            i += ln
        else:
            raise ValueError(f"wire type {wire}")


def count_spans(body):
    return sum(1 for f, rs in _fields(body) if f == 1
               for g, ss in _fields(rs) if g == 2
               for h, _ in _fields(ss) if h == 2)


class Stats:
    lock = threading.Lock()
    counts = {"exports": 0, "bytes": 0, "spans": 0, "bad": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's exporter expects

    def log_message(self, *a):
        pass

    def _reply(self, code, body=b"", ctype="application/x-protobuf"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def do_POST(self):
        body = self._body()
        enc = (self.headers.get("Content-Encoding") or "").lower()
        spans, bad = 0, 0
        try:
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc == "deflate":
                body = zlib.decompress(body)
            if self.path.startswith("/v1/traces"):
                spans = count_spans(body)
        except (ValueError, IndexError, OSError, zlib.error):
            bad = 1
        with Stats.lock:
            Stats.counts["exports"] += 1
            Stats.counts["bytes"] += len(body)
            Stats.counts["spans"] += spans
            Stats.counts["bad"] += bad
        self._reply(200)  # an empty Export*ServiceResponse: everything accepted

    def do_GET(self):
        if self.path != "/stats":
            return self._reply(404, b"", "text/plain")
        with Stats.lock:
            body = json.dumps(Stats.counts).encode()
        self._reply(200, body, "application/json")


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    print("listening", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
