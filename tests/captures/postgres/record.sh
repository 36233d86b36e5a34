#!/bin/sh
# Re-records the PostgreSQL captures: starts a throwaway PostgreSQL 15 server
# (ssl off, trust for the test user, passwords for two auth users) in a temp
# dir, then runs real clients (psql, psycopg2, node pg, a libpq program,
# pgbench) through record.py's proxy, which saves each connection's bytes as
# <name>.fe (client -> server) and <name>.be (server -> client).
# Needs root (initdb runs as the postgres user), Debian's postgresql-15,
# libpq-dev, python3-psycopg2 and tests/node's npm packages (npm install).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=/usr/lib/postgresql/15/bin
port=${SONDE_PG_PORT:-55432}
tmp=$(mktemp -d /tmp/sonde-pg-XXXXXX)
chown postgres "$tmp"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  as_pg "$bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

as_pg "$bin/initdb" -D "$tmp/data" -A trust -U postgres >/dev/null
# Two users that must authenticate, so the captures hold a cleartext password
# message and a SCRAM exchange (which the decoder must never keep).
cat > "$tmp/data/pg_hba.conf" <<HBA
host all pw_user 127.0.0.1/32 password
host all scram_user 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
local all all trust
HBA
as_pg "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c ssl=off" start >/dev/null
as_pg "$bin/psql" -h "$tmp" -p "$port" -U postgres -X -q -d postgres <<SQL
CREATE DATABASE sondetest;
CREATE USER pw_user PASSWORD 'cleartext-Secret-1';
CREATE USER scram_user PASSWORD 'scram-Secret-2';
GRANT ALL ON DATABASE sondetest TO pw_user, scram_user;
SQL
as_pg "$bin/psql" -h "$tmp" -p "$port" -U postgres -X -q -d sondetest \
  -c "GRANT ALL ON SCHEMA public TO pw_user, scram_user"
# pgbench's tables, created directly (not through the recorder).
"$bin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 1 -q sondetest >/dev/null 2>&1

# The libpq client, compiled fresh against the installed libpq.
cc -O1 -Wall -o "$tmp/libpq_session" "$here/libpq_session.c" -I"$(pg_config --includedir)" -lpq

SONDE_PG_PORT=$port SONDE_PG_TMP=$tmp /usr/bin/python3 "$here/record.py" "$@"
