"""The end-to-end tests drive the running local stack (`stack`, tests/support/stack.py, shared with tests/browser)."""

from tests.support.stack import ROOT, Stack, _port_open, eventually, http  # noqa: F401 - e2e tests import these here
