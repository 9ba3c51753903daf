"""The member's booking page (`/book/{store}`): static files shipped inside the package, served like the staff
console's (exact names only, known types, an ETag each, the same strict policy). The page then talks only to the
public and member routes of `/v1/stores/{store}/…` (docs/BOOKING_PAGE.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalicelib.console import Asset, folder_files

HERE = Path(__file__).resolve().parent


@cache
def _files() -> dict[str, Asset]:
    """Every servable file of this folder, read once per container."""
    return folder_files(HERE)


def asset(name: str) -> Asset | None:
    """The file `name` of the booking page, or None for anything that is not exactly one of its files."""
    return _files().get(name)
