"""Word error rate: the word-level edit distance between what was said and what was heard, per word said."""

from __future__ import annotations

import re
import unicodedata


def words(text: str) -> list[str]:
    """Case-folded words, punctuation dropped; ё counts as е (Russian writes either)."""
    text = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    return re.findall(r"\w+(?:['’]\w+)*", text)


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions, deletions and insertions that turn one word list into the other."""
    row = list(range(len(hypothesis) + 1))
    for i, said in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, heard in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (said != heard))
    return row[-1]


def wer(reference: str, hypothesis: str) -> float:
    said = words(reference)
    return edit_distance(said, words(hypothesis)) / max(len(said), 1)
