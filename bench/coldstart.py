"""Cold start as Lambda pays it: init = import + wiring + the first request's lazy loads, per entry point.

Each entry point (the API `app.py` and every handler of `resources.WORKERS`) runs in a fresh interpreter:
the timer starts before its import and stops when its handler has answered its first request -- a
real-shaped event from `events/`, made new for every request (`_prepare_event`: a webhook of its own booking
and member, an inbound reply from its own number, the confirmation of a booking made for it), so no request
is answered from what an earlier one stored -- against a moto server (`ThreadedMotoServer`, provisioned and
seeded like `make run`); nothing is imported before the timer but `json`. The same process then answers a
second, warm request of the same kind; init is the first answer less the warm one (the request's own work,
which every request does, is not the cold start). `_check_first_request` refuses a first request that did not
do its work. The clients the entry point holds afterwards (boto3's and PynamoDB's, found among the live
objects) are recorded, and the baseline of that entry point is a fresh interpreter that imports boto3 and
creates the same clients. Entries and their baselines are interleaved round by round; each figure is the
median of `rounds`.

The inbound worker's first request is the SMS record of `events/sqs_inbound.json` with a Chinese reply, so
its init includes rjieba's first segmentation. `first_zh_reply_ms` is measured on its own: in a fresh
interpreter with the classifier built and one English reply read, the first Chinese reply minus a second one.

The layer (`infra/package.py` `build_layer`, from the package registry) is built once into a temporary
directory and its files summed (as `tests/integration/test_package.py` does).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.stack import JWT_SECRET, REGION, ROOT, STAGE, WEBHOOK_SECRET
from chalicelib import init_phase, resources

ZH_REPLY = "能改到周五下午吗"  # the first Chinese reply of the inbound worker
ZH_SECOND = "甲片翘边了，怎么办"
WARM_ZH_REPLY = (
    "可以改到周六上午吗"  # the warm inbound request: the same kind of reply as ZH_REPLY, another member
)

# entry module -> (event file, handler attribute)
_EVENTS = {
    "app": ("apigw_booking_webhook.json", "app"),
    "functions.send_step": ("sqs_journey_steps.json", "handler"),
    "functions.handle_inbound": ("sqs_inbound.json", "handler"),
    "functions.care_tick": ("sqs_care_ticks.json", "handler"),
    "functions.send_care": ("sqs_care.json", "handler"),
    "functions.waitlist_offers": ("sqs_waitlist.json", "handler"),
    "functions.email_events": ("sqs_email_events.json", "handler"),  # issue 15
}

_CONTEXT = """
class Context:
    function_name = "chairside-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:chairside-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000001"
    log_group_name = "/aws/lambda/chairside-bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
"""

# Sums the time the child spends waiting on the AWS endpoint (botocore's Endpoint._send: request out, response
# in): patched as botocore.endpoint is first imported, so nothing of botocore is imported before the timer.
_WAIT_HOOK = """
import importlib.abc, importlib.machinery, sys, time
waited = [0.0]
class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "botocore.endpoint":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        exec_module = spec.loader.exec_module
        def patched(module):
            exec_module(module)
            send = module.Endpoint._send
            def timed(self, request):
                started = time.perf_counter()
                try:
                    return send(self, request)
                finally:
                    waited[0] += time.perf_counter() - started
            module.Endpoint._send = timed
        spec.loader.exec_module = patched
        return spec
sys.meta_path.insert(0, _Hook())
"""

_ENTRY = """import gc, json, sys
event = json.load(open({event!r}))
{context}
{wait_hook}
import time
t = time.perf_counter()
import {module} as entry
imported = time.perf_counter() - t
result = entry.{handler}(event, Context())
seconds = time.perf_counter() - t
# peak resident memory of this process (VmHWM: ru_maxrss would carry the forking parent's over)
rss_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
cold_waited = waited[0]
# the same kind of request again, warm: what every request pays, not the cold start
warm_event = json.load(open({warm_event!r}))
t = time.perf_counter()
entry.{handler}(warm_event, Context())
warm = time.perf_counter() - t
import botocore.client
gc.unfreeze()  # an entry point freezes its init objects (init_phase.resume); list them too
gc.collect()
clients = sorted(o.meta.service_model.service_name for o in gc.get_objects()
                 if isinstance(o, botocore.client.BaseClient))
status = result.get("statusCode") if isinstance(result, dict) else None
print(json.dumps({{"seconds": seconds, "imported": imported, "waited": cold_waited, "warm": warm, "warm_waited": waited[0] - cold_waited, "clients": clients, "status": status, "rss_mb": rss_mb,
                  "rjieba": "rjieba.rjieba" in sys.modules, "jinja2": "jinja2" in sys.modules, "failures": len((result or {{}}).get("batchItemFailures", []))}}))
"""

_BASELINE = """import json
import time
t = time.perf_counter()
import boto3
session = boto3.session.Session()
clients = [session.client(name) for name in {clients!r}]
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds}}))
"""

_ZH = """import json, time
from chalicelib.understanding import default_classifier
classifier = default_classifier()
classifier.classify("ok, see you then")
t = time.perf_counter(); classifier.classify({first!r}); first = time.perf_counter() - t
t = time.perf_counter(); classifier.classify({second!r}); second = time.perf_counter() - t
print(json.dumps({{"first": first, "second": second}}))
"""


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    handler: str
    event: Path
    memory_mb: int  # the function's configured memory


def entries() -> list[Entry]:
    """The API entry point and every worker in `resources.WORKERS`."""
    from bench.journeys import api_memory_mb

    memory = {"app": api_memory_mb()} | {
        f"functions.{worker.handler.rpartition('.')[0]}": worker.memory_mb for worker in resources.WORKERS
    }
    found = []
    for module, memory_mb in memory.items():
        event, handler = _EVENTS[module]
        name = "api (app.py)" if module == "app" else f"worker {module.replace('.', '/')}.py"
        found.append(Entry(name, module, handler, ROOT / "events" / event, memory_mb))
    return found


@dataclass(frozen=True)
class ColdStarts:
    baseline: dict[str, float]  # entry name -> median seconds of `import boto3` + the same clients
    # entry name -> median seconds of import + wiring + the first request's lazy loads: from before the import
    # until the first request was answered, less what the same kind of request took warm right after
    init: dict[str, float]
    clients: dict[str, tuple[str, ...]]  # entry name -> the clients it held after its first request
    first_zh_ms: float  # median added cost of the first Chinese reply in a fresh process
    layer_mb: float | None  # the built layer, MiB (None: not built)
    rounds: int
    # entry name -> median seconds of init spent waiting on the local AWS endpoint (moto answering its calls)
    waited: dict[str, float] = field(default_factory=dict)
    # entry name -> the most resident memory (MB) a fresh process of it held by the end of its first request
    peak_mb: dict[str, float] = field(default_factory=dict)
    memory_mb: dict[str, int] = field(default_factory=dict)  # entry name -> its function's configured memory
    first: dict[str, float] = field(default_factory=dict)  # entry name -> median seconds to the first answer
    warm: dict[str, float] = field(default_factory=dict)  # entry name -> median seconds of the warm request
    # entry name -> each round's init over that round's baseline (run just after it): how far one round's figure
    # strays on a shared machine (the target is on `ratio`, the medians' ratio)
    round_ratios: dict[str, list[float]] = field(default_factory=dict)

    def memory_share(self, name: str) -> float:
        return self.peak_mb[name] / self.memory_mb[name]

    @property
    def memory_share_max(self) -> float:
        return max((self.memory_share(name) for name in self.peak_mb), default=0.0)

    def ratio(self, name: str) -> float:
        return self.init[name] / self.baseline[name]

    @property
    def ratio_max(self) -> float:
        return max(self.ratio(name) for name in self.init)

    def own_ratio(self, name: str) -> float:
        """The ratio without the time spent waiting on the local AWS endpoint: the entry's own work."""
        return (self.init[name] - self.waited.get(name, 0.0)) / self.baseline[name]

    def ratio_spread(self, name: str) -> tuple[float, float, float]:
        """The lowest, median and highest of the rounds' own ratios."""
        ratios = sorted(self.round_ratios[name])
        return ratios[0], statistics.median(ratios), ratios[-1]

    def first_ratio(self, name: str) -> float:
        """Time to the first answer (init and the request's own work) over the baseline."""
        return self.first[name] / self.baseline[name]

    @property
    def first_ratio_max(self) -> float:
        return max((self.first_ratio(name) for name in self.first), default=0.0)

    @property
    def own_ratio_max(self) -> float:
        return max(self.own_ratio(name) for name in self.init)


def _prepare_event(entry: Entry, out: Path, slot: int, steps: list[str]) -> Path:
    """The sample event as request number `slot` of the entry: every request is new, so it does the whole work
    (a duplicate would be answered from what an earlier one stored, cheaper), in each round a first request and
    a warm one of the same kind (odd slots: `WARM_ZH_REPLY` for the inbound worker).

    The webhook, signed now, for a booking of its own member (`_upcoming`); the steps batch with the
    confirmation of a booking made for it (`steps[slot]`), so its texts render and its SMS is sent; the inbound
    batch with a Chinese reply from a number of its own; the other workers' sample batch with new message ids
    (a redelivery, cheaper than their first: their figures are if anything flattered, and below the target).
    """
    event = json.loads(entry.event.read_text())
    for record in event.get("Records", []):
        record["messageId"] = f"{record.get('messageId', 'message')}-{slot}"
    if entry.module == "app":
        from chalicelib.services.signatures import sign

        event["body"] = json.dumps(_upcoming(json.loads(event["body"]), slot), ensure_ascii=False)
        ts = str(int(time.time()))
        signature = sign(WEBHOOK_SECRET, ts, event["body"].encode())
        for headers, wrap in ((event["headers"], str), (event["multiValueHeaders"], lambda v: [v])):
            headers["x-chairside-timestamp"], headers["x-chairside-signature"] = wrap(ts), wrap(signature)
    if entry.module == "functions.send_step":
        event["Records"][0]["body"] = steps[slot]
    if entry.module == "functions.handle_inbound":
        record = event["Records"][0]
        envelope = json.loads(record["body"])
        message = json.loads(envelope["Message"])
        message["messageBody"] = WARM_ZH_REPLY if slot % 2 else ZH_REPLY
        message["inboundMessageId"] += f"-{slot}"
        message["originationNumber"] = f"+86137001370{slot:02d}"
        envelope["MessageId"] += f"-{slot}"
        envelope["Message"] = json.dumps(message, ensure_ascii=False)
        record["body"] = json.dumps(envelope, ensure_ascii=False)
    path = out / f"{entry.module}.{slot}.json"
    path.write_text(json.dumps(event, ensure_ascii=False))
    return path


def _upcoming(body: dict, slot: int, hour: int = 7, phones: str = "+86138001380") -> dict:
    """The sample webhook body for a booking of a member of its own, `slot` + 3 days from now at `hour` UTC (the
    sample's own date has passed; one stylist, so a day each), its ids suffixed with the slot."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    body = json.loads(json.dumps(body))
    body["event_id"] += f"-{hour}-{slot}"
    body["occurred_at"] = now.isoformat()
    booking = body["booking"]
    booking["id"] += f"-{hour}-{slot}"
    start = (now + timedelta(days=3 + slot)).replace(hour=hour, minute=0, second=0, microsecond=0)
    booking["start"] = start.isoformat()
    booking["member"]["id"] += f"-{hour}-{slot}"
    booking["member"]["phone"] = f"{phones}{slot:02d}"
    return body


def _confirmations(env: dict[str, str], count: int) -> list[str]:
    """`count` bookings made through the composition root as the webhook makes them (at 11:00 UTC, beside the
    webhook's at 07:00); their confirmation steps as the steps queue holds them (the steps worker's requests)."""
    import boto3

    from chalicelib import bootstrap
    from chalicelib.contracts.booking_event import parse_booking_event
    from devstack.seed import CHAIN_ID

    sample = json.loads((ROOT / "events" / _EVENTS["app"][0]).read_text())["body"]
    events = bootstrap.container().booking_events
    made = [_upcoming(json.loads(sample), slot, hour=11, phones="+86139001390") for slot in range(count)]
    for body in made:
        events.receive(CHAIN_ID, parse_booking_event(body))
    sqs = boto3.session.Session(region_name=REGION).client("sqs")
    url = env[resources.ENV_STEPS_QUEUE_URL]
    found: dict[str, str] = {}
    for _ in range(10 + count):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            step = json.loads(message["Body"])
            if step.get("kind") == "confirmation":
                found[step["booking_id"]] = message["Body"]
        if len(found) == count:
            break
    return [found[body["booking"]["id"]] for body in made]


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """A provisioned, seeded moto server; yields the environment a fresh Lambda process would have."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = dict(os.environ)
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": endpoint,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        resources.ENV_JWT_SECRET: JWT_SECRET,
        # Set by Lambda's runtime; an entry point pauses garbage collection for its init where it is set
        # (chalicelib/init_phase.py), as it does in Lambda.
        init_phase.LAMBDA_RUNTIME_API: "127.0.0.1:9001",
    }
    try:
        os.environ.update(env)
        os.environ.pop("CHAIRSIDE_LOCAL_DIR", None)
        from chalicelib import bootstrap
        from chalicelib import settings as settings_module
        from devstack.provision import provision
        from devstack.seed import seed

        session = boto3.session.Session(region_name=REGION)
        env.update(provision(session, STAGE))
        os.environ.update(env)
        session.client("ses").verify_email_identity(EmailAddress="care@chairside.example")
        container = bootstrap.build(settings_module.from_env(), session=session)
        bootstrap.use(container)
        _ = container.bookings  # binds the PynamoDB models
        from datetime import UTC, datetime

        seed(session, STAGE, JWT_SECRET, datetime.now(UTC), webhook_secret=WEBHOOK_SECRET)
        # moto answers from this process: a full collection of its heap (the provisioned and seeded stack) while a
        # child waits on it stalled that child's request by up to ~0.45 s (seen in warm requests, which made their
        # rounds' init look smaller). Lambda's AWS does not pause so; what is alive now is left out of collections.
        gc.freeze()
        yield env
    finally:
        from chalicelib import bootstrap

        gc.unfreeze()  # what moto held is garbage once the server stops
        bootstrap.use(None)
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def _check_first_request(entry: Entry, result: dict) -> None:
    """The first request did the work it stands for, or the figure would flatter the entry point: the webhook
    was accepted, the steps worker rendered its texts, the inbound worker segmented Chinese, no record failed."""
    wanted = {
        "app": result["status"] == 202,
        "functions.send_step": result["jinja2"],
        "functions.handle_inbound": result["rjieba"],
    }.get(entry.module, True)
    if not wanted or result["failures"]:
        raise RuntimeError(f"{entry.name}: its first request did not do its work: {result}")


def _run(code: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def layer_mb() -> float | None:
    """Build the layer once (pip from the package registry) and sum its files, MiB; None if it cannot."""
    from infra.package import build_layer

    with tempfile.TemporaryDirectory() as tmp:
        try:
            python_dir = build_layer(Path(tmp) / "layer", install_dependencies=True) / "python"
        except (subprocess.CalledProcessError, OSError) as error:
            print(f"layer not built: {error}", file=sys.stderr)
            return None
        size = sum(f.stat().st_size for f in python_dir.rglob("*") if f.is_file() and not f.is_symlink())
    return size / 2**20


def measure(rounds: int = 7, build_layer: bool = True) -> ColdStarts:
    targets = entries()
    init: dict[str, list[float]] = {e.name: [] for e in targets}
    first: dict[str, list[float]] = {e.name: [] for e in targets}
    warm: dict[str, list[float]] = {e.name: [] for e in targets}
    base: dict[str, list[float]] = {e.name: [] for e in targets}
    waited: dict[str, list[float]] = {e.name: [] for e in targets}
    peak: dict[str, list[float]] = {e.name: [] for e in targets}
    clients: dict[str, tuple[str, ...]] = {}
    zh: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, moto_server() as env:
        steps = _confirmations(env, 2 * rounds)
        for round_no in range(rounds):
            for entry in targets:
                code = _ENTRY.format(
                    event=str(_prepare_event(entry, Path(tmp), 2 * round_no, steps)),
                    warm_event=str(_prepare_event(entry, Path(tmp), 2 * round_no + 1, steps)),
                    context=_CONTEXT,
                    wait_hook=_WAIT_HOOK,
                    module=entry.module,
                    handler=entry.handler,
                )
                result = _run(code, env)
                _check_first_request(entry, result)
                init[entry.name].append(result["seconds"] - result["warm"])
                first[entry.name].append(result["seconds"])
                warm[entry.name].append(result["warm"])
                waited[entry.name].append(result["waited"] - result["warm_waited"])
                peak[entry.name].append(result["rss_mb"])
                clients.setdefault(entry.name, tuple(result["clients"]))
                if os.environ.get("BENCH_DEBUG"):
                    print(entry.name, result, file=sys.stderr)
                base[entry.name].append(
                    _run(_BASELINE.format(clients=list(clients[entry.name])), env)["seconds"]
                )
            result = _run(_ZH.format(first=ZH_REPLY, second=ZH_SECOND), env)
            zh.append(result["first"] - result["second"])
    return ColdStarts(
        {n: statistics.median(v) for n, v in base.items()},
        {n: statistics.median(v) for n, v in init.items()},
        clients,
        statistics.median(zh) * 1000,
        layer_mb() if build_layer else None,
        rounds,
        {n: statistics.median(v) for n, v in waited.items()},
        {n: max(v) for n, v in peak.items()},
        {e.name: e.memory_mb for e in targets},
        {n: statistics.median(v) for n, v in first.items()},
        {n: statistics.median(v) for n, v in warm.items()},
        {n: [i / b for i, b in zip(init[n], base[n], strict=True)] for n in init},
    )


if __name__ == "__main__":
    figures = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3, build_layer=False)
    for name in figures.init:
        print(
            f"{name}: init {figures.init[name] * 1000:.0f} ms, baseline {figures.baseline[name] * 1000:.0f} ms, "
            f"{figures.ratio(name):.2f}x (waiting on moto {figures.waited[name] * 1000:.0f} ms: "
            f"{figures.own_ratio(name):.2f}x without), clients {figures.clients[name]}, "
            f"peak {figures.peak_mb[name]:.0f} of {figures.memory_mb[name]} MB"
        )
    print(f"first_zh_reply_ms={figures.first_zh_ms:.0f}")
