"""Markdown to safe HTML, on its own (the editor preview and the chat use it)."""

from __future__ import annotations

from html.parser import HTMLParser

from knowledge.rendering import render_markdown, render_plain


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(html: str) -> None:
    """No script or image element, no event handler, no javascript: link."""
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in ("script", "img", "iframe", "style"), html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert not (value or "").strip().lower().startswith("javascript:"), html


HOSTILE = (
    "Hi <script>alert(1)</script> [click](javascript:alert(1)) "
    '<img src=x onerror="alert(1)"> <a href="#" onclick="steal()">x</a>'
)


def test_markdown_keeps_formatting_and_drops_anything_active() -> None:
    html = render_markdown(HOSTILE)
    assert_inert(html)
    assert "&lt;script&gt;" in html, "raw HTML is shown as text"
    assert render_markdown("**bold** and [a link](https://example.com)") == (
        '<p><strong>bold</strong> and <a href="https://example.com" '
        'rel="noopener noreferrer nofollow">a link</a></p>\n'
    )
    table = render_markdown("| a | b |\n|---|:-:|\n| 1 | 2 |")
    assert "<table>" in table and "<td>2</td>" in table
    assert render_markdown("~~old~~") == "<p><s>old</s></p>\n"


def test_plain_text_is_escaped_with_its_line_breaks() -> None:
    assert render_plain("Hi <b>there</b>\nsecond line\n\n\n\nnew para") == (
        "<p>Hi &lt;b&gt;there&lt;/b&gt;<br>second line</p><p>new para</p>"
    )
    assert render_plain("  \n\n ") == ""
