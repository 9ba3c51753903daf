"""`python -m devstack run`: start the local stack, print where things are, stop cleanly on Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from devstack.stack import ROOT, LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start moto, the API, the schedulers and workers, and demo data")
    run.add_argument("--state-dir", type=Path, default=ROOT / ".chairside")
    run.add_argument("--api-port", type=int, default=8000, help="taken? any free port is used instead")
    run.add_argument("--moto-port", type=int, default=0)
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    stack = LocalStack(state_dir=args.state_dir, api_port=args.api_port, moto_port=args.moto_port)
    try:
        info = stack.start()
        print(_banner(info, args.state_dir), flush=True)
        stop.wait()
        print("\nstopping the local stack ...", flush=True)
    except Exception as exc:  # noqa: BLE001 - report, clean up, exit non-zero
        print(f"the local stack failed to start: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
    return 0


def _banner(info: dict, state_dir: Path) -> str:
    stores = "\n".join(f"    {s['id']:<12} {s['name']}  ({s['timezone']})" for s in info["stores"])
    return f"""
Chairside is running locally.
  API                 {info["api_url"]}          (health: {info["api_url"]}/v1/health)
  local AWS (moto)    {info["aws_endpoint_url"]}   (sent SMS/email: {info["aws_endpoint_url"]}/moto-api/data.json)
  move the clock      curl -X POST {info["api_url"]}/v1/_local/clock -d '{{"advance_seconds": 86400}}'
  chain               {info["chain_id"]}
  stores
{stores}
  settings, secrets and tokens: {state_dir / "local.json"}
  API log: {state_dir / "api.log"}
Press Ctrl-C to stop.
"""


if __name__ == "__main__":
    sys.exit(main())
