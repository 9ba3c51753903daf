"""Campaigns from the command line, over the HTTP API, with progress bars.

    python -m ops.campaigns preview --segment '{"tags_any": ["french_manicure_fan"]}' --template-zh '...'
    python -m ops.campaigns send    --id spring-2026 --segment ... --template-zh ... [--template-en ...]
                                    [--send-at 2026-12-01T10:00:00+08:00] [--coupon-offer 8折 --coupon-days 14]
    python -m ops.campaigns status  --id spring-2026 [--wait]
    python -m ops.campaigns resend  --id spring-2026          (re-send the failed, then follow progress)
    python -m ops.campaigns export  --id spring-2026 --out results.csv [--status failed]

The API, the chain and a staff token come from `.chairside/local.json` (written by `make run`), or from
`--api`, `--chain` and `--token` (or CHAIRSIDE_API / CHAIRSIDE_TOKEN). Exit status 1 on an API error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)
FIELDS = ["member_id", "status", "reason", "channel", "store_id", "coupon_code", "updated_at"]


class ApiError(Exception):
    pass


class Api:
    def __init__(self, base: str, token: str, chain: str) -> None:
        self.base, self.token, self.chain = base.rstrip("/"), token, chain

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the operator's own API
            f"{self.base}/v1/chains/{self.chain}/campaigns{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the operator's own API
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(
                f"{method} {path or '/'}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from None
        except urllib.error.URLError as exc:
            raise ApiError(f"cannot reach {self.base}: {exc.reason}") from None


def connect(args: argparse.Namespace) -> Api:
    local: dict[str, Any] = {}
    path = Path(args.local_json)
    if path.exists():
        local = json.loads(path.read_text())
    api = args.api or os.environ.get("CHAIRSIDE_API") or local.get("api_url")
    token = args.token or os.environ.get("CHAIRSIDE_TOKEN") or local.get("staff_token")
    chain = args.chain or local.get("chain_id")
    if not (api and token and chain):
        raise ApiError(
            f"no API, token or chain: run `make run` (writes {path}) or pass --api, --token and --chain"
        )
    if not api.startswith(("http://", "https://")):
        raise ApiError(f"--api must be an http(s) URL, not {api!r}")
    return Api(api, token, chain)


def draft(args: argparse.Namespace) -> dict[str, Any]:
    template = {k: v for k, v in (("zh-CN", args.template_zh), ("en", args.template_en)) if v}
    body: dict[str, Any] = {"segment": json.loads(args.segment), "template": template}
    if args.coupon_offer or args.coupon_days:
        body["coupon"] = {"offer": args.coupon_offer or "", "valid_days": args.coupon_days or 30}
    return body


def preview(api: Api, args: argparse.Namespace) -> None:
    answer = api.call("POST", "/preview", draft(args))
    console.print(
        f"[bold]{answer['targeted']}[/] would be reached now"
        + (" (counted the first 20,000 only)" if answer.get("truncated") else "")
    )
    for reason, count in sorted(answer["skipped"].items()):
        console.print(f"  skipped {reason}: {count}")
    for sample in answer["samples"]:
        console.print(f"  [dim]{sample['member_id']}[/] {sample['text']}")


def send(api: Api, args: argparse.Namespace) -> None:
    body = {**draft(args), "campaign_id": args.id, "name": args.name or args.id}
    if args.send_at:
        body["send_at"] = args.send_at
    campaign = api.call("POST", "", body)
    console.print(
        f"campaign [bold]{campaign['campaign_id']}[/] {campaign['status']}, sends at {campaign['send_at']}"
    )
    if not args.no_wait:
        follow(api, args.id, args.timeout)


def follow(api: Api, campaign_id: str, timeout: float) -> dict[str, Any]:
    """A bar of members decided (sent, failed or skipped) out of those targeted, until the campaign is done."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("fanning out", total=None)
        while True:
            campaign = api.call("GET", f"/{urllib.parse.quote(campaign_id)}")
            decided = campaign["sent"] + campaign["failed"] + sum(campaign["skipped"].values())
            label = "sending" if campaign["fanned_out"] else f"fanning out (page {campaign['pages']})"
            progress.update(task, total=campaign["targeted"] or None, completed=decided, description=label)
            if campaign["status"] == "done" or time.monotonic() > deadline:
                break
            time.sleep(1)
    summary(campaign)
    return campaign


def summary(campaign: dict[str, Any]) -> None:
    console.print(
        f"[bold]{campaign['campaign_id']}[/] {campaign['status']}: targeted {campaign['targeted']}, "
        f"sent {campaign['sent']}, failed {campaign['failed']}, pending {campaign.get('pending', 0)}, "
        f"replies {campaign['replies']}, bookings within 14 days {campaign['bookings_within_14_days']}"
    )
    for reason, count in sorted(campaign["skipped"].items()):
        console.print(f"  skipped {reason}: {count}")


def status(api: Api, args: argparse.Namespace) -> None:
    if args.wait:
        follow(api, args.id, args.timeout)
    else:
        summary(api.call("GET", f"/{urllib.parse.quote(args.id)}"))


def resend(api: Api, args: argparse.Namespace) -> None:
    total = 0
    while True:
        answer = api.call("POST", f"/{urllib.parse.quote(args.id)}/resend", {})
        total += answer["requeued"]
        if not answer["more"] or not answer["requeued"]:
            break
    console.print(f"re-queued {total} failed send(s)")
    if total and not args.no_wait:
        follow(api, args.id, args.timeout)


def export(api: Api, args: argparse.Namespace) -> None:
    campaign = api.call("GET", f"/{urllib.parse.quote(args.id)}")
    query = {"limit": "500", **({"status": args.status} if args.status else {})}
    rows = 0
    with (
        open(args.out, "w", newline="", encoding="utf-8") as handle,
        Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), console=console) as progress,
    ):
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        task = progress.add_task("export", total=None if args.status else campaign["targeted"])
        while True:
            page = api.call("GET", f"/{urllib.parse.quote(args.id)}/results?{urllib.parse.urlencode(query)}")
            for item in page["items"]:
                writer.writerow({k: item.get(k) for k in FIELDS})
            rows += len(page["items"])
            progress.update(task, completed=rows)
            if not page["next_cursor"]:
                break
            query["cursor"] = page["next_cursor"]
    console.print(f"wrote {rows} row(s) to {args.out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.campaigns", description="Chairside campaigns over HTTP."
    )
    parser.add_argument("--api", help="API base URL (default: api_url of --local-json)")
    parser.add_argument("--token", help="staff bearer token (default: staff_token of --local-json)")
    parser.add_argument("--chain", help="chain id (default: chain_id of --local-json)")
    parser.add_argument("--local-json", default=".chairside/local.json")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_draft(p: argparse.ArgumentParser) -> None:
        p.add_argument("--segment", default="{}", help='segment JSON, e.g. \'{"tags_any": ["vip"]}\'')
        p.add_argument("--template-zh", help="zh-CN template (sandboxed Jinja2)")
        p.add_argument("--template-en", help="en template")
        p.add_argument("--coupon-offer")
        p.add_argument("--coupon-days", type=int)

    def following(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-wait", action="store_true", help="do not follow progress")
        p.add_argument("--timeout", type=float, default=3600, help="seconds to follow progress")

    with_draft(commands.add_parser("preview", help="who would be reached, who not and why, sample texts"))
    p = commands.add_parser("send", help="schedule a campaign and follow it")
    with_draft(p)
    following(p)
    p.add_argument("--id", required=True, help="campaign id (a retry with the same id and body is harmless)")
    p.add_argument("--name")
    p.add_argument("--send-at", help="ISO time with offset; default now")
    p = commands.add_parser("status", help="a campaign's progress and results")
    p.add_argument("--id", required=True)
    p.add_argument("--wait", action="store_true")
    p.add_argument("--timeout", type=float, default=3600)
    p = commands.add_parser("resend", help="re-send the failed, then follow progress")
    p.add_argument("--id", required=True)
    following(p)
    p = commands.add_parser("export", help="each member's outcome to CSV")
    p.add_argument("--id", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--status", choices=["sent", "failed", "skipped", "sending"])
    args = parser.parse_args(argv)
    try:
        api = connect(args)
        {"preview": preview, "send": send, "status": status, "resend": resend, "export": export}[
            args.command
        ](api, args)
    except (ApiError, json.JSONDecodeError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
