"""Language-aware text analysis for the lexical retriever.

English: Unicode normalisation, lower case, stop words removed, Snowball stems.
Japanese: SudachiPy morphological analysis (core dictionary from PyPI). Each content word
is indexed at two granularities (Sudachi's long C units and their short A parts, in
normalised form, so 受取/受け取り and 支払期限/支払い+期限 meet), plus bigrams of its
katakana reading so that a query typed in kana (へんぴん, ぱすわーど) still finds 返品,
パスワード. Latin words inside Japanese text go through the English analyser.

Each content word is also indexed by its whole reading (`@ヘンピン` beside 返品), so a
question typed in kana or romaji without kana-kanji conversion ("へんぴん", "henpin",
"kyanseru dekimasu ka") meets the articles' words: `reading_words` cuts such a question
into the readings the index knows (longest first), and the analyser's own guesses at
converting unconverted kana (へんぴん -> 辺鄙) are dropped.

A negated verb adds a token of its own (届く-ない for 届かない / 届きません), so "has not
arrived" finds the article about parcels that have not arrived, not every article that
mentions delivery.

Tokens that start with READING_PREFIX are fuzzy reading bigrams; they help ranking but
are left out of term coverage (see `retrieval.lexical`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cache
from typing import Any

import Stemmer  # PyStemmer
from bm25s.stopwords import STOPWORDS_EN

from retrieval.batching import LRUCache
from retrieval.romaji import romaji_to_hiragana

READING_PREFIX = "~"
READING_WORD_PREFIX = "@"
NEGATED_SUFFIX = "-ない"
Tokens = list[str]

_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# Keep e-mail/log-in style compounds together before splitting on punctuation.
_HYPHEN_COMPOUNDS = re.compile(r"\b(e|re|log|sign|check|pre|co)-(?=[a-z])")
_EN_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(
    "i me my mine myself we our ours you your yours he him his she her it its they them their "
    "what which who whom whose when where why how am im ive id ill dont doesnt didnt cant wont "
    "can could would should shall may might must do does did done have has had having get got "
    "please hi hello hey thanks thank ok okay like want wanna need just also so very really "
    "there here about from into onto out up down over again any some all more most other "
    "u ur pls plz".split()
)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width, compatibility forms) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


RECENT_TEXTS = 1024  # analysed texts remembered, per analyser
RECENT_MAX_CHARS = 500  # of at most this length (questions, not passages)


class Analyzer(ABC):
    """Turns text into index terms; one public method, subclasses implement `_analyze`."""

    lang: str = ""
    _recent: LRUCache[str, tuple[str, ...]] | None = None

    def analyze(self, text: str) -> Tokens:
        """Index terms of `text` (empty for text with nothing searchable)."""
        if not text or not text.strip():
            return []
        if len(text) > RECENT_MAX_CHARS:  # passages being indexed: each is analysed once
            return self._analyze(normalize(text))
        # a question is analysed by the search, the policy and the answer's composer
        recent = self._recent
        if recent is None:
            recent = self._recent = LRUCache(RECENT_TEXTS)
        terms = recent.get(text)
        if terms is None:
            terms = tuple(self._analyze(normalize(text)))
            recent.put(text, terms)
        return list(terms)

    @abstractmethod
    def _analyze(self, text: str) -> Tokens: ...


class EnglishAnalyzer(Analyzer):
    """Lower case, stop words removed, Snowball (Porter 2) stems."""

    lang = "en"

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def _stemmer(self) -> Any:
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:  # PyStemmer objects are not thread-safe: one per thread
            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        return stemmer

    def words(self, text: str) -> Tokens:
        """Stemmed content words of already-normalised text."""
        text = _HYPHEN_COMPOUNDS.sub(r"\1", text)
        words = [w.replace("’", "'").split("'")[0] for w in _LATIN_WORD.findall(text)]
        words = [w for w in words if w and w not in _EN_STOPWORDS]
        return list(self._stemmer.stemWords(words))

    def _analyze(self, text: str) -> Tokens:
        return self.words(text)


# Parts of speech that carry no topic: particles, auxiliaries, symbols, blanks, adverbs
# (まだ, もう, すぐ: one article's まだ made it the answer to 「まだ届きません」).
_JA_SKIP_POS = frozenset(
    {"助詞", "助動詞", "補助記号", "記号", "空白", "感動詞", "接続詞", "代名詞", "副詞"}
)
# Adverbs that say what a question is about: いくら asks a price (送料はいくら; Sudachi
# reads いくら以上 as a noun, kept anyway).
_JA_TOPIC_ADVERBS = frozenset({"幾ら"})
# Light verbs and formal nouns that appear in almost every sentence.
_JA_STOPWORDS = frozenset(
    {
        "為る",
        "有る",
        "居る",
        "成る",
        "出来る",
        "こと",
        "もの",
        "ため",
        "よう",
        "方",
        "時",
        "場合",
        "下さる",
        "致す",
        "頂く",
        "御",
        "お",
        "ご",
        "様",
        "其の",
        "此の",
        "の",
        "ん",
        "さん",
        "思う",
        "言う",
        "貰う",
        "良い",
        "ない",
        "無い",
        "なる",
        "れる",
        "られる",
        "他",
        "等",
        # question words and request phrasing: how a question is asked, not what about
        "どう",
        "如何",
        "何故",
        "一寸",
        "教える",
        "欲しい",
        "知る",
    }
)
_KATAKANA = re.compile(r"^[\u30a0-\u30ffー]+$")
# Words whose reading is their dictionary reading (verbs inflect: 届き, 届か, 届く).
_READING_POS = frozenset({"名詞", "形状詞"})
_HIRAGANA = re.compile(r"^[\u3041-\u309fー]+$")
_HAS_LATIN = re.compile(r"[a-z0-9]")


class JapaneseAnalyzer(Analyzer):
    """SudachiPy (core dictionary) morphological analysis with multi-granular terms."""

    lang = "ja"

    def __init__(self, reading_bigrams: bool = True) -> None:
        self.reading_bigrams = reading_bigrams
        self._english = EnglishAnalyzer()
        self._local = threading.local()

    @property
    def _tokenizer(self) -> Any:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:  # Sudachi tokenizers are not shareable across threads
            from sudachipy import SplitMode

            tokenizer = self._local.tokenizer = _sudachi_dictionary().tokenizer(mode=SplitMode.C)
        return tokenizer

    def _analyze(self, text: str) -> Tokens:
        from sudachipy import SplitMode

        if not _JAPANESE.search(text):  # "taikai shitai" -> たいかい したい
            text = romaji_to_hiragana(text, require_marker=False) or text
        converted = bool(_KANJI.search(text))
        terms: Tokens = []
        readings: list[str] = []
        morphemes = list(self._tokenizer.tokenize(text))
        for position, morpheme in enumerate(morphemes):
            pos = morpheme.part_of_speech()
            form = morpheme.normalized_form()
            if pos[0] in _JA_SKIP_POS and form not in _JA_TOPIC_ADVERBS:
                continue
            surface = morpheme.surface()
            if _HAS_LATIN.search(surface):
                terms.extend(self._english.words(surface))
                continue
            if form in _JA_STOPWORDS or pos[1] == "数詞" and len(surface) == 1:
                continue
            if not converted and (_KANJI.search(form) or _HIRAGANA.match(surface)):
                # unconverted kana: the analyser's split and its guess at a conversion
                # (へんぴ -> 辺鄙) are unreliable; `reading_words` reads it instead
                continue
            terms.append(form)
            if pos[0] == "動詞" and _negated(morphemes, position):
                terms.append(f"{form}{NEGATED_SUFFIX}")  # 届かない, 届きません: not arrived
            parts = morpheme.split(SplitMode.A)
            if len(parts) > 1:
                kept = [
                    p
                    for p in parts
                    if p.normalized_form() not in _JA_STOPWORDS
                    and p.part_of_speech()[0] not in _JA_SKIP_POS
                ]
                terms.extend(p.normalized_form() for p in kept)
                if converted:
                    terms.extend(_reading_word(p) for p in kept if _reading_word(p))
            if converted and _reading_word(morpheme):
                terms.append(_reading_word(morpheme))
            reading = morpheme.reading_form()
            if _KATAKANA.match(reading):
                readings.append(reading)
        if not _KANJI.search(text):
            # Typed without kana-kanji conversion (へんぴんできる？): the analyser's split of
            # unconverted kana is unreliable, so read whole kana runs instead.
            readings.extend(_to_katakana(run) for run in _KANA_RUN.findall(text))
        if self.reading_bigrams:
            for reading in readings:
                terms.extend(
                    f"{READING_PREFIX}{reading[i : i + 2]}" for i in range(max(1, len(reading) - 1))
                )
        return terms


_JAPANESE = re.compile(r"[\u3041-\u30ff\u4e00-\u9fff]")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_KANA_RUN = re.compile(r"[\u3041-\u3096\u30a1-\u30faー]{3,}")
_KANA_RUN_ANY = re.compile(r"[\u3041-\u3096\u30a1-\u30faー]{2,}")


# What may stand between a verb and its negation: 届き|ませ|ん, 届い|て|い|ない.
_NEGATION_BRIDGE = frozenset({"ます", "て", "居る", "おる", "た"})
_NEGATION = frozenset({"ない", "ず", "ぬ"})


def _reading_word(morpheme: Any) -> str:
    """`@` + the reading of a noun (verbs inflect: 届き, 届か), or "" for none."""
    reading = morpheme.reading_form()
    noun = morpheme.part_of_speech()[0] in _READING_POS
    if noun and len(reading) >= 2 and _KATAKANA.match(reading):
        return f"{READING_WORD_PREFIX}{reading}"
    return ""


def _negated(morphemes: list[Any], position: int) -> bool:
    """Whether the verb at `position` is negated (届かない, 届きません, 届いていない)."""
    for following in morphemes[position + 1 : position + 5]:
        form = following.normalized_form()
        if form in _NEGATION:
            return True
        if form not in _NEGATION_BRIDGE:
            return False
    return False


def reading_words(text: str, known: Callable[[str], bool], longest: int = 10) -> Tokens:
    """The whole-word reading tokens the index knows in a question typed without kanji.

    Kana runs (or romaji turned into kana) are cut greedily, longest known reading first:
    "へんぴんしたい" gives `@ヘンピン` when an article has 返品. Text with kanji gives none
    (its words carry their readings already).

    Args:
        text: The question.
        known: Whether a token (`@` + katakana reading) is in the index.
        longest: The longest reading tried, in kana.
    """
    text = normalize(text)
    if _KANJI.search(text):
        return []
    if not _JAPANESE.search(text):
        text = romaji_to_hiragana(text, require_marker=False) or ""
    found: Tokens = []
    for run in _KANA_RUN_ANY.findall(text):
        kana = _to_katakana(run)
        i = 0
        while i < len(kana) - 1:
            for j in range(min(len(kana), i + longest), i + 1, -1):
                token = f"{READING_WORD_PREFIX}{kana[i:j]}"
                if known(token):
                    found.append(token)
                    i = j
                    break
            else:
                i += 1
    return found


def _to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


class GenericAnalyzer(Analyzer):
    """For languages without a dedicated analyser: words, and character bigrams for CJK."""

    _WORD = re.compile(r"\w+")

    def _analyze(self, text: str) -> Tokens:
        terms: Tokens = []
        for word in self._WORD.findall(text):
            if any(unicodedata.east_asian_width(c) == "W" for c in word) and len(word) > 1:
                terms.extend(word[i : i + 2] for i in range(len(word) - 1))
            else:
                terms.append(word)
        return terms


@cache
def _sudachi_dictionary() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core")


_SHORT_UNITS = threading.local()


def japanese_morphemes(text: str) -> list[tuple[str, str, str, str]]:
    """(surface, normalised form, katakana reading, part of speech) of each of Sudachi's
    short (A) units of `text`: for readers outside retrieval (the bot's lexical features)."""
    tokenizer = getattr(_SHORT_UNITS, "tokenizer", None)
    if tokenizer is None:  # one per thread, as in JapaneseAnalyzer
        from sudachipy import SplitMode

        tokenizer = _SHORT_UNITS.tokenizer = _sudachi_dictionary().tokenizer(mode=SplitMode.A)
    return [
        (m.surface(), m.normalized_form(), m.reading_form(), m.part_of_speech()[0])
        for m in tokenizer.tokenize(text)
    ]


_ANALYZERS: dict[str, type[Analyzer]] = {"en": EnglishAnalyzer, "ja": JapaneseAnalyzer}


@cache
def get_analyzer(lang: str) -> Analyzer:
    """The analyser for a language (a generic one for languages without their own)."""
    cls = _ANALYZERS.get(lang)
    if cls is None:
        analyzer = GenericAnalyzer()
        analyzer.lang = lang
        return analyzer
    return cls()
