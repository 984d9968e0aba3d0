"""The knowledge-base format: a folder of Markdown files with YAML front matter.

Each file starts with::

    ---
    id: reset-password
    title: How to reset your password
    lang: en
    tags: [account, login]
    url: https://help.example.com/reset-password
    questions:                       # optional: what customers ask that this answers
      - I forgot my password
      - can't log in, need a new password
    ---
    Markdown body...

`questions` are customers' own words for what the article answers (Intercom's and
Zendesk's bots call them example or training questions): the retrievers index each as a
passage of the article, so "my parcel hasn't come" finds an article that says "package"
and "delivery", but they are never shown as the answer.

One bad file never stops the others from loading: every problem is collected
and reported with the file it belongs to.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from retrieval.errors import KBError

ARTICLE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# BCP-47 primary language subtag: 2-3 letters (ISO 639), lower case.
LANG_TAG = re.compile(r"^[a-z]{2,3}$")
REQUIRED_FIELDS = ("id", "title", "lang")
KNOWN_FIELDS = frozenset({"id", "title", "lang", "tags", "url", "questions"})
MAX_QUESTIONS = 50
MAX_QUESTION_CHARS = 300


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so `lang: no` (Norwegian) stays a string."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FrontMatterLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Article:
    """One knowledge-base article."""

    id: str
    title: str
    lang: str
    body: str
    tags: tuple[str, ...] = ()
    url: str | None = None
    path: str | None = field(default=None, compare=False)
    questions: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        """A hash of everything retrieval depends on; changes whenever the article does."""
        fields: list[Any] = [self.id, self.title, self.lang, list(self.tags), self.url, self.body]
        if self.questions:  # an article without questions keeps the hash it always had
            fields.append(list(self.questions))
        payload = json.dumps(fields, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KBProblem:
    """Something wrong with one knowledge-base file."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class LoadResult:
    """The articles that loaded and the problems with those that did not."""

    articles: list[Article]
    problems: list[KBProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_article(text: str, path: str = "<text>") -> Article:
    """Parse one article from its file text.

    Args:
        text: The whole file: YAML front matter between `---` lines, then Markdown.
        path: The name used in error messages.

    Returns:
        The article.

    Raises:
        KBError: with a message that names the problem and how to fix it.
    """
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KBError("does not start with YAML front matter (expected a first line '---')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise KBError("front matter is not closed (expected a second line '---')") from None
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_FrontMatterLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise KBError(f"front matter is not valid YAML{where}: {problem}") from None
    if not isinstance(meta, dict):
        raise KBError("front matter must be a mapping of fields (id, title, lang, ...)")
    body = "\n".join(lines[end + 1 :]).strip("\n")
    return _article_from_meta(meta, body, path)


def _article_from_meta(meta: dict[str, Any], body: str, path: str) -> Article:
    for name in REQUIRED_FIELDS:
        if meta.get(name) in (None, ""):
            example = {"id": "reset-password", "title": "How to reset your password", "lang": "en"}
            raise KBError(f"front matter has no '{name}' (expected e.g. {name}: {example[name]})")
    article_id = str(meta["id"])
    if not ARTICLE_ID.match(article_id):
        raise KBError(
            f"id {article_id!r} is not allowed: use lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    lang = str(meta["lang"]).strip()
    if not LANG_TAG.match(lang):
        raise KBError(f"lang {lang!r} is not a BCP-47 primary language tag (expected e.g. en, ja)")
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str | int) for t in tags):
        raise KBError("tags must be a list of words (expected e.g. tags: [account, login])")
    url = meta.get("url")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
        raise KBError(f"url {url!r} is not an http(s) address")
    if not body.strip():
        raise KBError("the body is empty (write the article below the front matter)")
    questions = clean_questions(meta.get("questions"))
    return Article(
        id=article_id,
        title=str(meta["title"]).strip(),
        lang=lang,
        body=body,
        tags=tuple(str(t) for t in tags),
        url=url,
        path=path,
        questions=questions,
    )


def clean_questions(value: Any) -> tuple[str, ...]:
    """Customers' questions as the article stores them: one line each, blanks and repeats
    dropped, order kept.

    Raises:
        KBError: when `value` is not a list of short texts.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(q, str | int | float) for q in value):
        raise KBError(
            "questions must be a list of customer questions "
            "(expected e.g. questions: [I forgot my password])"
        )
    seen: dict[str, None] = {}
    for question in value:
        text = " ".join(str(question).split())
        if len(text) > MAX_QUESTION_CHARS:
            raise KBError(
                f"question {text[:40]!r}... is longer than {MAX_QUESTION_CHARS} characters "
                "(write the question a customer would type, not an answer)"
            )
        if text:
            seen.setdefault(text, None)
    if len(seen) > MAX_QUESTIONS:
        raise KBError(
            f"{len(seen)} questions: at most {MAX_QUESTIONS} per article (keep the ones "
            "customers really ask, in their different words)"
        )
    return tuple(seen)


def iter_kb_files(root: Path) -> Iterable[Path]:
    """Every `*.md` file below `root`, at any depth, in a stable order."""
    return sorted(p for p in root.rglob("*.md") if p.is_file())


def load_kb(root: str | Path) -> LoadResult:
    """Load every article below `root`, collecting the problems of the files that fail.

    Raises:
        KBError: only when `root` itself is unusable (missing, not a folder).
    """
    root = Path(root)
    if not root.exists():
        raise KBError(f"{root}: knowledge-base folder does not exist")
    if not root.is_dir():
        raise KBError(f"{root}: is not a folder (expected a folder of Markdown files)")
    articles: list[Article] = []
    problems: list[KBProblem] = []
    seen: dict[str, str] = {}
    for path in iter_kb_files(root):
        shown = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(KBProblem(shown, "is not UTF-8 text"))
            continue
        except OSError as exc:
            problems.append(KBProblem(shown, f"cannot be read: {exc.strerror}"))
            continue
        try:
            article = parse_article(text, shown)
        except KBError as exc:
            problems.append(KBProblem(shown, str(exc)))
            continue
        if article.id in seen:
            problems.append(
                KBProblem(
                    shown, f"duplicate id {article.id!r} (already used by {seen[article.id]})"
                )
            )
            continue
        seen[article.id] = shown
        articles.append(article)
    if not articles and not problems:
        problems.append(KBProblem(str(root), "contains no Markdown (*.md) articles"))
    return LoadResult(articles, problems)


class _OnePerLine(list[str]):
    """A list written one item per line (questions), whatever the dumper's default."""


class _FrontMatterDumper(yaml.SafeDumper):
    """Safe YAML, with `_OnePerLine` lists in block style."""


_FrontMatterDumper.add_representer(
    _OnePerLine,
    lambda dumper, items: dumper.represent_sequence(
        "tag:yaml.org,2002:seq", list(items), flow_style=False
    ),
)


def render_article(article: Article) -> str:
    """Write an article back in the knowledge-base file format."""
    meta: dict[str, Any] = {"id": article.id, "title": article.title, "lang": article.lang}
    if article.tags:
        meta["tags"] = list(article.tags)
    if article.url:
        meta["url"] = article.url
    if article.questions:
        meta["questions"] = _OnePerLine(article.questions)
    front = yaml.dump(
        meta,
        Dumper=_FrontMatterDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
    )
    return f"---\n{front}---\n{article.body}\n"
