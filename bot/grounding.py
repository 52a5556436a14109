"""Checks the code can make: do an answer's numbers and names stand in the cited passages, and does a
passage hold the kind of answer the question asks for (a number, a date, a person, a place)?"""

from __future__ import annotations

import re

from bot.text import fold, stem, stems, stopwords, words

# Number words the article and answers may use (folded), mapped to digits so "huit" matches "eight" and "8".
NUMBER_WORDS = {
    "un": "1", "une": "1", "one": "1", "deux": "2", "two": "2", "trois": "3", "three": "3", "quatre": "4",
    "four": "4", "cinq": "5", "five": "5", "six": "6", "sept": "7", "seven": "7", "huit": "8", "eight": "8",
    "neuf": "9", "nine": "9", "dix": "10", "ten": "10", "acht": "8", "neun": "9", "ocho": "8", "nueve": "9",
    "otto": "8", "nove": "9", "oito": "8",
}  # fmt: skip
QUANTIFIERS = {
    "tous",
    "toutes",
    "aucun",
    "aucune",
    "dizaines",
    "centaines",
    "milliers",
    "millions",
    "plusieurs",
}
MONTHS = {
    "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
    "novembre", "decembre", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
}  # fmt: skip
WEEKDAYS = {"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "monday", "tuesday",
            "wednesday", "thursday", "friday", "saturday", "sunday"}  # fmt: skip
RELATIVE_DATES = (
    "cette semaine",
    "ce mois-ci",
    "ce mois ci",
    "hier",
    "aujourd'hui",
    "cette annee",
    "this week",
)
PERSON_TITLES = {"m", "mme", "ministre", "president", "presidente", "porte-parole", "general", "chef"}
PLACE_WORDS = {
    "region", "nord", "sud", "nord-est", "nord-ouest", "sud-est", "sud-ouest",
    "centrale", "orientale", "occidentale", "frontieres", "territoire", "pays", "ville",
}  # fmt: skip
PLACE_PREPOSITIONS = {"en", "au", "aux", "a", "dans", "vers", "pres", "de", "du"}

_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_CAPITALISED = re.compile(r"(?<![\w.])([A-ZÀ-ÖØ-Þ][\w’'-]+)")
_TITLE_ABBREVIATION = re.compile(r"\b(M|Mme|Mlle|Dr|Pr)\.$")
_AGE = re.compile(r"\b\d+\s*ans\b|\bage de\b|\bne en\b|\bnee en\b")


def number_values(text: str) -> set[str]:
    """Numbers written in digits or in words, as digit strings."""
    values = {match.replace(",", ".") for match in _DIGITS.findall(text)}
    values.update(NUMBER_WORDS[word] for word in words(text) if word in NUMBER_WORDS)
    return values


def names_in(text: str) -> list[str]:
    """Capitalised words that are not the first word of a sentence: names, places, acronyms."""
    names = []
    for match in _CAPITALISED.finditer(text):
        before = text[: match.start()].rstrip(" «\"“'’")
        if before and (before[-1] not in ".!?:\n" or _TITLE_ABBREVIATION.search(before)):
            names.append(match.group(1))
    return names


def stands_in(word: str, passage_stems: set[str]) -> bool:
    return any(stem(part) in passage_stems for part in words(word))


def ungrounded_facts(answer: str, passages: list[str]) -> list[str]:
    """The numbers and names of an answer that none of the passages contains (empty list: all grounded)."""
    joined = " ".join(passages)
    passage_numbers = number_values(joined)
    passage_stems = stems(words(joined))
    missing = [number for number in number_values(answer) if number not in passage_numbers]
    missing += [name for name in _answer_names(answer) if not stands_in(name, passage_stems)]
    return missing


def _answer_names(answer: str) -> list[str]:
    """An answer's names, a sentence-initial one too ("Shoigu said…"), but not a capitalised "The"."""
    names = names_in(answer)
    first = _CAPITALISED.match(answer.lstrip(' «"“'))
    if first and fold(first.group(1)) not in stopwords() and first.group(1) not in names:
        names.insert(0, first.group(1))
    return names


def answer_candidates(kind: str, passage: str, question: str) -> list[str]:
    """Words of the passage that could answer a question of this kind and are not already in the question."""
    question_stems = stems(words(question))
    folded = fold(passage)
    tokens = words(passage)
    if kind == "age":
        return _AGE.findall(folded)
    if kind == "number":
        counts = [n for n in _DIGITS.findall(passage) if not _YEAR.fullmatch(n)]
        counts += [w for w in tokens if (w in NUMBER_WORDS and NUMBER_WORDS[w] != "1") or w in QUANTIFIERS]
        return [c for c in counts if stem(c) not in question_stems]
    if kind == "date":
        dates = _YEAR.findall(passage) + [w for w in tokens if w in MONTHS or w in WEEKDAYS]
        dates += [phrase for phrase in RELATIVE_DATES if phrase in folded]
        return [d for d in dates if stem(fold(d)) not in question_stems]
    new_names = [name for name in names_in(passage) if not stands_in(name, question_stems)]
    if kind == "person":
        # Any new name may answer "who": a person, but also an alliance or a country.
        return new_names + [
            t for t in tokens if t in PERSON_TITLES and stem(t) not in question_stems and t != "m"
        ]
    if kind == "place":
        places = [w for w in tokens if w in PLACE_WORDS and stem(w) not in question_stems]
        return places + [n for n in new_names if _after_preposition(n, passage)]
    return []


def _after_preposition(name: str, passage: str) -> bool:
    match = re.search(rf"(\w+)\W+{re.escape(name)}\b", passage)
    return match is not None and fold(match.group(1)) in PLACE_PREPOSITIONS
