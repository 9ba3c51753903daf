"""The dependency locks (`make lock`): hash-pinned, runtime and dev apart, and agreeing with each other.

requirements/runtime-lock.txt is what the Lambda layer installs (resolved for python3.13 on manylinux
aarch64); requirements/lock.txt is what the venv installs (runtime + dev tools, `--require-hashes`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+?)\s*(?:;.*?)?\s*\\?$")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (a lock's continuation lines are skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.split(" #", 1)[0].strip())
        if match:
            found[_name(match[1])] = match[2]
    return found


def hashes(path: Path) -> dict[str, int]:
    """name -> number of --hash options under its pin."""
    counts: dict[str, int] = {}
    current = None
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            current = _name(match[1])
            counts[current] = 0
        elif current and line.strip().startswith("--hash=sha256:"):
            counts[current] += 1
    return counts


RUNTIME, DEV = REQUIREMENTS / "runtime.txt", REQUIREMENTS / "dev.txt"
RUNTIME_LOCK, DEV_LOCK = REQUIREMENTS / "runtime-lock.txt", REQUIREMENTS / "lock.txt"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_every_locked_package_is_hash_pinned(lock: Path) -> None:
    counted = hashes(lock)
    assert counted and counted.keys() == pins(lock).keys()
    assert [name for name, n in counted.items() if n == 0] == []


@pytest.mark.parametrize(
    ("wanted", "lock"), [(RUNTIME, RUNTIME_LOCK), (DEV, DEV_LOCK)], ids=["runtime", "dev"]
)
def test_the_locks_hold_what_the_requirements_pin(wanted: Path, lock: Path) -> None:
    """Edit runtime.txt / dev.txt, then `make lock`: a lock that was not re-made fails here."""
    locked = pins(lock)
    assert {name: locked.get(name) for name in pins(wanted)} == pins(wanted)


def test_the_venv_runs_the_versions_the_layer_ships() -> None:
    dev = pins(DEV_LOCK)
    assert {name: dev.get(name) for name in pins(RUNTIME_LOCK)} == pins(RUNTIME_LOCK)


def test_the_runtime_lock_is_lean_and_current() -> None:
    runtime = pins(RUNTIME_LOCK)
    assert "phonenumberslite" in runtime and "phonenumbers" not in runtime  # no geodata in the layer
    assert "rjieba" in runtime and "jieba" not in runtime  # jieba is sdist-only, 37 MB, unmaintained
    assert int(runtime["cryptography"].split(".")[0]) >= 51
    # dev tools never reach the layer
    assert not {"chalice", "moto", "pytest", "ruff", "uv", "pip-audit", "cfn-lint"} & runtime.keys()
