"""The HS256 staff-token secret is read from Secrets Manager by name, on first use, and cached: it is never
in the functions' environment (tests/integration/test_package.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib import resources as r
from chalicelib import settings as settings_module
from chalicelib.errors import Unauthorized
from chalicelib.services.auth import issue_token

REGION = "ap-southeast-1"
SECRET = "stage-jwt-secret-of-at-least-32-bytes!"  # a test secret


def _env(**extra: str) -> dict[str, str]:
    base = {
        r.ENV_STEPS_QUEUE_URL: "q",
        r.ENV_STEPS_QUEUE_ARN: "arn:q",
        r.ENV_STEPS_DLQ_URL: "dlq",
        r.ENV_INBOUND_QUEUE_URL: "in",
        r.ENV_SCHEDULER_ROLE_ARN: "arn:role",
        r.ENV_SCHEDULER_DLQ_ARN: "arn:dlq",
        r.ENV_STAGE: "dev",
        "AWS_REGION": REGION,
    }
    return base | extra


def _token(secret: str) -> str:
    return issue_token(
        secret, subject="owner", chain_id="acme", role="chain_admin", store_ids=[], now=datetime.now(UTC)
    )


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def test_given_only_the_secrets_name_when_a_token_is_verified_then_the_secret_is_read_from_secrets_manager(
    session,
):
    session.client("secretsmanager").create_secret(Name=r.jwt_secret_name("dev"), SecretString=SECRET)
    settings = settings_module.from_env(_env(**{r.ENV_JWT_SECRET_NAME: r.jwt_secret_name("dev")}))
    assert settings.jwt_secret == ""

    verifier = bootstrap.build(settings, session=session).staff_verifier

    assert verifier.verify(_token(SECRET)).chain_id == "acme"
    with pytest.raises(Unauthorized):
        verifier.verify(_token("another-secret-of-at-least-32-bytes!!"))


def test_the_secret_is_read_once_and_kept_for_five_minutes(session):
    client = session.client("secretsmanager")
    client.create_secret(Name=r.jwt_secret_name("dev"), SecretString=SECRET)
    container = bootstrap.build(
        settings_module.from_env(_env(**{r.ENV_JWT_SECRET_NAME: r.jwt_secret_name("dev")})), session=session
    )
    verifier = container.staff_verifier
    verifier.verify(_token(SECRET))

    client.put_secret_value(
        SecretId=r.jwt_secret_name("dev"), SecretString="rotated-secret-of-at-least-32-bytes!!"
    )

    assert verifier.verify(_token(SECRET)).subject == "owner"  # still the cached value


def test_an_explicit_secret_still_wins_where_there_is_no_secrets_manager():
    settings = settings_module.from_env(_env(**{r.ENV_JWT_SECRET: SECRET}))

    assert bootstrap.build(settings).staff_verifier.verify(_token(SECRET)).chain_id == "acme"
