"""Asking for a person and small talk, in English and Japanese."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.intents import is_handoff_request, smalltalk
from eval.cases import load_cases
from eval.metrics import classification_metrics

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"

# Phrasings written for these tests, not taken from the evaluation datasets.
HANDOFF_EN = [
    "I want to speak to a human",
    "can I talk to someone please",
    "put me through to an operator",
    "HUMAN",
    "live agent",
    "real human pls",
    "is there a real human I can talk to?",
    "transfer me to a live agent",
    "connect me to a human agent please",
    "can you put me in touch with a person",
    "talk to a humanm",  # typo
    "speak with an operater",  # typo
    "I don't want a bot, get me someone who can help",
    "pls i need a real person my parcel is missing",  # whatever follows
    "Can you escalate my ticket to a manager?",
    "I want to escalate this.",
    "I want a callback. UK time evenings is best",
    "Can I get live support?",
    "Kindly connect me to the concerned executive regarding my refund.",
    "Can you get a supervisor in here?",
    "can someone from support email me back when you open on monday",
    "I want that your staff check my order",  # as a non-native speaker writes it
]
HANDOFF_JA = [
    "担当者と話したいです",
    "人間と話させて",
    "オペレーターをお願いします",
    "ｵﾍﾟﾚｰﾀｰ",  # half-width katakana
    "スタッフにつないでもらえますか",
    "人に代わってください",
    "有人対応をお願いします",
    "直接スタッフに相談したい",
    "ボットじゃなくて人間がいい",
    "operatorにつないで",
    "ひと と はなしたい",
    "ﾆﾝｹﾞﾝ ﾆ ｶﾜｯﾃ",  # spelled out in half-width katakana
    "ヒトニ カワッテ クダサイ",
    "コールバックをお願いしたいです",
    "折り返し電話希望です。平日午後なら大丈夫です",  # when they can take the call
    "電話で詳しく聞きたいです",
    "店長呼んで",
    "責任者出てこい",
    "エスカレーションしていただけますか",
    "スタッフ対応希望です",
    "オペレーターにつなぐ方法を教えて",
    "sutaffu no kata to hanasemasu ka?",
    "ジドウオウトウ ジャナクテ ヒトニ カワッテ",
    "人間カモン",
    "折り返しの電話をください。平日の昼休み、12時から13時なら出られます",
    "明日、営業時間になりましたら、担当の方からご連絡いただけますと幸いです",
    "責任者の方からの説明を求めます",
    "メールで担当者から返事ちょうだい",
    "ポイントが消えた理由を、人間の口からちゃんと説明してほしい",
    "別件で苦情があるので責任者の方に伝えたいです",
    "この件は人間に判断してほしい",
    "今回は最初から人で対応してください",
    "どなたか対応していただける方はいますか",
    "アプリのこと詳しい人おらん？",
    "先週対応してくれた田中さんにもう一度つないでもらえますか",
    "有人チャット切替できる？",
    "先ほどお電話したのですがつながらなかったので、折り返しをお願いできますでしょうか",
    "チャットじゃなくて電話で状況を聞きたいです",
]
NOT_HANDOFF_EN = [
    "how do I contact you by phone",
    "what are your customer service hours",
    "when can I talk to an agent?",
    "is the delivery person allowed to leave it at the door",
    "can I get a staff discount",
    "can another person collect my order",
    "I need someone to sign for the parcel",
    "I spoke to someone yesterday and they said to wait",
    "is this chat a bot or a person?",
    "i put a bunch of stuff in the basket",  # "stuff" is not a typo of "staff"
    "my human resources department needs an invoice",
    "do you sell live plants?",
    "Did someone email me a code? I didn't ask for one",
    "Will someone email me the invoice?",
    "Do I need a specialist?",
    "I want people to see my review on the product page",
    "Does the courier need someone to see my ID?",
    "Do you have a call back option?",
    "How do I get live chat on my store?",
]
NOT_HANDOFF_JA = [
    "担当者名を領収書に入れたい",
    "配達員さんに置き配をお願いできますか",
    "家族の人の分も注文できますか",
    "人に代わって受け取ってもらえますか",
    "主人に代わって問い合わせています",
    "受取人を変更したい",
    "オペレーターの対応時間は？",
    "電話でオペレーターと話せる時間は？",
    "スタッフの対応が良かったです",
    "人気の色はどれ",
    "先日は電話で丁寧に教えていただき、ありがとうございました",
    "先ほど電話でお話ししたのですが、まだ印刷できません",
    "カード会社の担当者に聞いてくださいって言われました",
    "店長のおすすめはどれですか",
    "平日の午後に届けてもらえますか",
    "配達員さんから電話がありました",
    "店員さんのおすすめを知りたいです",
    "有人チャットの受付時間は何時までですか",
    "母さんに代わって注文したいのですが",
    "お客様に代わって返品手続きできますか",
    "担当者から連絡をいただきましたが、返金はいつですか",
    "配達の人から電話をいただいたのですが、不在でした",
    "置き配の場所を配達の人に伝えたいのですが",
    "以前お店の人に教えてもらいましたが、もう一度確認させてください",
    "ズボンの裾の折り返しをお願いできますか",
    "荷物をそちらに回してもいいですか",
]


@pytest.mark.parametrize("message", HANDOFF_EN)
def test_english_requests_for_a_person_hand_off(message: str) -> None:
    assert is_handoff_request(message, "en")


@pytest.mark.parametrize("message", HANDOFF_JA)
def test_japanese_requests_for_a_person_hand_off(message: str) -> None:
    assert is_handoff_request(message, "ja")


@pytest.mark.parametrize("message", NOT_HANDOFF_EN)
def test_english_questions_that_mention_people_do_not_hand_off(message: str) -> None:
    assert not is_handoff_request(message, "en")


@pytest.mark.parametrize("message", NOT_HANDOFF_JA)
def test_japanese_questions_that_mention_people_do_not_hand_off(message: str) -> None:
    assert not is_handoff_request(message, "ja")


def test_language_hint_does_not_hide_a_request_in_the_other_script() -> None:
    assert is_handoff_request("オペレーターにつないで", "en")
    assert is_handoff_request("talk to a person", "ja")


def test_empty_message_is_not_a_request() -> None:
    assert not is_handoff_request("   ", "en")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_handoff_acceptance_bar_on_the_dataset(lang: str) -> None:
    cases = load_cases(DATASETS / f"{lang}_handoff.jsonl")
    pairs = [(is_handoff_request(c.text, lang), bool(c.handoff)) for c in cases]
    metrics = classification_metrics(pairs)
    assert metrics["recall"] >= 0.95, metrics
    assert metrics["precision"] >= 0.9, metrics


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_ordinary_questions_do_not_hand_off(lang: str) -> None:
    cases = load_cases(DATASETS / f"{lang}_retrieval.jsonl")
    fired = [c.text for c in cases if is_handoff_request(c.text, lang)]
    assert len(fired) <= len(cases) // 100, fired


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("hi", "greeting"),
        ("Hello there!", "greeting"),
        ("good morning", "greeting"),
        ("thanks!", "thanks"),
        ("thank you so much", "thanks"),
        ("appreciate the quick reply!", "thanks"),
        ("thanks, that solved it!", "thanks"),
        ("bye", "goodbye"),
        ("ok thanks, bye", "goodbye"),
        ("ok great, have a nice day", "goodbye"),
        ("こんにちは", "greeting"),
        ("ありがとうございます", "thanks"),
        ("ありがとうございました！助かりました", "thanks"),
        ("助かりました", "thanks"),
        ("さようなら", "goodbye"),
    ],
)
def test_small_talk_is_recognised(message: str, kind: str) -> None:
    assert smalltalk(message, "en" if message.isascii() else "ja") == kind


@pytest.mark.parametrize(
    "message",
    [
        "hi, how do I return an item?",
        "thanks, but where is my order?",
        "appreciate the help but where is my order",
        "thank you for nothing",
        "good morning! do you ship to taiwan?",
        "こんにちは、返品したいです",
        "ありがとう、でもまだ届いていません",
        "問題なく届きました！ありがとうございます",
        "how much is postage",
    ],
)
def test_small_talk_with_a_question_or_statement_is_not_small_talk(message: str) -> None:
    assert smalltalk(message, "en") is None
    assert smalltalk(message, "ja") is None


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_no_retrieval_question_is_taken_for_small_talk(lang: str) -> None:
    cases = load_cases(DATASETS / f"{lang}_retrieval.jsonl")
    assert [c.text for c in cases if smalltalk(c.text, lang)] == []
