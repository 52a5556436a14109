"""Eval sets scored: right answers (short ones only), refusals, language, citations, length, time.

A set is a JSONL file of questions about one article: the project's own sets about the bundled article,
and sets taken from public QA data (evals/public/, each beside its article's .txt).

"Right" does not reward length: the gold fact must be named in an answer of at most SHORT_ANSWER units
(a word, or a CJK character counting half), so a quoted paragraph that contains it does not count.

Sets are run with every checked answer shown (strictness 0), each with the answerability model's
probability; a report at a strictness refuses those below it, so one run gives the risk-coverage table:
for each threshold, the share of questions answered and the share of shown answers that are right.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from num2words import num2words

from bot.engine.answerability import Answerability, Signals
from bot.engine.language import LanguageGuesser
from bot.engine.records import Answer
from bot.engine.text import CJK, fold, stopwords
from bot.engine.verify import numbers_in
from bot.errors import ConfigError
from bot.paths import EVAL_SET, PUBLIC_SETS

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.engine.library import Library

SHORT_ANSWER = 40
_MARKERS = re.compile(r"\s*\[\d+\]")


# The kind of a question about something else than its article, as each set names it.
OFF_TOPIC_KINDS = frozenset({"off-topic", "offtopic"})


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
    right_sentence: bool
    verbatim: bool
    in_language: bool
    length: float

    def at(self, threshold: float) -> EvalResult:
        """This result as the strictness would show it: an answer below the threshold is a refusal."""
        confidence = self.answer.confidence
        if self.answer.refused or confidence is None or confidence >= threshold:
            return self
        refused = replace(self.answer, refused=True, citations=[], method="refusal:confidence")
        return replace(self, answer=refused, correct=not self.item.answerable, right_sentence=False)


@dataclass
class EvalReport:
    name: str = ""
    results: list[EvalResult] = field(default_factory=list)
    article_language: str = ""

    def at(self, threshold: float) -> EvalReport:
        return EvalReport(self.name, [result.at(threshold) for result in self.results], self.article_language)

    def cross_lingual(self, result: EvalResult) -> bool:
        return result.item.language != self.article_language

    def precision_coverage(self) -> tuple[float | None, float | None]:
        """Of the answers shown, the share right; of the questions, the share answered."""
        shown = [r for r in self.results if not r.answer.refused]
        right = sum(r.correct and r.item.answerable for r in shown)
        return (right / len(shown) if shown else None), self._share(
            not r.answer.refused for r in self.results
        )

    @staticmethod
    def _share(flags: Iterable[bool]) -> float | None:
        values = list(flags)
        return sum(values) / len(values) if values else None

    def metrics(self) -> dict[str, Any]:
        answerable = [r for r in self.results if r.item.answerable]
        unanswerable = [r for r in self.results if not r.item.answerable]
        answered = [r for r in self.results if not r.answer.refused]
        precision, coverage = self.precision_coverage()
        return {
            "questions": len(self.results),
            "shown_right": precision,
            "coverage": coverage,
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "right": self._share(r.correct for r in answerable),
            "false_refusals": self._share(r.answer.refused for r in answerable),
            "refused": self._share(r.answer.refused for r in unanswerable),
            "asker_language": self._share(r.in_language for r in self.results),
            "verbatim_quotes": self._share(r.verbatim for r in self.results if r.answer.citations),
            "right_sentence": self._share(r.right_sentence for r in answerable),
            "median_answer_units": statistics.median(r.length for r in answered) if answered else None,
            "model_answers": sum(r.answer.method == "model" for r in self.results),
            "seconds_per_question": (
                sum(r.answer.timings.total_ms for r in self.results) / 1000 / max(len(self.results), 1)
            ),
        }

    def refusals_by_check(self) -> dict[str, tuple[int, int, int]]:
        """Per refusing check: (unanswerable questions it refused, answerable ones it refused, replies it
        refused that named the gold fact: right answers lost)."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for r in self.results:
            if r.answer.refused:
                count = counts[r.answer.method.removeprefix("refusal:")]
                count[int(r.item.answerable)] += 1
                if r.item.answerable and r.answer.candidate:
                    shown = replace(r.answer, answer=r.answer.candidate, refused=False)
                    count[2] += is_right(r.item, shown)
        return {check: (right, wrong, lost) for check, (right, wrong, lost) in sorted(counts.items())}

    def by_kind(self) -> dict[str, float | None]:
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


def default_sets(*, heldout: bool = False) -> list[Path]:
    """The bundled article's sets (its questions, off-topic ones, held-out ones), then the public ones (the
    held-out ones only when asked)."""
    public = sorted(p for p in PUBLIC_SETS.glob("*.jsonl") if heldout or not p.name.startswith("heldout-"))
    own = [EVAL_SET, EVAL_SET.parent / "offtopic.jsonl", *sorted(EVAL_SET.parent.glob("heldout*.jsonl"))]
    return [*own, *public]


def article_of(eval_set: Path, default: Path) -> Path:
    """A public set's article is the .txt beside it; the project's own sets are about the default one."""
    beside = eval_set.with_suffix(".txt")
    return beside if beside.is_file() else default


def set_engine(
    library: Library, eval_set: Path, default: Path, prefix: str, name: str | None = None
) -> Engine:
    """The engine that answers a set: the named article, else its own (indexed as <prefix>-<stem>), else
    the default; read, and keeping every checked answer with its probability (reports apply the
    strictness, so one run serves every threshold)."""
    if name is None:
        article = article_of(eval_set, default)
        name = library.default_name
        if article != default:
            document = library.load(str(article))
            name = library.ingest(document, f"{prefix}-{article.stem}"[:48].rstrip("-")).record.name
    engine = library.engine(name)
    engine.warm_up()
    engine.min_confidence = 0.0
    engine.always_look = True
    return engine


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(text)))


def _gold_words(gold: str) -> list[str]:
    """A gold answer's words less stopwords ("6,5 % dans" -> 6, 5): crowd spans often carry a stray one."""
    stop = stopwords()
    return [word for word in gold.split() if word not in stop] or gold.split()


def units(text: str) -> float:
    """Answer length: words, with each CJK character counting half (they carry no spaces)."""
    cjk = len(CJK.findall(text))
    return len(re.findall(r"\w+", CJK.sub(" ", text))) + cjk / 2


def names_fact(text: str, alternatives: Iterable[str]) -> bool:
    """Does the text name the fact: one alternative as a phrase, or all of its words (any order)?"""
    normal = _normal(text)
    spaced, words = f" {normal} ", set(normal.split())
    for alternative in alternatives:
        gold = _normal(alternative)
        if not gold:
            continue
        if CJK.search(gold):
            if gold.replace(" ", "") in normal.replace(" ", ""):
                return True
        elif f" {gold} " in spaced or (gold in normal and len(gold) >= 4) or set(_gold_words(gold)) <= words:
            return True
    return False


def spells_fact(text: str, alternatives: Iterable[str], languages: Iterable[str]) -> bool:
    """Does one of the text's whole numbers, written out in one of the languages, make a whole alternative
    ("3" for "three" or "ثلاثة")? A translation of a gold span into digits is no wrong answer."""
    golds = {_normal(alternative) for alternative in alternatives}
    for value in numbers_in(text):
        number = float(value)
        if not number.is_integer():
            continue
        for language in languages:
            try:  # Chinese has no speller; Japanese kanji write whole numbers as Chinese does
                spelled = num2words(int(number), lang="ja" if language == "zh" else language)
            except (NotImplementedError, OverflowError):
                continue
            if _normal(spelled) in golds:
                return True
    return False


def is_right(item: EvalItem, answer: Answer) -> bool:
    """Refused when unanswerable; answerable: shown, short, and naming every gold fact."""
    if not item.answerable:
        return answer.refused
    said = _MARKERS.sub("", answer.answer)
    languages = (item.language, "en")
    names_all = all(names_fact(said, group) or spells_fact(said, group, languages) for group in item.facts)
    return not answer.refused and names_all and units(said) <= SHORT_ANSWER


def score(item: EvalItem, answer: Answer, article_text: str, guesser: LanguageGuesser) -> EvalResult:
    said = _MARKERS.sub("", answer.answer)
    length = units(said)
    if item.answerable:
        quotes = [c.quote for c in answer.citations]
        if item.facts:
            right_sentence = any(all(names_fact(q, group) for group in item.facts) for q in quotes)
        else:
            right_sentence = any(c.paragraph in item.gold_paragraphs for c in answer.citations)
    else:
        right_sentence = False
    in_language = answer.language == item.language and (
        answer.refused or answer.method == "extractive" or guesser.is_language(said, item.language)
    )
    verbatim = all(c.quote in article_text for c in answer.citations)
    return EvalResult(item, answer, is_right(item, answer), right_sentence, verbatim, in_language, length)


def run_eval(
    items: list[EvalItem],
    ask: Callable[[str], Answer],
    article_text: str,
    progress: Callable[[EvalResult], None] | None = None,
    name: str = "",
    article_language: str = "",
) -> EvalReport:
    guesser = LanguageGuesser()
    report = EvalReport(name, article_language=article_language)
    for item in items:
        result = score(item, ask(item.question), article_text, guesser)
        report.results.append(result)
        if progress:
            progress(result)
    return report


def save_reports(reports: list[EvalReport], path: Path) -> None:
    """Every scored answer as a JSON line, so tables at any strictness can be printed again (--replay)."""
    with path.open("w", encoding="utf-8") as out:
        for report in reports:
            for r in report.results:
                record = {
                    **asdict(r),
                    "item": asdict(r.item),
                    "answer": r.answer.to_record(),
                    "set": report.name,
                    "article_language": report.article_language,
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


def load_reports(path: Path, weights: Answerability | None = None) -> list[EvalReport]:
    """The reports of a --save file; with weights, each checked answer's probability is computed again
    from its saved signals (the model's pass does not change, the learned weights may)."""
    reports: dict[str, EvalReport] = {}
    number = 0  # the line being read, for the message
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            number += 1
            _load_result(json.loads(line), reports, weights)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"{path} line {number} is not a line of `eval --save` ({error!r})") from None
    return list(reports.values())


def _load_result(raw: dict[str, Any], reports: dict[str, EvalReport], weights: Answerability | None) -> None:
    fields = raw.pop("item")
    facts = tuple(tuple(group) for group in fields["facts"])
    item = EvalItem(**{**fields, "gold_paragraphs": tuple(fields["gold_paragraphs"]), "facts": facts})
    answer = Answer.from_record(raw.pop("answer"))
    if weights and answer.signals:
        answer.confidence = weights.probability(Signals.from_record(answer.signals))
    name, language = raw.pop("set"), raw.pop("article_language")
    raw["correct"] = is_right(item, answer)  # by today's metric, not the one of the saved run
    report = reports.setdefault(name, EvalReport(name, article_language=language))
    report.results.append(EvalResult(item=item, answer=answer, **raw))
