"""When the article does not answer: checks the code can make, never the model's own word.

Measured on the eval set: asked "does this passage answer?", small models judge at chance, and similarity
scores of answerable and unanswerable questions overlap. So each check looks for something a passage must
hold before it can answer: the number the question names, the kind of answer and the detail it asks for,
the names it gives, standing where the answer is.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import numpy as np

from bot.engine.grounding import answer_candidates, holds_detail, number_values, stands_in
from bot.engine.question import Question
from bot.engine.records import Passage
from bot.engine.text import content_words, fold, stems, stopwords, words
from store.embeddings import Embedder

# Below this e5 similarity, a question sharing no word with the article is off-topic. Measured on the eval
# set: off-topic questions 0.76-0.78; the lowest such answerable one ("How do Kyiv and its Western…") 0.82.
OFF_TOPIC_SIMILARITY = 0.80
# Only French and English questions share words (and names) with a French text often enough to judge by.
LEXICAL_LANGUAGES = ("fr", "en")
# A question word has a translation in the article when e5 puts an article word this close to it. Measured
# on single words: meeting/réunion 0.94, war/guerre 0.94, soldiers/soldats 0.97; unrelated pairs up to 0.92
# (recipe/préparation). A question is on topic when at least half its words have one.
TRANSLATION_SIMILARITY = 0.93
TRANSLATED_SHARE = 0.5
_QUOTE_MARKS = ('"', "«", "“")


class Refusal(NamedTuple):
    reason: str  # for the log
    unknown_names: tuple[str, ...] = ()  # names the article never gives: the asker is told which


class RefusalChecks:
    def __init__(self, paragraphs: list[str], embedder: Embedder | None = None) -> None:
        self._paragraphs = paragraphs
        self._embedder = embedder
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
        if self._off_topic(asked, max(p.score for p in cited)):
            return Refusal("no word of the question stands in the article, nor has a translation there")
        if not holds_what_is_asked(asked, " ".join(p.text for p in cited)):
            return Refusal(f"the passage gives no {asked.answer_kind or ''} {asked.asked_detail or ''}")
        return self._elsewhere_check(names, cited[0])

    def _off_topic(self, asked: Question, similarity: float) -> bool:
        if asked.language not in LEXICAL_LANGUAGES or not asked.content or similarity >= OFF_TOPIC_SIMILARITY:
            return False
        if stems(asked.content) & self._article_stems:
            return False
        # English words seldom share a stem with a French article ("meeting", "réunion"): look for
        # translations instead.
        return self._translated_share(list(asked.content)) < TRANSLATED_SHARE

    def _translated_share(self, question_words: list[str]) -> float:
        if self._embedder is None:
            return 0.0
        vectors = self._embedder.embed_passages(question_words)
        nearest = (vectors @ self._article_word_vectors.T).max(axis=1)
        return float(np.mean(nearest >= TRANSLATION_SIMILARITY))

    @cached_property
    def _article_word_vectors(self) -> np.ndarray:
        """Every content word of the article, embedded once, when first needed (~0.4 s)."""
        assert self._embedder is not None
        return self._embedder.embed_passages(sorted(set(content_words(" ".join(self._paragraphs)))))

    def _elsewhere_check(self, names: list[str], best: Passage) -> Refusal | None:
        """A name the article gives in one paragraph only points there; an answer found elsewhere mixes two
        parts of the article ("What did Zelensky say about the bridge?"). Recurring names (the article's
        subjects: Russia, its minister) point nowhere in particular."""
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
