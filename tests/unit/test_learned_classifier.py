"""Issue 16: the learned model (learned.py, eval/train.py), how it is combined with the rules (combined.py,
policy.toml), the complaint-leaning signals, and the fail-safe hand-off (conversations/hand_off.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.conversations.hand_off import guard
from chalicelib.conversations.inbound import actions_for
from chalicelib.understanding import INTENTS, SENTIMENTS, Understanding
from chalicelib.understanding.classifier import RulesClassifier
from chalicelib.understanding.combined import CombinedClassifier, combine, find_signals, policy
from chalicelib.understanding.learned import (
    MODEL_PATH,
    WEIGHTS_SUFFIX,
    Head,
    Prediction,
    ReplyModel,
    WeightLines,
    features,
)
from eval import train

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------- the model file


def test_the_checked_in_model_was_trained_from_the_current_data():
    data = train.data_file()
    trained_on = {d["file"]: d["sha256"] for d in json.loads(MODEL_PATH.read_text(encoding="utf-8"))["data"]}
    assert trained_on.get(train.relative(data)) == train.file_sha256(data), (
        f"{train.relative(data)} changed since the model was trained (or the model was trained on another file): "
        "run `make train` (python -m eval.train) and commit chalicelib/understanding/model/"
    )


def test_training_twice_writes_the_same_file_byte_for_byte(tmp_path):
    # A fixed fifth of the training part, every intent in it: the same bytes twice is the point, and the whole
    # part (6,573 rows) would take about three minutes of make test.
    data = tmp_path / "sample.jsonl"
    lines = train.data_file().read_text(encoding="utf-8").splitlines()[::5]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert {json.loads(line)["intent"] for line in lines} == set(INTENTS)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    train.train(data, [], first, None)
    train.train(data, [], second, None)
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(WEIGHTS_SUFFIX).read_bytes() == second.with_suffix(WEIGHTS_SUFFIX).read_bytes()


def test_the_files_model_learns_from_the_dev_rows_too_and_keeps_the_held_out_temperatures():
    rows = [train.Row(line, "cancel" if "取消" in line else "confirm", "neutral") for line in _SHORT_REPLIES]
    dev = [r for r in rows if train.is_dev(r.text)]
    assert dev and len(dev) < len(rows)  # both parts hold rows
    fitted, _, dev_rows, held_out = train.fit_model(rows)

    assert dev_rows == dev and train.REFIT_ON_ALL
    assert (fitted.intent.temperature, fitted.sentiment.temperature) == (
        held_out.intent.temperature,
        held_out.sentiment.temperature,
    )
    seen_in_train = Counter(f for r in rows if not train.is_dev(r.text) for f in features(r.text))
    seen_in_all = Counter(f for r in rows for f in features(r.text))
    # features too rare in the train rows alone (MIN_COUNT) but not once the dev rows count too
    rare = {f for f, n in seen_in_all.items() if n >= train.MIN_COUNT > seen_in_train[f]}
    assert rare and not rare & set(held_out.intent.weights)  # the held-out fit never learned them
    assert rare & set(fitted.intent.weights)  # the file's model did


# Each rare character ends exactly two replies, one cancel and one confirm: where one of the two falls in dev,
# its features are too rare for the train rows alone.
_SHORT_REPLIES = [f"{word}{chr(0x5000 + n)}" for word in ("取消预约", "好的明天见") for n in range(40)]


def test_the_model_file_is_small_and_versioned():
    d = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert MODEL_PATH.stat().st_size + MODEL_PATH.with_suffix(WEIGHTS_SUFFIX).stat().st_size <= 5 * 2**20
    assert len(d["version"]) == 12 and d["intent"]["classes"] == list(INTENTS)
    assert d["sentiment"]["classes"] == list(SENTIMENTS)
    assert 0 < d["intent"]["temperature"] <= 5


def test_a_correction_replaces_the_label_of_the_same_text_and_changes_the_version(tmp_path):
    data = tmp_path / "data.jsonl"
    rows = [
        {"text": t, "intent": i, "sentiment": "neutral"}
        for t, i in [("取消", "cancel"), ("cancel pls", "cancel"), ("1", "confirm"), ("ok", "confirm")] * 3
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    fixes = tmp_path / "corrections.jsonl"
    fixes.write_text(json.dumps({"text": "ok", "intent": "other", "sentiment": "neutral"}), encoding="utf-8")

    merged = train.merge(train.read_rows(data), train.read_rows(fixes))
    plain = train.train(data, [], tmp_path / "plain.json", None)
    corrected = train.train(data, [fixes], tmp_path / "corrected.json", None)

    assert [r.intent for r in merged if r.text == "ok"] == ["other"] and len(merged) == 4
    assert plain["version"] != corrected["version"]


def test_training_refuses_a_frozen_test_file(tmp_path):
    frozen = tmp_path / "test_frozen.jsonl"
    frozen.write_text("", encoding="utf-8")
    assert train.main(["--data", str(frozen), "--out", str(tmp_path / "m.json"), "--no-report"]) == 2
    assert not (tmp_path / "m.json").exists()


def test_features_cover_chinese_character_ngrams_and_english_words():
    zh = features("退订！")
    en = features("Cancel pls")
    assert {"c退", "c退订", "c^退", "c!$"} <= set(zh)
    assert {"wcancel", "wpls", "bcancel_pls"} <= set(en)
    assert "empty" in features("") and "empty" not in zh


def test_features_of_version_2_add_4_grams_jieba_tokens_and_shape_flags():
    zh = set(features("等了40分钟 你们是把我忘了吗？？？😡"))
    en = set(features("Waited 25 mins!!!"))
    assert {"c把我忘了", "j你们", "frepeat", "femoji", "fquestion"} <= zh and "fnohan" not in zh
    assert {"c吗?😡", "c0分钟"} <= zh and "c??" not in zh  # "？？？" is one mark; digits fold to 0
    assert {"c0 mi", "w25", "bwaited_25", "frepeat", "fnohan"} <= en and not any(
        f.startswith("j") for f in en
    )
    assert [f for f in features("等了40分钟") if f.startswith("c")] == [
        f for f in features("等了90分钟") if f.startswith("c")
    ]


def test_importing_understanding_reads_no_model_and_the_first_reply_does():
    code = (
        "import sys\n"
        "from chalicelib.understanding import default_classifier\n"
        "from chalicelib.understanding import learned\n"
        "assert learned._MODEL is None\n"
        "default_classifier().classify('see you then')\n"
        "assert learned._MODEL is not None\n"
        "assert 'numpy' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------------------------- combining the two


def prediction(intent: str, p: float, negative: float = 0.1, **others: float) -> Prediction:
    rest = (1 - p - sum(others.values())) / (len(INTENTS) - 1 - len(others))
    intents = {i: others.get(i, rest) for i in INTENTS}
    intents[intent] = p
    sentiments = {"negative": negative, "neutral": 1 - negative, "positive": 0.0}
    return Prediction(intent, p, intents, "negative" if negative >= 0.5 else "neutral", sentiments)


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        (Understanding("opt_out", "neutral", confidence=0.99), "TD"),
        (Understanding("confirm", "neutral", confidence=0.95), "1"),
        (
            Understanding(
                "reschedule",
                "neutral",
                confidence=0.85,
                requested={"weekday": 4, "time": "15:00", "text": "周五下午3点"},
            ),
            "能改到周五下午3点吗",
        ),
    ],
)
def test_the_rules_hard_guarantees_stand_whatever_the_model_says(rules, text):
    u = combine(rules, prediction("praise", 0.99), text)
    assert u.intent == rules.intent and u.confidence >= rules.confidence
    assert u.best_guess == "praise"
    assert u.requested == rules.requested


def test_a_complaint_of_the_rules_that_a_confident_model_names_otherwise_still_reaches_a_person():
    pol = policy()
    rules = Understanding("complaint", "negative", confidence=0.9)
    text = "谢谢你们啊 剪成这样我都不敢出门了"
    calm = {"complaint": 0.01, "opt_out": 0.0}
    named = combine(rules, prediction("praise", pol.model_overrides_at, **calm), text)
    assert (named.intent, named.sentiment) == ("praise", "negative")
    assert named.confidence <= pol.disagreement_cap
    got = names(named)
    assert got[0] == "needs_human" and "notify_staff" in got
    # no "thanks for the kind words" to a negative reply: the holding reply instead
    assert "reply:reply_praise_thanks" not in got and "reply:reply_holding" in got
    assert "reply:reply_praise_thanks" in names(Understanding("praise", "positive", confidence=0.9))
    kept = combine(rules, prediction("praise", pol.model_overrides_at - 0.05, **calm), text)
    assert kept.intent == "complaint" and any(n.startswith("needs_human") for n in names(kept))


def test_the_model_seeing_a_complaint_makes_it_one_even_when_the_rules_did_not():
    rules = Understanding("question", "neutral", confidence=0.7)
    at = policy().model_complaint_at
    assert combine(rules, prediction("question", 0.5, complaint=at), "x").intent == "complaint"
    assert combine(rules, prediction("question", 0.5, complaint=at - 0.05), "x").intent == "question"


def test_where_the_rules_found_no_cue_the_model_takes_over_from_a_lower_probability():
    pol = policy()
    no_cue = Understanding("other", "neutral", confidence=pol.rules_no_cue["other"])
    cued = Understanding("praise", "positive", confidence=0.8)
    p = (pol.model_overrides_no_cue_at + pol.model_overrides_at) / 2
    assert pol.model_overrides_no_cue_at < pol.model_overrides_at
    got = combine(no_cue, prediction("cancel", p), "明天那个就算了")
    assert (got.intent, got.confidence) == ("cancel", pytest.approx(min(p, pol.disagreement_cap)))
    assert combine(cued, prediction("cancel", p), "明天那个就算了").intent == "praise"
    below = combine(no_cue, prediction("cancel", pol.model_overrides_no_cue_at - 0.05), "嗯")
    assert below.intent == "other"


def test_an_opt_out_the_model_leans_to_is_an_unsure_opt_out_never_a_withdrawal():
    pol = policy()
    rules = Understanding("praise", "positive", confidence=0.8)
    u = combine(rules, prediction("praise", 0.5, opt_out=pol.model_opt_out_at), "谢谢 以后活动就不用告诉我啦")
    assert u.intent == "opt_out" and u.confidence <= pol.opt_out_guess_cap
    assert (
        combine(rules, prediction("praise", 0.5, opt_out=pol.model_opt_out_at - 0.05), "谢谢").intent
        == "praise"
    )
    got = names(u)
    assert "opt_out" not in got  # consent stays
    assert got == [
        "needs_human:unsure_opt_out",
        "notify_staff:unsure_opt_out",
        "pause_marketing",
        "reply:reply_opt_out_confirm",
    ]


def test_an_opt_out_said_as_a_complaint_is_an_unsure_opt_out_that_still_reaches_a_person():
    pol = policy()
    rules = Understanding("complaint", "negative", confidence=0.9)
    text = "服务那么差还有脸发促销 删了我吧"
    at = pol.model_opt_out_at
    u = combine(rules, prediction("complaint", 0.5, opt_out=at), text)
    assert (u.intent, u.sentiment) == ("opt_out", "negative") and u.confidence <= pol.opt_out_guess_cap
    got = names(u)
    assert "opt_out" not in got and got[:2] == ["needs_human:unsure_opt_out", "notify_staff:unsure_opt_out"]
    below = combine(rules, prediction("complaint", 0.5, opt_out=at - 0.05), text)
    assert below.intent == "complaint"  # the rules' complaint stands under the threshold
    # the rules' own opt-out is untouched by it: consent withdrawn at once
    hard = combine(Understanding("opt_out", "neutral", confidence=0.95), prediction("complaint", 0.9), "退订")
    assert hard.intent == "opt_out" and names(hard)[0] == "opt_out"


def test_the_rules_carrier_keywords_are_whole_message_opt_outs_but_cancel_is_a_cancel():
    rules = RulesClassifier()
    for text in ("END", "quit", "arret", "opt-out", "remove"):
        assert rules.classify(text).intent == "opt_out", text
    assert rules.classify("cancel").intent == "cancel"
    assert rules.classify("the end of my nails lifted").intent != "opt_out"


def test_agreement_takes_the_larger_confidence():
    rules = Understanding("cancel", "neutral", confidence=0.85)
    assert combine(rules, prediction("cancel", 0.97), "取消吧").confidence == 0.97
    assert combine(rules, prediction("cancel", 0.55), "取消吧").confidence == 0.85


def test_a_disagreement_is_never_sure_enough_to_move_a_booking():
    cap = policy().disagreement_cap
    sure_model = combine(
        Understanding("other", "neutral", confidence=0.5), prediction("cancel", 0.95), "明天不用留了"
    )
    unsure_model = combine(
        Understanding("cancel", "neutral", confidence=0.85), prediction("confirm", 0.6, cancel=0.3), "算了"
    )
    assert sure_model.intent == "cancel" and sure_model.confidence == cap
    assert unsure_model.intent == "cancel" and unsure_model.confidence == pytest.approx(0.3)
    assert unsure_model.best_guess == "confirm"


def test_a_negative_model_sentiment_makes_the_reply_negative():
    rules = Understanding("other", "neutral", confidence=0.5)
    at = policy().negative_at
    assert combine(rules, prediction("other", 0.9, negative=at), "嗯").sentiment == "negative"
    assert combine(rules, prediction("other", 0.9, negative=at - 0.1), "嗯").sentiment == "neutral"


class _Rules:
    def classify(self, text, *, category=None, locale=None):
        return Understanding("other", "neutral", confidence=0.5)


def test_a_model_that_cannot_be_read_leaves_the_rules_answer_with_its_signals():
    def broken() -> ReplyModel:
        raise OSError("no model file")

    u = CombinedClassifier(_Rules(), broken).classify("小红书见")
    assert (u.intent, u.confidence, u.best_guess, u.signals) == ("other", 0.5, None, ("review_threat",))


@pytest.mark.parametrize("text", ["", "   ", "😡😡", "1" * 5000, "\x00\u202e", "退订" * 300])
def test_the_default_classifier_never_raises_and_stays_in_the_vocabulary(text):
    u = CombinedClassifier(RulesClassifier()).classify(text)
    assert u.intent in INTENTS and u.sentiment in SENTIMENTS and 0 <= u.confidence <= 1


# ---------------------------------------------------------------------- complaint-leaning signals (data)


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("小红书见吧 照片我都留着呢", "review_threat"),
        ("我要去大众点评写一写", "review_threat"),
        ("给你们差评", "review_threat"),
        ("发抖音让大家看看", "review_threat"),
        ("I'm leaving a Google review about this", "review_threat"),
        ("posting this on Yelp", "review_threat"),
        ("我要退卡", "refund"),
        ("把钱退给我 退款", "refund"),
        ("退钱", "refund"),
        ("I want a refund", "refund"),
        ("我真的会谢", "sarcasm"),
        ("呵呵", "sarcasm"),
        ("服了你们", "sarcasm"),
        ("Waited 40 minutes again. Thanks a lot.", "sarcasm"),
        ("等了一个多小时了 你们是把我忘了吗？？？", "rhetorical"),
        ("还要等多久啊", "rhetorical"),
        ("did you forget about me?", "rhetorical"),
        ("how much longer??", "rhetorical"),
    ],
)
def test_a_complaint_leaning_signal_is_found(text, signal):
    assert signal in find_signals(text)


@pytest.mark.parametrize("text", ["Thanks a lot.", "谢谢老师，头发很好看", "能改到周五下午吗", "退订", "1"])
def test_plain_replies_have_no_complaint_leaning_signal(text):
    assert find_signals(text) == ()


def test_thanks_a_lot_counts_as_sarcasm_in_a_negative_reply():
    assert find_signals("Thanks a lot.", negative=True) == ("sarcasm",)


# --------------------------------------------------------------------------------- failing safe (data)


def names(u: Understanding, upcoming: bool = True) -> list[str]:
    return guard(actions_for(u.intent, u.sentiment, upcoming=upcoming), u, u.intent, upcoming=upcoming)


@pytest.mark.parametrize("intent", ["confirm", "cancel", "reschedule"])
def test_a_booking_action_below_its_threshold_goes_to_staff_with_the_guess_and_a_holding_reply(intent):
    below = names(Understanding(intent, "neutral", confidence=0.69))
    at = names(Understanding(intent, "neutral", confidence=0.7))

    assert below == [f"needs_human:unsure_{intent}", f"notify_staff:unsure_{intent}", "reply:reply_holding"]
    assert not {"confirm_booking", "notify_booking_system"} & set(below)
    assert at == actions_for(intent, "neutral")


def test_an_unsure_booking_reply_without_an_upcoming_booking_gets_the_front_desk_row():
    u = Understanding("cancel", "neutral", confidence=0.3)
    assert names(u, upcoming=False) == actions_for("cancel", "neutral", upcoming=False)


def test_an_opt_out_only_the_model_saw_is_not_acted_on_alone():
    assert "opt_out" not in names(Understanding("opt_out", "neutral", confidence=0.6))
    assert names(Understanding("opt_out", "neutral", confidence=0.99))[0] == "opt_out"


@pytest.mark.parametrize("guess", ["cancel", "reschedule", "opt_out"])
def test_a_reply_read_as_other_while_the_model_guesses_a_cancel_reaches_staff(guess):
    got = names(Understanding("other", "neutral", confidence=0.5, best_guess=guess))
    assert got[:2] == [f"needs_human:unsure_{guess}", f"notify_staff:unsure_{guess}"]
    assert names(Understanding("other", "neutral", confidence=0.5, best_guess="praise")) == []


def test_a_complaint_leaning_praise_goes_to_a_person_without_the_thank_you():
    u = Understanding("praise", "positive", confidence=0.8, signals=("sarcasm",))
    got = names(u)
    assert got[0] == "needs_human:sarcasm" and {"notify_staff:sarcasm", "pause_marketing"} <= set(got)
    assert "reply:reply_praise_thanks" not in got and "reply:reply_holding" in got


def test_a_complaint_leaning_signal_on_a_complaint_adds_nothing_twice():
    u = Understanding("complaint", "negative", confidence=0.9, signals=("refund",))
    assert names(u) == actions_for("complaint", "negative")


def test_a_complaint_leaning_cancel_still_cancels_and_reaches_a_person():
    u = replace(Understanding("cancel", "neutral", confidence=0.9), signals=("rhetorical",))
    got = names(u)
    assert "notify_booking_system" in got and got[0] == "needs_human:rhetorical"


# ------------------------------------------------------------------------------- the weights, read in place


def test_the_weights_file_finds_every_feature_it_holds_and_no_other():
    heads = {
        "intent": {"c退": "0:5", "c退订": "1:-3", "wstop": "2:7", "c\U0001f600": "0:1", "b10_10": "3:2"},
        "sentiment": {"c退": "1:4", "wstop": "0:-1"},
    }
    data = train.weight_lines(heads)
    assert data == train.weight_lines(
        dict(reversed(list(heads.items())))
    )  # sorted: the same bytes whatever the order
    for name, weights in heads.items():
        lines = WeightLines(data, {"intent": "i", "sentiment": "s"}[name], len(weights))
        assert dict(lines) == weights and len(lines) == len(weights)
        for absent in ("", "c", "c退订了", "wsto", "wstopp", "zzz", "\t", "a\nb", "b10_1"):
            assert absent not in lines and lines.get(absent) is None
    with pytest.raises(ValueError):
        train.weight_lines({"intent": {"a\tb": "0:1"}})


def test_the_checked_in_model_predicts_as_its_weights_read_into_a_dict_would():
    model = ReplyModel.load()
    as_dicts = ReplyModel(
        model.version,
        *(
            Head(h.classes, h.bias, dict(h.weights.items()), h.temperature, h.scale)
            for h in (model.intent, model.sentiment)
        ),
    )
    texts = [
        json.loads(line)["text"] for line in train.data_file().read_text(encoding="utf-8").splitlines()[::40]
    ]
    assert len(texts) > 100
    for text in texts:
        assert model.predict(text) == as_dicts.predict(text), text
