"""Splits labelled messages into a training part and a held-aside test part, by id.

    python -m eval.split DIR [--into eval/datasets] [--suffix blind2]

Each `NAME.jsonl` in DIR becomes `NAME_SUFFIX.jsonl` (the training part, ~60 %) and
`heldout/NAME_SUFFIX.jsonl` (~40 %). A message goes to the held-aside part when the first
eight hex digits of the SHA-256 of its id, modulo 100, are below 40: deterministic, the same
on every machine, and independent of the order and of the other messages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from eval.cases import HELDOUT

HELDOUT_PERCENT = 40


def is_heldout(case_id: str, percent: int = HELDOUT_PERCENT) -> bool:
    """Whether the message with this id belongs to the held-aside part."""
    digest = hashlib.sha256(case_id.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < percent


def split_file(source: Path, into: Path, suffix: str) -> tuple[int, int]:
    """Write the two parts of one file; returns (training, held-aside) line counts."""
    train: list[str] = []
    heldout: list[str] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case_id = str(json.loads(line)["id"])
        (heldout if is_heldout(case_id) else train).append(line)
    name = f"{source.stem}_{suffix}.jsonl"
    (into / HELDOUT).mkdir(parents=True, exist_ok=True)
    (into / name).write_text("".join(f"{x}\n" for x in train), encoding="utf-8")
    (into / HELDOUT / name).write_text("".join(f"{x}\n" for x in heldout), encoding="utf-8")
    return len(train), len(heldout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of NAME.jsonl files to split")
    parser.add_argument("--into", type=Path, default=Path("eval/datasets"))
    parser.add_argument("--suffix", default="blind2")
    args = parser.parse_args()
    for source in sorted(args.source.glob("*.jsonl")):
        train, heldout = split_file(source, args.into, args.suffix)
        print(f"{source.name}: {train} training, {heldout} held aside")


if __name__ == "__main__":
    main()
