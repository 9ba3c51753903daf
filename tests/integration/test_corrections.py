"""Staff correct what a member's message meant (issue 16 §4): the message shows the new intent, the chain keeps
one masked correction per message, and who may do it is the permission model's."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from chalicelib.dal.corrections import PREFIX
from chalicelib.services.auth import issue_token
from chalicelib.understanding import Understanding
from tests.integration.test_fail_safe_replies import classify_as
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"  # the harness's
CHAIN = "demo-chain"


def token(role: str, stores: tuple[str, ...] = (SH_STORE,), chain: str = CHAIN) -> str:
    return issue_token(
        JWT_SECRET,
        subject=f"staff-{role}",
        chain_id=chain,
        role=role,
        store_ids=list(stores),
        now=datetime.now(UTC),
    )


def put(harness, path: str, body, bearer: str | None = None):
    response = harness.client.http.put(
        path,
        headers={
            "Authorization": f"Bearer {bearer or token('front_desk')}",
            "Content-Type": "application/json",
        },
        body=json.dumps(body).encode(),
    )
    return response.status_code, json.loads(response.body) if response.body else None


def member_writes(
    harness, text: str, member_id: str = "m-1", store_id: str = SH_STORE, stylist: str | None = None
) -> dict:
    """A member with a booking here writes `text`; the stored message as staff see it."""
    stylist = stylist or ("ldn-sophie" if store_id == LDN_STORE else "sh-xiaowang")
    status, body = harness.post(
        booking_event(member_id=member_id, store_id=store_id, stylist=stylist, booking_id=f"bk-{member_id}")
    )
    assert status == 202, body
    status, body = harness.post_message(
        {
            "event_id": f"evt-{uuid.uuid4().hex[:8]}",
            "store_id": store_id,
            "member_id": member_id,
            "channel": "sms",
            "message": {"id": f"msg-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
            "sent_at": "2026-11-22T10:05:00+08:00",
        }
    )
    assert status == 200, body
    [message] = [m for m in harness.messages(store_id, member_id) if m["direction"] == "in"]
    return message


def intent_path(message: dict, member_id: str = "m-1", store_id: str = SH_STORE) -> str:
    return f"/v1/stores/{store_id}/members/{member_id}/messages/{message['id']}/intent"


def stored_corrections(harness, chain: str = CHAIN) -> list[dict]:
    ddb = harness.session.client("dynamodb")
    return ddb.query(
        TableName=harness.container.settings.main_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": PREFIX + chain}},
    )["Items"]


def test_a_front_desk_correction_shows_on_the_message_and_is_kept_masked_for_the_chain(harness):
    # The classifier's answer is fixed: what the real one makes of this reply changes as it learns.
    classify_as(harness, Understanding("other", "neutral", confidence=0.5))
    message = member_writes(harness, "上次那个师傅我不想再约了 打我电话13800138000 或 li.na@example.com")
    original = message["intent"]
    assert original != "complaint"  # what the classifier makes of a quiet complaint about her stylist

    status, body = put(harness, intent_path(message), {"intent": "complaint", "sentiment": "negative"})

    assert status == 200, body
    assert body["changed"] is True
    assert body["message"]["intent"] == "complaint" and body["message"]["intent_corrected"] is True
    assert body["correction"]["original"]["intent"] == original
    shown = next(m for m in harness.messages(SH_STORE, "m-1") if m["id"] == message["id"])
    assert shown["intent"] == "complaint" and shown["sentiment"] == "negative"
    [item] = stored_corrections(harness)
    text = item["text"]["S"]
    assert "13800138000" not in text and "138****8000" in text
    assert "li.na@example.com" not in text and "l***@example.com" in text
    assert item["corrected_by"]["S"] == "staff-front_desk"
    assert item["original_intent"]["S"] == original
    assert item["locale"]["S"] == "zh-CN" and item["category"]["S"] == "hair_colour"  # her booking's service


def test_the_same_correction_twice_is_one_item_and_a_later_one_replaces_it(harness):
    message = member_writes(harness, "我想把卡里的钱拿回来")
    original = message["intent"]

    first = put(harness, intent_path(message), {"intent": "complaint"})
    again = put(harness, intent_path(message), {"intent": "complaint"})

    assert first[0] == again[0] == 200
    assert first[1]["changed"] is True and again[1]["changed"] is False
    assert len(stored_corrections(harness)) == 1

    status, body = put(harness, intent_path(message), {"intent": "cancel", "sentiment": "neutral"})
    assert status == 200 and body["changed"] is True
    [item] = stored_corrections(harness)
    assert item["intent"]["S"] == "cancel" and item["sentiment"]["S"] == "neutral"
    assert item["original_intent"]["S"] == original  # the classifier's, not the first correction's
    assert body["correction"]["original"]["intent"] == original


def test_a_bad_correction_is_a_400_naming_each_field(harness):
    message = member_writes(harness, "明天那个位置不用给我留了")

    status, body = put(harness, intent_path(message), {"intent": "angry", "sentiment": "furious", "why": 1})

    assert status == 400, body
    assert set(body["fields"]) == {"intent", "sentiment", "why"}
    status, body = put(harness, intent_path(message), ["complaint"])
    assert status == 400 and "body" in body["fields"]
    assert stored_corrections(harness) == []


def test_who_may_correct_and_where(harness):
    message = member_writes(harness, "我真的会谢")
    member_writes(harness, "hello", member_id="m-ldn", store_id=LDN_STORE)
    body = {"intent": "complaint"}

    assert put(harness, intent_path(message), body, token("stylist"))[0] == 403
    other_store_staff = token("store_manager", stores=(LDN_STORE,))
    status, answer = put(harness, intent_path(message), body, other_store_staff)
    assert status == 404 and answer["error"] == "not_found"
    foreign = token("chain_admin", stores=(), chain="another-chain")
    assert put(harness, intent_path(message), body, foreign)[0] == 404
    # A message id that is not hers (or no one's) is not found.
    assert put(harness, intent_path({"id": "in-sms-0000"}), body)[0] == 404
    ldn_message = next(m for m in harness.messages(LDN_STORE, "m-ldn") if m["direction"] == "in")
    assert put(harness, intent_path(ldn_message), body)[0] == 404
    # An outbound message is not a member's message to correct.
    outbound = next((m for m in harness.messages(SH_STORE, "m-1") if m["direction"] == "out"), None)
    if outbound is not None:
        assert put(harness, intent_path(outbound), body)[0] == 404
    assert stored_corrections(harness) == []

    status, answer = put(harness, intent_path(message), body, token("chain_admin", stores=()))
    assert status == 200, answer


def test_the_chains_corrections_export_in_the_eval_format_and_eval_reports_on_them(harness, tmp_path, capsys):
    from eval.evaluate import main as evaluate_main
    from ops.labels import main as labels_main

    complaint = member_writes(harness, "小红书见吧 照片我都留着呢 13800138000")
    cancel = member_writes(harness, "明天那个位置不用给我留了", member_id="m-2", stylist="sh-lina")
    put(harness, intent_path(complaint), {"intent": "complaint", "sentiment": "negative"})
    put(harness, intent_path(cancel, member_id="m-2"), {"intent": "cancel"})
    out = tmp_path / "corrections.jsonl"

    code = labels_main(
        [
            "export",
            "--chain",
            CHAIN,
            "--out",
            str(out),
            "--stage",
            harness.env["CHAIRSIDE_STAGE"],
            "--region",
            "ap-southeast-1",
        ]
    )

    assert code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["intent"] for r in rows) == ["cancel", "complaint"]
    assert all(set(r) == {"text", "intent", "sentiment", "category", "locale"} for r in rows)
    assert any("138****8000" in r["text"] for r in rows) and not any("13800138000" in r["text"] for r in rows)

    capsys.readouterr()
    evaluate_main(["--corrections", str(out)])
    printed = capsys.readouterr().out
    assert f"staff corrections ({out}):" in printed and " of 2 now right" in printed
