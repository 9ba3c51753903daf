"""Segments: who a campaign is for, as tag expressions and visit filters, answered by Query on indexes built for
them (never a Scan).

- `tags_all` / `tags_any`: Query the tag's membership items `TAG#<chain>#<tag>` (one tag for tags_all, each tag
  in turn for tags_any), then read the members (BatchGet) and check every condition on the member item itself;
- otherwise: Query each store's members `STOREMEMBERS#<store>` on gsi1 (all the chain's stores when
  `store_ids` is not given), with `last_visit_before_days` as a range on the sort key (last visit).

A page reads one Query page of one source; the cursor names the source and its last key, so a 100,000-member
segment is paged through by many short steps (the campaign fan-out carries the cursor in its queue message).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.care.profile import tag_list
from chalicelib.dal.models import MemberItem
from chalicelib.errors import ValidationFailed

FIELDS = ("tags_all", "tags_any", "tags_none", "last_visit_before_days", "visits_at_least", "store_ids")
MAX_DAYS = 3650
MAX_STORES = 100


@dataclass(frozen=True)
class Segment:
    tags_all: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    last_visit_before_days: int | None = None
    visits_at_least: int | None = None
    store_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tags_all": list(self.tags_all),
            "tags_any": list(self.tags_any),
            "tags_none": list(self.tags_none),
            "last_visit_before_days": self.last_visit_before_days,
            "visits_at_least": self.visits_at_least,
            "store_ids": list(self.store_ids),
        }

    def matches(self, member: MemberItem, now: datetime) -> bool:
        tags = set(member.tags or [])
        if not set(self.tags_all) <= tags or (self.tags_any and not tags & set(self.tags_any)):
            return False
        if tags & set(self.tags_none):
            return False
        if self.visits_at_least is not None and int(member.visits or 0) < self.visits_at_least:
            return False
        if self.last_visit_before_days is not None and (
            member.last_visit_at is None or member.last_visit_at >= self.cutoff(now)
        ):
            return False
        store = member.primary_store_id or member.last_store_id
        return not self.store_ids or store in self.store_ids

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.last_visit_before_days or 0)


def parse(value: Any, name: str = "segment") -> Segment:
    """A segment from a request body; ValidationFailed naming the field (e.g. `segment.tags_any[1]`)."""
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name} must be an object", {name: "must be an object"})
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            f"{name}.{unknown[0]} is not a segment field",
            {f"{name}.{unknown[0]}": "one of " + ", ".join(FIELDS)},
        )
    tags = {
        key: tuple(dict.fromkeys(tag_list(value.get(key), f"{name}.{key}")))
        for key in ("tags_all", "tags_any", "tags_none")
    }
    stores = value.get("store_ids")
    if stores is not None and (
        not isinstance(stores, list)
        or len(stores) > MAX_STORES
        or not all(isinstance(s, str) and s for s in stores)
    ):
        raise ValidationFailed(
            f"{name}.store_ids must be a list of store ids",
            {f"{name}.store_ids": f"a list of at most {MAX_STORES} store ids"},
        )
    return Segment(
        **tags,
        last_visit_before_days=_whole(value, "last_visit_before_days", name, 1, MAX_DAYS),
        visits_at_least=_whole(value, "visits_at_least", name, 0, 100_000),
        store_ids=tuple(dict.fromkeys(stores or ())),
    )


def _whole(value: dict, key: str, name: str, low: int, high: int) -> int | None:
    number = value.get(key)
    if number is None:
        return None
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise ValidationFailed(f"bad {name}.{key}", {f"{name}.{key}": f"a whole number from {low} to {high}"})
    return number


@dataclass(frozen=True)
class Page:
    members: list[MemberItem]
    cursor: str | None  # None: the segment is exhausted
    read: int = 0  # index items read for this page


@dataclass
class _Source:
    kind: str  # "tag" | "store"
    key: str  # the tag or the store id
    skip_tags: tuple[str, ...] = field(
        default_factory=tuple
    )  # tags_any: members already given by earlier tags


class SegmentReader:
    def __init__(self, repo: Any) -> None:
        self._repo = repo  # dal.care.CareRepository

    def page(
        self, chain_id: str, segment: Segment, cursor: str | None, now: datetime, limit: int = 500
    ) -> Page:
        sources = self._sources(chain_id, segment)
        index, start_key = decode_cursor(cursor) if cursor else (0, None)
        if index >= len(sources):
            return Page([], None)
        source = sources[index]
        if source.kind == "tag":
            entries, last = self._repo.tag_page(chain_id, source.key, limit, start_key)
            wanted = [e.member_id for e in entries if _tag_entry_may_match(e, segment, now)]
            found = self._repo.members(chain_id, wanted)
            members = [found[m] for m in wanted if m in found]
        else:
            before = (
                segment.cutoff(now).astimezone(UTC).isoformat() if segment.last_visit_before_days else None
            )
            members, last = self._repo.store_members_page(source.key, before, limit, start_key)
            entries = members
        members = [
            m
            for m in members
            if m.chain_id == chain_id
            and segment.matches(m, now)
            and not set(m.tags or []) & set(source.skip_tags)
        ]
        next_cursor: str | None
        if last is not None:
            next_cursor = encode_cursor(index, last)
        else:
            next_cursor = encode_cursor(index + 1, None) if index + 1 < len(sources) else None
        return Page(members, next_cursor, len(entries))

    def all(self, chain_id: str, segment: Segment, now: datetime, limit: int = 500) -> Iterable[MemberItem]:
        cursor = None
        while True:
            page = self.page(chain_id, segment, cursor, now, limit)
            yield from page.members
            cursor = page.cursor
            if cursor is None:
                return

    def _sources(self, chain_id: str, segment: Segment) -> list[_Source]:
        if segment.tags_all:
            return [_Source("tag", segment.tags_all[0])]
        if segment.tags_any:
            return [_Source("tag", tag, segment.tags_any[:i]) for i, tag in enumerate(segment.tags_any)]
        stores = segment.store_ids or tuple(self._repo.chain_store_ids(chain_id))
        return [_Source("store", store) for store in stores]


def validate_stores(segment: Segment, chain_store_ids: Iterable[str], name: str = "segment") -> None:
    known = set(chain_store_ids)
    for i, store in enumerate(segment.store_ids):
        if store not in known:
            raise ValidationFailed(
                "unknown store in the segment", {f"{name}.store_ids[{i}]": "no such store in this chain"}
            )


def _tag_entry_may_match(entry: Any, segment: Segment, now: datetime) -> bool:
    """Cheap filters on the tag item's copies of store, visits and last visit, before reading the member."""
    if segment.store_ids and entry.store_id not in segment.store_ids:
        return False
    if segment.visits_at_least is not None and int(entry.visits or 0) < segment.visits_at_least:
        return False
    return not (
        segment.last_visit_before_days is not None
        and (entry.last_visit_at is None or entry.last_visit_at >= segment.cutoff(now))
    )


def encode_cursor(index: int, key: dict | None) -> str:
    raw = json.dumps([index, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, dict | None]:
    invalid = ValidationFailed("the cursor is not valid", {"cursor": "not a cursor this API returned"})
    try:
        index, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise invalid from None
    if not isinstance(index, int) or index < 0 or not (key is None or isinstance(key, dict)):
        raise invalid
    return index, key
