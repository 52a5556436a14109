"""Small text helpers for retrieval, checks and the eval: accent folding, word lists, stopwords."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bm25s import stopwords as bm25_stopwords

_WORD = re.compile(r"\w+", re.UNICODE)
# Elided articles and pronouns: l'OTAN, d'aggraver, qu'il, s'agit.
_ELISION = re.compile(r"\b[ldjmnstc]'|\bqu'|\bjusqu'|\blorsqu'|\bpuisqu'", re.IGNORECASE)
STEM_LENGTH = 5
# Chinese, Japanese and Korean characters: no spaces between words, and no capitals.
CJK_RANGES = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
CJK = re.compile(f"[{CJK_RANGES}]")


def _uppercase_ranges() -> str:
    """Every Unicode uppercase and titlecase letter, as a regex class body: Ł, Ż, Š, İ, Ω, Ж…"""
    codes = [c for c in range(0x10000) if chr(c).isupper() or unicodedata.category(chr(c)) == "Lt"]
    ranges, start, last = [], codes[0], codes[0]
    for code in codes[1:]:
        if code != last + 1:
            ranges.append((start, last))
            start = code
        last = code
    ranges.append((start, last))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )


UPPERCASE = _uppercase_ranges()


def fold(text: str) -> str:
    """Lower case without accents, typographic apostrophes made plain: 'Crimée' -> 'crimee'."""
    text = text.replace("’", "'").replace("œ", "oe").replace("Œ", "Oe")
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """Folded words, with French elisions (l', d', qu') split off."""
    return _WORD.findall(_ELISION.sub(" ", fold(text)))


def stem(word: str) -> str:
    """A crude, language-blind stem: the first letters survive typos, accents and inflection."""
    return word[:STEM_LENGTH]


@cache
def stopwords() -> frozenset[str]:
    """Stopwords of the languages users write in, folded."""
    lists = [getattr(bm25_stopwords, name) for name in dir(bm25_stopwords) if name.startswith("STOPWORDS_")]
    return frozenset(fold(word) for words_ in lists for word in words_)


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no one-letter tokens."""
    stop = stopwords()
    return [word for word in words(text) if word not in stop and len(word) > 1]


def _script(char: str) -> str:
    """The script of a letter, by the first word of its Unicode name: LATIN, CYRILLIC, ARABIC, CJK…"""
    return unicodedata.name(char, "").split(" ")[0]


def same_script(text: str, other: str) -> bool:
    """Is the text's first letter written in a script the other text's first 200 letters use?"""
    letter = next((c for c in text if c.isalpha()), "")
    letters = [c for c in other if c.isalpha()][:200]
    return bool(letter) and _script(letter) in {_script(c) for c in letters}
