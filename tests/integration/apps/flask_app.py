"""A Flask front end that calls a backend over HTTP (python3-requests)."""
import sys

import requests
from flask import Flask, jsonify

app = Flask(__name__)
BACKEND = "http://127.0.0.1:%s" % sys.argv[2]


@app.route("/api/users/<int:user_id>")
def user(user_id):
    return jsonify(id=user_id)


@app.route("/api/orders/<order_id>")
def order(order_id):
    r = requests.get(f"{BACKEND}/items/{order_id}", timeout=5)
    return jsonify(backend_status=r.status_code, item=r.json())


@app.route("/api/fail")
def fail():
    return jsonify(error="unavailable"), 503


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print("listening", flush=True)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
