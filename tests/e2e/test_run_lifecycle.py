"""`make run` stops cleanly: Ctrl-C ends the API, moto and the workers, leaving no orphan process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, _port_open, eventually, http

pytestmark = pytest.mark.e2e


def _children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.add(int(entry))
    return found


def test_ctrl_c_stops_everything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "run", "--state-dir", str(tmp_path), "--api-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        local = tmp_path / "local.json"
        eventually(lambda: local.exists() or process.poll() is not None, 120, "local.json")
        info = json.loads(local.read_text())
        assert http("GET", info["api_url"] + "/v1/health")[0] == 200
        children = _children_of(process.pid)
        assert len(children) >= 2  # moto_server and chalice local

        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert process.wait(20) == 0
        assert not _port_open(info["api_url"]) and not _port_open(info["aws_endpoint_url"])
        assert all(not os.path.exists(f"/proc/{pid}") or _is_zombie(pid) for pid in children)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
