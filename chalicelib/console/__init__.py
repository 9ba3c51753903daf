"""The staff console's static files (HTML, CSS, JS modules, UI strings), shipped inside the package.

Only files in this folder with a known type are served, by exact name (no paths); each carries an ETag, so a
browser revalidates cheaply and never runs a stale script after a deploy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
# No inline script or style anywhere: everything the page runs comes from this folder, and it talks only to
# this API. Member photos (WeChat media) may come from elsewhere over https.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # always revalidate (ETag): cheap, and never stale after a deploy
}


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    etag: str


def folder_files(folder: Path) -> dict[str, Asset]:
    """Every servable file of `folder` (by exact name, known types only), with its ETag."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in TYPES and not path.name.startswith("."):
            body = path.read_text(encoding="utf-8")
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
            files[path.name] = Asset(body, TYPES[path.suffix], etag)
    return files


@cache
def _files() -> dict[str, Asset]:
    """Every servable file of this folder, read once per container."""
    return folder_files(HERE)


def asset(name: str) -> Asset | None:
    """The file `name` of the console, or None for anything that is not exactly one of its files."""
    return _files().get(name)
