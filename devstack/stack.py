"""The whole system on one machine: moto's server as the local AWS, `chalice local` as the API, and the
event plumbing (schedules fired, queues polled into the `functions/` handlers) in this process.

`make run` and the end-to-end tests start it the same way: `python -m devstack run`.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import resources

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGE = "local"
REGION = "ap-southeast-1"
EMAIL_SENDER = "care@chairside.example"


def free_port(preferred: int = 0) -> int:
    """`preferred` when it is free, else any free port."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def _die_with_parent() -> None:
    """Child processes get SIGTERM if the stack process dies, so nothing is left orphaned."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def _copy_masked(stream: Any, path: Path) -> None:
    """Each line of `stream` to `path`, masked (chalicelib.pii.mask_text), until the stream ends."""
    from chalicelib.pii import mask_text

    with open(path, "ab") as log, stream:
        for raw in iter(stream.readline, b""):
            log.write(mask_text(raw.decode("utf-8", "replace")).encode("utf-8"))
            log.flush()


@dataclass
class LocalStack:
    state_dir: Path = ROOT / ".chairside"
    api_port: int = 8000
    moto_port: int = 0
    log: Any = sys.stdout
    processes: list[subprocess.Popen] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    info: dict[str, Any] = field(default_factory=dict)
    fakes: dict[str, Any] = field(default_factory=dict)
    log_copiers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> dict[str, Any]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("local.json", "clock.json", "faults.json", "plumbing.json"):
            (self.state_dir / stale).unlink(missing_ok=True)
        endpoint = self._start_moto()
        env = self._aws_env(endpoint)
        setup = self._start_fakes()
        env["CHAIRSIDE_WECHAT_API_BASE"] = self.fakes["wechat"].base_url
        # The hosted second opinion (issue 16): boto3's bedrock-runtime client talks to the Converse fake. No demo
        # chain turns it on (ChainItem.second_opinion; README "A second opinion for unsure replies").
        env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = self.fakes["bedrock"].base_url
        # Members' links and the WeChat sign-in (issue 14): the API's own URL is the public base URL, and
        # WeChat's authorize page is the fake's.
        self.api_port = free_port(self.api_port)
        env[resources.ENV_PUBLIC_BASE_URL] = f"http://127.0.0.1:{self.api_port}"
        env["CHAIRSIDE_WECHAT_OAUTH_BASE"] = self.fakes["wechat"].base_url
        os.environ.update(env)  # the plumbing runs the workers in this very process

        import boto3

        from devstack.provision import provision

        session = boto3.session.Session(region_name=REGION)
        env.update(provision(session, STAGE, endpoint_url=endpoint))
        os.environ.update(env)
        session.client("ses", endpoint_url=endpoint).verify_email_identity(EmailAddress=EMAIL_SENDER)

        from chalicelib.bootstrap import build

        container = build()
        _ = container.bookings  # binds the models to the local table
        from devstack.seed import seed

        demo = seed(
            session,
            STAGE,
            self._jwt_secret(),
            container.wall_clock.now(),
            webhook_secret=self._webhook_secret,
            channels=setup,
        )

        api_url = self._start_api(env)
        from devstack.seed import with_public_urls

        demo = with_public_urls(demo, api_url)  # each store's booking page, on the API just started
        # The member's app acknowledging messages (issue 15): the fake posts its ack callbacks to the chain's
        # Agora callback route, signed with the rule's secret the seed made.
        self.fakes["agora"].send_callbacks_to(
            api_url + demo["agora"]["callback_url_path"], demo["agora"]["callback_secret"]
        )
        # The fake's SmsReport push (POST <fake>/_fake/push-reports) goes to the chain's receipt route.
        self.fakes["alibaba_sms"].report_url = api_url + demo["alibaba_sms"]["receipt_url_path"]
        self.fakes["alibaba_sms"].reply_url = api_url + demo["alibaba_sms"]["reply_url_path"]
        # Its operator lives on the stack's clock, as our sends do: QuerySendDetails' SendDate (the day of the send,
        # Beijing) then matches what a receipt check asks for after the clock was moved.
        self.fakes["alibaba_sms"].clock = lambda: container.clock.now().timestamp()
        self._wire_wechat(api_url, demo)
        self._start_plumbing(session, endpoint, container.clock)
        self.info = {
            "api_url": api_url,
            "aws_endpoint_url": endpoint,
            "region": REGION,
            "stage": STAGE,
            "state_dir": str(self.state_dir),
            **demo,
            "fakes": {
                "wechat_api": self.fakes["wechat"].base_url,
                "agora_chat": self.fakes["agora"].base_url,
                "booking_system": self.fakes["booking"].url,
                "bedrock_runtime": self.fakes["bedrock"].base_url,
                "alibaba_sms": self.fakes["alibaba_sms"].base_url,
            },
        }
        self._write_json("local.json", self.info)
        return self.info

    def stop(self) -> None:
        self.stop_event.set()
        for fake in self.fakes.values():
            fake.__exit__(None, None, None)
        self.fakes.clear()
        for proc in reversed(self.processes):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(5)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.processes.clear()
        for copier in self.log_copiers:  # the API's last lines, up to its exit
            copier.join(timeout=5)
        self.log_copiers.clear()

    # ---------------------------------------------------------------------------------------------
    def _start_fakes(self) -> Any:
        """WeChat's API, Agora Chat's REST API and the chain's booking system, on loopback."""
        from devstack.fakes.agora_chat import FakeAgoraChat
        from devstack.fakes.bedrock_runtime import FakeBedrockRuntime
        from devstack.fakes.booking_system import FakeBookingSystem
        from devstack.fakes.wechat_api import FakeWeChatAPI
        from devstack.seed import ChannelSetup

        base = ChannelSetup()
        self._webhook_secret = secrets.token_urlsafe(32)
        self.fakes = {
            "wechat": FakeWeChatAPI(app_id=base.wechat_app_id, app_secret=base.wechat_app_secret).__enter__(),
            "agora": FakeAgoraChat(
                base.agora_app_id,
                base.agora_app_certificate,
                org_name=base.agora_org,
                app_name=base.agora_app,
            ).__enter__(),
            "booking": FakeBookingSystem(self._webhook_secret).__enter__(),
            "bedrock": FakeBedrockRuntime().__enter__(),  # Bedrock Runtime's Converse (issue 16)
        }
        # Mainland SMS (issue 15): the chain's Alibaba Cloud SMS account.
        from devstack.fakes.alibaba_sms import FakeAlibabaSms
        from devstack.seed import DEMO_SIGN_NAME, demo_alibaba_templates

        self.fakes["alibaba_sms"] = FakeAlibabaSms(
            {base.alibaba_access_key_id: base.alibaba_access_key_secret},
            sign_names={DEMO_SIGN_NAME},
            templates=demo_alibaba_templates(),
        ).__enter__()
        return ChannelSetup(
            agora_base_url=self.fakes["agora"].base_url,
            booking_system_url=self.fakes["booking"].url + "/chairside/changes",
            alibaba_sms_base_url=self.fakes["alibaba_sms"].base_url,
            # +86 by Alibaba for the demo chain (issue 15): opt-in until delivery sends templated messages.
            mainland_sms=os.environ.get("CHAIRSIDE_DEMO_MAINLAND_SMS") == "1",
        )

    def _wire_wechat(self, api_url: str, demo: dict[str, Any]) -> None:
        """The fake WeChat holds the demo account's templates and pushes TEMPLATESENDJOBFINISH to the account's
        server URL (the first store's callback: one Official Account has one server configuration)."""
        from devstack.seed import demo_wechat_registrations

        fake = self.fakes["wechat"]
        for template_id, keywords in demo_wechat_registrations().items():
            fake.register_template(template_id, keywords)
        store = demo["stores"][0]
        fake.push_to(
            f"{api_url}/v1/channels/wechat/{store['id']}",
            store["wechat_token"],
            store["wechat_encoding_aes_key"],
        )

    def _start_moto(self) -> str:
        port = free_port(self.moto_port)
        # moto's own server, made to answer one request at a time (see devstack/moto_server.py).
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self.processes.append(proc)
        endpoint = f"http://127.0.0.1:{port}"
        _wait_http(endpoint + "/moto-api/", 30, proc)
        return endpoint

    def _jwt_secret(self) -> str:
        """The stage's HS256 secret, kept across restarts so staff tokens stay valid; seed() stores it in the
        local Secrets Manager, where the API reads it as on AWS (CHAIRSIDE_JWT_SECRET_NAME)."""
        jwt_file = self.state_dir / "jwt-secret"
        if not jwt_file.exists():
            jwt_file.write_text(secrets.token_urlsafe(32))
        return jwt_file.read_text().strip()

    def _aws_env(self, endpoint: str) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "CHAIRSIDE_STAGE": STAGE,
            "CHAIRSIDE_LOCAL_DIR": str(self.state_dir),
            resources.ENV_JWT_SECRET_NAME: resources.jwt_secret_name(STAGE),
            "CHAIRSIDE_EMAIL_SENDER": EMAIL_SENDER,
            # Locally a retry comes after seconds, not minutes, so people and tests see it happen.
            "CHAIRSIDE_RETRY_BASE_SECONDS": os.environ.get("CHAIRSIDE_RETRY_BASE_SECONDS", "1"),
            "CHAIRSIDE_RETRY_MAX_SECONDS": os.environ.get("CHAIRSIDE_RETRY_MAX_SECONDS", "8"),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
        }

    def _start_api(self, env: dict[str, str]) -> str:
        """`chalice local`, its output (the request log among it) copied to api.log through the log masking:
        a request line's signed query parameters (`signature`, `msg_signature`, `timestamp`, `nonce`) are
        redacted and phone numbers and emails masked, like every line the functions log."""
        port = free_port(self.api_port)
        proc = subprocess.Popen(
            [
                str(BIN / "chalice"),
                "local",
                "--no-autoreload",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--stage",
                STAGE,
            ],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.processes.append(proc)
        copier = threading.Thread(
            target=_copy_masked, args=(proc.stdout, self.state_dir / "api.log"), name="api-log", daemon=True
        )
        copier.start()
        self.log_copiers.append(copier)
        url = f"http://127.0.0.1:{port}"
        _wait_http(url + "/v1/health", 60, proc)
        return url

    def _start_plumbing(self, session: Any, endpoint: str, clock: Any) -> None:
        from chalicelib.channels.faults import FaultFile
        from devstack.event_sources import build_pollers
        from devstack.plumbing import Plumbing
        from devstack.scheduler import build_firers

        firers = build_firers(session, STAGE, endpoint, REGION, clock, relist_seconds=60)
        pollers = build_pollers(session, STAGE, endpoint, REGION, FaultFile(self.state_dir / "faults.json"))
        # plumbing.json: the domain time of the last tick that found nothing to do (soaks wait on it).
        plumbing = Plumbing(
            firers,
            pollers,
            clock=clock,
            idle=lambda at: self._write_json("plumbing.json", {"idle_at": at.isoformat()}),
        )
        threading.Thread(
            target=plumbing.run_forever, args=(self.stop_event,), name="plumbing", daemon=True
        ).start()

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        path = self.state_dir / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2))
        os.replace(tmp, path)
