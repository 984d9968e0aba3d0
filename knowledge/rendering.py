"""Markdown to safe HTML: the one way answers, agent replies and previews are rendered.

markdown-it parses CommonMark with raw HTML disabled; nh3 (Ammonia) then keeps only an
allow-list of tags and attributes and http(s)/mailto links, so `<script>`, event-handler
attributes and `javascript:` links never reach a page.
"""

from __future__ import annotations

import html
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("table")
_markdown.enable("strikethrough")
# markdown-it builds its rule lists on the first render, and a render in another thread
# meanwhile sees them half built (no rule matched: an error; rules missing: **bold** left
# as is). Built here, once, on import; renders then only read them.
_markdown.render("x *y* ~~z~~\n\n| a |\n|---|\n| b |\n")

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


#: rendered texts remembered (the bot's answers repeat: the same sections of the same
#: articles, ~0.25 ms a render); only short ones: at most ~20 MiB (1,024 texts of 4,000
#: Japanese characters and their HTML), a few MiB for the bot's usual answers
RENDERED_CACHE_SIZE = 1024
RENDERED_CACHE_MAX_CHARS = 4000


def render_markdown(text: str) -> str:
    """Sanitised HTML for Markdown text."""
    if len(text) <= RENDERED_CACHE_MAX_CHARS:
        return _render_remembered(text)
    return _render(text)


@lru_cache(maxsize=RENDERED_CACHE_SIZE)
def _render_remembered(text: str) -> str:
    return _render(text)


def _render(text: str) -> str:
    return nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_plain(text: str) -> str:
    """HTML for plain text (what customers type): escaped, line breaks kept."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
