"""Language-aware analysis: what the lexical index matches on."""

from __future__ import annotations

import pytest

from retrieval.analysis import READING_PREFIX, GenericAnalyzer, get_analyzer, japanese_morphemes


def en(text: str) -> list[str]:
    return get_analyzer("en").analyze(text)


def ja(text: str) -> list[str]:
    return get_analyzer("ja").analyze(text)


def readings(terms: list[str]) -> set[str]:
    return {t for t in terms if t.startswith(READING_PREFIX)}


def words(terms: list[str]) -> set[str]:
    return {t for t in terms if not t.startswith(READING_PREFIX)}


# --------------------------------------------------------------------------- English


def test_english_stop_words_are_removed() -> None:
    assert en("How do I return the item?") == en("return item")
    assert en("the a of and to is it") == []


def test_chat_filler_words_are_removed() -> None:
    assert en("hey, could you please tell me: where is my parcel? ok thanks") == en("tell parcel")


@pytest.mark.parametrize(
    "forms", [("return", "returned", "returns", "returning"), ("refund", "refunds", "refunded")]
)
def test_english_word_forms_share_one_stem(forms: tuple[str, ...]) -> None:
    terms = {tuple(en(f)) for f in forms}
    assert len(terms) == 1
    assert len(terms.pop()) == 1


def test_different_words_keep_different_stems() -> None:
    assert en("return") != en("refund")


@pytest.mark.parametrize("spelling", ["e-mail", "E-Mail", "email", "Email"])
def test_e_mail_and_email_give_the_same_term(spelling: str) -> None:
    assert en(f"change my {spelling} address") == en("change email address")


def test_log_in_and_login_give_the_same_term() -> None:
    assert en("I cannot log-in") == en("I cannot login")


def test_full_width_input_is_normalised() -> None:
    assert en("ＲＥＦＵＮＤ　ｓｔａｔｕｓ") == en("refund status")


def test_english_is_case_insensitive() -> None:
    assert en("TRACK MY PACKAGE") == en("track my package")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_has_no_terms(text: str) -> None:
    assert en(text) == []
    assert ja(text) == []


# --------------------------------------------------------------------------- Japanese


def test_japanese_particles_are_dropped() -> None:
    terms = ja("商品を返品したいのですが")
    assert "返品" in terms
    assert "商品" in terms
    for particle in ("を", "の", "が", "です"):
        assert particle not in terms


def test_japanese_question_with_and_without_particles_share_content_words() -> None:
    assert words(ja("パスワードを忘れました")) == words(ja("パスワード忘れた"))


def test_japanese_spelling_variants_share_a_term() -> None:
    assert words(ja("受取")) & words(ja("受け取り"))


def test_okurigana_variants_of_a_compound_share_its_parts() -> None:
    assert words(ja("支払い期限")) <= words(ja("支払期限"))


def test_compounds_give_the_long_unit_and_its_parts() -> None:
    terms = words(ja("コンビニ払い"))
    assert {"コンビニ払い", "コンビニ", "払い"} <= terms


def test_a_part_of_a_compound_matches_the_compound() -> None:
    assert words(ja("コンビニで払いたい")) & words(ja("コンビニ払い"))


def test_kana_only_query_shares_reading_terms_with_kanji() -> None:
    shared = readings(ja("へんぴん")) & readings(ja("返品"))
    assert shared
    assert not readings(ja("へんぴん")) & readings(ja("パスワード"))


def test_kana_typed_katakana_word_shares_reading_terms() -> None:
    assert readings(ja("ぱすわーど")) & readings(ja("パスワード"))


def test_romaji_query_shares_reading_terms_with_kanji() -> None:
    assert readings(ja("henpin")) & readings(ja("返品"))
    assert readings(ja("henpin")) == readings(ja("へんぴん"))


def test_latin_words_inside_japanese_go_through_the_english_analyser() -> None:
    terms = ja("PayPayで払える？")
    assert "paypay" in terms
    assert "PayPay" not in terms
    # Stemmed like English, so the plural in an article matches the singular in a question.
    assert set(en("refunds")) <= set(ja("Refundsの状況"))
    assert not set(en("the")) & set(ja("The商品"))


def test_japanese_full_width_latin_is_normalised() -> None:
    assert "paypay" in ja("ＰａｙＰａｙで払える")


def test_japanese_analysis_without_reading_bigrams() -> None:
    from retrieval.analysis import JapaneseAnalyzer

    terms = JapaneseAnalyzer(reading_bigrams=False).analyze("返品したい")
    assert "返品" in terms
    assert not readings(terms)


# --------------------------------------------------------------------------- get_analyzer


def test_get_analyzer_returns_one_shared_analyser_per_language() -> None:
    assert get_analyzer("en") is get_analyzer("en")
    assert get_analyzer("en").lang == "en"
    assert get_analyzer("ja").lang == "ja"


def test_unknown_language_gets_a_generic_analyser_with_cjk_bigrams() -> None:
    analyzer = get_analyzer("zh")
    assert isinstance(analyzer, GenericAnalyzer)
    assert analyzer.lang == "zh"
    assert analyzer.analyze("退款时间") == ["退款", "款时", "时间"]


def test_generic_analyser_keeps_latin_words_whole_and_lower_cased() -> None:
    terms = get_analyzer("de").analyze("Rückgabe der Bestellung")
    assert terms == ["rückgabe", "der", "bestellung"]


def test_generic_analyser_single_cjk_character_is_one_term() -> None:
    assert get_analyzer("zh").analyze("退 款") == ["退", "款"]


def test_nouns_carry_their_reading_and_kana_questions_are_cut_into_known_readings() -> None:
    from retrieval.analysis import reading_words

    assert "@ヘンピン" in ja("返品したい")
    assert "辺鄙" not in ja("へんぴん")  # the analyser's guess at converting kana is dropped
    known = {"@ヘンピン", "@キャンセル"}.__contains__
    assert reading_words("へんぴんしたい", known) == ["@ヘンピン"]
    assert reading_words("kyanseru dekimasu ka", known) == ["@キャンセル"]
    assert reading_words("返品したい", known) == []  # converted text has its readings


def test_a_negated_verb_has_a_token_of_its_own() -> None:
    assert "届く-ない" in ja("商品が届きません")
    assert "届く-ない" in ja("まだ届いていない")
    assert "届く-ない" not in ja("商品が届きました")


def test_japanese_morphemes_give_each_short_unit_its_reading_and_normal_form() -> None:
    morphemes = japanese_morphemes("担当者につないで")
    assert "".join(m[2] for m in morphemes) == "タントウシャニツナイデ"
    assert "繋ぐ" in {m[1] for m in morphemes}  # つない(で) -> its dictionary form
    assert {m[3] for m in japanese_morphemes("人と話したい。")} >= {"名詞", "補助記号"}


@pytest.mark.parametrize("lang, text", [("en", "Where is my parcel?"), ("ja", "返品したいです")])
def test_a_remembered_question_is_analysed_the_same_and_each_caller_gets_its_own_terms(
    lang: str, text: str
) -> None:
    """The search, the policy and the composer each analyse the same question: the second
    time comes from memory, and one caller changing its list changes nobody else's."""
    analyzer = get_analyzer(lang)
    first = analyzer.analyze(text)
    first.append("changed by a caller")
    again = analyzer.analyze(text)
    assert again == first[:-1]
    assert again is not analyzer.analyze(text)
