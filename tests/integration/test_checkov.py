"""checkov on the packaged template of every region: no failed check is left unexplained.

Every region in infra/regions.py is packaged (--skip-layer, as test_package.py does) and the SAM templates are
scanned in one checkov run (offline: --skip-download). A failed check must be covered by an entry of
infra/checkov_skips.toml -- its id, a resource pattern and a reason -- and every entry must still match a
finding. checkov runs from its own venv (requirements/checkov.txt explains why; `make venv` builds it).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.regions import REGIONS
from tests.integration.test_package import Packaged, package_target

ROOT = Path(__file__).resolve().parents[2]
SKIPS = ROOT / "infra" / "checkov_skips.toml"
PINNED = re.search(r"^checkov==(\S+)$", (ROOT / "requirements" / "checkov.txt").read_text(), re.M)[1]


def checkov_binary() -> Path:
    candidates = [
        os.environ.get("CHECKOV", ""),
        str(Path(sys.executable).parent.parent / "checkov" / "bin" / "checkov"),
        str(ROOT / ".venv" / "checkov" / "bin" / "checkov"),
        shutil.which("checkov") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail(
        "checkov is not installed: run `make venv` (it builds .venv/checkov from requirements/checkov.txt)"
    )


@dataclass(frozen=True)
class Finding:
    region: str
    check_id: str
    resource: str  # "<Type>.<LogicalId>"
    evaluated_keys: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.check_id} {self.resource} ({self.region})"


@dataclass(frozen=True)
class Scan:
    packaged: dict[str, Packaged]  # by region
    summary: dict[str, Any]
    findings: list[Finding]


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    out = tmp_path_factory.mktemp("checkov")
    packaged = {region: package_target("prod", region, out) for region in REGIONS}
    by_path = {str(p.sam.resolve()): region for region, p in packaged.items()}
    command = [
        str(checkov_binary()),
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--compact",
        "--quiet",
        "--skip-download",
    ]
    for p in packaged.values():
        command += ["-f", str(p.sam)]
    result = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode in (0, 1), result.stderr  # 1: some check failed
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    [report] = [r for r in reports if r.get("check_type") == "cloudformation"]
    findings = [
        Finding(
            by_path[str(Path(c["file_abs_path"]).resolve())],
            c["check_id"],
            c["resource"],
            tuple(c["check_result"].get("evaluated_keys") or ()),
        )
        for c in report["results"]["failed_checks"]
    ]
    return Scan(packaged, report["summary"], findings)


def load_skips() -> list[dict[str, Any]]:
    return tomllib.loads(SKIPS.read_text())["skip"]


def _sid_at(packaged: Packaged, resource: str, key: str) -> set[str]:
    """The Sid(s) of the statement an IAM finding points at (`.../Statement/[n]/...`)."""
    index = int(re.search(r"Statement/\[(\d+)\]", key)[1])
    props = packaged.resources[resource.split(".", 1)[1]]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])] + (
        [props["PolicyDocument"]] if "PolicyDocument" in props else []
    )
    return {d["Statement"][index].get("Sid", "") for d in documents if index < len(d["Statement"])}


def covers(skip: dict[str, Any], finding: Finding, packaged: Packaged) -> bool:
    if skip["id"] != finding.check_id:
        return False
    if not any(fnmatch.fnmatchcase(finding.resource, pattern) for pattern in skip.get("resources", ["*"])):
        return False
    allowed = skip.get("statements")
    if allowed is not None:
        keys = [k for k in finding.evaluated_keys if "Statement/[" in k]
        return bool(keys) and all(_sid_at(packaged, finding.resource, k) <= set(allowed) for k in keys)
    return True


def test_checkov_is_the_pinned_version_and_reads_every_template(scan: Scan) -> None:
    assert scan.summary["checkov_version"] == PINNED
    assert scan.summary["parsing_errors"] == 0
    resources = sum(len(p.resources) for p in scan.packaged.values())
    assert scan.summary["resource_count"] == resources  # nothing was left out of the scan
    assert scan.summary["passed"] > 0


def test_every_failed_check_is_explained_in_the_skip_list(scan: Scan) -> None:
    skips = load_skips()
    unexplained = [f for f in scan.findings if not any(covers(s, f, scan.packaged[f.region]) for s in skips)]
    assert unexplained == [], (
        "fix these in infra/template.py, or explain them in infra/checkov_skips.toml:\n"
        + ("\n".join(map(str, unexplained)))
    )


def test_every_skip_still_matches_a_finding(scan: Scan) -> None:
    stale = [
        s["id"] for s in load_skips() if not any(covers(s, f, scan.packaged[f.region]) for f in scan.findings)
    ]
    assert stale == [], f"no longer failing -- remove from infra/checkov_skips.toml: {stale}"


def test_the_skip_list_is_well_formed() -> None:
    skips = load_skips()
    ids = [s["id"] for s in skips]
    assert len(ids) == len(set(ids)), "one entry per check"
    for skip in skips:
        assert set(skip) <= {"id", "resources", "statements", "reason"}, skip["id"]
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"])
        assert skip.get("resources"), f"{skip['id']}: limit it to the resources it is about"
        assert len(skip.get("reason", "").split()) >= 15, f"{skip['id']}: explain why"
