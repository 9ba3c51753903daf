"""A conversation's arrival sequence (issue 15 §7): every message recorded and every status change, numbered.

The entries live in the conversation's own partition (`SEQ#<12-digit seq>`, models.MessageChangeItem), apart
from the display order of its messages (`MSG#<time>#<id>`). Appending reads the last entry (a consistent Query,
newest first, one item) and puts the next one only if it is absent; a writer that loses the race reads again.
So the sequence is dense, and entry n+1 exists only after entry n did: a consistent Query for everything after
n, from any device at any moment, sees a prefix of what will ever be there, with no hole a later write fills.

The state change comes first, then its entry. A crash in between is repaired by the retry of the same work,
which finds the state already there and appends the entry again (claim() of a step or reply that was sent, a
duplicate inbound message, a duplicate receipt): a device may see a change twice, never miss one.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.dal.conditions import put_new
from chalicelib.dal.models import MessageChangeItem
from chalicelib.errors import ConcurrentUpdate

ATTEMPTS = 20  # writers racing on one conversation: each lost race means another writer's entry went in
LAST = 10**12 - 1


def latest(pk: str) -> int:
    """The conversation's last seq (0 before its first entry)."""
    for entry in MessageChangeItem.query(
        pk,
        MessageChangeItem.sk.startswith("SEQ#"),
        scan_index_forward=False,
        limit=1,
        consistent_read=True,
    ):
        return int(entry.seq)
    return 0


def append(pk: str, change: str, message_sk: str, status: str, at: datetime) -> int:
    """Number one change of the conversation `pk`: its seq. ConcurrentUpdate after ATTEMPTS lost races."""
    for _ in range(ATTEMPTS):
        seq = latest(pk) + 1
        entry = MessageChangeItem(
            pk,
            MessageChangeItem.sk_for(seq),
            seq=seq,
            change=change,
            message_sk=message_sk,
            status=status,
            at=at,
        )
        if put_new(entry):
            return seq
    raise ConcurrentUpdate()


def since(pk: str, after: int, limit: int) -> list[MessageChangeItem]:
    """The conversation's entries after seq `after`, in seq order, at most `limit` (one consistent Query)."""
    if after >= LAST:
        return []
    return list(
        MessageChangeItem.query(
            pk,
            MessageChangeItem.sk.between(MessageChangeItem.sk_for(after + 1), MessageChangeItem.sk_for(LAST)),
            limit=limit,
            page_size=limit,
            consistent_read=True,
        )
    )
