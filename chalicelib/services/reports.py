"""An owner's report (issue 17): `GET /v1/chains/{chain_id}/reports` rows from the per store-day counters.

Reading never Scans: one Query per store in scope over the day range (dal/report_counters.py), paginated. A chain
admin sees every store of the chain; a store manager only the stores on the token ("reports.read",
permissions.toml); a store the token cannot see answers 404, a role that may not read reports 403.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from chalicelib.clock import Clock
from chalicelib.dal.models import StoreItem
from chalicelib.dal.report_counters import ALL, ReportCounters
from chalicelib.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.services import auth
from chalicelib.services.report_figures import ROW_FIGURES, add_up, row, week_of

GROUPS = ("store", "stylist", "channel", "week")
FORMATS = ("json", "csv")
MAX_DAYS = 366
DEFAULT_DAYS = 30
ACTION = "reports.read"


class Reports:
    def __init__(
        self,
        counters: ReportCounters,
        stores: Any,  # services/stores.py StoreDirectory
        # a chain's stores in this region, by id: one Query (dal/report_counters.py chain_stores)
        chain_stores: Callable[[str], list[StoreItem]],
        clock: Clock,
    ) -> None:
        self._counters = counters
        self._stores = stores
        self._chain_stores = chain_stores
        self._clock = clock

    def report(self, staff: auth.Staff, chain_id: str, params: Mapping[str, str | None]) -> dict[str, Any]:
        first, last = self._range(params.get("from"), params.get("to"))
        group_by = params.get("group_by") or "store"
        if group_by not in GROUPS:
            raise ValidationFailed("bad group_by", {"group_by": "one of " + ", ".join(GROUPS)})
        store_id = params.get("store") or None
        stores = self._scope(staff, chain_id, store_id)
        groups: dict[str, list[Mapping[str, int]]] = {}
        labels: dict[str, str] = {}
        totals: list[Mapping[str, int]] = []
        stylists = _stylist_names(stores)
        for store in stores:
            sid = store.store_id
            for item in self._counters.days(chain_id, sid, first.isoformat(), last.isoformat()):
                if item.dimension == ALL:
                    totals.append(item.counts)
                key = _key(group_by, sid, item.day, item.dimension, item.value)
                if key is None:
                    continue
                groups.setdefault(key, []).append(item.counts)
                labels[key] = stylists.get(key, key) if group_by == "stylist" else key
        if group_by == "store":  # every store in scope has a row (named), even one with nothing counted yet
            for store in stores:
                groups.setdefault(store.store_id, [])
                labels[store.store_id] = _name(store)
        return {
            "chain_id": chain_id,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "group_by": group_by,
            "store": store_id,
            "rows": [row(key, labels[key], add_up(groups[key])) for key in sorted(groups)],
            "totals": row("total", "total", add_up(totals)),
        }

    @staticmethod
    def as_csv(report: Mapping[str, Any]) -> str:
        return to_csv(report)

    @staticmethod
    def wants_csv(fmt: str | None) -> bool:
        if fmt in (None, "", "json"):
            return False
        if fmt == "csv":
            return True
        raise ValidationFailed("bad format", {"format": "one of " + ", ".join(FORMATS)})

    # ---------------------------------------------------------------------------------------------
    def _range(self, first: str | None, last: str | None) -> tuple[date, date]:
        to = _date(last, "to") if last else self._clock.now().date()
        start = _date(first, "from") if first else to - timedelta(days=DEFAULT_DAYS - 1)
        if start > to:
            raise ValidationFailed("bad range", {"from": "must be on or before to"})
        if (to - start).days + 1 > MAX_DAYS:
            raise ValidationFailed("bad range", {"to": f"at most {MAX_DAYS} days from 'from'"})
        return start, to

    def _scope(self, staff: auth.Staff, chain_id: str, store_id: str | None) -> list[StoreItem]:
        """The stores the report covers, as far as `staff` may see them, by id."""
        if staff.chain_id != chain_id:
            raise NotFound("no such chain")  # another chain does not exist for this token
        if store_id is not None:
            if not is_id(store_id):
                raise ValidationFailed("bad store", {"store": "a store id"})
            return [auth.authorize_store(staff, self._stores, store_id, ACTION)]
        if not staff.may(ACTION):
            raise Forbidden(f"a {staff.role} may not do {ACTION}", ACTION)
        if staff.role == "chain_admin":
            return self._chain_stores(chain_id)
        found = []
        for sid in sorted(set(staff.store_ids)):
            store = auth.lookup_store(staff, self._stores, sid) if is_id(sid) else None
            if store is not None and store.chain_id == chain_id:
                found.append(store)
        return found


def to_csv(report: Mapping[str, Any]) -> str:
    """The report's rows (then its totals) as CSV, one column per figure; empty figures are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["key", "label", *ROW_FIGURES])
    for line in [*report["rows"], report["totals"]]:
        writer.writerow([_cell(line["key"]), _cell(line["label"]), *(_cell(line[f]) for f in ROW_FIGURES)])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no formulas in a spreadsheet


def _name(store: StoreItem) -> str:
    return store.name or store.store_id


def _stylist_names(stores: list[StoreItem]) -> dict[str, str]:
    """Stylist id -> name from the stores' catalogues (a store without one labels its stylists by id)."""
    return {
        str(s["id"]): str(s["name"])
        for store in stores
        for s in ((store.catalog or {}).get("stylists") or [])
        if isinstance(s, dict) and s.get("id") and s.get("name")
    }


def _key(group_by: str, store_id: str, day: str, dimension: str, value: str) -> str | None:
    if group_by == "store":
        return store_id if dimension == ALL else None
    if group_by == "week":
        return week_of(day) if dimension == ALL else None
    return value if dimension == group_by else None


def _date(value: str, field: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"bad {field}", {field: "a date, YYYY-MM-DD"}) from None
