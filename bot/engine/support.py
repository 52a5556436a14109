"""How well the article supports an answer written in its own language: word for word, in any language.

An answer's own words are those the question does not already say. An answer with none adds nothing to
the question ("How many missiles did Ukraine fire?" -> "Ukraine fired missiles."). An answer whose own
words stand in no sentence of the article says something the article does not (the model's knowledge).
Words are compared by a crude, language-blind stem (bot.engine.text.stem) of their transliteration,
characters of Chinese, Japanese and Korean by pairs, numbers as digit strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from anyascii import anyascii

from bot.engine.reader import marks_refusal
from bot.engine.text import CJK, content_words, fold, stem
from bot.engine.verify import numbers_in


def terms(text: str) -> list[str]:
    """The text's content words as comparable terms: stems of their ASCII transliteration ("Белоусов" ->
    "belou", as "Belousov"), and pairs of characters in scripts written without spaces ("推出" of
    "Sky Digital于1998年推出")."""
    found: list[str] = []
    for word in content_words(text):
        if CJK.search(word):
            characters = CJK.findall(word)
            found += ["".join(pair) for pair in pairwise(characters)] or characters
            word = CJK.sub(" ", word).strip()
            if not word:
                continue
        found += [stem(part) for part in fold(anyascii(word)).split() if part]
    return found


def stems(text: str) -> set[str]:
    return set(terms(text))


@dataclass(frozen=True)
class Support:
    """What the article holds of an answer's own words."""

    own_words: int  # content words of the answer that the question does not say
    new_numbers: int  # numbers of the answer that the question does not say
    article_share: float  # share of the own words found anywhere in the article (1.0 when there are none)
    sentence_share: float  # share of the own words found in the one sentence that holds most of them
    best_sentence: int  # index of that sentence, -1 when there is no own word
    # Where the article answers the question, the answer's own words stand beside the question's: the
    # best over sentences of the lesser of the two shares (None: no own word, or a question of none).
    joint_share: float | None = None

    @property
    def adds_nothing(self) -> bool:
        return self.own_words == 0 and self.new_numbers == 0


def _same_word(a: str, b: str) -> bool:
    """Two stems of one word: "tire" (tiré) and "tires" (tirés) share what the shorter one has."""
    shared = min(len(a), len(b))
    return shared >= 3 and a[:shared] == b[:shared]


def own_stems(answer: str, asked: set[str]) -> list[str]:
    """The stems of the answer's words that the question's (asked) do not say."""
    return [s for s in terms(answer) if s not in asked and not any(_same_word(s, a) for a in asked)]


def new_numbers(answer: str, question: str) -> int:
    return len(numbers_in(answer) - numbers_in(question))


class Additions:
    """What an answer adds to its question (its own words and new numbers), to look for in other replies."""

    def __init__(self, question: str, answer: str) -> None:
        self._own = own_stems(answer, stems(question))
        self._numbers = numbers_in(answer) - numbers_in(question)
        self._count = len(self._own) + len(self._numbers)

    def share(self, other: str) -> float:
        """The share of the additions the other reply says too: 0 for a refusal or an empty reply, 1 when
        there is nothing to find. More of the same reply never says less."""
        if not other or marks_refusal(other):
            return 0.0
        if not self._count:
            return 1.0
        said = stems(other)
        found = sum(word in said or any(_same_word(word, s) for s in said) for word in self._own)
        found += len(self._numbers & numbers_in(other))
        return found / self._count


class ArticleWords:
    """The stems of each sentence of the article, to measure answers against."""

    def __init__(self, sentences: list[str]) -> None:
        self._sentences = [stems(sentence) for sentence in sentences]
        self._article = set().union(*self._sentences) if self._sentences else set()

    def support(self, answer: str, question: str) -> Support:
        asked = stems(question)
        own = own_stems(answer, asked)
        numbers = new_numbers(answer, question)
        if not own:
            return Support(0, numbers, 1.0, 1.0, -1)
        in_article = sum(s in self._article for s in own) / len(own)
        shares = [sum(s in sentence for s in own) / len(own) for sentence in self._sentences]
        best = max(range(len(shares)), key=shares.__getitem__) if shares else -1
        joint = None
        if asked:
            asked_shares = [sum(s in sentence for s in asked) / len(asked) for sentence in self._sentences]
            joint = max(map(min, shares, asked_shares), default=0.0)
        return Support(len(own), numbers, in_article, shares[best] if shares else 0.0, best, joint)
