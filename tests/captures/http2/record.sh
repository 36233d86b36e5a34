#!/bin/sh
# Re-records the HTTP/2 captures (all, or the names given as arguments): real
# gRPC (python3-grpcio server and client, @grpc/grpc-js client) and h2c
# (Node.js http2 server, curl --http2-prior-knowledge, Node.js http2 client)
# through a recording proxy. Needs Debian's /usr/bin/python3 with
# python3-grpcio, node with tests/node/node_modules, and curl. Header values
# that change between runs (dates, user agents, window sizes) only matter to
# tests that assert them exactly, so the goldens are re-made with a new
# recording (tests/unit/http2 writes <name>.actual files on mismatch).
set -eu
cd "$(dirname "$0")"
exec /usr/bin/python3 ./record.py "$@"
