"""What code can check of a model's answer, in any language: do its numbers and names stand in the article?

Numbers match as digits or as the article's own number words ("8" stands where the article writes "huit").
Names match across scripts and spellings: both sides are transliterated to ASCII (anyascii) and compared
by their first letters ("Белоусов" -> "Belousov", "Zelensky" ~ "Zelenskiy").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from anyascii import anyascii
from num2words import num2words

from bot.engine.text import CJK_RANGES, UPPERCASE, fold

_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?")
# A run of words that start with a capital: a name, a place, an acronym ("Emmanuel Macron" is one name).
# (a name in Latin letters ends where CJK characters, glued to it, begin: "HD使用的")
_CAPITAL = rf"[{UPPERCASE}](?:(?![{CJK_RANGES}])[\w'’-])*"
# (and one may begin right after them: "的Macron")
_CAPITALISED = re.compile(rf"(?<!(?![{CJK_RANGES}])[\w.-]){_CAPITAL}(?: {_CAPITAL})*")
# Where CJK characters meet others: a Latin name glued to CJK text is a word of its own there.
_SCRIPT_SEAM = re.compile(rf"(?<=[{CJK_RANGES}])(?=[^{CJK_RANGES}])|(?<=[^{CJK_RANGES}])(?=[{CJK_RANGES}])")
_SENTENCE_START = re.compile(r"(^|[.!?:;»«\"“”()\n¿¡]\s*)$")
# Where every noun takes a capital, case does not tell a name: only numbers are checked there.
NOUN_CAPITALISING_LANGUAGES = {"de", "lb"}
MAX_NAME_WORDS = 4
NAME_PREFIX = 5  # letters compared: survives inflection and transliteration ("Belousova", "Belooussov")


def numbers_in(text: str) -> set[str]:
    """Numbers written with digits, as plain digit strings: "1 500" and "1,500" -> "1500"; "8,5" -> "8.5"."""
    values = set()
    for match in _NUMBER.findall(text):
        compact = re.sub(r"(?<=\d)[\s.,](?=\d{3}\b)", "", match.strip())
        values.add(compact.replace(",", "."))
    return values


def names_in(text: str) -> list[str]:
    """Runs of capitalised words, less a word that opens a sentence ("Yesterday Macron said" -> "Macron")."""
    names = []
    for match in _CAPITALISED.finditer(text):
        run = match.group(0)
        if _SENTENCE_START.search(text[: match.start()]):
            run = run.partition(" ")[2]
        if run:
            names.append(run)
    return names


def answer_names(answer: str, question: str = "") -> list[str]:
    """The names of an answer. Opening a sentence, a run of capitals is a name when it is the whole
    answer ("Paris.", "Andreï Belousov") or when the question names it ("What did Macron say?" ->
    "Macron said…")."""
    whole = _CAPITALISED.fullmatch(answer.strip(" .!?"))
    if whole and len(whole.group(0).split()) <= MAX_NAME_WORDS:
        return [whole.group(0)]
    asked = {word[:NAME_PREFIX] for name in names_in(question) for word in ascii_words(name)}
    return [
        m.group(0)
        for m in _CAPITALISED.finditer(answer)
        if not _SENTENCE_START.search(answer[: m.start()])
        or {word[:NAME_PREFIX] for word in ascii_words(m.group(0))} & asked
    ]


def ascii_words(text: str) -> list[str]:
    # CJK text has no spaces: a Latin name glued to it ("NTL的服务") would become one word ("ntldefuwu").
    spaced = _SCRIPT_SEAM.sub(" ", text)
    return re.findall(r"[a-z0-9]+", fold(anyascii(spaced)).lower())


@dataclass(frozen=True)
class Unsupported:
    """A fact of the answer that the article does not hold."""

    kind: str  # "number" or "name"
    value: str


class ArticleFacts:
    """The article's numbers (digits and number words) and words, to check answers against."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.language = language

    @cached_property
    def _numbers(self) -> set[str]:
        return numbers_in(self.text)

    @cached_property
    def _folded(self) -> str:
        return " ".join(ascii_words(self.text))

    @cached_property
    def _prefixes(self) -> set[str]:
        return {word[:NAME_PREFIX] for word in ascii_words(self.text)}

    def holds_number(self, value: str) -> bool:
        if value in self._numbers:
            return True
        try:
            number = float(value)
            spelled = num2words(int(number) if number.is_integer() else number, lang=self.language)
        except (ValueError, NotImplementedError, OverflowError):
            return False
        return f" {' '.join(ascii_words(spelled))} " in f" {self._folded} "

    def holds_name(self, name: str) -> bool:
        parts = ascii_words(name)
        return not parts or any(part[:NAME_PREFIX] in self._prefixes for part in parts)

    def unsupported(self, answer: str, answer_language: str, question: str = "") -> list[Unsupported]:
        """The answer's numbers and names that the article does not hold. The question does not excuse
        them: "What did Macron say?" answered "Macron said…" is still not in the article."""
        missing = [Unsupported("number", v) for v in sorted(numbers_in(answer)) if not self.holds_number(v)]
        if answer_language not in NOUN_CAPITALISING_LANGUAGES:
            names = answer_names(answer, question)
            missing += [Unsupported("name", name) for name in names if not self.holds_name(name)]
        return missing

    def unknown_names(self, question: str) -> list[str]:
        """Names a question asks about that the article never mentions (in any spelling it shares). A
        lone capital letter ("I") is no name, and where every noun takes a capital none is told."""
        if self.language in NOUN_CAPITALISING_LANGUAGES:
            return []
        return [name for name in names_in(question) if len(name) > 1 and not self.holds_name(name)]

    def sentence_holds(self, sentence: str, fact: Unsupported | str) -> bool:
        """Does one sentence of the article hold this number or name?"""
        value = fact.value if isinstance(fact, Unsupported) else fact
        if value[:1].isdigit():
            return ArticleFacts(sentence, self.language).holds_number(value)
        return ArticleFacts(sentence, self.language).holds_name(value)


def answer_facts(answer: str, answer_language: str) -> list[str]:
    """The numbers and names of an answer, which its citations must hold."""
    facts = sorted(numbers_in(answer))
    if answer_language not in NOUN_CAPITALISING_LANGUAGES:
        facts += answer_names(answer)
    return facts
