"""What an entry point's import leaves out, so its cold start does not pay for it (docs/PERFORMANCE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-1"},
        timeout=120,
    )
    return set(out.stdout.split())


def test_the_api_import_leaves_the_conversations_and_rjieba_to_the_routes_that_need_them() -> None:
    loaded = _loaded_after("import app")
    assert "chalicelib.conversations.intake" not in loaded
    assert "rjieba" not in loaded


def test_the_channel_routes_limit_bodies_as_the_intake_does() -> None:
    from chalicelib.api.channels import MAX_BODY_BYTES
    from chalicelib.conversations.intake import MAX_BODY_BYTES as INTAKE_MAX

    assert MAX_BODY_BYTES == INTAKE_MAX
