"""Learn the answerability model's weights from the public training sets (evals/train/), never the eval sets.

Every training question is asked with every checked answer shown (strictness 0). Each answer that passed
the checks gives one example: its signals (bot.engine.answerability.Signals) and whether it is right (an
answerable question whose gold fact it names). A logistic regression with a small L2 penalty is fitted
by Newton's method and saved to prompts/answerability.json, with the reader's name. Run it again to
retrain for another GGUF (MODEL_PATH=...); it takes about as long as an eval of the training sets.

    .venv/bin/python scripts/train_answerability.py [--sets evals/train] [--out prompts/answerability.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bot.articles_cli import open_library
from bot.engine.answerability import WEIGHTS_FILE, Answerability, Signals
from bot.evaluation import EvalResult, article_of, load_eval_set, run_eval
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


def examples(results: list[EvalResult]) -> list[tuple[list[float], int, str]]:
    rows = []
    for result in results:
        if result.answer.signals:
            signals = Signals(**result.answer.signals)  # type: ignore[arg-type]
            right = int(result.item.answerable and result.correct)
            rows.append((signals.vector(), right, result.item.id))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, default=PROJECT_ROOT / "evals" / "train")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--dump", type=Path, help="also write every example as JSONL here")
    args = parser.parse_args()

    settings = Settings()
    library = open_library(settings)
    rows: list[tuple[list[float], int, str]] = []
    groups: list[str] = []
    for path in sorted(args.sets.glob("*.jsonl")):
        article = article_of(path, settings.article_path)
        name = library.ingest(
            library.load(str(article)), f"train-{article.stem}"[:48].rstrip("-")
        ).record.name
        engine = library.engine(name)
        engine.warm_up()
        engine.min_confidence = 0.0
        report = run_eval(load_eval_set(path), engine.answer, engine.article_text, name=path.stem)
        found = examples(report.results)
        rows += found
        groups += [path.stem] * len(found)
        right = sum(label for _, label, _ in found)
        print(f"{path.stem}: {len(report.results)} questions, {len(found)} checked answers, {right} right")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for (vector, label, item), group in zip(rows, groups, strict=True):
                out.write(json.dumps({"id": item, "set": group, "x": vector, "right": label}) + "\n")
    x = np.array([vector for vector, _, _ in rows])
    y = np.array([label for _, label, _ in rows], dtype=float)
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales == 0] = 1.0
    z = (x - means) / scales
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
    model = Answerability(
        [float(w) for w in weights], bias, means.tolist(), scales.tolist(), library.model.name
    )
    model.save(args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
