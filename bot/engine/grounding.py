"""Checks the code can make: do an answer's numbers and names stand in the cited passages (aliases
allowed), and does a passage hold the kind of answer the question asks for (a number, a date, a person,
a place) and the detail it asks about (a birth, a city, a name, what a number counts…)?"""

from __future__ import annotations

import re
from functools import cache

from bot.engine.prompts import load_phrases
from bot.engine.text import content_words, fold, stem, stems, stopwords, words, written_words

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
COMPLEMENT_WORDS = {"de", "d", "du", "des", "of"}
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
    """Does a word or name stand in a passage (given its stems), as written or as a known alias?"""
    parts = words(word)
    spellings = parts + [alias for part in parts for alias in _aliases().get(part, ())]
    return any(stem(spelling) in passage_stems for spelling in spellings)


@cache
def _aliases() -> dict[str, tuple[str, ...]]:
    """Each spelling of a name mapped to its other spellings ("nato" -> "otan"), from prompts/."""
    table: dict[str, tuple[str, ...]] = {}
    for group in load_phrases("name_aliases.toml")["aliases"]:
        for spelling in group:
            table[spelling] = tuple(other for other in group if other != spelling)
    return table


@cache
def _detail_rules() -> dict[str, dict[str, list[re.Pattern[str]]]]:
    table = load_phrases("question_patterns.toml")["asked_details"]
    return {
        detail: {key: [re.compile(p) for p in rules.get(key, [])] for key in ("passage", "passage_names")}
        for detail, rules in table.items()
    }


def holds_detail(detail: str, noun: str | None, passage: str, question: str) -> bool:
    """Does the passage give the finer detail a question asks for (a birth, a city, a kind of thing)?"""
    if detail == "type":
        return noun is None or _qualifies(noun, passage, question)
    if detail == "name":
        head_words = content_words(noun or "")
        return not head_words or any(_names_right_after(word, passage, question) for word in head_words)
    if detail == "count":
        return noun is None or _counted(noun, passage)
    rules = _detail_rules()[detail]
    folded = fold(passage)
    if any(pattern.search(folded) for pattern in rules["passage"]):
        return True
    question_stems = stems(words(question))
    return any(
        not stands_in(match.group("name"), question_stems)
        for pattern in rules["passage_names"]
        for match in pattern.finditer(passage)
    )


def _names_right_after(noun: str, passage: str, question: str) -> bool:
    """Does a new name follow the noun, with only stopwords and the question's own words between?"""
    tokens = written_words(passage)
    question_stems = stems(words(question))
    for i, token in enumerate(tokens):
        if stem(fold(token)) != stem(fold(noun)):
            continue
        for following in tokens[i + 1 : i + 6]:
            folded = fold(following)
            if following[0].isupper() and stem(folded) not in question_stems:
                return True
            if folded not in stopwords() and stem(folded) not in question_stems:
                break  # the passage qualifies the noun otherwise than the question does
    return False


def _is_count(word: str) -> bool:
    """A folded word that counts: digits, a number word ("huit"), a quantifier ("milliers"); "un" and
    "une" are articles far more often than counts."""
    return bool(_DIGITS.fullmatch(word)) or NUMBER_WORDS.get(word, "1") != "1" or word in QUANTIFIERS


def _positions(noun: str, tokens: list[str]) -> list[int]:
    return [i for i, token in enumerate(tokens) if stem(token) == stem(noun)]


def _counted(noun: str, passage: str) -> bool:
    """Does a number of the passage count this noun ("28 localités", "milliers de soldats")? A noun the
    passage does not hold (another language) is given the benefit of the doubt."""
    tokens = words(passage)
    at = _positions(noun, tokens)
    if not at:
        return True
    for i in at:
        before = [t for t in tokens[max(i - 3, 0) : i] if t not in COMPLEMENT_WORDS][-2:]
        if any(_is_count(t) for t in before):
            return True
    return False


def _qualifies(noun: str, passage: str, question: str) -> bool:
    """Is the noun qualified in the passage by a word next to it ("missiles de croisière", "cruise
    missiles")? A noun the passage does not hold (another language) is given the benefit of the doubt."""
    tokens = words(passage)
    at = _positions(noun, tokens)
    if not at:
        return True
    question_stems = stems(words(question))
    meaningful = set(content_words(passage)) - {t for t in tokens if stem(t) in question_stems}
    for i in at:
        following = tokens[i + 1 : i + 3]
        if following[:1] and following[0] in COMPLEMENT_WORDS:
            following = following[1:]  # "missiles de croisière"
        if any(word in meaningful for word in tokens[max(i - 1, 0) : i] + following[:1]):
            return True
    return False


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
        counts += [w for w in tokens if not _DIGITS.fullmatch(w) and _is_count(w)]
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
