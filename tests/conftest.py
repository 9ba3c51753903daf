"""Fixtures shared by every test folder.

- `aws`: moto's in-process `mock_aws` with a clean, offline AWS environment; yields a boto3 Session.
- `stack`: the local stack as `make run` starts it, once per session (tests/support/stack.py).
- `provisioned`: every Chairside resource of the `stage` created in that mock; yields the env dict
  the code reads (also exported to os.environ for the test's duration).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

# `pytest` run without `python -m` does not put the project root on sys.path.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.stack import stack  # noqa: E402, F401 - the session's one local stack (e2e, browser)

REGION = "ap-southeast-1"
STAGE = "test"

# Files that take minutes on one worker (`make test` runs `-n 2 --dist loadfile --no-loadscope-reorder`):
# handed out first, so the many short files fill the other worker meanwhile instead of one long file
# finishing alone at the end.
LONG_FILES_FIRST = ("tests/integration/test_isolation.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first; the rest keep their collection order (a stable sort)."""
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in LONG_FILES_FIRST)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, and no endpoint override (moto's mock_aws would not intercept)."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def aws(aws_env: None) -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def stage() -> str:
    return STAGE


@pytest.fixture
def provisioned(aws: boto3.session.Session, stage: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from devstack.provision import provision

    env = provision(aws, stage)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
