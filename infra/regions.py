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

    @property
    def email_region(self) -> str:
        return self.ses_region or self.name


REGIONS: dict[str, Region] = {
    region.name: region
    for region in (
        Region("ap-east-1", ses_region="ap-southeast-1"),
        Region("ap-southeast-1", alarm_email="ops-apac@chairside.example"),
        Region("eu-west-1", alarm_email="ops-emea@chairside.example"),
    )
}


def region_settings(name: str) -> Region:
    try:
        return REGIONS[name]
    except KeyError:
        known = ", ".join(sorted(REGIONS))
        raise ValueError(f"region {name!r} is not configured in infra/regions.py (known: {known})") from None
