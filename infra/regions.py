"""What differs between the regions Chairside is deployed to. Everything else comes from resources.py."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    # Who is mailed when a dead-letter queue is not empty; None = the alarm topic has no subscriber.
    alarm_email: str | None = None
    # Where SES is called from: SES is not offered in every region (not in ap-east-1).
    ses_region: str | None = None
    log_retention_days: int = 30
    # The verified SES identity members' email comes from.
    email_sender: str = "care@chairside.example"
    # The https origin members open: the stage API's custom domain (an API Gateway API mapping, set up with
    # the certificate outside this template). Manage links in texts, the booking page's links and WeChat
    # sign-in's redirect are built on it. The API's own execute-api URL cannot be put here by the template: the
    # API's definition names the handler, so the handler naming the API would be a circular reference.
    public_base_url: str = ""

    @property
    def email_region(self) -> str:
        return self.ses_region or self.name


REGIONS: dict[str, Region] = {
    region.name: region
    for region in (
        Region("ap-east-1", ses_region="ap-southeast-1", public_base_url="https://hk.book.chairside.example"),
        Region(
            "ap-southeast-1",
            alarm_email="ops-apac@chairside.example",
            public_base_url="https://sg.book.chairside.example",
        ),
        Region(
            "eu-west-1",
            alarm_email="ops-emea@chairside.example",
            public_base_url="https://eu.book.chairside.example",
        ),
    )
}


def region_settings(name: str) -> Region:
    try:
        return REGIONS[name]
    except KeyError:
        known = ", ".join(sorted(REGIONS))
        raise ValueError(f"region {name!r} is not configured in infra/regions.py (known: {known})") from None
