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
