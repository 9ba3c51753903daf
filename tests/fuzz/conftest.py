"""The fuzz tests drive the same in-process app as the integration tests."""

from tests.integration.conftest import fakes, harness  # noqa: F401 - shared fixtures
