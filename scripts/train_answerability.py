"""Learn the answerability model's weights from the public training sets (evals/train/), never the eval sets.

Every training question is asked with every checked answer shown (strictness 0). Each answer that passed
the checks gives one example: its signals (bot.engine.answerability.Signals) and whether it is right (an
answerable question whose gold fact it names). A logistic regression with a small L2 penalty is fitted
by Newton's method and saved to prompts/answerability.json, with the reader's name. Run it again to
retrain for another GGUF (MODEL_PATH=...); it takes about as long as an eval of the training sets.

    .venv/bin/python scripts/train_answerability.py [--sets evals/train] [--out prompts/answerability.json]
        [--dump prompts/answerability.examples.jsonl]      # keep the examples it was fitted on
    .venv/bin/python scripts/train_answerability.py --from-dump prompts/answerability.examples.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bot.articles_cli import open_library
from bot.engine.answerability import (
    AGREEMENT,
    FEATURES,
    LOOK,
    WEIGHTS_FILE,
    WORD_SIGNALS,
    Answerability,
    Signals,
)
from bot.evaluation import EvalResult, load_eval_set, run_eval, set_engine
from bot.paths import PROJECT_ROOT
from bot.settings import Settings

L2 = 1.0


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Logistic regression (weights, bias) on standardized features, by Newton's method."""
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = l2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not penalized
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a right answer scores above a wrong one (ties count half)."""
    right, wrong = scores[labels == 1], scores[labels == 0]
    if not len(right) or not len(wrong):
        return float("nan")
    greater = (right[:, None] > wrong[None, :]).sum() + 0.5 * (right[:, None] == wrong[None, :]).sum()
    return float(greater / (len(right) * len(wrong)))


def examples(results: list[EvalResult], group: str) -> list[dict[str, Any]]:
    """One example per answer that passed the checks: its signals, and whether it is right."""
    return [
        {
            "id": result.item.id,
            "set": group,
            "signals": result.answer.signals,
            "right": int(result.item.answerable and result.correct),
            # The texts too, so that a new signal of the words can be measured without the model.
            "question": result.item.question,
            "language": result.answer.language,
            "reply": result.answer.candidate,
        }
        for result in results
        if result.answer.signals
    ]


def collect(sets: Path) -> tuple[list[dict[str, Any]], str]:
    """Ask every training question with every checked answer shown; the examples and the model's name."""
    settings = Settings()
    library = open_library(settings)
    library.use_answerability(Answerability.untrained())  # the shipped weights may be for other signals
    rows: list[dict[str, Any]] = []
    for path in sorted(p for p in sets.glob("*.jsonl") if p.with_suffix(".txt").is_file()):
        engine = set_engine(library, path, settings.article_path, "train")
        report = run_eval(load_eval_set(path), engine.answer, engine.article_text, name=path.stem)
        found = examples(report.results, path.stem)
        rows += found
        right = sum(row["right"] for row in found)
        print(f"{path.stem}: {len(report.results)} questions, {len(found)} checked answers, {right} right")
    return rows, library.model.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, default=PROJECT_ROOT / "evals" / "train")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--dump", type=Path, help="also write every example (signals, right) as JSONL here")
    parser.add_argument("--from-dump", type=Path, help="fit on the examples of an earlier --dump instead")
    parser.add_argument("--model-name", default="", help="with --from-dump: the reader they came from")
    args = parser.parse_args()

    if args.from_dump:
        lines = args.from_dump.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        model_name = args.model_name
    else:
        rows, model_name = collect(args.sets)
    if args.dump:
        args.dump.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    groups = [row["set"] for row in rows]
    signals = [Signals.from_record(row["signals"]) for row in rows]
    x = np.array([s.vector() for s in signals])
    y = np.array([row["right"] for row in rows], dtype=float)
    # The word signals are missing across languages: their mean and scale come from the other answers,
    # and Answerability.standardized counts them as the mean (the same here and when answering).
    same = ~np.array([s.cross_lingual for s in signals], dtype=bool)
    # A signal a model server did not give is NaN: left out of its mean, and counted as the mean.
    means, scales = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    columns = list(WORD_SIGNALS)
    words = x[same][:, columns]
    means[columns], scales[columns] = np.nanmean(words, axis=0), np.nanstd(words, axis=0)
    scales[scales == 0] = 1.0
    standard = Answerability([0.0] * len(FEATURES), 0.0, means.tolist(), scales.tolist())
    z = np.array([standard.standardized(s) for s in signals])
    # Leave one article out: how well the weights carry over to an article they were not fitted on.
    held = np.zeros(len(y))
    names = np.array(groups)
    for group in sorted(set(groups)):
        test = names == group
        weights, bias = fit(z[~test], y[~test])
        held[test] = z[test] @ weights + bias
    weights, bias = fit(z, y)
    print(
        f"{len(y)} examples, {int(y.sum())} right; AUC fitted {auc(z @ weights + bias, y):.3f}, "
        f"leave-one-article-out {auc(held, y):.3f}"
    )
    # How far the second look, and the replies drawn again, moved the training answers' scores: within
    # these spans (1st to 99th percentile) an answer whose other signals keep it clear of the strictness is
    # not looked at again.
    look_range, draws_range = (
        (float(np.percentile(pull, 1)), float(np.percentile(pull, 99)))
        for pull in (weights[index] * z[:, index] for index in (LOOK, AGREEMENT))
    )
    model = Answerability(
        [float(w) for w in weights],
        bias,
        means.tolist(),
        scales.tolist(),
        model_name,
        look_range,
        draws_range,
    )
    for strictness in (0.1, 0.2, 0.25, 0.3, 0.4):
        no_look, no_draws, changed = model.without_asking(signals, strictness)
        print(
            f"at {strictness:g}: the look skipped for {np.mean(no_look):.0%}, the draws for "
            f"{np.mean(no_draws):.0%}, changing {changed} decisions"
        )
    model.save(args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
