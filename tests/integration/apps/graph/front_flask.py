"""A threaded Flask front: /api/<n> calls TARGET<n> (e.g.
http://127.0.0.1:8001/node/) over a keep-alive session of its thread and
returns the answer.
Usage: front_flask.py PORT TARGET"""
import logging
import sys
import threading

import flask
import requests
from werkzeug.serving import make_server

port, target = int(sys.argv[1]), sys.argv[2]
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log
app = flask.Flask(__name__)
local = threading.local()


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()  # one keep-alive connection per thread
    return local.s


@app.route("/api/<int:n>")
def api(n):
    r = session().get("%s%d" % (target, n))
    return flask.Response(r.content, status=r.status_code)


server = make_server("127.0.0.1", port, app, threaded=True)
print("listening", flush=True)
server.serve_forever()
