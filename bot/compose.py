"""Turning a retrieved section into an answer: the part that answers, not the whole article."""

from __future__ import annotations

import re

from retrieval.analysis import READING_PREFIX, get_analyzer

_BLOCK_SPLIT = re.compile(r"\n\s*\n")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _blocks(text: str) -> list[str]:
    """Paragraphs, with a list kept together with the sentence that introduces it."""
    blocks: list[str] = []
    for block in (b.strip() for b in _BLOCK_SPLIT.split(text) if b.strip()):
        starts_list = bool(_LIST_ITEM.match(block))
        if starts_list and blocks and blocks[-1].rstrip().endswith((":", "：")):
            blocks[-1] = f"{blocks[-1]}\n{block}"
        else:
            blocks.append(block)
    return blocks


def excerpt(passage: str, question: str, lang: str, max_chars: int = 700) -> str:
    """The blocks of `passage` that best match `question`, in reading order, within budget.

    A short passage is returned whole. Otherwise blocks are ranked by how many of the
    question's terms they contain; the best is always kept, then the next best while the
    budget allows.
    """
    passage = passage.strip()
    if len(passage) <= max_chars:
        return passage
    blocks = _blocks(passage)
    if len(blocks) == 1:
        return _trim(blocks[0], max_chars)
    analyzer = get_analyzer(lang)
    wanted = {t for t in analyzer.analyze(question) if not t.startswith(READING_PREFIX)}
    scores = [len(wanted & set(analyzer.analyze(b))) for b in blocks]
    order = sorted(range(len(blocks)), key=lambda i: (-scores[i], i))
    chosen = [order[0]]
    used = len(blocks[order[0]])
    for i in order[1:]:
        if scores[i] == 0 or used + len(blocks[i]) > max_chars:
            continue
        chosen.append(i)
        used += len(blocks[i])
    if len(chosen) == 1 and used > max_chars:
        return _trim(blocks[chosen[0]], max_chars)
    return "\n\n".join(blocks[i] for i in sorted(chosen))


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
