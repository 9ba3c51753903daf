"""An in-process fake of the Amazon Bedrock Runtime Converse API, over real HTTP.

    with FakeBedrockRuntime() as bedrock:
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = bedrock.base_url   # boto3 then talks to it
        boto3.client("bedrock-runtime").converse(modelId="m", messages=[...])

Implements `POST /model/{modelId}/converse` as the Bedrock Runtime API reference documents it (rest-json):

- SigV4 is accepted, not verified: `Authorization` must be `AWS4-HMAC-SHA256 Credential=…` (else 403
  `AccessDeniedException`) and `X-Amz-Date` present.
- the body must be JSON with `messages` (a non-empty list of {role: user|assistant, content: [{text}]}); `system`
  ([{text}]) and `inferenceConfig` ({maxTokens, temperature, topP, stopSequences}) are optional. Anything else is
  400 `ValidationException`. Errors carry the `x-amzn-ErrorType` header and a `{"message"}` body.
- success answers 200 `{output: {message: {role: "assistant", content: [{text}]}}, stopReason: "end_turn",
  usage: {inputTokens, outputTokens, totalTokens}, metrics: {latencyMs}}`; tokens are counted as 1 per 4
  characters (at least 1), so bench and tests see plausible usage.

What it answers is a small rule of its own, read from the member's reply as Chairside's prompt frames it
(between `<reply>` and `</reply>` in the last user message), so tests can steer it:

- `[[bedrock:slow]]` in the reply: the answer waits `slow_seconds` (the time-budget test);
- `[[bedrock:garbage]]`: the answer is prose, not JSON (the strict-parser test);
- `[[bedrock:error]]`: 500 `InternalServerException`;
- `[[bedrock:intent=<intent>,sentiment=<sentiment>]]`: exactly that;
- otherwise a few cues of the phrasing families issue 16 lists (a review threat, a refund or card-cancel demand,
  sarcasm → complaint/negative; "不用给我留" → cancel/neutral), else `{"intent": "other", "sentiment": "neutral"}`.

`calls` records every request (model id, the reply text, the status answered).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from devstack.fakes.local_server import JsonHandler, LocalServer

_PATH = re.compile(r"^/model/(?P<model>[^/]+)/converse$")
_STEER = re.compile(r"\[\[bedrock:intent=(?P<intent>\w+),sentiment=(?P<sentiment>\w+)\]\]")
_REPLY = re.compile(r"<reply>\n?(?P<reply>.*?)\n?</reply>", re.S)
COMPLAINT_CUES = (
    "小红书",
    "大众点评",
    "差评",
    "review",
    "退卡",
    "退款",
    "钱拿回来",
    "refund",
    "我真的会谢",
    "thanks a lot",
)
CANCEL_CUES = ("不用给我留", "不用留了", "won't need the slot")


@dataclass(frozen=True)
class ConverseCall:
    model_id: str
    reply: str
    status: int


class FakeBedrockRuntime(LocalServer):
    thread_name = "fake-bedrock"

    def __init__(self, *, slow_seconds: float = 3.0) -> None:
        self.slow_seconds = slow_seconds
        self.calls: list[ConverseCall] = []
        self._lock = threading.Lock()

    # --- request handling (server threads) ---------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        status, answer, reply, model = self._answer(method, path, headers, raw)
        with self._lock:
            self.calls.append(ConverseCall(model, reply, status))
        return status, answer

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], str, str]:
        match = _PATH.match(path.split("?", 1)[0])
        if match is None:
            return 404, _error("UnknownOperationException", "Not found"), "", ""
        model = unquote(match.group("model"))
        if method != "POST":
            return 405, _error("UnknownOperationException", "Method not allowed"), "", model
        if not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential=") or not headers.get(
            "x-amz-date"
        ):
            return 403, _error("AccessDeniedException", "Missing Authentication Token"), "", model
        try:
            request = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, _error("ValidationException", "Malformed input request"), "", model
        problem = _invalid(request)
        if problem:
            return 400, _error("ValidationException", problem), "", model
        last = [m for m in request["messages"] if m["role"] == "user"][-1]
        text = "".join(block.get("text", "") for block in last["content"])
        found = _REPLY.search(text)
        reply = found.group("reply") if found else text
        if "[[bedrock:error]]" in reply:
            return 500, _error("InternalServerException", "Internal server error"), reply, model
        if "[[bedrock:slow]]" in reply:
            time.sleep(self.slow_seconds)
        answer = self._opinion(reply)
        prompt = sum(len(b.get("text", "")) for b in request.get("system", [])) + len(text)
        usage = {"inputTokens": max(1, prompt // 4), "outputTokens": max(1, len(answer) // 4)}
        usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        return (
            200,
            {
                "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
                "stopReason": "end_turn",
                "usage": usage,
                "metrics": {"latencyMs": 120},
            },
            reply,
            model,
        )

    @staticmethod
    def _opinion(reply: str) -> str:
        if "[[bedrock:garbage]]" in reply:
            return "I think this member is probably unhappy, but I cannot be sure."
        steer = _STEER.search(reply)
        if steer:
            return json.dumps({"intent": steer.group("intent"), "sentiment": steer.group("sentiment")})
        lowered = reply.lower()
        if any(cue in lowered for cue in COMPLAINT_CUES):
            return json.dumps({"intent": "complaint", "sentiment": "negative"})
        if any(cue in lowered for cue in CANCEL_CUES):
            return json.dumps({"intent": "cancel", "sentiment": "neutral"})
        return json.dumps({"intent": "other", "sentiment": "neutral"})


def _invalid(request: Any) -> str | None:
    if not isinstance(request, dict):
        return "The request body must be a JSON object"
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return "messages: each message needs a role of user or assistant"
        content = message.get("content")
        if not isinstance(content, list) or not content or not all(isinstance(b, dict) for b in content):
            return "messages: each message needs content blocks"
    if not any(m["role"] == "user" for m in messages):
        return "messages: a user message is required"
    system = request.get("system", [])
    if not isinstance(system, list) or not all(
        isinstance(b, dict) and isinstance(b.get("text"), str) for b in system
    ):
        return "system: a list of {text} blocks"
    config = request.get("inferenceConfig", {})
    if not isinstance(config, dict) or set(config) - {"maxTokens", "temperature", "topP", "stopSequences"}:
        return "inferenceConfig: maxTokens, temperature, topP, stopSequences"
    if "maxTokens" in config and (not isinstance(config["maxTokens"], int) or config["maxTokens"] < 1):
        return "inferenceConfig.maxTokens: at least 1"
    return None


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"__type": kind, "message": message}


class _Handler(JsonHandler):
    fake: FakeBedrockRuntime

    def _serve(self) -> None:
        headers, raw = self.request_parts()
        status, answer = self.fake.handle(self.command, self.path, headers, raw)
        extra = [("x-amzn-ErrorType", answer["__type"])] if status >= 400 else []
        extra.append(("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000"))
        self.reply_json(status, answer, headers=extra)

    do_POST = _serve
    do_GET = _serve


FakeBedrockRuntime.handler = _Handler
