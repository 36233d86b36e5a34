"""A FastAPI service on uvicorn (one asyncio event loop) whose async
handler calls Redis (redis.asyncio), another HTTP service (httpx) and
PostgreSQL (asyncpg): every call made while handling /work/<n> carries n
(Redis key, downstream path, a literal in the SQL), so a test knows which
request each CLIENT span belongs to. Short sleeps interleave the requests.
Usage: fastapi_links_app.py PORT REDIS_PORT DOWNSTREAM_PORT PG_PORT"""
import asyncio
import random
import sys

import asyncpg
import fastapi
import httpx
import redis.asyncio as aioredis
import uvicorn

port, redis_port, down_port, pg_port = (int(a) for a in sys.argv[1:5])
app = fastapi.FastAPI()
state = {}


class NoResetConnection(asyncpg.Connection):
    """Skips the reset queries a pool runs at each release (they carry no
    request number)."""

    async def reset(self, *, timeout=None):
        pass


@app.on_event("startup")
async def startup():
    state["redis"] = aioredis.Redis(host="127.0.0.1", port=redis_port)
    state["http"] = httpx.AsyncClient(base_url="http://127.0.0.1:%d" % down_port)
    state["pg"] = await asyncpg.create_pool(host="127.0.0.1", port=pg_port, user="postgres", database="shop",
                                            min_size=8, max_size=8,
                                            connection_class=NoResetConnection)


@app.get("/work/{n}")
async def work(n: int):
    await asyncio.sleep(random.random() * 0.003)
    await state["redis"].set("k%d" % n, n)
    await asyncio.sleep(random.random() * 0.003)
    await state["redis"].get("k%d" % n)
    r = await state["http"].get("/down/%d" % n)
    async with state["pg"].acquire() as conn:
        await conn.fetchval("SELECT %d AS n" % n)
    return {"n": n, "down": r.status_code}


config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
server = uvicorn.Server(config)


async def main():
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    print("listening", flush=True)
    await task


asyncio.run(main())
