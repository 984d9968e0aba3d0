"""chunk_article: one chunk per Markdown section, long sections split at paragraphs."""

from __future__ import annotations

import pytest

from retrieval.chunking import chunk_article
from retrieval.kb import Article


def article(body: str, id: str = "guide", title: str = "Returns guide") -> Article:
    return Article(id=id, title=title, lang="en", body=body)


NESTED = """\
Intro before any heading.

# Returns
Overview of returns.

## Conditions
Within 30 days.

### Exceptions
Underwear cannot be returned.

## Fees
Returns cost 500 yen.

# Refunds
Refunds take 5 days.
"""


def test_sections_are_split_by_headings_with_their_heading_path() -> None:
    chunks = chunk_article(article(NESTED))
    assert [(c.heading, c.text) for c in chunks] == [
        ("", "Intro before any heading."),
        ("Returns", "Overview of returns."),
        ("Returns > Conditions", "Within 30 days."),
        ("Returns > Conditions > Exceptions", "Underwear cannot be returned."),
        ("Returns > Fees", "Returns cost 500 yen."),
        ("Refunds", "Refunds take 5 days."),
    ]


def test_chunks_are_in_reading_order_and_belong_to_the_article() -> None:
    chunks = chunk_article(article(NESTED))
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert {(c.article_id, c.lang, c.title) for c in chunks} == {("guide", "en", "Returns guide")}


def test_heading_without_text_gives_no_empty_chunk() -> None:
    chunks = chunk_article(article("# Empty\n\n## Also empty\nFinally some text."))
    assert [(c.heading, c.text) for c in chunks] == [("Empty > Also empty", "Finally some text.")]


def test_closing_hashes_are_not_part_of_the_heading() -> None:
    (chunk,) = chunk_article(article("## Shipping fees ##\nFree over 5000 yen."))
    assert chunk.heading == "Shipping fees"


def test_hash_without_space_is_not_a_heading() -> None:
    (chunk,) = chunk_article(article("#hashtag is not a heading\nmore text"))
    assert chunk.heading == ""
    assert "#hashtag" in chunk.text


def test_title_and_heading_are_carried_in_search_text() -> None:
    chunks = chunk_article(article(NESTED, title="How to return an item"))
    for chunk in chunks:
        assert chunk.search_text.startswith("How to return an item\n")
        assert chunk.text in chunk.search_text
        assert chunk.heading in chunk.search_text
    fees = next(c for c in chunks if c.heading.endswith("Fees"))
    assert fees.search_text == "How to return an item\nReturns > Fees\nReturns cost 500 yen."


FEES = """\
## Standard and express delivery
| Option | Delivery time | Fee |
|---|:---:|---|
| **Standard** | 2–4 business days | ¥550, **free on orders of ¥5,000 or more** |
| **Express** | Next day |  |

Express is not available to remote islands | ask us.
"""


def test_a_table_is_read_row_by_row_as_header_and_cell() -> None:
    """The retrievers read what a row means ("Fee: ¥550"), not pipes and dashes; the
    customer is shown the table as written."""
    [chunk] = chunk_article(article(FEES, title="Delivery options and shipping fees"))
    assert chunk.search_text.splitlines()[2:5] == [
        "Option: Standard; Delivery time: 2–4 business days; "
        "Fee: ¥550, free on orders of ¥5,000 or more",
        "Option: Express; Delivery time: Next day",
        "",
    ]
    assert "Express is not available to remote islands | ask us." in chunk.search_text
    assert chunk.text.startswith("| Option | Delivery time | Fee |\n|---|:---:|---|")


@pytest.mark.parametrize("fence", ["```", "~~~"])
def test_headings_inside_code_fences_are_not_split(fence: str) -> None:
    body = (
        "## Config\n"
        "Put this in your file:\n"
        f"{fence}bash\n"
        "# not a heading, a shell comment\n"
        "## neither is this\n"
        "export TOKEN=abc\n"
        f"{fence}\n"
        "Then restart.\n"
        "## Next\n"
        "Done."
    )
    chunks = chunk_article(article(body))
    assert [c.heading for c in chunks] == ["Config", "Next"]
    assert "# not a heading, a shell comment" in chunks[0].text
    assert "## neither is this" in chunks[0].text
    assert chunks[0].text.endswith("Then restart.")


def paragraphs(n: int, size: int = 90) -> list[str]:
    return [f"P{i:02d} " + "x" * (size - 4) for i in range(n)]


def test_long_sections_split_at_paragraph_boundaries_near_max_chars() -> None:
    paras = paragraphs(20)
    body = "## Long\n" + "\n\n".join(paras)
    max_chars = 300
    chunks = chunk_article(article(body), max_chars=max_chars)

    assert len(chunks) > 1
    assert all(c.heading == "Long" for c in chunks)
    pieces = [c.text.split("\n\n") for c in chunks]
    # Nothing lost, nothing reordered, no paragraph cut in the middle.
    assert [p for piece in pieces for p in piece] == paras
    for chunk, next_piece in zip(chunks, pieces[1:] + [None], strict=True):
        assert len(chunk.text) <= max_chars
        if next_piece is not None:
            # Greedy: the next paragraph would not have fitted ("near" max_chars).
            assert len(chunk.text) + 2 + len(next_piece[0]) > max_chars


def test_short_sections_are_not_split() -> None:
    body = "## Short\n" + "\n\n".join(paragraphs(3))
    (chunk,) = chunk_article(article(body), max_chars=1200)
    assert chunk.text == "\n\n".join(paragraphs(3))


def test_a_long_paragraph_is_split_at_line_boundaries() -> None:
    lines = [f"line {i:02d} " + "y" * 60 for i in range(12)]
    chunks = chunk_article(article("\n".join(lines)), max_chars=200)
    assert len(chunks) > 1
    assert all(len(c.text) <= 200 for c in chunks)
    rejoined = [line for c in chunks for line in c.text.replace("\n\n", "\n").splitlines()]
    assert rejoined == lines


def test_chunk_ids_are_stable_across_calls() -> None:
    first = [c.id for c in chunk_article(article(NESTED))]
    again = [c.id for c in chunk_article(article(NESTED))]
    assert first == again


def test_chunk_ids_do_not_depend_on_the_text() -> None:
    """Editing a section keeps its id, so the index updates it in place."""
    before = chunk_article(article(NESTED))
    after = chunk_article(article(NESTED.replace("30 days", "14 days")))
    assert [c.id for c in before] == [c.id for c in after]


def test_chunk_ids_are_distinct_across_positions_and_articles() -> None:
    a = chunk_article(article(NESTED, id="guide-a"))
    b = chunk_article(article(NESTED, id="guide-b"))
    ids = [c.id for c in a + b]
    assert len(ids) == len(set(ids))
    assert all(0 < i < 2**63 for i in ids)  # faiss ids are signed 64-bit


def test_an_article_with_a_body_always_has_a_chunk() -> None:
    chunks = chunk_article(article("# Only a heading\nand one line"))
    assert len(chunks) == 1


def test_japanese_article_is_chunked_by_headings() -> None:
    ja = Article(
        id="return-item-ja",
        title="返品の方法",
        lang="ja",
        body=(
            "返品の条件と手順です。\n\n"
            "## 返品の条件\n未使用であること\n\n"
            "## 返品の手順\nマイページから申し込みます。"
        ),
    )
    chunks = chunk_article(ja)
    assert [c.heading for c in chunks] == ["", "返品の条件", "返品の手順"]
    assert all(c.lang == "ja" and c.search_text.startswith("返品の方法\n") for c in chunks)


def test_questions_follow_the_sections_and_are_searched_as_written() -> None:
    article = Article(
        id="track",
        title="Tracking your parcel",
        lang="en",
        body="Intro.\n\n## Tracking number\nIn the shipping e-mail.",
        questions=("my stuff still hasn't come", "where's my order"),
    )
    chunks = chunk_article(article)
    assert [c.question for c in chunks] == [False, False, True, True]
    assert [c.search_text for c in chunks[2:]] == ["my stuff still hasn't come", "where's my order"]
    assert chunks[1].id == chunk_article(Article("track", "T", "en", article.body))[1].id
