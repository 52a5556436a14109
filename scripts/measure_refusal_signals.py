"""Measure how well each refusal signal separates answerable from unanswerable questions (ROC AUC).

For every question of the given eval sets, with the default model reading the set's article: the model's
reply, the probability that its first token is NOT_IN_ARTICLE's, a yes/no judge ("Does the article state
the answer to this question?"), and whether the question names a number the article lacks. Writes one
JSON line per question, then the AUC of each signal. Slow (the model runs twice per question).

    .venv/bin/python scripts/measure_refusal_signals.py evals/public/*.jsonl > var/signals.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.engine.engine import REFUSAL_MARK, Engine
from bot.engine.llm import LlamaModel
from bot.engine.prompts import render_file
from bot.engine.verify import numbers_in
from bot.evaluation import article_of, load_eval_set
from bot.settings import Settings

YES_NO = ["yes", "no", "Yes", "No"]


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def main(paths: list[str]) -> None:
    settings = Settings()
    model = LlamaModel(settings)
    rows = []
    for path in map(Path, paths):
        article = article_of(path, settings.article_path)
        engine = Engine.from_settings(settings.model_copy(update={"article_path": article}), model=model)
        for item in load_eval_set(path):
            language = engine.detect_language(item.question)
            passages = engine.retrieve(item.question, 4)
            messages = engine._messages(item.question, language, passages, None)
            reply = engine._read(messages)
            p_not = model.next_token_probabilities(messages, [REFUSAL_MARK])[0]
            judge = [
                *messages[:1],
                {"role": "user", "content": render_file("judge_user.txt", question=item.question).strip()},
            ]
            yes, no, capital_yes, capital_no = model.next_token_probabilities(judge, YES_NO)
            p_yes, p_no = yes + capital_yes, no + capital_no
            row = {
                "set": path.stem,
                "id": item.id,
                "answerable": item.answerable,
                "kind": item.kind,
                "reply": reply,
                "said_not": REFUSAL_MARK in reply,
                "p_not": p_not,
                "judge_yes": p_yes / max(p_yes + p_no, 1e-9),
                "number_missing": any(not engine._facts.holds_number(n) for n in numbers_in(item.question)),
            }
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    for signal in ("p_not", "judge_yes", "said_not", "number_missing"):
        sign = -1 if signal == "judge_yes" else 1
        unanswerable = [sign * float(r[signal]) for r in rows if not r["answerable"]]
        answerable = [sign * float(r[signal]) for r in rows if r["answerable"]]
        print(f"AUC {signal}: {auc(unanswerable, answerable):.3f}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
