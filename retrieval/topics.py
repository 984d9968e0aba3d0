"""Labels for groups of customer questions, in the words the customers wrote.

The analyser's index terms are the wrong words for a label a person reads: stems
("deliveri"), normalised forms, readings (`@ヘンピン`) and, for kana typed without
conversion, the analyser's guesses (へんぴん -> 辺鄙). `customer_words` keeps the words as
typed; `topic_label` names a group of questions by the ones most of them share.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from retrieval.analysis import _EN_STOPWORDS, _JA_STOPWORDS, _KANJI, _sudachi_dictionary

_LATIN = re.compile(r"[a-z0-9][a-z0-9'’-]*")
_JAPANESE = re.compile(r"[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
# What separates the words of kana typed without conversion: particles, request endings.
_KANA_BREAKS = re.compile(
    r"(?:したい|します|しました|できます|できる|できない|ですか|ですが|でしょうか|ください|"
    r"ほしい|って|から|まで|ので|けど|です|ます|ない|たい|を|が|は|に|で|の|と|も|か|よ|ね)"
)
_ROMAJI_FUNCTION_WORDS = frozenset(
    "wa ga wo o ni de no to mo ka yo ne desu masu shitai shimasu dekimasu dekiru kudasai "
    "onegai nai ii".split()
)
_LABEL_POS = frozenset({"名詞", "形状詞"})


def customer_words(text: str, lang: str) -> list[str]:
    """The content words of a message as the customer wrote them, in order, once each.

    Args:
        text: The customer's message.
        lang: Its language ("en", "ja"; others are read as English).
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    words: list[str] = []
    if lang == "ja" and _JAPANESE.search(norm):
        if _KANJI.search(norm):
            tokenizer = _sudachi_dictionary().tokenizer()
            for morpheme in tokenizer.tokenize(norm):
                surface = morpheme.surface()
                if (
                    morpheme.part_of_speech()[0] in _LABEL_POS
                    and morpheme.normalized_form() not in _JA_STOPWORDS
                    and morpheme.part_of_speech()[1] != "数詞"
                    and len(surface) > 1
                ):
                    words.append(surface)
        else:
            for run in re.findall(r"[\u3041-\u30ffー]+", norm):
                words.extend(p for p in _KANA_BREAKS.split(run) if len(p) >= 2)
        words.extend(w for w in _LATIN.findall(norm) if w not in _EN_STOPWORDS)
    elif lang == "ja":  # romaji
        words = [w for w in _LATIN.findall(norm) if w not in _ROMAJI_FUNCTION_WORDS]
    else:
        words = [w for w in _LATIN.findall(norm) if w not in _EN_STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(words))


def topic_label(texts: Iterable[str], lang: str, words: int = 3) -> str:
    """The words most of the questions share, as typed ("返品 / 期限"); "" for none.

    Each question counts a word once; ties go to the word seen first.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(customer_words(text, lang))
    return " / ".join(word for word, _ in counts.most_common(words))
