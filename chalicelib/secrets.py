"""Secrets read from Secrets Manager, and their caches: the chains' webhook secrets, the stores' WeChat
credentials, the chains' Agora settings and the stage's contact lookup key.

The composition root (bootstrap.py) builds one of each per container; nothing is read before it is first used.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from chalicelib import resources


class WebhookSecrets:
    """A chain's active webhook secrets from Secrets Manager, cached for five minutes.

    The secret is either a plain string or `{"current": "...", "previous": "..."}` -- two active
    secrets while a chain rotates, so senders can switch without downtime.
    """

    TTL_SECONDS = 300

    def __init__(
        self, secrets_client: Any, stage: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = secrets_client
        self._stage = stage
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, list[str]]] = {}

    def active(self, chain_id: str) -> list[str]:
        hit = self._cache.get(chain_id)
        if hit and hit[0] > self._monotonic():
            return hit[1]
        secrets = self._fetch(chain_id)
        self._cache[chain_id] = (self._monotonic() + self.TTL_SECONDS, secrets)
        return secrets

    def _fetch(self, chain_id: str) -> list[str]:
        name = resources.webhook_secret_name(self._stage, chain_id)
        try:
            value = self._client.get_secret_value(SecretId=name)["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            return []
        try:
            data = json.loads(value)
        except ValueError:
            return [value]
        if isinstance(data, dict):
            return [str(data[k]) for k in ("current", "previous") if data.get(k)]
        return [value]


class ChannelSecrets:
    """Per-store WeChat credentials and per-chain Agora settings, through Powertools' SecretsProvider (its cache)."""

    AGORA_MAX_AGE_SECONDS = 300

    def __init__(self, secrets_client: Any, stage: str) -> None:
        self._client = secrets_client
        self._stage = stage

    @cached_property
    def provider(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(boto3_client=self._client)

    def wechat_credentials(self, store_id: str) -> Any:
        """The store's WeChat credentials (channels/wechat/credentials.py), or None if it has none."""
        from chalicelib.channels.wechat.credentials import load_wechat_credentials

        return load_wechat_credentials(store_id, self._stage, self.provider)

    def agora_settings(self, chain_id: str) -> dict | None:
        """The chain's Agora app (ids, certificate, callback secret), or None if it has none."""
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        name = resources.channel_secret_name(self._stage, f"chains/{chain_id}", "agora")
        try:
            value = self.provider.get(name, transform="json", max_age=self.AGORA_MAX_AGE_SECONDS)
        except GetParameterError:
            return None
        return value if isinstance(value, dict) else None


class SmsProviderSecrets:
    """A chain's credentials for a mainland SMS provider (issue 15), `chairside/<stage>/chains/<chain>/<provider>`:
    alibaba_sms `{"access_key_id", "access_key_secret", "receipt_token", "endpoint"?}`, tencent_sms
    `{"secret_id", "secret_key", "sdk_app_id", "receipt_token", "endpoint"?, "region"?}`. Through Powertools'
    SecretsProvider, kept five minutes, so a rotated key is picked up without a deploy."""

    MAX_AGE_SECONDS = 300

    def __init__(self, secrets_client: Any, stage: str) -> None:
        self._client = secrets_client
        self._stage = stage

    @cached_property
    def _provider(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(boto3_client=self._client)

    def read(self, chain_id: str, provider: str) -> dict | None:
        """The chain's secret for `provider`, or None when it has none."""
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        name = resources.channel_secret_name(self._stage, f"chains/{chain_id}", provider)
        try:
            value = self._provider.get(name, transform="json", max_age=self.MAX_AGE_SECONDS)
        except GetParameterError:
            return None
        return value if isinstance(value, dict) else None


class LookupKeySecret:
    """The stage's contact lookup key (a string; e.g. 64 hex digits), the key source of privacy.LookupHasher.

    Read when the hasher first needs it; the hasher keeps it."""

    def __init__(self, secrets_client: Any, stage: str) -> None:
        self._client = secrets_client
        self.name = resources.lookup_key_secret_name(stage)

    def read(self) -> str:
        try:
            return self._client.get_secret_value(SecretId=self.name)["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            raise RuntimeError(
                f"the contact lookup key {self.name} does not exist (see README, Deploy)"
            ) from None


class StaffTokenSecret:
    """The HS256 staff-token signing secret, read by name on the first token checked (never from the functions'
    environment), and kept five minutes, so a rotated secret is picked up without a deploy."""

    MAX_AGE_SECONDS = 300

    def __init__(self, secrets_client: Any, name: str) -> None:
        self._client = secrets_client
        self._name = name

    @cached_property
    def _provider(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(boto3_client=self._client)

    def read(self) -> str:
        return str(self._provider.get(self._name, max_age=self.MAX_AGE_SECONDS))


class StoreChannelDefaults:
    """The channel settings a store added through the API starts with (services/catalogue.py).

    Per store there is one channel secret, `chairside/<stage>/stores/<store>/wechat`. A new store gets its chain's
    WeChat Official Account -- `app_id`, `app_secret`, `template_ids`, `templates` and, when the chain runs in encrypted mode,
    `encoding_aes_key`, copied from the first of its sibling stores that has them -- with a server `token` of its
    own (the callback signature of /v1/channels/wechat/{store}). A store that already has a secret keeps it, so
    this is safe to repeat; a chain with no WeChat store gets none (SMS and e-mail need no per-store setting,
    and Agora Chat is the chain's)."""

    def __init__(self, secrets_client: Any, stage: str, new_token: Callable[[], str] | None = None) -> None:
        self._client = secrets_client
        self._stage = stage
        self._new_token = new_token or _server_token

    def provision(self, store_id: str, siblings: list[str]) -> bool:
        """Create the store's WeChat secret from a sibling's; True when it was created here."""
        if self._read(store_id) is not None:
            return False
        template = next(
            (found for sibling in siblings if sibling != store_id if (found := self._read(sibling))), None
        )
        if template is None:
            return False
        value: dict[str, Any] = {
            key: template[key]
            for key in ("app_id", "app_secret", "template_ids", "templates")
            if key in template
        }
        if template.get("encoding_aes_key"):
            value["encoding_aes_key"] = template["encoding_aes_key"]
        value["token"] = self._new_token()
        try:
            self._client.create_secret(Name=self._name(store_id), SecretString=json.dumps(value))
        except self._client.exceptions.ResourceExistsException:
            return False  # made meanwhile by a concurrent request: keep it
        return True

    def _name(self, store_id: str) -> str:
        return resources.channel_secret_name(self._stage, f"stores/{store_id}", "wechat")

    def _read(self, store_id: str) -> dict[str, Any] | None:
        try:
            raw = self._client.get_secret_value(SecretId=self._name(store_id))["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        ok = isinstance(value, dict) and all(
            isinstance(value.get(k), str) and value[k] for k in ("app_id", "app_secret")
        )
        return value if ok else None


def _server_token() -> str:
    import secrets

    return secrets.token_hex(8)
