"""Replay state of signed provider callbacks, and the two-way SMS numbers: key lookups only.

`CallbackClaims.claim` is a conditional put-if-absent (an expired claim the TTL has not yet removed counts as
absent), then on conflict a consistent GetItem: the first delivery of a (timestamp, nonce) or callId binds it
to the hash of its body.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.dal.conditions import put_new
from chalicelib.dal.models import CallbackClaimItem, SmsNumberItem


@dataclass(frozen=True)
class Claim:
    first: bool  # this delivery made the claim
    same_body: bool  # the claim's body is this delivery's (a provider's own retry when not first)
    sender: str | None  # the sender the first delivery named (Agora)


class CallbackClaims:
    def claim(
        self,
        channel: str,
        scope: str,
        digest: str,
        body_hash: str,
        expires_at: int,
        now: int,
        sender: str | None = None,
    ) -> Claim:
        item = CallbackClaimItem(
            *CallbackClaimItem.key(channel, scope, digest),
            body_hash=body_hash,
            sender=sender,
            expires_at=expires_at,
        )
        if put_new(item, or_if=CallbackClaimItem.expires_at < now):
            return Claim(first=True, same_body=True, sender=sender)
        try:
            seen = CallbackClaimItem.get(*CallbackClaimItem.key(channel, scope, digest), consistent_read=True)
        except CallbackClaimItem.DoesNotExist:  # removed in between: a claim of the past, expired
            return self.claim(channel, scope, digest, body_hash, expires_at, now, sender)
        return Claim(first=False, same_body=seen.body_hash == body_hash, sender=seen.sender)


class SmsNumbers:
    def owner(self, number: str) -> SmsNumberItem | None:
        try:
            return SmsNumberItem.get(*SmsNumberItem.key(number))
        except SmsNumberItem.DoesNotExist:
            return None

    def register(
        self, number: str, chain_id: str, *, store_id: str | None = None, home_store_id: str | None = None
    ) -> None:
        """A store's number (`store_id`), or a chain's (`home_store_id`: where unknown senders' texts go)."""
        home = store_id or home_store_id
        if not home:
            raise ValueError("a chain's SMS number needs the store that takes texts from unknown numbers")
        SmsNumberItem(
            *SmsNumberItem.key(number),
            number=number,
            chain_id=chain_id,
            store_id=store_id,
            home_store_id=home,
        ).save()
