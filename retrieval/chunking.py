"""Section-aware chunking: one chunk per Markdown section, the title carried into each,
then one per customer question the article lists (`Article.questions`).

The retrievers read a Markdown table row by row as "header: cell" pairs
(`| **Standard** | 2–4 business days | ¥550 |` under `| Option | Delivery time | Fee |`
reads "Option: Standard; Delivery time: 2–4 business days; Fee: ¥550"): the embedding
model read the pipes and dashes of a fee table so poorly that "How much is shipping?"
was answered from the article's other sections. Customers still see the table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from retrieval.kb import Article

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?\s*)?\|?\s*$")
EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


@dataclass(frozen=True)
class Chunk:
    """A passage of one article: a section (or part of a long one)."""

    id: int
    article_id: str
    lang: str
    title: str
    heading: str
    text: str
    position: int
    # a customer's question the article answers: searched like a section, never shown
    question: bool = False

    @property
    def search_text(self) -> str:
        """What the retrievers see: title and heading give a section its context; a
        question is matched as the customer wrote it."""
        if self.question:
            return self.text
        parts = [self.title]
        if self.heading:
            parts.append(self.heading)
        parts.append(readable_tables(self.text))
        return "\n".join(parts)


def readable_tables(text: str) -> str:
    """`text` with each Markdown table (a header row, a rule, rows) written out a row a
    line as "header: cell" pairs; everything else as it is."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and TABLE_ROW.match(lines[i]) and TABLE_RULE.match(lines[i + 1]):
            headers = _cells(lines[i])
            i += 2
            while i < len(lines) and TABLE_ROW.match(lines[i]):
                pairs = [
                    f"{header}: {cell}" if header else cell
                    for header, cell in zip(headers, _cells(lines[i]), strict=False)
                    if cell
                ]
                out.append("; ".join(pairs))
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _cells(row: str) -> list[str]:
    row = row.strip().removeprefix("|").removesuffix("|")
    return [EMPHASIS.sub(r"\2", cell).strip() for cell in row.split("|")]


def chunk_id(article_id: str, position: int) -> int:
    """A stable positive 63-bit id for a chunk (faiss ids are signed 64-bit)."""
    digest = hashlib.blake2b(f"{article_id}\x00{position}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def _sections(body: str) -> list[tuple[str, str]]:
    """Split a Markdown body into (heading path, text) pairs, ignoring headings in code."""
    sections: list[tuple[str, str]] = []
    stack: list[tuple[int, str]] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(current).strip()
        if text:
            sections.append((" > ".join(h for _, h in stack), text))
        current.clear()

    for line in body.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(line)
        if match is None:
            current.append(line)
            continue
        flush()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2).strip()))
    flush()
    return sections


def _split_long(text: str, max_chars: int) -> list[str]:
    """Split text at paragraph (then line) boundaries into pieces of at most ~max_chars."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    buf = ""
    units = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    expanded: list[str] = []
    for unit in units:
        expanded.extend(unit.splitlines() if len(unit) > max_chars else [unit])
    for unit in expanded:
        if buf and len(buf) + len(unit) + 2 > max_chars:
            pieces.append(buf)
            buf = unit
        else:
            buf = f"{buf}\n\n{unit}" if buf else unit
    if buf:
        pieces.append(buf)
    return pieces


def chunk_article(article: Article, max_chars: int = 1200) -> list[Chunk]:
    """Cut an article into section chunks.

    Args:
        article: The article.
        max_chars: Sections longer than this are split at paragraph boundaries.

    Returns:
        The sections in reading order (never none for an article with a body), then the
        article's questions.
    """
    parts = [
        (heading, piece, False)
        for heading, text in _sections(article.body)
        for piece in _split_long(text, max_chars)
    ]
    parts += [("", question, True) for question in article.questions]
    return [
        Chunk(
            id=chunk_id(article.id, position),
            article_id=article.id,
            lang=article.lang,
            title=article.title,
            heading=heading,
            text=text,
            position=position,
            question=question,
        )
        for position, (heading, text, question) in enumerate(parts)
    ]
