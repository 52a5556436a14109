"""The project's own eval set, scored: accuracy, right-paragraph citations, refusals, verbatim quotes."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine.records import Answer
from bot.engine.text import fold


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    language: str
    kind: str
    answerable: bool
    gold_paragraphs: tuple[int, ...]
    facts: tuple[tuple[str, ...], ...]


@dataclass
class EvalResult:
    item: EvalItem
    answer: Answer
    correct: bool
    right_paragraph: bool
    verbatim: bool


@dataclass
class EvalReport:
    results: list[EvalResult] = field(default_factory=list)

    def _share(self, flags: Iterable[bool]) -> float:
        values = list(flags)
        return sum(values) / len(values) if values else 0.0

    def metrics(self) -> dict[str, float]:
        answerable = [r for r in self.results if r.item.answerable]
        unanswerable = [r for r in self.results if not r.item.answerable]
        quotes = [r.verbatim for r in self.results if r.answer.citations]
        return {
            "questions": len(self.results),
            "accuracy": self._share(r.correct for r in answerable),
            "right_paragraph": self._share(r.right_paragraph for r in answerable),
            "refusal_rate": self._share(r.answer.refused for r in unanswerable),
            "false_refusals": self._share(r.answer.refused for r in answerable),
            "verbatim_quotes": self._share(quotes) if quotes else 1.0,
            "language_match": self._share(r.answer.language == r.item.language for r in self.results),
            "seconds_per_question": (
                sum(r.answer.timings.total_ms for r in self.results) / 1000 / max(len(self.results), 1)
            ),
        }

    def by_kind(self) -> dict[str, float]:
        groups: dict[str, list[bool]] = defaultdict(list)
        for r in self.results:
            groups[r.item.kind].append(r.correct)
        return {kind: self._share(flags) for kind, flags in sorted(groups.items())}


def load_eval_set(path: Path) -> list[EvalItem]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw: dict[str, Any] = json.loads(line)
            items.append(
                EvalItem(
                    raw["id"],
                    raw["question"],
                    raw["language"],
                    raw["kind"],
                    raw["answerable"],
                    tuple(raw["gold_paragraphs"]),
                    tuple(tuple(group) for group in raw["facts"]),
                )
            )
    return items


def score(item: EvalItem, answer: Answer, article_text: str) -> EvalResult:
    folded_answer = fold(answer.answer)
    if item.answerable:
        has_facts = all(any(fold(alt) in folded_answer for alt in group) for group in item.facts)
        correct = not answer.refused and has_facts
    else:
        correct = answer.refused
    right_paragraph = any(c.paragraph in item.gold_paragraphs for c in answer.citations)
    verbatim = all(c.quote in article_text for c in answer.citations)
    return EvalResult(item, answer, correct, right_paragraph, verbatim)


def run_eval(
    items: list[EvalItem],
    ask: Callable[[str], Answer],
    article_text: str,
    progress: Callable[[EvalResult], None] | None = None,
) -> EvalReport:
    report = EvalReport()
    for item in items:
        result = score(item, ask(item.question), article_text)
        report.results.append(result)
        if progress:
            progress(result)
    return report


def format_table(report: EvalReport, model_name: str) -> str:
    m = report.metrics()
    rows = [
        ("model", model_name),
        ("questions", f"{m['questions']}"),
        ("answer accuracy (answerable)", f"{m['accuracy']:.1%}"),
        ("right paragraph cited", f"{m['right_paragraph']:.1%}"),
        ("refusal rate (unanswerable)", f"{m['refusal_rate']:.1%}"),
        ("false refusals (answerable)", f"{m['false_refusals']:.1%}"),
        ("verbatim quotes", f"{m['verbatim_quotes']:.1%}"),
        ("language detected right", f"{m['language_match']:.1%}"),
        ("seconds per question", f"{m['seconds_per_question']:.2f}"),
    ]
    rows += [(f"  correct: {kind}", f"{share:.1%}") for kind, share in report.by_kind().items()]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"| {name.ljust(width)} | {value} |" for name, value in rows)
