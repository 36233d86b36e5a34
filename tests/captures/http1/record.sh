#!/bin/sh
# Re-records the HTTP/1 captures from real clients (curl/libcurl, python3
# requests, node http) and real servers (python http.server, node http).
# Needs curl, node and Debian's /usr/bin/python3 with python3-requests.
# Header values such as Date and User-Agent versions change between runs;
# the tests only assert what stays the same.
set -eu
cd "$(dirname "$0")"
exec /usr/bin/python3 ./record.py "$@"
