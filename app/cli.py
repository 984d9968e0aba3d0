"""The `kakehashi` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app._cli_bench import bench
from app._cli_db import fail as _fail
from app._cli_db import settings_for as _settings
from app._cli_db import with_db as _with_db
from app._cli_users import user_cli
from app.settings import Settings

cli = typer.Typer(
    name="kakehashi",
    help="Kakehashi: a self-hosted customer-support chatbot with human handoff.",
    no_args_is_help=True,
    add_completion=False,
)
kb_cli = typer.Typer(help="Knowledge-base tools.", no_args_is_help=True)
cli.add_typer(kb_cli, name="kb")
cli.add_typer(user_cli, name="user")
cli.command()(bench)

KbOption = Annotated[
    Path | None,
    typer.Option("--kb", help="Knowledge-base folder (default: KAKEHASHI_KB_DIR or kb_articles)."),
]
ModeOption = Annotated[
    str, typer.Option("--mode", help="Retrieval mode: hybrid, dense, lexical or rrf (baseline).")
]


def _check_mode(mode: str) -> None:
    from retrieval.hybrid import MODES

    if mode not in MODES:
        raise _fail(f"--mode {mode!r} is not one of: {', '.join(MODES)}", 2)


def _ready_retriever(settings: Settings, progress: bool) -> Any:
    """Load the model and sync the index to the KB folder, reporting bad files on stderr."""
    from app.bootstrap import build_retriever, index_kb
    from retrieval.errors import RetrievalError

    try:
        retriever = build_retriever(settings)
        loaded, report = index_kb(retriever, settings, progress=progress)
    except RetrievalError as exc:
        raise _fail(str(exc)) from None
    for problem in loaded.problems:
        typer.secho(f"skipped {problem}", fg=typer.colors.YELLOW, err=True)
    return retriever, loaded, report


@kb_cli.command("check")
def kb_check(directory: Annotated[Path, typer.Argument(help="Knowledge-base folder.")]) -> None:
    """List every problem in a knowledge-base folder; exit 1 if there is any."""
    from retrieval.errors import KBError
    from retrieval.kb import load_kb

    try:
        loaded = load_kb(directory)
    except KBError as exc:
        raise _fail(str(exc)) from None
    for problem in loaded.problems:
        typer.secho(str(problem), fg=typer.colors.RED)
    langs: dict[str, int] = {}
    for article in loaded.articles:
        langs[article.lang] = langs.get(article.lang, 0) + 1
    summary = ", ".join(f"{lang}: {n}" for lang, n in sorted(langs.items())) or "none"
    typer.echo(
        f"{len(loaded.articles)} articles loaded ({summary}); {len(loaded.problems)} problems"
    )
    if loaded.problems:
        raise typer.Exit(1)


def _articles_db(settings: Settings, work: Any) -> Any:
    """Run `work(ArticleService)` against the configured database."""
    from knowledge.articles import ArticleService

    return _with_db(settings, lambda sessions: work(ArticleService(sessions)))


@kb_cli.command("import")
def kb_import(directory: Annotated[Path, typer.Argument(help="Knowledge-base folder.")]) -> None:
    """Import a KB folder into the database (by id: unchanged articles are left alone,
    changed ones get a revision). A running server picks the changes up on restart."""
    from retrieval.errors import KBError

    try:
        report = _articles_db(_settings(), lambda service: service.import_dir(directory))
    except KBError as exc:
        raise _fail(str(exc)) from None
    for problem in report.problems:
        typer.secho(f"skipped {problem}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged, {len(report.problems)} problems"
    )


@kb_cli.command("export")
def kb_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write (created if missing).")],
    drafts: Annotated[bool, typer.Option("--drafts", help="Also export drafts.")] = False,
) -> None:
    """Write the published articles in the KB format (an import round-trips byte for byte)."""
    statuses = ("published", "draft") if drafts else ("published",)
    written = _articles_db(_settings(), lambda service: service.export_dir(directory, statuses))
    typer.echo(f"{len(written)} articles written to {directory}")


@cli.command()
def index(kb: KbOption = None) -> None:
    """Build or update the search index of a knowledge base (only changed articles are embedded)."""
    settings = _settings(kb)
    _, loaded, report = _ready_retriever(settings, progress=True)
    typer.echo(
        f"{len(loaded.articles)} articles indexed from {settings.kb_dir}: "
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged "
        f"(index in {settings.data_dir / 'index'})"
    )


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="The customer's question.")],
    kb: KbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    mode: ModeOption = "hybrid",
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many articles.")] = 5,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language (detected if unset).")
    ] = None,
) -> None:
    """Show what the bot finds for a question: articles, passages, scores, confidence."""
    from app.bootstrap import thresholds
    from bot.answer import decide_answer

    _check_mode(mode)
    if not question.strip():
        raise _fail("the question is empty", 2)
    settings = _settings(kb)
    retriever, _, _ = _ready_retriever(settings, progress=not as_json)
    result = retriever.retrieve(question, lang=lang, k=k, mode=mode)
    outcome = decide_answer(result, thresholds(settings))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **result.to_dict(),
                    "decision": outcome.value,
                    "would_answer": outcome.value == "answer",
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(
        f"language: {result.lang}   mode: {mode}   confidence: {result.confidence:.2f}   "
        f"decision: {outcome.value}   ({result.latency_ms:.0f} ms)"
    )
    for rank, article in enumerate(result.articles, start=1):
        typer.secho(
            f"\n{rank}. {article.title}  [{article.article_id}]  score {article.score:.3f}",
            bold=True,
        )
        if article.url:
            typer.echo(f"   {article.url}")
        for passage in article.passages:
            snippet = " ".join(passage.text.split())[:200]
            typer.echo(f"   § {passage.heading or '(intro)'} ({passage.score:.3f}): {snippet}")


@cli.command("eval")
def evaluate_cmd(
    cases: Annotated[
        Path, typer.Option("--cases", help="A .jsonl cases file or a folder of them.")
    ],
    kb: KbOption = None,
    mode: ModeOption = "hybrid",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    misses: Annotated[bool, typer.Option("--misses", help="List the cases it got wrong.")] = False,
) -> None:
    """Measure retrieval and answer quality on labelled cases."""
    from tqdm import tqdm

    from app.bootstrap import build_bot
    from eval.cases import CaseError, load_cases
    from eval.runner import evaluate

    _check_mode(mode)
    try:
        loaded_cases = load_cases(cases)
    except CaseError as exc:
        raise _fail(str(exc), 2) from None
    settings = _settings(kb)
    retriever, _, _ = _ready_retriever(settings, progress=True)
    with tqdm(total=len(loaded_cases), desc=f"Evaluating ({mode})", unit="case") as bar:
        bot = build_bot(retriever, settings)
        report, results = evaluate(
            retriever,
            loaded_cases,
            mode=mode,
            thresholds=bot.thresholds,
            bot=bot,
            progress=bar.update,
        )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if misses:
        for r in results:
            wrong = r.case.gold and r.rank != 1 or (r.case.gold == () and r.outcome == "answer")
            if wrong:
                gold = list(r.case.gold or [])
                typer.echo(
                    f"{r.case.id}\t{r.outcome.value}\t{r.confidence:.2f}\tgold={gold}"
                    f"\tgot={r.ranked[:3]}\t{r.case.text}"
                )


@cli.command()
def calibrate(
    cases: Annotated[
        Path, typer.Option("--cases", help="A .jsonl cases file or a folder of them.")
    ],
    kb: KbOption = None,
    max_false_answer: Annotated[
        float,
        typer.Option(
            "--max-false-answer",
            min=0.0,
            max=0.99,
            help="Share of unanswerable questions the bot may answer anyway.",
        ),
    ] = 0.10,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the learned answer model here (the shipped one is "
            "retrieval/models/answer.json).",
        ),
    ] = None,
) -> None:
    """Fit the confidence curves, the learned answer model and the answer thresholds to your
    labelled questions (each file is one set of writers: thresholds are picked to hold for
    a set the fit did not see)."""
    from app.bootstrap import calibration, thresholds
    from bot.training import data_hash
    from eval.answer_fit import describe, fit_languages
    from eval.calibration import (
        CalibrationError,
        check_cases,
        evaluate,
        observe,
    )
    from eval.calibration import calibrate as fit_calibration
    from eval.cases import CaseError, load_cases
    from retrieval.answer_model import to_json

    try:
        loaded_cases = load_cases(cases)
        check_cases(loaded_cases)
    except (CaseError, CalibrationError) as exc:
        raise _fail(f"cannot calibrate on {cases}: {exc}", 2) from None
    settings = _settings(kb)
    retriever, _, _ = _ready_retriever(settings, progress=True)
    observations = observe(retriever, loaded_cases)
    try:
        fit = fit_calibration(observations, max_false_answer, calibration(settings))
    except CalibrationError as exc:
        raise _fail(f"cannot calibrate on {cases}: {exc}", 2) from None
    configured = thresholds(settings)
    answerable = sum(1 for o in observations if o.answerable)
    typer.echo(
        f"{len(observations)} labelled questions ({answerable} answerable, "
        f"{len(observations) - answerable} not); limit: false_answer <= {max_false_answer}"
    )
    for label, point in (
        (
            "current curves, current threshold",
            evaluate(observations, calibration(settings), max_false_answer, configured.answer),
        ),
        (
            "current curves, best threshold",
            evaluate(observations, calibration(settings), max_false_answer),
        ),
        ("fitted curves, best threshold", fit.point),
    ):
        typer.echo(
            f"{label:36} {point.threshold:.4f}: answered_correct "
            f"{point.answered_correct:.3f}, false_answer {point.false_answer:.3f}"
        )
    c = fit.calibration
    typer.echo("\n# put these in the environment or .env:")
    if fit.dense_cases:
        typer.echo(f"KAKEHASHI_CONFIDENCE_DENSE_MIDPOINT={c.dense_midpoint}")
        typer.echo(f"KAKEHASHI_CONFIDENCE_DENSE_SCALE={c.dense_scale}")
    typer.echo(f"KAKEHASHI_CONFIDENCE_LEXICAL_MIDPOINT={c.lexical_midpoint}")
    typer.echo(f"KAKEHASHI_CONFIDENCE_LEXICAL_SCALE={c.lexical_scale}")
    typer.echo(f"KAKEHASHI_ANSWER_THRESHOLD={fit.point.threshold}")
    if configured.suggest > fit.point.threshold:
        typer.echo(f"KAKEHASHI_SUGGEST_THRESHOLD={round(fit.point.threshold * 0.6, 4)}")
    per_lang = fit_languages(observations, fit.calibration, max_false_answer)
    typer.echo(
        "\n# per language: each set of writers (file) left out in turn, at the threshold "
        "picked on the others"
    )
    for f in per_lang.values():
        typer.echo(describe(f))
    if per_lang:
        pairs = ",".join(f"{f.lang}:{f.threshold}" for f in per_lang.values())
        typer.echo(f"KAKEHASHI_ANSWER_THRESHOLD_BY_LANG={pairs}")
    models = [f.model for f in per_lang.values() if f.model is not None]
    facts = {
        f.lang: {
            "threshold": f.threshold,
            "limit": f.limit,
            "cross_validated": {
                "answered_correct": f.cross_validated.answered_correct,
                "false_answer": f.cross_validated.false_answer,
            },
            "curves_cross_validated": {
                "answered_correct": f.curves.answered_correct,
                "false_answer": f.curves.false_answer,
            },
            "n_answerable": f.n_answerable,
            "n_unanswerable": f.n_unanswerable,
            "sets": f.groups,
        }
        for f in per_lang.values()
        if f.model is not None
    }
    languages = ", ".join(m.lang for m in models) or "no language (the curves serve all)"
    if out is None:
        if models:
            typer.echo(
                f"# the thresholds above for {languages} are the learned answer model's: "
                "run again with --out FILE and set KAKEHASHI_ANSWER_MODEL to it"
            )
        else:  # the thresholds above are the curves': no model may serve any language
            typer.echo("KAKEHASHI_ANSWER_MODEL=")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(models, data_hash(loaded_cases), facts), encoding="utf-8")
    typer.echo(f"# {out}: the learned answer model, for {languages}")
    typer.echo(f"KAKEHASHI_ANSWER_MODEL={out}")


@cli.command()
def train(
    cases: Annotated[
        Path, typer.Option("--cases", help="A .jsonl cases file or a folder of them.")
    ] = Path("eval/datasets"),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the model (default: the shipped one)."),
    ] = None,
) -> None:
    """Fit the learned intents (asking for a person, frustration, small talk) to labelled
    messages; figures and thresholds come from 5-fold cross-validation. A folder's
    heldout/ split is never read unless named."""
    from bot.intent_model import SHIPPED_MODEL
    from bot.training import TrainingError, fit_intents
    from eval.cases import CaseError, load_cases
    from retrieval.sentence_encoder import default_encoder

    try:
        loaded_cases = load_cases(cases)
        model = fit_intents(loaded_cases, default_encoder())
    except (CaseError, TrainingError) as exc:
        raise _fail(f"cannot train on {cases}: {exc}", 2) from None
    target = out or SHIPPED_MODEL
    model.save(target)
    for name in sorted(model.heads):
        figures = model.training[name]
        for lang in sorted(k for k in figures if isinstance(figures[k], dict)):
            f = figures[lang]
            typer.echo(
                f"{name:12} {lang:2} n={f['n']:4} threshold {f['threshold']:.2f}   "
                f"cross-validated: head alone P {f['precision']:.3f} R {f['recall']:.3f}, "
                f"with the rules P {f['with_rules']['precision']:.3f} "
                f"R {f['with_rules']['recall']:.3f}"
            )
    typer.echo(f"{target}: {model.encoder}, training data {model.data_hash}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Default: KAKEHASHI_HOST.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: KAKEHASHI_PORT.")] = None,
    kb: KbOption = None,
) -> None:
    """Serve the chat (demo page at /, widget at /widget.js, websocket at /ws/chat)."""
    import os

    import uvicorn

    if kb is not None:
        os.environ["KAKEHASHI_KB_DIR"] = str(kb)
    settings = _settings(kb)
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"Kakehashi: loading the model and the knowledge base ({settings.kb_dir})…")
    logging.getLogger("kakehashi").setLevel(logging.INFO)  # what the start did: imported, indexed
    typer.echo(f"Demo page: http://{host}:{port}/  (Japanese: http://{host}:{port}/?lang=ja)")
    from app.server import uvicorn_options

    uvicorn.run(
        "app.main:served_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        **uvicorn_options(settings),
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
