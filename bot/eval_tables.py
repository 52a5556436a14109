"""The eval's tables: one row per set at a strictness, the figures issue 16 sets floors for, how often the
second look is left out, and the risk-coverage table (bot.evaluation scores the answers)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.engine.answerability import Answerability, Signals
from bot.evaluation import OFF_TOPIC_KINDS, EvalReport, EvalResult

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


COLUMNS = (
    "set",
    "shown answers right",
    "answered",
    "answerable right",
    "false refusals",
    "unanswerable refused",
    "asker's language",
    "verbatim quotes",
    "right sentence cited",
    "median answer (words)",
    "s / question",
)


def format_table(reports: list[EvalReport], model_name: str, threshold: float = 0.0) -> str:
    """One row per set, then the totals over all of them, at the strictness; then the risk-coverage table."""
    shown = [report.at(threshold) for report in reports]
    rows = [_row(report) for report in shown]
    if len(shown) > 1:
        total = EvalReport("all", [r for report in shown for r in report.results])
        rows.append(_row(total))
    lines = [
        f"model: {model_name}, strictness (ANSWER_CONFIDENCE): {threshold:g}",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if len(reports) > 1:
        checks = total.refusals_by_check()
        lines += ["", "refusals by check: unanswerable refused / answerable refused (right replies lost)"]
        lines += [f"  {check}: {right} / {wrong} ({lost})" for check, (right, wrong, lost) in checks.items()]
    lines += ["", "| figure (issue 16's floors) | at this strictness |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in floor_figures(shown)]
    lines += ["", look_skipping(reports, threshold)]
    return "\n".join([*lines, "", risk_coverage_table(reports)])


def look_skipping(reports: list[EvalReport], threshold: float, weights: Answerability | None = None) -> str:
    """How often the bot (ALWAYS_LOOK=false) would not ask the second look, nor draw replies again, at this
    strictness, and how many of those answers they, which the eval always asks, would have sent the other
    way."""
    weights = weights or Answerability.load()
    records = [r.answer.signals for report in reports for r in report.results]
    looked = [Signals.from_record(record) for record in records if record.get("checked_yes") is not None]
    no_look, no_draws, changed = weights.without_asking(looked, threshold)
    return (
        f"second look not asked (it could not change the answer): {_count(no_look)} of the checked answers;"
        f" replies not drawn again: {_count(no_draws)}; asked, they would have changed {changed} of those"
    )


def _count(flags: Iterable[bool]) -> str:
    values = list(flags)
    return f"{_percent(sum(values) / len(values) if values else None)} ({sum(values)}/{len(values)})"


def floor_figures(reports: list[EvalReport]) -> list[tuple[str, str]]:
    """The figures issue 16 sets floors for, over the reports as they are (apply a strictness first)."""
    pairs = [(report, r) for report in reports for r in report.results]
    shown = [(report, r) for report, r in pairs if not r.answer.refused]

    def right_share(group: list[tuple[EvalReport, EvalResult]]) -> str:
        return _count(r.correct and r.item.answerable for _, r in group)

    bundled_heldout = {"heldout", "heldout2", "heldout3"}
    realistic = [
        (rep, r)
        for rep, r in shown
        if rep.name in bundled_heldout or ("xquad" in rep.name and not rep.cross_lingual(r))
    ]
    same = [r for rep, r in pairs if r.item.answerable and not rep.cross_lingual(r)]
    squad = [r for rep, r in pairs if "squad2" in rep.name]
    long_answers = [r for _, r in shown if r.length >= 3]
    figures = [
        ("shown answers right, realistic (bundled held-out, XQuAD same-language)", right_share(realistic)),
        ("shown answers right, all sets", right_share(shown)),
        ("answerable right, same language as the article", _count(r.correct for r in same)),
    ]
    for language in ("de", "ru", "zh", "ar"):
        cross = [
            r
            for rep, r in pairs
            if r.item.answerable and rep.cross_lingual(r) and r.item.language == language
        ]
        figures.append((f"answerable right, cross-lingual, {language}", _count(r.correct for r in cross)))
    figures += [
        (
            "near-misses refused (bundled held-out)",
            _count(
                r.answer.refused for rep, r in pairs if rep.name in bundled_heldout and not r.item.answerable
            ),
        ),
        ("SQuAD 2.0 unanswerable refused", _count(r.answer.refused for r in squad if not r.item.answerable)),
        ("SQuAD 2.0 answerable refused", _count(r.answer.refused for r in squad if r.item.answerable)),
        ("answers of 3+ words in the asker's language", _count(r.in_language for r in long_answers)),
        ("verbatim quotes", _count(r.verbatim for _, r in pairs if r.answer.citations)),
        (
            "off-topic and general-knowledge refused",
            _count(r.answer.refused for _, r in pairs if r.item.kind in OFF_TOPIC_KINDS),
        ),
    ]
    return figures


def risk_coverage_table(reports: list[EvalReport]) -> str:
    """For each strictness: shown answers right / questions answered, per set and over all of them."""
    everything = EvalReport("all", [r for report in reports for r in report.results])
    rows = [*reports, everything] if len(reports) > 1 else reports
    lines = [
        "risk-coverage: shown answers right / questions answered, at each strictness",
        "| set | " + " | ".join(f"{t:g}" for t in THRESHOLDS) + " |",
        "|" + "---|" * (len(THRESHOLDS) + 1),
    ]
    for report in rows:
        cells = []
        for threshold in THRESHOLDS:
            precision, coverage = report.at(threshold).precision_coverage()
            cells.append(f"{_percent(precision)} / {_percent(coverage)}")
        lines.append(f"| {report.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _row(report: EvalReport) -> list[str]:
    m = report.metrics()
    right = sum(r.correct for r in report.results if r.item.answerable)
    refused = sum(r.answer.refused for r in report.results if not r.item.answerable)
    median = m["median_answer_units"]
    shown = sum(not r.answer.refused for r in report.results)
    shown_right = sum(r.correct and r.item.answerable and not r.answer.refused for r in report.results)
    return [
        report.name,
        f"{_percent(m['shown_right'])} ({shown_right}/{shown})",
        _percent(m["coverage"]),
        f"{_percent(m['right'])} ({right}/{m['answerable']})",
        _percent(m["false_refusals"]),
        f"{_percent(m['refused'])} ({refused}/{m['unanswerable']})" if m["unanswerable"] else "–",
        _percent(m["asker_language"]),
        _percent(m["verbatim_quotes"]),
        _percent(m["right_sentence"]),
        "–" if median is None else f"{median:g}",
        f"{m['seconds_per_question']:.1f}",
    ]
