"""Cold-import time of each Lambda entry point, as a ratio to a bare `import boto3` in the same run.

Each figure is the median of `rounds` fresh interpreters; the entries are interleaved round by round so
a busy moment of the machine hits them all alike. Two figures per entry:

- `import`: the entry module alone (what the Lambda runtime does at init);
- `wired`: the import plus building the entry's services from the composition root -- boto3, its
  clients and the domain modules a first request needs -- without any AWS call. That is the whole
  init a cold start pays before its first request, so it is shown beside the import.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass

from bench.stack import ROOT
from chalicelib import resources

BASELINE = "boto3"

# The service each entry point asks the container for on its first request.
_API_SERVICE = "booking_events"
_WORKER_SERVICES = {
    "send_step": "step_worker",
    "handle_inbound": "inbound_worker",
    "care_tick": "care_tick_worker",
    "send_care": "care_worker",
}

_TIMER = "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"
_FAKE_ENV = {
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "CHAIRSIDE_STEPS_QUEUE_URL": "https://sqs/q",
    "CHAIRSIDE_STEPS_QUEUE_ARN": "arn:aws:sqs:r:1:q",
    "CHAIRSIDE_STEPS_DLQ_URL": "https://sqs/d",
    "CHAIRSIDE_INBOUND_QUEUE_URL": "https://sqs/i",
    "CHAIRSIDE_SCHEDULER_ROLE_ARN": "arn:aws:iam::1:role/r",
    "CHAIRSIDE_SCHEDULER_DLQ_ARN": "arn:aws:sqs:r:1:s",
    "CHAIRSIDE_JWT_SECRET": "x" * 32,
    "PATH": "/usr/bin:/bin",
}


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    service: str | None  # the container attribute its first request needs
    worker: bool

    def code(self, wired: bool) -> str:
        body = f"import {self.module}"
        if wired and self.service:
            body += f"; from chalicelib.bootstrap import container; container().{self.service}"
        return _TIMER.format(body=body)


def entries() -> list[Entry]:
    """The API entry point and every worker in `resources.WORKERS`."""
    found = [Entry("api (app.py)", "app", _API_SERVICE, False)]
    for worker in resources.WORKERS:
        module = worker.handler.rpartition(".")[0]
        found.append(
            Entry(f"worker functions/{module}.py", f"functions.{module}", _WORKER_SERVICES.get(module), True)
        )
    return found


def _once(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_FAKE_ENV,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(out.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class ImportTimes:
    baseline: float  # median seconds of `import boto3`
    imports: dict[str, float]  # entry name -> median seconds of its import
    wired: dict[str, float]  # entry name -> median seconds of import + wiring
    rounds: int
    workers: tuple[str, ...]

    def ratio(self, name: str, wired: bool = False) -> float:
        return (self.wired if wired else self.imports)[name] / self.baseline


def measure(rounds: int = 7) -> ImportTimes:
    targets = entries()
    samples: dict[str, list[float]] = {"baseline": []}
    for _ in range(rounds):
        samples["baseline"].append(_once(_TIMER.format(body=f"import {BASELINE}")))
        for entry in targets:
            samples.setdefault(entry.name, []).append(_once(entry.code(wired=False)))
            samples.setdefault("wired " + entry.name, []).append(_once(entry.code(wired=True)))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return ImportTimes(
        median["baseline"],
        {e.name: median[e.name] for e in targets},
        {e.name: median["wired " + e.name] for e in targets},
        rounds,
        tuple(e.name for e in targets if e.worker),
    )
