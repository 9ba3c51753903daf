"""The fuzz tests drive the same in-process app as the integration tests."""

from tests.integration.conftest import harness  # noqa: F401
