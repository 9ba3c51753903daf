"""The end-to-end tests drive the running local stack (`stack`, tests/support/stack.py, shared with tests/browser)."""

from tests.support.stack import Stack, eventually, http  # noqa: F401 - the e2e tests import these from here
