"""The evaluation's arithmetic (eval/evaluate.py) on a tiny labelled file and a classifier that answers from a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.understanding import Understanding
from eval import evaluate as ev

# text, labelled intent, sentiment, family | what the fake classifier answers
LINES = [
    ("ok", "confirm", "neutral", "plain_confirm", "confirm", "neutral"),
    ("取消", "cancel", "neutral", "plain_cancel", "cancel", "neutral"),
    ("等了一个小时 把我忘了吗", "complaint", "negative", "rhetorical_question", "question", "neutral"),
    ("差评", "complaint", "negative", "review_threat", "complaint", "negative"),
    ("我真的会谢", "complaint", "negative", "sarcasm", "praise", "positive"),
    ("退卡", "complaint", "negative", "refund_demand", "other", "neutral"),
    ("TD", "opt_out", "neutral", "plain_opt_out", "opt_out", "neutral"),
    ("别发了", "opt_out", "negative", "annoyed_opt_out", "other", "negative"),
    ("好看", "praise", "positive", "praise", "praise", "positive"),
    ("how much", "question", "neutral", "question_price", "other", "neutral"),
    ("谢谢你们天天发短信哦 退订", "opt_out", "negative", "sarcasm", "opt_out", "neutral"),
]


class TableClassifier:
    def classify(self, text: str, *, category: str | None = None, locale: str | None = None) -> Understanding:
        row = next(line for line in LINES if line[0] == text)
        return Understanding(intent=row[4], sentiment=row[5])


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    rows = [
        {"text": t, "intent": i, "sentiment": s, "category": None, "locale": None, "family": f, "source": "x"}
        for t, i, s, f, _, _ in LINES
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_to_person_is_what_the_product_does_needs_human_or_notify_staff():
    assert ev.to_person(Understanding("cancel", "neutral"))  # cancel notifies staff
    assert ev.to_person(Understanding("question", "neutral"))
    assert ev.to_person(Understanding("complaint", "negative"))
    assert ev.to_person(Understanding("praise", "negative"))  # any negative reply
    assert not ev.to_person(Understanding("praise", "positive"))
    assert not ev.to_person(Understanding("opt_out", "neutral"))
    assert not ev.to_person(Understanding("other", "neutral"))


def test_the_figures_of_a_tiny_file_are_exact(tiny: Path):
    report = ev.evaluate(ev.load(tiny), TableClassifier())
    assert report.accuracy == pytest.approx(6 / 11)
    assert report.sentiment_accuracy == pytest.approx(7 / 11)
    # complaint-leaning: the four complaints and the negative sarcastic opt-out; a person gets the question
    # (notify_staff) and the complaint; not the praise, the other, nor the neutral opt-out.
    assert [r.example.text for r in report.complaint_leaning] == [LINES[i][0] for i in (2, 3, 4, 5, 10)]
    assert [r.example.text for r in report.not_to_person] == [LINES[i][0] for i in (4, 5, 10)]
    assert report.complaint_to_person == pytest.approx(2 / 5)
    assert report.opt_out_recall == pytest.approx(2 / 3)
    assert [r.example.text for r in report.opt_outs_missed] == ["别发了"]
    assert report.per_intent["complaint"] == (1.0, 0.25, 4)
    assert report.per_intent["praise"] == (0.5, 1.0, 1)
    assert report.per_intent["other"] == (0.0, 1.0, 0)
    assert report.per_intent["question"] == (0.0, 0.0, 1)
    assert report.per_intent["opt_out"] == (1.0, pytest.approx(2 / 3), 3)
    assert report.confusions == [
        (("complaint", "other"), 1),
        (("complaint", "praise"), 1),
        (("complaint", "question"), 1),
        (("opt_out", "other"), 1),
        (("question", "other"), 1),
    ]
    assert [name for name, _, _, met in ev.targets(report) if not met] == [
        "intent accuracy",
        "complaints handed to a person",
        "opt-outs recognised",
    ]


def test_make_eval_prints_unmet_targets_and_exits_1_only_when_strict(tiny: Path, monkeypatch, capsys):
    monkeypatch.setattr(ev, "default_classifier", TableClassifier)
    assert ev.main(["--file", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "complaints to a person  0.400  (2 of 5 complaint-leaning)" in out
    assert "opt-outs recognised     0.667  (2 of 3)" in out
    assert "intent accuracy                0.545  target >= 0.93  UNMET" in out
    assert "MISSED opt-outs (1):" in out
    assert ev.main(["--file", str(tiny), "--strict"]) == 1


def test_targets_met_when_every_reply_is_understood(tiny: Path, monkeypatch):
    class Perfect:
        def classify(
            self, text: str, *, category: str | None = None, locale: str | None = None
        ) -> Understanding:
            row = next(line for line in LINES if line[0] == text)
            return Understanding(intent=row[1], sentiment=row[2])

    report = ev.evaluate(ev.load(tiny), Perfect())
    assert all(met for _, _, _, met in ev.targets(report))
    monkeypatch.setattr(ev, "default_classifier", Perfect)
    assert ev.main(["--file", str(tiny), "--strict"]) == 0
