"""When the article does not answer: checks the code can make, never the model's own word.

Measured on the eval set: asked "does this passage answer?", small models judge at chance, and similarity
scores of answerable and unanswerable questions overlap. So each check looks for something a passage must
hold before it can answer: the number the question names, the kind of answer and the detail it asks for,
the names it gives, standing where the answer is.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.grounding import answer_candidates, holds_detail, number_values, stands_in
from bot.question import Question
from bot.records import Passage
from bot.text import fold, stems, stopwords, words

# Below this e5 similarity, a question sharing no word with the article is off-topic. Measured on the eval
# set: off-topic questions 0.76-0.78; the lowest such answerable one ("How do Kyiv and its Western…") 0.82.
OFF_TOPIC_SIMILARITY = 0.80
# Only French and English questions share words (and names) with a French text often enough to judge by.
LEXICAL_LANGUAGES = ("fr", "en")
_QUOTE_MARKS = ('"', "«", "“")


class Refusal(NamedTuple):
    reason: str  # for the log
    unknown_names: tuple[str, ...] = ()  # names the article never gives: the asker is told which


class RefusalChecks:
    def __init__(self, paragraphs: list[str]) -> None:
        self._paragraphs = paragraphs
        article = " ".join(paragraphs)
        self._article_numbers = number_values(article)
        self._article_stems = stems(words(article))
        self._paragraph_stems = [stems(words(paragraph)) for paragraph in paragraphs]

    def check(self, asked: Question, cited: list[Passage]) -> Refusal | None:
        """Why the cited passages cannot answer the question, or None when they may."""
        if not cited:
            return Refusal("nothing retrieved")
        missing_numbers = [n for n in asked.numbers if n not in self._article_numbers]
        if missing_numbers:
            return Refusal(f"the article has no {missing_numbers}")
        names = [n for n in asked.names if fold(n) not in stopwords()]
        unknown = [n for n in names if not stands_in(n, self._article_stems)]
        if asked.language in LEXICAL_LANGUAGES and unknown:
            return Refusal(f"the article never names {unknown}", tuple(unknown))
        if (
            asked.language in LEXICAL_LANGUAGES
            and max(p.score for p in cited) < OFF_TOPIC_SIMILARITY
            and asked.content
            and not stems(asked.content) & self._article_stems
        ):
            return Refusal("no word of the question stands in the article")
        if not holds_what_is_asked(asked, " ".join(p.text for p in cited)):
            return Refusal(f"the passage gives no {asked.answer_kind or ''} {asked.asked_detail or ''}")
        return self._elsewhere_check(names, cited[0])

    def _elsewhere_check(self, names: list[str], best: Passage) -> Refusal | None:
        """A name the article gives in one paragraph only must stand where the answer is."""
        # A name the article gives in one paragraph only points there; an answer found elsewhere mixes two
        # parts of the article ("What did Zelensky say about the bridge?"). Recurring names (the article's
        # subjects: Russia, its minister) point nowhere in particular.
        context_stems = stems(words(self._attributed_paragraphs(best.paragraph)))
        elsewhere = [
            n
            for n in names
            if sum(stands_in(n, paragraph) for paragraph in self._paragraph_stems) == 1
            and not stands_in(n, context_stems)
        ]
        if elsewhere:
            return Refusal(f"{elsewhere} stand in another part of the article than the answer")
        return None

    def _attributed_paragraphs(self, index: int) -> str:
        return " ".join(self._paragraphs[i] for i in attribution_chain(self._paragraphs, index))


def attribution_chain(paragraphs: list[str], index: int) -> list[int]:
    """A paragraph's index, then those before it while it is a quotation: a quote's speaker is named there."""
    chain = [index]
    while chain[-1] > 0 and paragraphs[chain[-1]].lstrip().startswith(_QUOTE_MARKS):
        chain.append(chain[-1] - 1)
    return chain


def holds_what_is_asked(asked: Question, passage: str) -> bool:
    """Does the passage hold the kind of answer (a number, a person…) and the detail (a birth, a name…)
    the question asks for?"""
    if asked.answer_kind and not answer_candidates(asked.answer_kind, passage, asked.text):
        return False
    return not asked.asked_detail or holds_detail(asked.asked_detail, asked.detail_noun, passage, asked.text)
