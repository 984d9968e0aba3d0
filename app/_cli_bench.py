"""`kakehashi bench`: the benchmark report (eval/bench), from the command line."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from app._cli_db import fail

# what the bench needs beyond the server: the development extras
BENCH_NEEDS = {
    "matplotlib": "matplotlib",
    "langchain_community": "langchain-community",
    "rank_bm25": "rank-bm25",
    "httpx": "httpx",
}


def bench(
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="A few minutes: 200 sessions, 10 s a rate, a 2-minute soak, 1k and 10k passages.",
        ),
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for bench.md, bench.json and the plots.")
    ] = Path("eval/reports"),
    soak_minutes: Annotated[
        float | None,
        typer.Option(
            "--soak-minutes", min=0, help="The memory run at 20 msg/s (default 30; quick 1.5)."
        ),
    ] = None,
    sessions: Annotated[
        int | None,
        typer.Option(
            "--sessions", min=1, help="Open sessions for throughput (default 1000; quick 200)."
        ),
    ] = None,
    skip_100k: Annotated[
        bool, typer.Option("--skip-100k", help="Leave out the 100k-passage scale step.")
    ] = False,
    scale_budget_minutes: Annotated[
        float | None,
        typer.Option(
            "--scale-budget-minutes",
            min=0,
            help="Indexing time the scale steps may take (beside the soak, at least the "
            "soak's length); a step projected past it is skipped and the report says why "
            "(default 40; quick 2.5).",
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="Comma-separated sections: reply, throughput, memory, floor, baselines, "
            "scale, backends (default: all).",
        ),
    ] = None,
    no_overlap: Annotated[
        bool,
        typer.Option(
            "--no-overlap",
            help="Index the scale steps after the memory soak instead of during it (longer).",
        ),
    ] = False,
    cases: Annotated[
        Path, typer.Option("--cases", help="Labelled questions (heldout/ left out).")
    ] = Path("eval/datasets"),
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base the server answers from.")] = (
        Path("kb_articles")
    ),
) -> None:
    """Measure replies, throughput, memory, scale and the baselines on this machine, and
    write the report (bench.md, bench.json, plots) to --out."""
    absent = [
        pkg for module, pkg in BENCH_NEEDS.items() if importlib.util.find_spec(module) is None
    ]
    if absent:
        raise fail(
            f"kakehashi bench needs {', '.join(absent)} (the development extras): "
            "pip install -e '.[dev]' (make install does)",
            2,
        )
    from eval.bench.report import write
    from eval.bench.run import SECTIONS, Options, run_bench

    sections = None
    if only:
        sections = frozenset(s.strip() for s in only.split(",") if s.strip())
        unknown = sections - set(SECTIONS)
        if unknown:
            raise fail(f"--only: unknown sections {', '.join(sorted(unknown))} "
                       f"(expected some of {', '.join(SECTIONS)})", 2)  # fmt: skip
    options = Options.for_mode(
        quick,
        out=out,
        cases=cases,
        kb=kb,
        sessions=sessions,
        soak_minutes=soak_minutes,
        skip_100k=skip_100k or None,
        scale_budget_minutes=scale_budget_minutes,
        overlap=False if no_overlap else None,
        sections=sections,
    )
    result = run_bench(options, log=lambda line: typer.echo(line, err=True))
    files = write(result, out)
    typer.echo(f"{result['mode']} run in {result['duration_s']} s; wrote "
               + ", ".join(str(f) for f in files))  # fmt: skip
    for section, error in (result.get("errors") or {}).items():
        typer.secho(f"{section} failed: {error}", fg=typer.colors.YELLOW, err=True)
