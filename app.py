"""Chairside's HTTP API (Chalice). Routes live in chalicelib/api blueprints; this file only wires them."""

from chalicelib import init_phase

init_phase.pause()  # in Lambda: no garbage collection during the imports below and the first request
# isort: split

from chalice import Chalice

from chalicelib.api import register
from chalicelib.api.correlation import correlate
from chalicelib.api.metrics_flush import flush_after

app = Chalice(app_name="chairside")
app.register_middleware(correlate, "http")
register(app)
app.register_middleware(flush_after, "all")
