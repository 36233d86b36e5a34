#!/usr/bin/python3
"""Records real PostgreSQL v3 protocol bytes for the decoder tests.

A raw TCP proxy sits between a real client and the server started by
record.sh; each proxied connection's bytes are saved as <name>.fe (client to
server) and <name>.be (server to client). Run through record.sh.
"""
import os
import socket
import subprocess
import sys
import threading

OUT = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's python3, which has python3-psycopg2
PG_PORT = int(os.environ.get("SONDE_PG_PORT", "55432"))
TMP = os.environ.get("SONDE_PG_TMP", "/tmp")
NODE_MODULES = os.path.join(OUT, "..", "..", "node", "node_modules")


class Recorder:
    """Accepts connections, forwards them to the server, keeps both directions."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.conns = []  # [(fe bytearray, be bytearray, [threads])]
        self.lock = threading.Lock()
        self.stop = False
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _pump(self, src, dst, buf):
        while True:
            try:
                d = src.recv(65536)
            except OSError:
                d = b""
            if not d:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf += d
            try:
                dst.sendall(d)
            except OSError:
                return

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", PG_PORT))
            fe, be = bytearray(), bytearray()
            ts = [threading.Thread(target=self._pump, args=(c, up, fe)),
                  threading.Thread(target=self._pump, args=(up, c, be))]
            for t in ts:
                t.start()
            with self.lock:
                self.conns.append((fe, be, ts))

    def finish(self):
        """Waits for every proxied connection to close; returns [(fe, be)]."""
        self.stop = True
        self.srv.close()
        with self.lock:
            conns = list(self.conns)
        for _, _, ts in conns:
            for t in ts:
                t.join(timeout=30)
        return [(bytes(fe), bytes(be)) for fe, be, _ in conns]


def save(name, fe, be):
    for ext, data in (("fe", fe), ("be", be)):
        with open(os.path.join(OUT, f"{name}.{ext}"), "wb") as f:
            f.write(data)
    print(f"  {name}: {len(fe)} bytes to the server, {len(be)} back")


def record(name, argv, env_extra=None, stdin=None, pick=None):
    """Runs a client through a fresh recorder; saves one of its connections."""
    rec = Recorder()
    env = dict(os.environ)
    env.update({"PGHOST": "127.0.0.1", "PGPORT": str(rec.port), "PGUSER": "postgres",
                "PGDATABASE": "sondetest", "PGSSLMODE": "disable", "NODE_PATH": NODE_MODULES})
    env.update(env_extra or {})
    args = [a.replace("{port}", str(rec.port)) for a in argv]
    subprocess.run(args, check=True, env=env, input=stdin, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    conns = rec.finish()
    if pick is None:
        assert len(conns) == 1, f"{name}: {len(conns)} connections"
        save(name, *conns[0])
    else:
        for suffix, (fe, be) in pick(conns).items():
            save(name + suffix, fe, be)


PSQL_SCRIPT = rb"""
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'pear', 2.25);
SELECT id, name FROM items WHERE price > 1 ORDER BY id;
UPDATE items SET price = price * 2 WHERE id = 1;
DELETE FROM items WHERE id = 2;
BEGIN;
INSERT INTO items VALUES (3, 'plum', 0.5);
COMMIT;
SELECT * FROM missing_table;
SELEC 1;
INSERT INTO items VALUES (1, 'dup', 0);
DROP TABLE IF EXISTS no_such_table;
DO $$BEGIN RAISE NOTICE 'hello from plpgsql'; END$$;
SELECT 1 AS a \; SELECT 'two; still two' AS b \; SELECT 3 AS c;
SELECT 1 \; SELECT * FROM missing_table \; SELECT 3;
COPY items FROM STDIN;
10	ten	1
11	eleven	2
\.
COPY items TO STDOUT;
SELECT repeat('x', 10000) AS big;
DROP TABLE items;
"""

PSYCOPG2_SCRIPT = r"""
import psycopg2
conn = psycopg2.connect(host='127.0.0.1', port={port}, user='postgres', dbname='sondetest',
                        sslmode='disable', application_name='sonde-psycopg2')
cur = conn.cursor()
cur.execute('CREATE TABLE py_users (id serial PRIMARY KEY, email text UNIQUE, note text)')
cur.executemany('INSERT INTO py_users (email, note) VALUES (%s, %s)',
                [('a@example.com', "it's"), ('b@example.com', 'x' * 5000)])
cur.execute('SELECT id, email FROM py_users WHERE email = %s', ('a@example.com',))
cur.fetchall()
conn.commit()
try:
    cur.execute('INSERT INTO py_users (email) VALUES (%s)', ('a@example.com',))
except psycopg2.IntegrityError:
    conn.rollback()
try:
    cur.execute('SELECT FROM WHERE')
except psycopg2.ProgrammingError:
    conn.rollback()
named = conn.cursor(name='big_cursor')
named.itersize = 2
named.execute('SELECT id, note FROM py_users ORDER BY id')
for _ in named:
    pass
named.close()
cur.execute("SELECT repeat('y', 70000) AS wide, 42 AS n")
cur.fetchall()
conn.commit()
conn.autocommit = True
cur.execute('SELECT 1; SELECT 2; UPDATE py_users SET note = NULL')
cur.execute('DROP TABLE py_users')
conn.close()
"""

PSYCOPG2_AUTH = r"""
import psycopg2
for user, pw in (('pw_user', 'cleartext-Secret-1'), ('scram_user', 'scram-Secret-2')):
    c = psycopg2.connect(host='127.0.0.1', port={port}, user=user, password=pw, dbname='sondetest',
                         sslmode='disable')
    c.autocommit = True
    c.cursor().execute('SELECT current_user')
    c.close()
"""

NODE_SCRIPT = r"""
const { Client } = require('pg');
(async () => {
  const c = new Client({ host: '127.0.0.1', port: {port}, user: 'postgres', database: 'sondetest',
                         application_name: 'sonde-node' });
  await c.connect();
  await c.query('CREATE TABLE node_items (id int PRIMARY KEY, name text)');
  await c.query({ text: 'INSERT INTO node_items VALUES ($1, $2), ($3, $4)', values: [1, 'one', 2, 'two'] });
  await c.query({ text: 'SELECT $1::int AS n', values: [7] });
  const get = { name: 'get-item', text: 'SELECT name FROM node_items WHERE id = $1' };
  await c.query({ ...get, values: [1] });
  await c.query({ ...get, values: [2] });
  try { await c.query({ text: 'SELECT * FROM missing_node WHERE id = $1', values: [1] }); } catch (e) {}
  try { await c.query({ text: 'INSERT INTO node_items VALUES ($1, $2)', values: [1, 'again'] }); } catch (e) {}
  await c.query({ text: 'UPDATE node_items SET name = $1 WHERE id > $2 RETURNING id', values: ['z', 0] });
  await c.query('DROP TABLE node_items');
  await c.end();
})().catch((e) => { console.error(e); process.exit(1); });
"""


def pick_largest(conns):
    return {"": max(conns, key=lambda c: len(c[0]))}


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    print("PostgreSQL captures:")
    if what in ("all", "psql"):
        record("psql_session", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", "-"],
               env_extra={"PGAPPNAME": "sonde-psql"}, stdin=PSQL_SCRIPT)
        record("psql_ssl_prefer", ["psql", "-X", "-q", "-c", "SELECT current_database()"],
               env_extra={"PGSSLMODE": "prefer"})
    if what in ("all", "psycopg2"):
        record("psycopg2_session", [PY, "-c", PSYCOPG2_SCRIPT])
        record("psycopg2_auth", [PY, "-c", PSYCOPG2_AUTH],
               pick=lambda conns: {"_password": conns[0], "_scram": conns[1]})
    if what in ("all", "node"):
        record("node_pg_session", ["node", "-e", NODE_SCRIPT])
    if what in ("all", "libpq"):
        exe = os.path.join(TMP, "libpq_session")
        record("libpq_session", [exe, "main"])
        record("libpq_cancel", [exe, "cancel"],
               pick=lambda conns: {"": conns[0], "_request": conns[1]})
    if what in ("all", "pgbench"):
        record("pgbench_prepared", ["pgbench", "-n", "-c", "1", "-t", "5", "-M", "prepared",
                                    "-h", "127.0.0.1", "-p", "{port}", "sondetest"], pick=pick_largest)


if __name__ == "__main__":
    main()
