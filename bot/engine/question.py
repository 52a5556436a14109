"""What a question asks: its language, whether it wants a summary, the kind of answer, names, numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bot.engine.prompts import load_phrases
from bot.engine.text import content_words, fold

# Languages the detector chooses among; a short list keeps short questions from landing on rare languages.
DETECTED_LANGUAGES = (
    Language.FRENCH, Language.ENGLISH, Language.GERMAN, Language.SPANISH, Language.ITALIAN,
    Language.PORTUGUESE, Language.DUTCH, Language.RUSSIAN, Language.UKRAINIAN, Language.POLISH,
)  # fmt: skip
# Most askers write French or English; names ("Andrei Belousov") sway the detector, so these win near-ties.
PREFERRED_LANGUAGES = (Language.FRENCH, Language.ENGLISH)
NEAR_TIE = 0.5


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    wants_summary: bool
    is_injection: bool
    answer_kind: str | None  # "age", "number", "date", "person", "place" or None (open question)
    asked_detail: str | None  # a finer detail the passage must give evidence of: "birth", "city", "type"…
    detail_noun: str | None  # what a "type", "name" or "count" question asks about ("missiles")
    names: tuple[str, ...]  # capitalised words and acronyms, as written; a run of them is one name
    numbers: tuple[str, ...]
    content: tuple[str, ...]  # folded content words


class LanguageGuesser:
    """A well-kept offline detector (lingua), restricted to the languages our users write."""

    def __init__(self) -> None:
        self._detector: LanguageDetector = (
            LanguageDetectorBuilder.from_languages(*DETECTED_LANGUAGES)
            .with_preloaded_language_models()
            .build()
        )

    def detect(self, text: str, default: str = "en") -> str:
        # Names sway the detector ("Who is Belousov?" reads as French); judge by the other words.
        without_names = text
        for name in _question_names(text):
            without_names = without_names.replace(name, " ")
        if re.search(r"\w", without_names):
            text = without_names
        confidences = self._detector.compute_language_confidence_values(text)
        if not confidences or confidences[0].value == 0:
            return default
        best = confidences[0]
        if best.language not in PREFERRED_LANGUAGES:
            for candidate in confidences[1:]:
                if candidate.language in PREFERRED_LANGUAGES and candidate.value >= NEAR_TIE * best.value:
                    best = candidate
                    break
        return best.language.iso_code_639_1.name.lower()


@cache
def _patterns() -> dict[str, list[re.Pattern[str]]]:
    table = load_phrases("question_patterns.toml")
    compiled = {key: [re.compile(p) for p in table[key]] for key in ("summary", "injection")}
    for kind, patterns in table["answer_kinds"].items():
        compiled[kind] = [re.compile(p) for p in patterns]
    for detail, rules in table["asked_details"].items():
        compiled[f"detail:{detail}"] = [re.compile(p) for p in rules["question"]]
    return compiled


def _asked_detail(folded: str) -> tuple[str | None, str | None]:
    for key, patterns in _patterns().items():
        if key.startswith("detail:"):
            for pattern in patterns:
                if match := pattern.search(folded):
                    return key.removeprefix("detail:"), match.groupdict().get("noun")
    return None, None


# A run of capitalised words is one name ("Emmanuel Macron"); it stands in a text when any part does.
_NAME = re.compile(r"(?<![\w.])([A-ZÀ-ÖØ-ÞА-ЯЁЄІЇҐ][\w'-]+(?: [A-ZÀ-ÖØ-ÞА-ЯЁЄІЇҐ][\w'-]+)*)")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")


def _question_names(text: str) -> list[str]:
    """Runs of capitalised words ("Emmanuel Macron"), less the first word: it is just the sentence's start."""
    names = (m.group(1) if m.start() > 0 else m.group(1).partition(" ")[2] for m in _NAME.finditer(text))
    return [name for name in names if name]


def _matches(kind: str, folded: str) -> bool:
    return any(pattern.search(folded) for pattern in _patterns()[kind])


def analyse(text: str, language: str) -> Question:
    folded = fold(text)
    answer_kind = next(
        (kind for kind in ("age", "number", "date", "person", "place") if _matches(kind, folded)), None
    )
    names = tuple(_question_names(text))
    asked_detail, detail_noun = _asked_detail(folded)
    return Question(
        text=text,
        language=language,
        wants_summary=_matches("summary", folded),
        is_injection=_matches("injection", folded),
        answer_kind=answer_kind,
        asked_detail=asked_detail,
        detail_noun=detail_noun,
        names=names,
        numbers=tuple(_NUMBER.findall(text)),
        content=tuple(content_words(text)),
    )
