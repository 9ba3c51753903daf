"""Garbage collection paused for a Lambda container's init (chalicelib/init_phase.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import init_phase
from chalicelib.api.metrics_flush import flush_after
from chalicelib.observability import flushes_metrics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collecting():
    """Every test leaves this process collecting garbage, nothing frozen, whatever it did."""
    yield
    init_phase.resume()
    gc.enable()
    gc.unfreeze()


def test_outside_lambda_nothing_is_paused(collecting, monkeypatch) -> None:
    monkeypatch.delenv(init_phase.LAMBDA_RUNTIME_API, raising=False)
    init_phase.pause()
    assert gc.isenabled()


def test_in_lambda_collection_pauses_until_resumed_once(collecting, monkeypatch) -> None:
    monkeypatch.setenv(init_phase.LAMBDA_RUNTIME_API, "127.0.0.1:9001")
    init_phase.pause()
    assert not gc.isenabled()
    gc.unfreeze()
    init_phase.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # the init's objects: never walked by a collection again
    gc.disable()  # someone else's choice after the init is left alone
    init_phase.resume()
    assert not gc.isenabled()


@pytest.mark.parametrize("fails", [False, True])
def test_a_workers_first_invocation_resumes_collection(collecting, monkeypatch, fails) -> None:
    monkeypatch.setenv(init_phase.LAMBDA_RUNTIME_API, "127.0.0.1:9001")
    init_phase.pause()

    @flushes_metrics
    def handler(event, context):
        assert not gc.isenabled()  # still paused inside the first invocation
        if fails:
            raise RuntimeError("boom")
        return "done"

    if fails:
        with pytest.raises(RuntimeError):
            handler({}, None)
    else:
        assert handler({}, None) == "done"
    assert gc.isenabled()


def test_an_api_requests_end_resumes_collection(collecting, monkeypatch) -> None:
    monkeypatch.setenv(init_phase.LAMBDA_RUNTIME_API, "127.0.0.1:9001")
    init_phase.pause()
    assert flush_after({"event": 1}, lambda event: "answer") == "answer"
    assert gc.isenabled()


@pytest.mark.parametrize("module", ["app", "functions.send_step", "functions.handle_inbound"])
@pytest.mark.parametrize("in_lambda", [True, False])
def test_entry_points_pause_collection_for_their_imports_in_lambda_only(module, in_lambda) -> None:
    env = {k: v for k, v in os.environ.items() if k != init_phase.LAMBDA_RUNTIME_API}
    if in_lambda:
        env[init_phase.LAMBDA_RUNTIME_API] = "127.0.0.1:9001"
    env.setdefault("AWS_DEFAULT_REGION", "ap-southeast-1")
    code = f"import gc, {module}; print(gc.isenabled())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == str(not in_lambda)
