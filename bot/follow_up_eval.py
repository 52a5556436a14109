"""The follow-up eval: does a question after a first one get answered in the light of the first when it
continues it, and alone when it does not?

Each line of the set (evals/followups.jsonl) is a first question, a second one and the second one's gold
facts, about an article (the bundled one, or a public one in evals/). The first is answered; then the second
is answered alone, and after the first exchange the way a private chat asks it (the exchange given to the
model as the turns before the question). Rightness is the main eval's (bot.evaluation.score), at the
operator's strictness.

- follow-ups right: the second question of a "follow-up" line, asked after the first, is right;
- follow-ups answered wrong: shown to the asker, and not right (a refusal is neither);
- plain changed: a "plain" line's second question is right alone and not right after the first;
- off-topic after an exchange: the bundled article's off-topic questions, each asked right after one of the
  set's first questions about it, as a private chat would ask it within the window: all must be refused;
- the cost: the time the exchange added to each second question (answered after the first, less alone).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.engine.language import LanguageGuesser
from bot.engine.records import Answer, Exchange
from bot.evaluation import OFF_TOPIC_KINDS, EvalItem, load_eval_set, score, set_engine
from bot.paths import EVAL_SET, FOLLOW_UP_SET, PROJECT_ROOT

OFF_TOPIC_SETS = (EVAL_SET.parent / "offtopic.jsonl", EVAL_SET)

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.engine.library import Library


@dataclass(frozen=True)
class Pair:
    id: str
    split: str  # "tune" (prompts and threshold chosen on it) or "report"
    article: Path
    kind: str  # "follow-up" or "plain"
    first: str
    item: EvalItem  # the second question, with its gold facts


@dataclass(frozen=True)
class PairResult:
    pair: Pair
    first: Answer
    alone: Answer
    after: Answer
    right_alone: bool
    right_after: bool


@dataclass
class FollowUpReport:
    results: list[PairResult] = field(default_factory=list)
    off_topic: list[Answer] = field(default_factory=list)  # off-topic questions asked after an exchange

    def of(self, kind: str) -> list[PairResult]:
        return [r for r in self.results if r.pair.kind == kind]

    def figures(self) -> list[tuple[str, int, int]]:
        """(figure, count, out of)."""
        follow, plain = self.of("follow-up"), self.of("plain")
        return [
            (
                "follow-ups right, asked after the first question",
                sum(r.right_after for r in follow),
                len(follow),
            ),
            (
                "follow-ups answered wrong (shown, not right)",
                sum(not r.after.refused and not r.right_after for r in follow),
                len(follow),
            ),
            (
                "follow-ups right, asked alone (before this work)",
                sum(r.right_alone for r in follow),
                len(follow),
            ),
            (
                "plain changed (right alone, not after the first)",
                sum(_changed(r) for r in plain),
                len(plain),
            ),
            (
                "off-topic questions refused, asked after an exchange",
                sum(answer.refused for answer in self.off_topic),
                len(self.off_topic),
            ),
        ]

    def added_ms(self) -> list[float]:
        """Per second question, what answering it after the first exchange took beyond answering it alone."""
        return [r.after.timings.total_ms - r.alone.timings.total_ms for r in self.results]


def _changed(result: PairResult) -> bool:
    return result.right_alone and not result.right_after


def load_pairs(path: Path = FOLLOW_UP_SET, split: str = "report") -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        if split != "all" and raw["split"] != split:
            continue
        facts = tuple(tuple(group) for group in raw["facts"])
        item = EvalItem(raw["id"], raw["question"], raw["language"], raw["kind"], True, (), facts)
        article = PROJECT_ROOT / raw["article"]
        pairs.append(Pair(raw["id"], raw["split"], article, raw["kind"], raw["first"], item))
    return pairs


def run_follow_ups(
    library: Library,
    pairs: list[Pair],
    default: Path,
    strictness: float,
    progress: Callable[[PairResult], None] | None = None,
) -> FollowUpReport:
    guesser = LanguageGuesser()
    engines: dict[Path, Engine] = {}
    firsts: dict[tuple[Path, str], Answer] = {}
    report = FollowUpReport()
    for pair in pairs:
        if pair.article not in engines:
            engines[pair.article] = set_engine(library, pair.article, default, "eval")
        engine = engines[pair.article]
        engine.min_confidence, engine.always_look = strictness, False  # the answers the asker would see
        key = (pair.article, pair.first)
        if key not in firsts:
            firsts[key] = engine.answer(pair.first)
        first = firsts[key]
        alone = engine.answer(pair.item.question)
        after = engine.answer(pair.item.question, Exchange(pair.first, first.answer))
        right_alone, right_after = (
            score(pair.item, answer, engine.article_text, guesser).correct for answer in (alone, after)
        )
        result = PairResult(pair, first, alone, after, right_alone, right_after)
        report.results.append(result)
        if progress:
            progress(result)
    bundled = [path for path in engines if path.resolve() == default.resolve()]
    if bundled:  # the off-topic questions are the bundled article's, asked after its first questions
        exchanges = [Exchange(q, first.answer) for (path, q), first in firsts.items() if path in bundled]
        report.off_topic = off_topic_after(engines[bundled[0]], exchanges)
    return report


def off_topic_after(engine: Engine, exchanges: list[Exchange]) -> list[Answer]:
    """Each off-topic question about the bundled article, asked after one of the exchanges in turn."""
    items = [item for path in OFF_TOPIC_SETS for item in load_eval_set(path) if item.kind in OFF_TOPIC_KINDS]
    return [engine.answer(item.question, exchanges[n % len(exchanges)]) for n, item in enumerate(items)]


def format_follow_ups(report: FollowUpReport, model_name: str, split: str) -> str:
    lines = [
        f"model: {model_name}, follow-up set, split: {split}",
        "| figure | share | count |",
        "|---|---|---|",
    ]
    for name, count, total in report.figures():
        share = f"{count / total:.0%}" if total else "–"
        lines.append(f"| {name} | {share} | {count}/{total} |")
    times = sorted(report.added_ms())
    if times:
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        lines.append(
            f"| time the exchange adds per question, p50 / p95 | {statistics.median(times):.0f} ms "
            f"/ {p95:.0f} ms | {len(times)} |"
        )
    return "\n".join(lines)
