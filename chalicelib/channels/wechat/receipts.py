"""WeChat's delivery receipts: the TEMPLATESENDJOBFINISH event a template message's send job ends with.

WeChat POSTs it to the account's server URL (the same signed callback as members' messages) with the msgid the
send answered and a Status: "success" (delivered), "failed:user block" (she refuses the account's template
messages) or "failed: system failed" (anything else); other "failed:..." statuses (e.g. "failed:freq limit") are
failures too. Customer-service messages have no receipt.

A subscription message's result comes as `subscribe_msg_sent_event`: per message its TemplateId, MsgID,
ErrorCode (0: delivered) and ErrorStatus ("success", or why not). Its msgids are recorded under provider
"wechat_subscribe" (WeChatSubscribeChannel.provider), apart from the template messages'.
"""

from __future__ import annotations

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.channels.wechat.callback_xml import SUBSCRIBE_SENT, TEMPLATE_JOB_FINISH, WeChatInbound

PROVIDER = "wechat"  # as WeChatTemplateChannel.provider: the namespace of the msgids it records
SUBSCRIPTION_PROVIDER = "wechat_subscribe"  # as WeChatSubscribeChannel.provider
DELIVERED = "success"


def job_finish_receipt(message: WeChatInbound) -> ProviderReceipt | None:
    """The receipt a TEMPLATESENDJOBFINISH event carries; None for any other event or an unknown status."""
    if message.event != TEMPLATE_JOB_FINISH or not message.job_msg_id or not message.job_status:
        return None
    status = message.job_status.strip()
    if status == DELIVERED:
        outcome = "delivered"
    elif status.lower().startswith("failed"):
        outcome = "failed"
    else:
        return None
    return ProviderReceipt(
        provider=PROVIDER,
        provider_message_id=message.job_msg_id,
        status=outcome,
        at=message.created_at,
        code=status,
    )


def subscription_receipts(message: WeChatInbound) -> list[ProviderReceipt]:
    """The receipts a subscribe_msg_sent_event carries, one per listed message; none for any other event."""
    if message.event != SUBSCRIBE_SENT:
        return []
    return [
        ProviderReceipt(
            provider=SUBSCRIPTION_PROVIDER,
            provider_message_id=msgid,
            status="delivered" if code.strip() == "0" else "failed",
            at=message.created_at,
            code=f"{code} {status}".strip(),
        )
        for _template_id, msgid, code, status in message.subscription_results
    ]
