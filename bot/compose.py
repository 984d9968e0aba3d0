"""Turning an article into an answer a customer reads in ten seconds.

The answer is the passage that answers: the best section of the article, and in it the
sentences that match the question best, with a list or table kept whole when it is what
answers. Sentences that only describe the article ("This article explains…") are never
the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot import messages
from retrieval.analysis import READING_PREFIX, get_analyzer

_BLOCK_SPLIT = re.compile(r"\n\s*\n")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\"“(¥0-9])|(?<=[。！？])")
# Sentences about the article itself: they say what it covers, not the answer.
_ABOUT_THE_ARTICLE = re.compile(
    r"^(this (article|page|guide) (explains|describes|covers|lists|tells)|"
    r"(この|本)(記事|ページ)(で|では|は)|.*(について|を)(ご案内|説明)(します|いたします)。?$)",
    re.I,
)
# "How do I…", "返品したい": the steps answer, when the article has them.
_HOW_TO = re.compile(
    r"\bhow (do|can|should|to)\b|\bsteps?\b|\b(want|like|need) to\b|"
    r"したい|方法|手順|やり方|どうすれば|どうやって",
    re.I,
)
_STEP = re.compile(r"^\s*\d+[.)]\s", re.M)
#: Article sentences analysed once: every answer used to run each sentence of its article
#: through the analyser again (half the bot's time per answer). Bounded: a knowledge base
#: larger than this only loses the cache's hits, never its memory.
_CACHED_SENTENCES = 16384
#: Passage budget in characters: a Japanese character carries about twice an English one.
WIDE_LANGUAGES = frozenset({"ja", "zh", "ko"})


def budget_for(lang: str, chars: int) -> int:
    """The passage budget for `lang` given the English one."""
    return chars // 2 if lang in WIDE_LANGUAGES else chars


@dataclass(frozen=True)
class Section:
    """One section of an article: its heading path and text."""

    heading: str
    text: str


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a whole list or table (with the sentence that introduces it)."""

    text: str
    block: int
    structured: bool


def _blocks(text: str) -> list[str]:
    """Paragraphs, with a list kept together with the sentence that introduces it."""
    blocks: list[str] = []
    for block in (b.strip() for b in _BLOCK_SPLIT.split(text) if b.strip()):
        starts_list = bool(_LIST_ITEM.match(block) or _TABLE_ROW.match(block))
        if starts_list and blocks and blocks[-1].rstrip().endswith((":", "：")):
            blocks[-1] = f"{blocks[-1]}\n{block}"
        else:
            blocks.append(block)
    return blocks


def _is_structured(block: str) -> bool:
    return any(_LIST_ITEM.match(line) or _TABLE_ROW.match(line) for line in block.splitlines())


@lru_cache(maxsize=_CACHED_SENTENCES // 8)
def _units(text: str) -> tuple[_Unit, ...]:
    units: list[_Unit] = []
    for number, block in enumerate(_blocks(text)):
        if _is_structured(block):
            units.append(_Unit(block, number, True))
            continue
        for sentence in _SENTENCE_END.split(block):
            if sentence.strip():
                units.append(_Unit(sentence.strip(), number, False))
    return tuple(units)


def _words(text: str, lang: str) -> frozenset[str]:
    """The words of a text that can match a question's (readings left out)."""
    return frozenset(
        t for t in get_analyzer(lang).analyze(text) if not t.startswith(READING_PREFIX)
    )


_terms = lru_cache(maxsize=_CACHED_SENTENCES)(_words)  # articles' sentences, not questions


class _Scorer:
    def __init__(self, question: str, lang: str) -> None:
        self.lang = lang
        self.wanted = _words(question, lang)

    def _terms(self, text: str) -> frozenset[str]:
        return _terms(text, self.lang)

    def __call__(self, text: str) -> float:
        if _ABOUT_THE_ARTICLE.match(text.strip()):
            return -1.0
        return float(len(self.wanted & self._terms(text)))

    def about(self, text: str) -> float:
        """How well a sentence saying what the article covers matches (0 for others)."""
        if not _ABOUT_THE_ARTICLE.match(text.strip()):
            return 0.0
        return float(len(self.wanted & self._terms(text)))


def compose_answer(
    sections: Sequence[Section],
    question: str,
    lang: str,
    max_chars: int,
    *,
    preferred: Sequence[str] = (),
) -> str:
    """The passage of an article that answers `question`, at most about `max_chars` long.

    Args:
        sections: The article's sections in reading order.
        question: What the customer asked.
        lang: The article's language.
        max_chars: The passage budget; a list or table that answers is kept whole up to
            half as much again.
        preferred: Headings retrieval ranked best, best first; they break near ties.

    Returns:
        Markdown: the best sentences of the best section, in reading order.
    """
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        return ""
    score = _Scorer(question, lang)
    how_to = bool(_HOW_TO.search(question))
    best: tuple[float, int] | None = None
    plain_best = 0.0
    about = 0.0  # how well the sentences saying what the article covers match
    for index, section in enumerate(sections):
        units = _units(section.text)
        about = max([about, *(score.about(u.text) for u in units)])
        top = max((score(u.text) for u in units), default=0.0)
        heading = section.heading.split(" > ")[-1]
        value = top + 2 * score(heading) if heading else top
        if how_to and _STEP.search(section.text):
            value += 1
        plain_best = max(plain_best, value)
        if section.heading in preferred:
            value += 1.5 - preferred.index(section.heading) * 0.5
        if best is None or value > best[0]:
            best = (value, index)
    assert best is not None
    headings = [s.heading.split(" > ")[-1] for s in sections if s.heading]
    if 2 <= about == len(score.wanted) and about >= plain_best - 1 and len(headings) >= 3:
        # A question about the article's whole topic ("what payment methods do you
        # accept?"): what it covers answers it better than any one section.
        items = "\n".join(f"- {h}" for h in dict.fromkeys(headings))
        return f"{messages.text('answer_overview', lang)}\n{items}"
    return _passage(_units(sections[best[1]].text), score, max_chars)


def _passage(units: Sequence[_Unit], score: _Scorer, max_chars: int) -> str:
    if not units:
        return ""
    scores = [score(u.text) for u in units]
    first = max(range(len(units)), key=lambda i: (scores[i], -i))
    if len(units[first].text) > max_chars:
        return _trim(
            units[first].text, max_chars * 3 // 2 if units[first].structured else max_chars
        )
    chosen = {first}
    used = len(units[first].text)
    # More sentences that match, nearest first; then what follows, while there is room.
    ranked = sorted(
        (i for i in range(len(units)) if i != first and scores[i] > 0),
        key=lambda i: (-scores[i], abs(i - first)),
    )
    following = [i for i in range(first + 1, len(units)) if units[i].block == units[first].block]
    for i in [*ranked, *following]:
        if i in chosen or used + len(units[i].text) > max_chars:
            continue
        if i not in ranked and (used > max_chars * 0.6 or scores[i] < 0):
            break
        chosen.add(i)
        used += len(units[i].text)
    parts: list[str] = []
    previous: _Unit | None = None
    for i in sorted(chosen):
        unit = units[i]
        if previous is not None and previous.block == unit.block and not unit.structured:
            parts[-1] = f"{parts[-1]}{'' if parts[-1].endswith('。') else ' '}{unit.text}"
        else:
            parts.append(unit.text)
        previous = unit
    return "\n\n".join(parts)


def excerpt(passage: str, question: str, lang: str, max_chars: int = 700) -> str:
    """The part of one passage that best answers `question`, within `max_chars`."""
    passage = passage.strip()
    if len(passage) <= max_chars:
        return passage
    return _passage(_units(passage), _Scorer(question, lang), max_chars)


def _trim(block: str, max_chars: int) -> str:
    """Cut a block at a line or sentence end before `max_chars`."""
    if len(block) <= max_chars:
        return block
    cut = block[:max_chars]
    for marker in ("\n", "。", ". "):
        position = cut.rfind(marker)
        if position > max_chars // 2:
            return cut[: position + len(marker)].rstrip() + " …"
    return cut.rstrip() + " …"
