"""Load a chain's stores, services and stylists from one CSV file, over the HTTP API (docs/CATALOGUE.md).

    python -m ops.catalog import ops/samples/catalog.csv [--chain demo-chain] [--api URL] [--token TOKEN]
    python -m ops.catalog check  ops/samples/catalog.csv          (validate only: nothing is sent)

One row per store, service or stylist (`kind`); the columns are listed in KINDS below and in the sample
`ops/samples/catalog.csv`. Every row is validated with the API's own contracts (chalicelib/contracts/catalog.py),
then the good rows are PUT -- stores first, then services, then stylists, whatever their order in the file -- so a
stylist's services exist when she is loaded. A row the contracts or the API refuse is reported on stderr with its
line number and reason, and the others are loaded. A PUT sets the whole resource and the same PUT twice changes
nothing, so running a file twice gives the same catalogue (the second run answers 200 to every row and
bumps no `catalog_version`).

The API, the chain and a staff token come from `.chairside/local.json` (written by `make run`), or from `--api`,
`--chain` and `--token` (or CHAIRSIDE_API / CHAIRSIDE_TOKEN), as `ops.campaigns` does. A chain admin's token adds
stores; a store manager's may load its own store's services and stylists. Exit status: 0 when every row loaded,
1 when any row was rejected, 2 when the API could not be reached (or the file not read).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from pydantic import BaseModel

from chalicelib.catalog.store_catalog import WEEKDAYS
from chalicelib.contracts.catalog import ServiceBody, StoreBody, StylistBody
from chalicelib.contracts.validation import parse
from chalicelib.errors import ValidationFailed

# The columns each kind reads (every other column must be empty or absent for it).
KINDS: dict[str, tuple[str, ...]] = {
    "store": (
        "name",
        "timezone",
        "locale",
        "address",
        "phone",
        "booking_mode",
        "hours",
        "dates",
        "lead_minutes",
        "cancel_until_minutes",
    ),
    "service": ("name", "name_en", "category", "minutes", "buffer_minutes", "price", "currency", "active"),
    "stylist": ("name", "services", "hours", "dates", "active"),
}
COLUMNS = ("kind", "store", "id", *dict.fromkeys(c for cols in KINDS.values() for c in cols))
ORDER = {"store": 0, "service": 1, "stylist": 2}
_SPLIT = re.compile(r"[;\s]+")

Send = Callable[[str, str, dict[str, Any]], tuple[int, Any]]  # (method, path, body) -> (status, answer)


class ApiError(Exception):
    pass


@dataclass
class Row:
    line: int
    kind: str
    store: str
    id: str
    body: dict[str, Any]

    @property
    def path(self) -> str:
        store = quote(self.store, safe="")
        if self.kind == "service":
            return f"/v1/stores/{store}/services/{quote(self.id, safe='')}"
        return f"/v1/stores/{store}/stylists/{quote(self.id, safe='')}"


@dataclass
class Report:
    rejected: list[tuple[int, str]] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)


# --- reading the file ------------------------------------------------------------------------------------------


def hours(text: str, column: str = "hours") -> dict[str, list[list[str]]]:
    """`mon-fri 10:00-21:00; sat,sun 10:00-14:00,15:00-20:00` -> {"mon": [["10:00", "21:00"]], ...}."""
    week: dict[str, list[list[str]]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, _, spans = part.partition(" ")
        if not spans.strip():
            raise ValidationFailed(
                "bad hours", {column: f"{part!r}: write days then times, e.g. mon-fri 10:00-21:00"}
            )
        for day in _days(days, column):
            for span in filter(None, (s.strip() for s in spans.split(","))):
                start, dash, end = span.partition("-")
                if not dash:
                    raise ValidationFailed(
                        "bad hours", {column: f"{span!r}: write a time range as 10:00-21:00"}
                    )
                week.setdefault(day, []).append([start.strip(), end.strip()])
    return week


def _days(text: str, column: str) -> list[str]:
    out: list[str] = []
    for piece in filter(None, text.lower().split(",")):
        first, dash, last = piece.partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise ValidationFailed(
                "bad hours", {column: f"{piece!r}: days are mon..sun, e.g. mon-fri or sat,sun"}
            )
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last if dash else first)
        if b < a:
            raise ValidationFailed("bad hours", {column: f"{piece!r}: a day range runs forward (mon-fri)"})
        out.extend(WEEKDAYS[a : b + 1])
    return out


def _list(text: str) -> list[str]:
    return [item for item in _SPLIT.split(text.strip()) if item]


def _bool(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in ("", "true", "yes", "1", "y"):
        return True
    if value in ("false", "no", "0", "n"):
        return False
    raise ValidationFailed("bad flag", {column: "must be true or false"})


def _int(text: str, column: str) -> int | str:
    return int(text) if text.strip().lstrip("-").isdigit() else text  # else the contract names the column


def body_of(kind: str, cells: dict[str, str]) -> dict[str, Any]:
    """The API body of a row (before validation): only the columns given, so the contracts' defaults apply."""
    given = {k: v.strip() for k, v in cells.items() if k in KINDS[kind] and v is not None and v.strip()}
    body: dict[str, Any] = {}
    if kind == "store":
        body |= {
            k: given[k]
            for k in ("name", "timezone", "locale", "address", "phone", "booking_mode")
            if k in given
        }
        body["name"] = given.get("name", "")
        body["timezone"] = given.get("timezone", "")
        if "hours" in given:
            body["opening_hours"] = hours(given["hours"])
        if "dates" in given:
            body["closed_dates"] = _list(given["dates"])
        for key in ("lead_minutes", "cancel_until_minutes"):
            if key in given:
                body[key] = _int(given[key], key)
    elif kind == "service":
        body["name"] = {"zh-CN": given.get("name", ""), "en": given.get("name_en", "")}
        body["category"] = given.get("category", "")
        body["minutes"] = _int(given.get("minutes", ""), "minutes")
        if "buffer_minutes" in given:
            body["buffer_minutes"] = _int(given["buffer_minutes"], "buffer_minutes")
        if "price" in given or "currency" in given:
            body["price"] = {"amount": given.get("price", ""), "currency": given.get("currency", "")}
        body["active"] = _bool(given.get("active", ""), "active")
    else:
        body["name"] = given.get("name", "")
        body["services"] = _list(given.get("services", ""))
        if "hours" in given:
            body["working_hours"] = hours(given["hours"])
        if "dates" in given:
            body["days_off"] = _list(given["dates"])
        body["active"] = _bool(given.get("active", ""), "active")
    return body


CONTRACTS: dict[str, type[BaseModel]] = {"store": StoreBody, "service": ServiceBody, "stylist": StylistBody}
# Body fields named back as the file's columns, so a reason points at the cell to fix.
COLUMN_OF = {
    "opening_hours": "hours",
    "working_hours": "hours",
    "closed_dates": "dates",
    "days_off": "dates",
    "name.zh-CN": "name",
    "name.en": "name_en",
    "price.amount": "price",
    "price.currency": "currency",
}


def _reason(fields: dict[str, str], message: str) -> str:
    if not fields:
        return message
    parts = []
    for path, text in fields.items():
        column = next((c for f, c in COLUMN_OF.items() if path == f or path.startswith(f + ".")), path)
        parts.append(f"{column}{'' if column == path else f' ({path})'}: {text}")
    return "; ".join(parts)


def read_rows(stream: TextIO, report: Report) -> list[Row]:
    """Every row validated; the rejected ones go to `report` with their line numbers."""
    reader = csv.DictReader(stream)
    missing = {"kind", "store"} - set(reader.fieldnames or ())
    if missing:
        raise ApiError(f"the file has no {', '.join(sorted(missing))} column (columns: {', '.join(COLUMNS)})")
    unknown = [c for c in reader.fieldnames or () if c and c not in COLUMNS]
    if unknown:
        raise ApiError(f"unknown column(s) {', '.join(unknown)} (columns: {', '.join(COLUMNS)})")
    rows: list[Row] = []
    for cells in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in cells.values()):
            continue  # a blank line
        if None in cells:  # more cells than the header has columns
            report.rejected.append((line, "more cells than the header has columns"))
            continue
        kind = (cells.get("kind") or "").strip().lower()
        store = (cells.get("store") or "").strip()
        ident = (cells.get("id") or "").strip()
        try:
            if kind not in KINDS:
                raise ValidationFailed("bad kind", {"kind": "must be store, service or stylist"})
            if not store:
                raise ValidationFailed("no store", {"store": "the store id is required"})
            if kind != "store" and not ident:
                raise ValidationFailed(
                    "no id", {"id": f"the {kind}'s {'code' if kind == 'service' else 'id'} is required"}
                )
            stray = [
                c
                for c, v in cells.items()
                if c not in ("kind", "store", "id", *KINDS[kind]) and (v or "").strip()
            ]
            if stray:
                raise ValidationFailed(
                    "stray cells", {c: f"not a {kind} column: leave it empty" for c in stray}
                )
            body = body_of(kind, cells)
            parse(CONTRACTS[kind], body, "invalid row")
        except ValidationFailed as exc:
            report.rejected.append((line, _reason(exc.fields, exc.message)))
            continue
        rows.append(Row(line, kind, store, ident, body))
    return sorted(rows, key=lambda r: (ORDER[r.kind], r.line))


# --- loading ---------------------------------------------------------------------------------------------------


class Progress:
    """A one-line bar on stderr: redrawn in place on a terminal, a line per tenth of the work otherwise."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()
        self._last_tenth = -1

    def step(self, label: str) -> None:
        self.done += 1
        filled = self.WIDTH * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r\033[K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            tenth = 10 * self.done // max(self.total, 1)
            if tenth != self._last_tenth or self.done == self.total:
                self._last_tenth = tenth
                self.stream.write(line + "\n")
        self.stream.flush()


def load(rows: Iterable[Row], chain: str, send: Send, report: Report, progress: Progress) -> None:
    for row in rows:
        path = (
            f"/v1/chains/{quote(chain, safe='')}/stores/{quote(row.store, safe='')}"
            if row.kind == "store"
            else row.path
        )
        status, answer = send("PUT", path, row.body)
        if status in (200, 201):
            report.outcomes["created" if status == 201 else "set (updated or unchanged)"] += 1
        elif 400 <= status < 500:
            fields = answer.get("fields") if isinstance(answer, dict) else None
            message = answer.get("message", str(answer)) if isinstance(answer, dict) else str(answer)
            report.rejected.append((row.line, f"HTTP {status}: {_reason(fields or {}, message)}"))
        else:
            raise ApiError(f"line {row.line}: HTTP {status} {answer}")
        progress.step(f"{row.kind} {row.store}{'/' + row.id if row.id else ''}")


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base.rstrip("/"), token

    def send(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - the operator's own API
            self.base + path,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the operator's own API
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw or b"null")
            except ValueError:
                return exc.code, raw.decode(errors="replace")
        except urllib.error.URLError as exc:
            raise ApiError(f"cannot reach {self.base}: {exc.reason}") from None


def run(path: Path, chain: str, send: Send | None, err: TextIO = sys.stderr, out: TextIO = sys.stdout) -> int:
    """Validate `path`, and load its good rows through `send` (None: validate only). Returns the exit status."""
    report = Report()
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows = read_rows(stream, report)
        if send is not None:
            load(rows, chain, send, report, Progress(len(rows), err))
    except (ApiError, OSError, UnicodeDecodeError, csv.Error) as exc:
        err.write(f"error: {exc}\n")
        return 2
    for line, reason in sorted(report.rejected):
        err.write(f"line {line}: rejected: {reason}\n")
    if send is None:
        out.write(f"valid: {len(rows)} row(s); rejected: {len(report.rejected)}\n")
    else:
        done = ", ".join(f"{n} {what}" for what, n in sorted(report.outcomes.items())) or "none"
        out.write(
            f"loaded: {sum(report.outcomes.values())} row(s) ({done}); rejected: {len(report.rejected)}\n"
        )
    return 1 if report.rejected else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", help="API base URL (default: api_url of --local-json)")
    parser.add_argument("--token", help="staff bearer token (default: staff_token of --local-json)")
    parser.add_argument("--chain", help="chain id (default: chain_id of --local-json)")
    parser.add_argument("--local-json", default=".chairside/local.json")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("import", help="validate and load a CSV file").add_argument("file", type=Path)
    sub.add_parser("check", help="validate a CSV file, send nothing").add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "check":
        return run(args.file, args.chain or "", None)
    local: dict[str, Any] = {}
    if Path(args.local_json).exists():
        local = json.loads(Path(args.local_json).read_text())
    api = args.api or os.environ.get("CHAIRSIDE_API") or local.get("api_url")
    token = args.token or os.environ.get("CHAIRSIDE_TOKEN") or local.get("staff_token")
    chain = args.chain or local.get("chain_id")
    if not (api and token and chain):
        sys.stderr.write(
            f"error: no API, token or chain: run `make run` (writes {args.local_json}) or pass --api, --token, --chain\n"
        )
        return 2
    if not str(api).startswith(("http://", "https://")):
        sys.stderr.write(f"error: --api must be an http(s) URL, not {api!r}\n")
        return 2
    return run(args.file, chain, Api(api, token).send)


if __name__ == "__main__":
    sys.exit(main())
