"""load_kb / parse_article / render_article: the knowledge-base file format."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.errors import KBError
from retrieval.kb import Article, KBProblem, load_kb, parse_article, render_article
from tests.conftest import SAMPLE_KB

GOOD = {"id": "good", "title": "A good article", "lang": "en"}


def only_problem(root: Path) -> KBProblem:
    result = load_kb(root)
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def assert_names_file(problem: KBProblem, path: Path) -> None:
    assert problem.path == str(path)
    assert str(problem).startswith(str(path))


# --------------------------------------------------------------------------- sample KB


def test_sample_kb_loads_without_problems() -> None:
    result = load_kb(SAMPLE_KB)
    assert result.ok, [str(p) for p in result.problems]
    assert result.problems == []


def test_sample_kb_has_enough_articles_per_language_with_unique_ids() -> None:
    articles = load_kb(SAMPLE_KB).articles
    per_lang = Counter(a.lang for a in articles)
    assert per_lang["en"] >= 25
    assert per_lang["ja"] >= 25
    ids = [a.id for a in articles]
    assert len(ids) == len(set(ids))


def test_sample_kb_articles_have_a_title_and_a_body() -> None:
    for article in load_kb(SAMPLE_KB).articles:
        assert article.title.strip(), article.path
        assert article.body.strip(), article.path


# --------------------------------------------------------------------------- good files


def test_a_good_file_loads_with_its_fields(write_article: Callable[..., Path]) -> None:
    path = write_article(
        "en/reset.md",
        body="Click **Forgot password**.",
        id="reset-password",
        title="How to reset your password",
        lang="en",
        tags="[account, login]",
        url="https://help.example.com/reset",
    )
    result = load_kb(path.parent.parent)
    assert result.ok
    (article,) = result.articles
    assert article.id == "reset-password"
    assert article.title == "How to reset your password"
    assert article.lang == "en"
    assert article.tags == ("account", "login")
    assert article.url == "https://help.example.com/reset"
    assert article.body == "Click **Forgot password**."
    assert article.path == str(path)


def test_comma_separated_tags_are_accepted(write_article: Callable[..., Path]) -> None:
    path = write_article("a.md", tags="account, login", **GOOD)
    (article,) = load_kb(path.parent).articles
    assert article.tags == ("account", "login")


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "bom.md").write_text("\ufeff---\nid: bom\ntitle: T\nlang: en\n---\nBody\n", "utf-8")
    result = load_kb(kb)
    assert result.ok
    assert [a.id for a in result.articles] == ["bom"]


# --------------------------------------------------------------------------- bad files


def test_file_without_front_matter(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    path = kb / "plain.md"
    path.write_text("# Just Markdown\n\nNo front matter here.\n", encoding="utf-8")
    problem = only_problem(kb)
    assert_names_file(problem, path)
    assert "does not start with YAML front matter" in problem.message


def test_empty_file_is_reported_not_crashed_on(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    path = kb / "empty.md"
    path.write_text("", encoding="utf-8")
    problem = only_problem(kb)
    assert_names_file(problem, path)
    assert "front matter" in problem.message


def test_unclosed_front_matter(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    path = kb / "open.md"
    path.write_text("---\nid: open\ntitle: T\nlang: en\nBody without a closing line\n", "utf-8")
    problem = only_problem(kb)
    assert_names_file(problem, path)
    assert "not closed" in problem.message


def test_invalid_yaml_names_the_line(write_article: Callable[..., Path]) -> None:
    path = write_article("bad.md", id="bad", title="[unclosed", lang="en")
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert "not valid YAML" in problem.message
    assert "line" in problem.message


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    path = kb / "list.md"
    path.write_text("---\n- id\n- title\n---\nBody\n", encoding="utf-8")
    problem = only_problem(kb)
    assert_names_file(problem, path)
    assert "must be a mapping" in problem.message


@pytest.mark.parametrize("field", ["id", "title", "lang"])
def test_missing_required_field_is_named(write_article: Callable[..., Path], field: str) -> None:
    meta = {k: v for k, v in GOOD.items() if k != field}
    path = write_article("missing.md", **meta)
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert f"no '{field}'" in problem.message


@pytest.mark.parametrize("field", ["id", "title", "lang"])
def test_empty_required_field_is_named(write_article: Callable[..., Path], field: str) -> None:
    path = write_article("blank.md", **{**GOOD, field: '""'})
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert f"'{field}'" in problem.message


@pytest.mark.parametrize("bad_id", ["Reset-Password", "reset password", "-reset", "reset/pw"])
def test_bad_id_characters(write_article: Callable[..., Path], bad_id: str) -> None:
    path = write_article("id.md", **{**GOOD, "id": f'"{bad_id}"'})
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert repr(bad_id) in problem.message
    assert "not allowed" in problem.message


@pytest.mark.parametrize("bad_lang", ["english", "EN", "e", "en-US"])
def test_bad_lang_tag(write_article: Callable[..., Path], bad_lang: str) -> None:
    path = write_article("lang.md", **{**GOOD, "lang": bad_lang})
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert repr(bad_lang) in problem.message
    assert "language tag" in problem.message


@pytest.mark.parametrize("tags", ["{account: 1}", "42", "[[nested, list]]"])
def test_tags_not_a_list_of_words(write_article: Callable[..., Path], tags: str) -> None:
    path = write_article("tags.md", tags=tags, **GOOD)
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert "tags must be a list" in problem.message


@pytest.mark.parametrize("url", ["help.example.com/x", "ftp://example.com/x", "https://", "42"])
def test_bad_url(write_article: Callable[..., Path], url: str) -> None:
    path = write_article("url.md", url=url, **GOOD)
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert "url" in problem.message
    assert "http(s)" in problem.message


@pytest.mark.parametrize("body", ["", "\n\n   \n"])
def test_empty_body(write_article: Callable[..., Path], body: str) -> None:
    path = write_article("empty-body.md", body=body, **GOOD)
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert "body is empty" in problem.message


def test_duplicate_id_names_the_first_file(write_article: Callable[..., Path]) -> None:
    first = write_article("a-first.md", body="First.", **GOOD)
    second = write_article("b-second.md", body="Second.", **GOOD)
    result = load_kb(first.parent)
    assert [a.body for a in result.articles] == ["First."]
    (problem,) = result.problems
    assert_names_file(problem, second)
    assert "duplicate id 'good'" in problem.message
    assert str(first) in problem.message


def test_non_utf8_file(write_article: Callable[..., Path]) -> None:
    path = write_article("latin1.md", **GOOD)
    path.write_bytes("---\nid: cafe\ntitle: Café\nlang: fr\n---\nCrème brûlée\n".encode("latin-1"))
    problem = only_problem(path.parent)
    assert_names_file(problem, path)
    assert "not UTF-8" in problem.message


def test_one_bad_file_never_stops_the_good_ones(
    write_article: Callable[..., Path], tmp_path: Path
) -> None:
    good_ids = []
    for n in range(4):
        write_article(f"good-{n}.md", id=f"good-{n}", title=f"Good {n}", lang="en")
        good_ids.append(f"good-{n}")
    write_article("bad-1.md", id="Bad Id", title="Bad", lang="en")
    write_article("bad-2.md", id="bad-2", title="Bad", lang="english")
    write_article("bad-3.md", id="bad-3", lang="en")
    write_article("bad-4.md", body="", id="bad-4", title="Bad", lang="en")
    (tmp_path / "kb" / "bad-5.md").write_bytes(b"---\nid: x\n---\n\xff\xfe")
    (tmp_path / "kb" / "bad-6.md").write_text("no front matter\n", encoding="utf-8")
    write_article(
        "ja/good-ja.md", body="日本語の本文です。", id="good-ja", title="良い記事", lang="ja"
    )
    good_ids.append("good-ja")

    result = load_kb(tmp_path / "kb")

    assert sorted(a.id for a in result.articles) == sorted(good_ids)
    assert sorted(Path(p.path).name for p in result.problems) == [
        f"bad-{n}.md" for n in range(1, 7)
    ]
    assert not result.ok


def test_missing_folder_raises_kb_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(KBError, match="does not exist") as info:
        load_kb(missing)
    assert str(missing) in str(info.value)


def test_a_file_instead_of_a_folder_raises_kb_error(tmp_path: Path) -> None:
    file = tmp_path / "kb.md"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(KBError, match="not a folder"):
        load_kb(file)


def test_an_empty_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    result = load_kb(tmp_path / "kb")
    assert result.articles == []
    assert not result.ok
    assert "no Markdown" in result.problems[0].message


def test_nested_folders_at_any_depth_are_read(write_article: Callable[..., Path]) -> None:
    top = write_article("top.md", id="top", title="Top", lang="en")
    write_article("en/one.md", id="one", title="One", lang="en")
    write_article("en/billing/two.md", id="two", title="Two", lang="en")
    write_article("ja/a/b/c/d/three.md", id="three", title="三", lang="ja")
    write_article("en/notes.txt", id="txt", title="Not Markdown", lang="en")
    result = load_kb(top.parent)
    assert result.ok
    assert sorted(a.id for a in result.articles) == ["one", "three", "top", "two"]


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize(
    "article",
    [
        Article(id="plain", title="Plain", lang="en", body="Just one line."),
        Article(
            id="reset-password",
            title="How to reset your password: a guide",
            lang="en",
            body="Intro.\n\n## Steps\n1. Open **Settings**.\n2. Tap *Reset*.\n\n---\n\nFooter.",
            tags=("account", "login"),
            url="https://help.example.com/reset-password?x=1#top",
        ),
        Article(
            id="return-item-ja",
            title="返品の方法：「30日以内」",
            lang="ja",
            body="お届けした商品を返品する際の条件です。\n\n## 返品の条件\n- 未使用であること",
            tags=("返品", "returns", "注文"),
            url="https://help.example.com/ja/return-item",
        ),
        Article(id="yes", title="yes", lang="en", body="no", tags=("on", "null", "123")),
        Article(
            id="track-package-ja",
            title="配送状況の確認",
            lang="ja",
            body="発送済みの荷物の確認方法です。",
            questions=("頼んだものがまだ来ない", "yes", "where's my parcel? (order #12: 3 items)"),
        ),
    ],
    ids=["plain", "english", "japanese", "yaml-keywords", "questions"],
)
def test_render_then_parse_round_trips(article: Article) -> None:
    text = render_article(article)
    again = parse_article(text)
    assert again == article
    assert again.content_hash == article.content_hash


def test_rendered_article_loads_from_disk(tmp_path: Path) -> None:
    article = Article(id="a-ja", title="パスワード", lang="ja", body="本文", tags=("アカウント",))
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a.md").write_text(render_article(article), encoding="utf-8")
    result = load_kb(kb)
    assert result.ok
    assert result.articles == [article]


def test_norwegian_lang_tag_no_is_accepted() -> None:
    article = parse_article("---\nid: hjelp\ntitle: Hjelp\nlang: no\n---\nTekst.\n")
    assert article.lang == "no"


def test_a_one_word_title_is_kept_as_written() -> None:
    article = parse_article("---\nid: yes-page\ntitle: Yes\nlang: en\n---\nText.\n")
    assert article.title == "Yes"


def test_parse_article_raises_kb_error_with_the_problem() -> None:
    with pytest.raises(KBError, match="no 'lang'"):
        parse_article("---\nid: x\ntitle: T\n---\nBody\n")


def test_content_hash_changes_with_the_body() -> None:
    a = Article(id="a", title="T", lang="en", body="one")
    assert a.content_hash != Article(id="a", title="T", lang="en", body="two").content_hash
    assert (
        a.content_hash == Article(id="a", title="T", lang="en", body="one", path="x").content_hash
    )


# --------------------------------------------------------------------------- questions


def test_questions_are_one_line_each_without_blanks_or_repeats(
    write_article: Callable[..., Path],
) -> None:
    path = write_article(
        "a.md",
        **GOOD,
        questions='["where is  my parcel", "", "where is my parcel", "  parcel\\n late "]',
    )
    assert load_kb(path.parent).articles[0].questions == ("where is my parcel", "parcel late")


def test_an_article_without_questions_keeps_its_content_hash() -> None:
    """Upgrading must not re-embed every article that has no questions: its hash is the
    one it had before articles had questions."""
    article = Article(id="a", title="A", lang="en", body="Body.", tags=("t",))
    before = json.dumps(["a", "A", "en", ["t"], None, "Body."], ensure_ascii=False)
    assert article.content_hash == hashlib.sha256(before.encode()).hexdigest()
    taught = Article(id="a", title="A", lang="en", body="Body.", tags=("t",), questions=("q",))
    assert taught.content_hash != article.content_hash


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ("{where: parcel}", "must be a list of customer questions"),
        ("[[nested]]", "must be a list of customer questions"),
        (f"[{'x' * 301}]", "longer than 300 characters"),
        (f"[{', '.join(f'q{n}' for n in range(51))}]", "51 questions: at most 50"),
    ],
)
def test_bad_questions_are_refused_with_the_reason(
    write_article: Callable[..., Path], questions: str, message: str
) -> None:
    path = write_article("a.md", **GOOD, questions=questions)
    assert message in only_problem(path.parent).message
