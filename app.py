"""Chairside's HTTP API (Chalice). Routes live in chalicelib/api blueprints; this file only wires them."""

from chalice import Chalice

from chalicelib.api import register

app = Chalice(app_name="chairside")
register(app)
