"""Evaluation cases: JSON Lines, one customer message per line.

Keys: `text` (required); `lang`, `id` (optional); `gold` (list of article ids that answer
it, `[]` when the knowledge base cannot, absent when not scored for retrieval);
`handoff`, `frustrated` (optional booleans); `smalltalk` ("greeting", "thanks", "goodbye", or
null for a message labelled as not small talk).

A folder's `heldout/` subfolders are the held-aside test split: loading the folder leaves
them out (so nothing is fitted or tuned on them by accident); name the `heldout/` folder
itself to load it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELDOUT = "heldout"
NOT_SMALLTALK = "none"
SMALLTALK_LABELS = ("greeting", "thanks", "goodbye", None)
_ABSENT = object()


class CaseError(ValueError):
    """A cases file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Case:
    text: str
    id: str
    lang: str | None = None
    gold: tuple[str, ...] | None = None
    handoff: bool | None = None
    frustrated: bool | None = None
    smalltalk: str | None = None  # "greeting" | "thanks" | "goodbye" | "none"; None: unlabelled
    source: str = ""  # the file it came from (its name): one set of writers


def _case_from(obj: Any, where: str, index: int) -> Case:
    if not isinstance(obj, dict):
        raise CaseError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CaseError(f"{where}: 'text' is required and must be a non-empty string")
    gold = obj.get("gold")
    if gold is not None and not (isinstance(gold, list) and all(isinstance(g, str) for g in gold)):
        raise CaseError(f"{where}: 'gold' must be a list of article ids (or [] for unanswerable)")
    for flag in ("handoff", "frustrated"):
        if flag in obj and not isinstance(obj[flag], bool):
            raise CaseError(f"{where}: '{flag}' must be true or false")
    smalltalk = obj.get("smalltalk", _ABSENT)
    if smalltalk is not _ABSENT and smalltalk not in SMALLTALK_LABELS:
        raise CaseError(f"{where}: 'smalltalk' must be greeting, thanks, goodbye or null")
    lang = obj.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise CaseError(f"{where}: 'lang' must be a language tag such as 'en'")
    return Case(
        text=text,
        id=str(obj.get("id") or f"case-{index}"),
        lang=lang,
        gold=tuple(gold) if gold is not None else None,
        handoff=obj.get("handoff"),
        frustrated=obj.get("frustrated"),
        smalltalk=None if smalltalk is _ABSENT else (smalltalk or NOT_SMALLTALK),
    )


def load_cases(path: str | Path) -> list[Case]:
    """Cases from a `.jsonl` file, or from every `*.jsonl` file below a folder.

    Below a folder, `heldout/` subfolders are skipped unless `path` is inside one.

    Raises:
        CaseError: the path is missing, or a line is not valid (file and line named).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            f for f in path.rglob("*.jsonl") if HELDOUT not in f.relative_to(path).parts[:-1]
        )
        if not files:
            raise CaseError(f"{path}: no *.jsonl case files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise CaseError(f"{path}: no such file or folder")
    cases: list[Case] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{file}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseError(f"{where}: not valid JSON ({exc.msg})") from None
            case = _case_from(obj, where, len(cases) + 1)
            cases.append(dataclasses.replace(case, source=file.name))
    return cases
