"""The context panel's suggested articles: at most three, for what the customer needs now,
with previews rendered as the widget renders answers."""

from __future__ import annotations

from handoff.context import EXCERPT_CHARS, _excerpt
from knowledge.rendering import render_markdown

TABLE = "| Method | Days |\n|---|---|\n" + "".join(f"| Card {n} | {n} |\n" for n in range(60))


def test_a_long_passage_is_cut_at_a_line_so_its_table_still_renders() -> None:
    excerpt = _excerpt(TABLE)
    assert len(excerpt) <= EXCERPT_CHARS and excerpt.endswith("|")
    html = render_markdown(excerpt)
    assert "<table>" in html and "|" not in html, "a table, not raw Markdown"


def test_a_short_passage_is_kept_whole_and_one_long_line_is_cut_with_an_ellipsis() -> None:
    assert _excerpt("Refunds take **5 days**.") == "Refunds take **5 days**."
    cut = _excerpt("word " * 400)
    assert len(cut) == EXCERPT_CHARS and cut.endswith("…")
