"""A hosted second opinion (issue 16 §5): Amazon Bedrock's Converse API behind the same `Classifier` protocol.

Off by default, per chain: the chain item's `second_opinion` setting turns it on (validated by
`parse_settings`):

    {"provider": "bedrock", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "min_confidence": 0.6,
     "budget_ms": 1500, "region": "us-east-1"}      (region: optional, default the stack's own)

`SecondOpinion` is called by the inbound worker only (never inside a request), and asks Bedrock only when the
local answer's confidence is below the chain's `min_confidence`. The call has a time budget: botocore's connect
and read timeouts share `budget_ms` and nothing is retried. On a timeout, an error or an answer that is not
exactly the JSON asked for, the local answer stands.

How the two opinions combine (`combine`), one rule: below the threshold the hosted intent replaces the local
one, unless the local one is a complaint or an opt-out, which are never replaced by anything milder; the
sentiment becomes negative when either says negative, and otherwise stays the local one.

The request is Converse's documented shape: `modelId`, `system` [{text}], `messages` [{role: "user", content:
[{text}]}], `inferenceConfig` {maxTokens, temperature}. The answer: `output.message.content[].text`, `stopReason`
(only `end_turn` / `stop_sequence` are read: a cut-off answer is no opinion) and `usage` {inputTokens,
outputTokens}, logged for cost (bench/prices.py prices it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.observability import logger
from chalicelib.resources import AWS_SERVICES
from chalicelib.understanding import INTENTS, SENTIMENTS, Understanding

PROVIDERS = ("bedrock",)
NEVER_LOWERED = ("complaint", "opt_out")
MIN_BUDGET_MS, MAX_BUDGET_MS = 100, 5000
MAX_TOKENS = 40  # {"intent": "aftercare_issue", "sentiment": "negative"} is about 20 tokens
MAX_REPLY_CHARS = 1000
READ_SHARE = 0.75  # of the budget: the model's answer; the rest is for connecting
SETTINGS_TTL_SECONDS = 60

SYSTEM_PROMPT = (
    "You read one reply a salon member (hair or nails, in China or abroad) sent to her salon's message. "
    "Classify what the salon should do with it. Answer with ONLY one JSON object, no other text: "
    '{"intent": <one of ' + ", ".join(INTENTS) + ">, "
    '"sentiment": <one of ' + ", ".join(SENTIMENTS) + ">}. "
    "Intents: confirm (she will come), cancel (she will not come; polite cancels too), reschedule (a new time), "
    "book (a new booking), question, aftercare_issue (a problem with the result, without anger), complaint "
    "(anger, a refund or card-cancel demand, a threat to post a review, sarcasm, a rhetorical question about "
    "the service: a person must follow up), praise, opt_out (stop messaging her), other. "
    "Sentiment: negative for complaints, dissatisfaction and annoyance; positive for praise and thanks."
)


@dataclass(frozen=True)
class SecondOpinionSettings:
    provider: str
    model_id: str
    min_confidence: float
    budget_ms: int
    region: str | None = None


def parse_settings(raw: Any) -> SecondOpinionSettings | None:
    """A chain's `second_opinion` setting; None (off) when absent or `{"provider": "off"}`. Raises ValueError
    naming every bad field."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("second_opinion: an object {provider, model_id, min_confidence, budget_ms, region?}")
    if raw.get("provider") in ("off", None) and set(raw) <= {"provider"}:
        return None
    fields: dict[str, str] = {}
    known = {"provider", "model_id", "min_confidence", "budget_ms", "region"}
    for name in set(raw) - known:
        fields[str(name)] = "unknown field"
    provider, model_id = raw.get("provider"), raw.get("model_id")
    confidence, budget, region = raw.get("min_confidence", 0.6), raw.get("budget_ms", 1500), raw.get("region")
    if provider not in PROVIDERS:
        fields["provider"] = "one of " + ", ".join(PROVIDERS) + " (or off)"
    if not isinstance(model_id, str) or not 1 <= len(model_id) <= 256 or not model_id.isprintable():
        fields["model_id"] = "a Bedrock model id, inference profile id or ARN"
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence <= 1:
        fields["min_confidence"] = "a number above 0, at most 1"
    if (
        isinstance(budget, bool)
        or not isinstance(budget, int)
        or not MIN_BUDGET_MS <= budget <= MAX_BUDGET_MS
    ):
        fields["budget_ms"] = f"whole milliseconds from {MIN_BUDGET_MS} to {MAX_BUDGET_MS}"
    if region is not None and (not isinstance(region, str) or not region.replace("-", "").isalnum()):
        fields["region"] = "an AWS region name"
    if fields:
        raise ValueError("second_opinion: " + "; ".join(f"{k}: {v}" for k, v in sorted(fields.items())))
    return SecondOpinionSettings(str(provider), str(model_id), float(confidence), int(budget), region)


def parse_opinion(text: Any) -> tuple[str, str] | None:
    """(intent, sentiment) when `text` is exactly one JSON object {"intent", "sentiment"} of our labels (spaces
    around it allowed); None for anything else."""
    if not isinstance(text, str) or len(text) > 500:
        return None
    try:
        answer = json.loads(text.strip())
    except ValueError:
        return None
    if not isinstance(answer, dict) or set(answer) != {"intent", "sentiment"}:
        return None
    intent, sentiment = answer["intent"], answer["sentiment"]
    if intent not in INTENTS or sentiment not in SENTIMENTS:
        return None
    return intent, sentiment


def converse_request(model_id: str, text: str, category: str | None, locale: str | None) -> dict[str, Any]:
    """The Converse request for one reply (boto3 `bedrock-runtime` `converse` keyword arguments)."""
    context = []
    if category:
        context.append(f"The booking was a {category} service.")
    if locale:
        context.append(f"Her locale is {locale}.")
    reply = text[:MAX_REPLY_CHARS]
    return {
        "modelId": model_id,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [
            {
                "role": "user",
                "content": [{"text": " ".join(context) + "\nThe reply:\n<reply>\n" + reply + "\n</reply>"}],
            }
        ],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0},
    }


def answer_text(response: Any) -> str | None:
    """The text of a Converse answer that finished normally; None otherwise."""
    if not isinstance(response, dict) or response.get("stopReason") not in ("end_turn", "stop_sequence"):
        return None
    content = (((response.get("output") or {}).get("message") or {}).get("content")) or []
    texts = [
        block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str)
    ]
    return "".join(texts) if texts else None


class BedrockClassifier:
    """The `Classifier` protocol over Converse. `client`: a boto3 `bedrock-runtime` client (with the time budget
    in its config: `runtime_client`)."""

    def __init__(self, client: Any, model_id: str) -> None:
        self._client = client
        self._model_id = model_id

    def opinion(
        self, text: str, *, category: str | None = None, locale: str | None = None
    ) -> Understanding | None:
        """Bedrock's opinion, or None: no text, a timeout, an error or an answer not in the asked format."""
        if not isinstance(text, str) or not text.strip():
            return None
        started = time.perf_counter()
        try:
            response = self._client.converse(**converse_request(self._model_id, text, category, locale))
        except Exception as exc:  # noqa: BLE001 - timeouts, throttling, access: the local answer stands
            logger.warning(
                "second opinion failed",
                extra={"provider": "bedrock", "error": type(exc).__name__, "ms": _ms(started)},
            )
            return None
        usage = response.get("usage") or {} if isinstance(response, dict) else {}
        parsed = parse_opinion(answer_text(response))
        logger.info(
            "second opinion",
            extra={
                "provider": "bedrock",
                "model_id": self._model_id,
                "input_tokens": usage.get("inputTokens"),
                "output_tokens": usage.get("outputTokens"),
                "ms": _ms(started),
                "parsed": parsed is not None,
            },
        )
        if parsed is None:
            return None
        return Understanding(parsed[0], parsed[1], confidence=0.0)

    def classify(self, text: str, *, category: str | None = None, locale: str | None = None) -> Understanding:
        """The protocol's answer: no opinion is `other` with confidence 0."""
        return self.opinion(text, category=category, locale=locale) or Understanding(
            "other", "neutral", confidence=0.0
        )


def runtime_client(session: Any, region: str, budget_ms: int) -> Any:
    """A `bedrock-runtime` client held to `budget_ms`: connect and read timeouts share it, no retries. The
    endpoint is the SDK's own (AWS_ENDPOINT_URL_BEDROCK_RUNTIME points it at the local fake)."""
    from botocore.config import Config

    seconds = budget_ms / 1000
    config = Config(
        connect_timeout=max(0.05, seconds * (1 - READ_SHARE)),
        read_timeout=max(0.05, seconds * READ_SHARE),
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    service = "bedrock-runtime"
    if service not in AWS_SERVICES:  # the layer keeps botocore's models of AWS_SERVICES only
        raise ValueError(f"{service} is not in chalicelib/resources.py AWS_SERVICES")
    return session.client(service, region_name=region, config=config)


def combine(local: Understanding, hosted: Understanding | None) -> Understanding:
    """The one rule (module docstring): the hosted intent replaces a low-confidence local one, except that a
    complaint or an opt-out is never replaced; negative wins the sentiment."""
    if hosted is None:
        return local
    sentiment = "negative" if "negative" in (local.sentiment, hosted.sentiment) else local.sentiment
    if local.intent in NEVER_LOWERED or hosted.intent == local.intent:
        return replace(local, sentiment=sentiment)
    return Understanding(hosted.intent, sentiment, confidence=getattr(local, "confidence", 0.0))


class SecondOpinion:
    """Asks the chain's hosted classifier when the local answer is unsure (inbound worker only).

    `chain_setting(chain_id)`: the chain item's raw `second_opinion` (or None); `classifier_for(settings)`: the
    BedrockClassifier for those settings; `wall()`: seconds, for the settings' one-minute cache."""

    def __init__(
        self,
        chain_setting: Callable[[str], Any],
        classifier_for: Callable[[SecondOpinionSettings], Any],
        wall: Callable[[], float],
    ) -> None:
        self._chain_setting = chain_setting
        self._classifier_for = classifier_for
        self._wall = wall
        self._cache: dict[str, tuple[float, SecondOpinionSettings | None]] = {}
        self._lock = threading.Lock()

    def settings(self, chain_id: str) -> SecondOpinionSettings | None:
        with self._lock:
            hit = self._cache.get(chain_id)
        if hit and hit[0] > self._wall():
            return hit[1]
        try:
            settings = parse_settings(self._chain_setting(chain_id))
        except ValueError as exc:  # stored by hand and wrong: off, loudly
            logger.error(
                "chain second_opinion setting ignored", extra={"chain_id": chain_id, "reason": str(exc)}
            )
            settings = None
        with self._lock:
            self._cache[chain_id] = (self._wall() + SETTINGS_TTL_SECONDS, settings)
        return settings

    def __call__(
        self,
        chain_id: str,
        text: str,
        local: Understanding,
        *,
        category: str | None = None,
        locale: str | None = None,
    ) -> Understanding:
        settings = self.settings(chain_id)
        # Understanding's confidence: today's rules set it; read it defensively for other classifiers.
        if settings is None or float(getattr(local, "confidence", 1.0)) >= settings.min_confidence:
            return local
        hosted = self._classifier_for(settings).opinion(text, category=category, locale=locale)
        combined = combine(local, hosted)
        if combined != local:
            logger.info(
                "second opinion taken",
                extra={"chain_id": chain_id, "local": local.intent, "intent": combined.intent},
            )
        return combined


def _ms(started: float) -> int:
    return int(1000 * (time.perf_counter() - started))
