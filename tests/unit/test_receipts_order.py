from datetime import UTC, datetime

import pytest

from chalicelib.channels.receipts import ProviderReceipt, advances


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "read", True),
        ("read", "delivered", False),
        ("delivered", "delivered", False),
        ("delivered", "failed", False),
        ("sent", "failed", True),
        ("failed", "delivered", True),
        ("read", "sent", False),
    ],
)
def test_a_status_never_goes_backwards(current: str, new: str, moves: bool) -> None:
    assert advances(current, new) is moves


def test_a_receipt_names_a_known_status_and_a_message() -> None:
    at = datetime(2026, 12, 6, tzinfo=UTC)
    with pytest.raises(ValueError, match="status"):
        ProviderReceipt("sns", "m-1", "sent", at)
    with pytest.raises(ValueError, match="message id"):
        ProviderReceipt("sns", "", "delivered", at)


def test_the_provider_of_a_send_is_the_channels_pick_for_the_contact() -> None:
    from chalicelib.channels.base import Contact, provider_of

    class ByCountry:
        name = "sms"

        def provider_for(self, contact: Contact) -> str:
            return "alibaba_sms" if (contact.phone or "").startswith("+86") else "sns"

    class Plain:
        name = "email"

    class Named:
        name = "email"
        provider = "ses"

    assert provider_of(ByCountry(), Contact(phone="+8613800000000")) == "alibaba_sms"  # type: ignore[arg-type]
    assert provider_of(ByCountry(), Contact(phone="+14155550100")) == "sns"  # type: ignore[arg-type]
    assert provider_of(Plain(), Contact()) == "email"  # type: ignore[arg-type]
    assert provider_of(Named(), Contact()) == "ses"  # type: ignore[arg-type]


def test_a_templated_channel_gets_the_whole_message_and_a_plain_one_its_text() -> None:
    from chalicelib.channels.base import Contact, Outgoing, send_outgoing

    seen: list[object] = []

    class Plain:
        name = "email"

        def can_reach(self, contact: Contact) -> bool:
            return True

        def send(self, contact: Contact, text: str, subject: str) -> str:
            seen.append((text, subject))
            return "p-1"

    class Templated(Plain):
        def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
            seen.append(dict(outgoing.values))
            return "t-1"

    message = Outgoing(kind="confirmation", text="您好", subject="店", values={"time_local": "15:00"})
    assert send_outgoing(Plain(), Contact(), message) == "p-1"
    assert send_outgoing(Templated(), Contact(), message) == "t-1"
    assert seen == [("您好", "店"), {"time_local": "15:00"}]
