"""The checks a model's answer must pass before the learned probability weighs it, and the signals it
gives that probability. An answer is refused when its numbers, or in the article's language its names,
do not stand in the article (bot.engine.verify); when it adds nothing to the question; and when it is not
the article's: its own words mostly absent, or across languages its meaning far from every sentence
(bot.engine.support, e5). Nothing here knows the article's language, topic or names in advance.
"""

from __future__ import annotations

from bot.engine.answerability import Signals
from bot.engine.reader import Reading
from bot.engine.records import Passage
from bot.engine.retrieval import Retriever
from bot.engine.support import ArticleWords
from bot.engine.text import same_script
from bot.engine.verify import ArticleFacts, ascii_words, names_in

# An answer whose own words are mostly not the article's says something the article does not
# ("crêpes … farine, lait, beurre"); below this share it is refused whatever the learned score says.
ARTICLE_WORD_SHARE = 1 / 3
# Across languages, an answer this far (e5 cosine) from every sentence of the article is about something
# else: verified answers sat at 0.78 and above, "Crêpes are made with flour…" at 0.73.
CROSS_LINGUAL_SIMILARITY = 0.75


class AnswerChecks:
    """The checks of one article's answers."""

    def __init__(
        self, article_text: str, article_language: str, retriever: Retriever, facts: ArticleFacts
    ) -> None:
        self._article_text = article_text
        self._article_language = article_language
        self._retriever = retriever
        self._facts = facts
        self._words = ArticleWords([chunk.text for chunk in retriever.chunks])

    def check(
        self, reply: str, reading: Reading, question: str, language: str, question_similarity: float
    ) -> str | tuple[Signals, Passage | None]:
        """The refusing check's name, or the signals of an answer that passed, with the sentence that holds
        most of its words (None across languages, where words are not compared)."""
        cross_lingual = language != self._article_language
        unsupported = self._facts.unsupported(reply, language, question)
        # Numbers are digits in any language; names compare in the article's. Across languages a name may
        # be a translation ("Kazajistán" for "Kazakhstan": a signal, not a refusal), unless the question
        # names it too, in the article's own script: then it asks about someone the article never names
        # ("What did Macron say?"). Across scripts transliteration is too loose ("России", "Russie").
        asked = {
            word
            for name in names_in(question)
            if same_script(name, self._article_text)
            for word in ascii_words(name)
        }
        if (
            any(fact.kind == "number" for fact in unsupported)
            or (unsupported and not cross_lingual)
            or any(set(ascii_words(fact.value)) & asked for fact in unsupported)
        ):
            return "facts"
        # The answer and the question are in one language, so this compares across none.
        support = self._words.support(reply, question)
        if support.adds_nothing:
            return "adds-nothing"
        answer_similarity = self._retriever.best_similarity(reply)
        if cross_lingual:  # words do not compare across languages; meaning (e5, cross-lingual) does
            if answer_similarity < CROSS_LINGUAL_SIMILARITY:
                return "off-article"
        elif support.own_words >= 2 and support.article_share < ARTICLE_WORD_SHARE:
            return "off-article"
        unknown = len(unsupported) if cross_lingual else len(self._facts.unknown_names(question))
        signals = Signals(
            refusal_lean=reading.refusal_lean,
            first_token=reading.first_token,
            question_similarity=question_similarity,
            answer_similarity=answer_similarity,
            sentence_share=support.sentence_share,  # not weighed across languages (Answerability)
            article_share=support.article_share,
            own_words=support.own_words,
            unknown_names=unknown,
            cross_lingual=cross_lingual,
            mean_token=reading.mean_token,
            joint_share=None if cross_lingual else support.joint_share,
        )
        best = None
        if support.best_sentence >= 0 and not cross_lingual:
            best = self._retriever.passage(self._retriever.chunks[support.best_sentence].chunk_id)
        return signals, best
