"""A Flask service backed by Redis (redis-py) and PostgreSQL (psycopg2)."""
import sys

import psycopg2
import redis
from flask import Flask, jsonify

port, redis_port, pg_port, pg_dir = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
app = Flask(__name__)
cache = redis.Redis(host="127.0.0.1", port=redis_port, db=2)
db = psycopg2.connect(host="127.0.0.1", port=pg_port, dbname="shop", user="postgres", sslmode="disable")
db.autocommit = True


@app.route("/users/<int:user_id>")
def user(user_id):
    cached = cache.get(f"user:{user_id}")
    if cached is None:
        with db.cursor() as cur:
            cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
            row = cur.fetchone()
        cache.set(f"user:{user_id}", row[0], ex=60)
        return jsonify(name=row[0], cached=False)
    return jsonify(name=cached.decode(), cached=True)


@app.route("/broken")
def broken():
    try:
        with db.cursor() as cur:
            cur.execute("SELECT * FROM no_such_table")
    except psycopg2.Error:
        pass
    try:
        cache.incr("user:1")  # a string that is not an integer: an error reply
    except redis.ResponseError:
        pass
    return jsonify(error="broken"), 500


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print("listening", flush=True)
    app.run(host="127.0.0.1", port=port, threaded=True)
