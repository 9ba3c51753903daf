"""What the hosted second opinion (issue 16 §5) costs, at the configured Bedrock rate (bench/prices.py).

    python -m bench.second_opinion [--share 0.3] [--sample 200]

Sends the labelled replies of eval/data/test_frozen.jsonl (the first `--sample`) as Chairside's real Converse request
(chalicelib/understanding/bedrock.py `converse_request`) to the local Converse fake and reads `usage` back.
The fake counts one token per 4 characters of the prompt: the prompt's size is ours, its token count is an
estimate (a real tokenizer counts Chinese characters differently). The second opinion is only asked for replies
the local classifier is unsure of (below the chain's `min_confidence`), so the cost per 1,000 inbound replies is
priced at the share of low-confidence replies measured on the same sample (at 0.6), and at a stated share.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.prices import price

ROOT = Path(__file__).resolve().parents[1]
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MIN_CONFIDENCE = 0.6
STATED_SHARE = 0.30


@dataclass(frozen=True)
class SecondOpinionCost:
    calls: int
    input_tokens: float  # per call, mean
    output_tokens: float
    measured_share: float  # of the sample below MIN_CONFIDENCE
    stated_share: float

    @property
    def usd_per_call(self) -> float:
        return self.input_tokens / 1000 * price(
            "bedrock_input_1k_tokens"
        ) + self.output_tokens / 1000 * price("bedrock_output_1k_tokens")

    def usd_per_1000_replies(self, share: float) -> float:
        return 1000 * share * self.usd_per_call


def run(sample: int = 1000, stated_share: float = STATED_SHARE) -> SecondOpinionCost:
    import boto3

    from chalicelib.understanding import default_classifier
    from chalicelib.understanding.bedrock import converse_request
    from devstack.fakes.bedrock_runtime import FakeBedrockRuntime

    rows = [
        json.loads(line)
        # the frozen test part: the model never trained on it, so its confidence there is what new replies get
        for line in (ROOT / "eval" / "data" / "test_frozen.jsonl").read_text().splitlines()
        if line.strip()
    ]
    rows = rows[:sample]
    classifier = default_classifier()
    unsure = sum(
        classifier.classify(r["text"], category=r.get("category"), locale=r.get("locale")).confidence
        < MIN_CONFIDENCE
        for r in rows
    )
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    inputs = outputs = 0
    with FakeBedrockRuntime() as fake:
        client = boto3.session.Session().client(
            "bedrock-runtime", region_name="us-east-1", endpoint_url=fake.base_url
        )
        for r in rows:
            usage = client.converse(**converse_request(MODEL, r["text"], r.get("category"), r.get("locale")))[
                "usage"
            ]
            inputs += usage["inputTokens"]
            outputs += usage["outputTokens"]
    n = max(len(rows), 1)
    return SecondOpinionCost(len(rows), inputs / n, outputs / n, unsure / n, stated_share)


def summary(c: SecondOpinionCost) -> str:
    """The SUMMARY's part (clearly labelled: not part of the journey cost target)."""
    return (
        f"second_opinion_usd_per_1000_replies={c.usd_per_1000_replies(c.stated_share):.4f}"
        f"@{c.stated_share:.0%}_low_confidence"
    )


def markdown(c: SecondOpinionCost) -> list[str]:
    return [
        "## Hosted second opinion (issue 16, optional, off by default)",
        "",
        f"Bedrock Converse, {MODEL}, priced at `bench/prices.py`'s rate. Chairside's prompt for {c.calls} labelled "
        f"replies averages {c.input_tokens:.0f} input and {c.output_tokens:.0f} output tokens (the fake's estimate: "
        f"1 token per 4 characters): **${c.usd_per_call * 1000:.4f} per 1,000 calls**. It is asked only below the "
        f"chain's `min_confidence`: at {MIN_CONFIDENCE} that is {c.measured_share:.0%} of these replies "
        f"(**${c.usd_per_1000_replies(c.measured_share):.4f} per 1,000 inbound replies**); at a stated "
        f"{c.stated_share:.0%}, **${c.usd_per_1000_replies(c.stated_share):.4f}**. Not part of the journey cost target.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.second_opinion", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--share", type=float, default=STATED_SHARE, help="stated share of low-confidence replies"
    )
    parser.add_argument("--sample", type=int, default=1000, help="labelled replies to send")
    args = parser.parse_args(argv)
    cost = run(args.sample, args.share)
    print("\n".join(markdown(cost)))
    print(summary(cost))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
