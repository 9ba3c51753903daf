"""The one cleaning of free text that people type: member names, message texts, notes, staff replies, campaigns.

Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the bidi marks (U+200E, U+200F, U+061C) can make
a name or a message read differently on a staff screen than what was sent ("Trojan Source"); NUL and the other
C0/C1 controls (and DEL) have no place in a text shown to a person or sent by SMS; lone surrogates cannot even be
stored (DynamoDB wants UTF-8). They are removed, not refused: a member's message is never dropped for a stray
character. Multi-line texts keep newline and tab (a CR or CRLF becomes a newline); single-line values (names)
turn them into a space. Everything else -- emoji, zero-width joiners, any script -- is left as it is.

Applied at the edges: the pydantic models of the webhooks (models/booking_event.py, conversations/intake.py),
`InboundMessage` (every chat channel), staff replies and notes, campaign names and templates.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_REMOVED = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI, *range(0xD800, 0xE000))
_MULTILINE = {code: None for code in _REMOVED} | {ord("\n"): "\n", ord("\t"): "\t"}
_SINGLE_LINE = {code: None for code in _REMOVED} | {ord("\n"): " ", ord("\t"): " ", ord("\r"): " "}


def clean_text(value: str, *, multiline: bool = True) -> str:
    """`value` without bidi controls, C0/C1 controls (newline and tab kept when `multiline`) and lone surrogates."""
    if multiline:
        return value.replace("\r\n", "\n").replace("\r", "\n").translate(_MULTILINE)
    return value.translate(_SINGLE_LINE)


def clean_name(value: str) -> str:
    """A single-line value (a person's name): controls removed, line breaks and tabs become spaces."""
    return clean_text(value, multiline=False).strip()
