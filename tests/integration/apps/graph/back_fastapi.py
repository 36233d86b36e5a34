"""Back of the call-graph test: FastAPI on uvicorn (asyncio, one thread).
/fast/{n} sets and reads Redis key k<n> (redis.asyncio) and runs SELECT <n>
on PostgreSQL, so each call names the request that made it.
Usage: back_fastapi.py PORT REDIS_PORT PG_PORT"""
import sys

import fastapi
import psycopg2
import redis.asyncio
import uvicorn

port, redis_port, pg_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
app = fastapi.FastAPI()
store = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
db = psycopg2.connect(host="127.0.0.1", port=pg_port, user="postgres", dbname="postgres")
db.autocommit = True


@app.get("/fast/{n}")
async def fast(n: int):
    await store.set("k%d" % n, n)
    v = await store.get("k%d" % n)
    with db.cursor() as cur:  # a blocking driver in an async handler: runs on the loop
        cur.execute("SELECT %d" % n)
        row = cur.fetchone()
    return {"n": n, "redis": int(v), "pg": row[0]}


print("listening", flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
