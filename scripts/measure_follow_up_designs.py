"""The follow-up designs measured side by side on a half of evals/followups.jsonl (README, "Follow-up
questions"): for each pair, the second question answered alone, and after the first exchange

(a) as a yes/no judgement: the model's share of "yes" to "does it depend on my previous question?", read from
    its first token (one forward pass); shown here as how well any threshold separates the two kinds;
(b) rewritten by the model into a standalone question ("condense question", the next turn of the same
    conversation, so the article's cached prefix is reused), then answered alone through every check;
(c) with the previous exchange given to the reader as the turns before the question, as a reply's is: the
    model decides as it answers (what the engine does, measured best).

    flock /tmp/articlebot-cpu.lock .venv/bin/python scripts/measure_follow_up_designs.py [--split tune]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Literal

from bot.articles_cli import open_library
from bot.engine.language import LanguageGuesser
from bot.engine.reader import YES_NO
from bot.engine.records import Answer, Exchange
from bot.evaluation import score, set_engine
from bot.follow_up_eval import load_pairs
from bot.settings import Settings

CONDENSE = (
    "My next question is: «{question}»\nRewrite it as one complete question that can be understood without "
    "our conversation, in the same language. If it is already complete, repeat it unchanged. Reply with the "
    "question only."
)
JUDGE = (
    "My next message is: «{question}»\nDoes this message depend on my previous question, so that it "
    "cannot be understood without it? Reply yes or no."
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="tune", choices=("tune", "report", "all"))
    args = parser.parse_args()
    settings = Settings()
    library = open_library(settings)
    guesser = LanguageGuesser()
    engines, firsts = {}, {}
    rows = []  # (kind, yes share, judge ms, right alone, right (b), right (c), rewrite ms)
    for pair in load_pairs(split=args.split):
        if pair.article not in engines:
            engines[pair.article] = set_engine(library, pair.article, settings.article_path, "eval")
        engine = engines[pair.article]
        engine.min_confidence = settings.answer_confidence
        if (pair.article, pair.first) not in firsts:
            firsts[pair.article, pair.first] = engine.answer(pair.first)
        previous = Exchange(pair.first, firsts[pair.article, pair.first].answer)

        def right(answer: Answer) -> bool:
            return score(pair.item, answer, engine.article_text, guesser).correct  # noqa: B023

        engine.read_article()
        conversation = engine._reader.conversation(engine._whole_article, previous)
        turn = {"role": "user", "content": JUDGE.format(question=pair.item.question)}
        started = time.perf_counter()
        yes, capital_yes, no, capital_no = engine._model.next_token_probabilities(
            [*conversation, turn], YES_NO
        )
        judge_ms = (time.perf_counter() - started) * 1000
        share = (yes + capital_yes) / max(yes + capital_yes + no + capital_no, 1e-9)
        condense = {"role": "user", "content": CONDENSE.format(question=pair.item.question)}
        started = time.perf_counter()
        line = engine._reader.first_line([*conversation, condense]).strip().strip("\"'«»“”„").strip()
        rewrite_ms = (time.perf_counter() - started) * 1000
        standalone = line if line.endswith(("?", "？", "؟")) else pair.item.question
        rewritten = engine.answer(standalone)
        always = engine.answer(pair.item.question, previous)
        alone = engine.answer(pair.item.question)
        row = (pair.kind, share, judge_ms, right(alone), right(rewritten), right(always), rewrite_ms)
        rows.append(row)
        print(
            f"{pair.id:14} yes={share:.2f} alone={row[3]:d} b={row[4]:d} c={row[5]:d} {standalone!r}",
            flush=True,
        )
    report(rows)


def report(rows: list[tuple[str, float, float, bool, bool, bool, float]]) -> None:
    follow = [r for r in rows if r[0] == "follow-up"]
    plain = [r for r in rows if r[0] == "plain"]
    shares = sorted({r[1] for r in rows})
    best = max((sum(r[1] >= t for r in follow) + sum(r[1] < t for r in plain), t) for t in shares)
    print(
        f"(a) the best threshold ({best[1]:.2f}) sorts {best[0]}/{len(rows)} pairs right; "
        f"judgement p50 {statistics.median(r[2] for r in rows):.0f} ms"
    )
    designs: tuple[tuple[str, Literal[3, 4, 5]], ...] = (
        ("alone", 3),
        ("(b) rewritten", 4),
        ("(c) always given", 5),
    )
    for name, index in designs:
        right = sum(r[index] for r in follow)
        changed = sum(r[3] and not r[index] for r in plain)
        print(f"{name}: follow-ups right {right}/{len(follow)}, plain changed {changed}/{len(plain)}")
    rewriting = [r[6] for r in rows]
    print(f"(b) rewriting p50 {statistics.median(rewriting):.0f} ms, max {max(rewriting):.0f} ms")


if __name__ == "__main__":
    main()
