"""A threaded Flask service whose handler calls Redis and another HTTP
service: the calls made while handling /work/<n> belong to that request.
/spawn/<n> makes the same calls from a thread the handler starts and joins.
Usage: flask_links_app.py PORT REDIS_PORT DOWNSTREAM_PORT"""
import sys
import threading

import flask
import redis
import requests
from werkzeug.serving import make_server

port, redis_port, down_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
app = flask.Flask(__name__)
store = redis.Redis(host="127.0.0.1", port=redis_port)


@app.route("/work/<int:n>")
def work(n):
    store.set("k%d" % n, n)
    store.get("k%d" % n)
    r = requests.get("http://127.0.0.1:%d/down/%d" % (down_port, n))
    return "ok %d %d" % (n, r.status_code)


@app.route("/spawn/<int:n>")
def spawn(n):
    status = []
    t = threading.Thread(target=lambda: status.append(work(n)))
    t.start()
    t.join()
    return status[0]


server = make_server("127.0.0.1", port, app, threaded=True)
print("listening", flush=True)
server.serve_forever()
