"""Floor A: the smallest Flask JSON endpoint, served by the gateway's own gunicorn configuration.

`gunicorn -c gateway/gunicorn.conf.py --chdir bench floor_app:app` (same worker class, workers, threads,
keep-alive as the gateway); whatever the gateway adds on top of this is our own cost.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/floor")
def floor():
    return jsonify({"id": "00000000-0000-0000-0000-000000000000", "ok": True})
