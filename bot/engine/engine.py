"""The answer engine: the model reads the article and answers; the code verifies before anything is shown.

1. The best retrieved sentence is shown at once, framed, while the model reads.
2. The model reads the article (from an evaluated prefix kept on disk, when it fits the context) and
   answers in the asker's language, or says NOT_IN_ARTICLE (bot.engine.reader).
3. The code checks the answer against the article (bot.engine.checks): its numbers (and, in the
   article's language, its names) stand there, it adds something to the question, and its own words are
   the article's, or across languages its meaning is near an article sentence. Where it could change
   the outcome, the model then looks at its own answer again, and answers twice more at a temperature
   (what it says again counts). A learned model turns the signals into the probability that the answer
   is right (bot.engine.answerability); below the operator's strictness, the bot says the article does
   not say.
4. The [n] markers are resolved by code, to the sentences holding the answer (bot.engine.citing).

It knows nothing of Telegram, so the CLI, the eval and the bench drive it the same way.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from bot.engine.answerability import DEFAULT_CONFIDENCE, Answerability
from bot.engine.checks import AnswerChecks
from bot.engine.citing import citations, supporting
from bot.engine.language import LanguageGuesser
from bot.engine.llm import MODEL_FAILURES, TextModel
from bot.engine.prompts import phrase
from bot.engine.reader import Reader, marks_refusal, numbered, strip_markers
from bot.engine.records import Answer, Citation, Exchange, Passage, Timings
from bot.engine.retrieval import Retriever
from bot.engine.second_thoughts import SecondThoughts
from bot.engine.states import StateFiles
from bot.engine.verify import ArticleFacts
from bot.errors import QuestionError
from store.chunking import article_checksum, split_paragraphs

logger = logging.getLogger(__name__)

# Tokens kept free for the question, a follow-up and the answer when deciding if the article fits.
RESERVED_TOKENS = 384


class Engine:
    def __init__(
        self,
        article_text: str,
        retriever: Retriever,
        model: TextModel,
        guesser: LanguageGuesser,
        *,
        name: str = "article",
        title: str = "",
        language: str | None = None,
        top_k: int = 4,
        max_question_chars: int = 500,
        max_answer_tokens: int = 64,
        min_confidence: float = DEFAULT_CONFIDENCE,
        answerability: Answerability | None = None,
        always_look: bool = False,
        near_sentences: int = 1,
        states: StateFiles | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name, self.title = name, title
        self.article_text = article_text
        self.article_sha = article_checksum(article_text)
        self.article_paragraphs = [text for _, text in split_paragraphs(article_text)]
        self.article_language = language or guesser.detect(article_text[:2000])
        self._facts = ArticleFacts(article_text, self.article_language)
        self._retriever = retriever
        self._checks = AnswerChecks(article_text, self.article_language, retriever, self._facts)
        self._model = model
        self._reader = Reader(model, max_answer_tokens)
        self._guesser = guesser
        self._top_k = top_k
        self._max_question_chars = max_question_chars
        self.min_confidence = min_confidence
        self._answerability = answerability or Answerability.load()
        self._second_thoughts = SecondThoughts(self._reader, self._answerability)
        # False: the second look and the drawn replies are asked only when they could change what the asker
        # sees (the eval asks them always, to score every answer for every strictness).
        self.always_look = always_look
        self._near_sentences = near_sentences
        self._states = states
        self._clock = clock
        self._whole_article = numbered(self.article_paragraphs)
        budget = model.context_size - RESERVED_TOKENS - max_answer_tokens
        self.reads_whole_article = model.count_tokens(self._whole_article) <= budget
        self.article_read = "not yet"  # then how warm_up read it: "evaluated", "loaded" or "kept"

    def warm_up(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Evaluate the article's prompt prefix once (or load it from disk), so no asker pays for it; then
        let lingua load its models in the background. progress(tokens read, tokens) while reading."""
        if self.reads_whole_article:
            self.read_article(progress)
        self._guesser.warm_up()

    def read_article(self, progress: Callable[[int, int], None] | None = None) -> str:
        """Make this article's prefix the model's current one ("kept", "loaded" or "evaluated"). Several
        articles share one model, so each answer calls this first; it is instant when already kept."""
        if not self.reads_whole_article:
            return self.article_read
        system = Reader.system(self._whole_article)
        state_file = None
        if self._states:  # one file per model and prompt: a changed template or article is read anew
            key = hashlib.sha256(f"{self._model.name}\n{system[0]['content']}".encode()).hexdigest()[:24]
            state_file = self._states.path(key)
        try:
            self.article_read = self._model.keep_prefix(system, state_file, progress)
        except MODEL_FAILURES:
            logger.warning("reading the article ahead failed; the first answer will be slower", exc_info=True)
        if state_file and self._states:
            self._states.used(state_file)
        return self.article_read

    # -- small lookups the front ends use -------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self._model.name

    def passage(self, chunk_id: str) -> Passage | None:
        return self._retriever.passage(chunk_id)

    def retrieve(self, question: str, k: int = 5) -> list[Passage]:
        return self._retriever.retrieve(question, k)

    def detect_language(self, text: str) -> str:
        return self._guesser.detect(text, preferred=(self.article_language, "en"))

    def check_question(self, text: str, language: str = "en") -> str:
        question = " ".join(text.split())
        if not question:
            raise QuestionError(phrase("empty", language), "empty")
        length, limit = len(question), self._max_question_chars
        if length > limit:
            raise QuestionError(
                phrase("too_long", language, length=length, limit=limit),
                "too_long",
                length=length,
                limit=limit,
            )
        return question

    # -- answering ------------------------------------------------------------------------------------

    def answer(self, question: str, follow_up: Exchange | None = None) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, follow_up):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(self, question: str, follow_up: Exchange | None = None) -> Iterator[str | Answer]:
        """Yield the quote to show meanwhile, then the final Answer. follow_up is an exchange the question
        may continue (the answer it replies to, or a private chat's last one), given to the model as the
        turns before the question: the model decides, as it reads, whether the question continues it
        (measured against a yes/no judgement and a standalone rewrite: README, "Follow-up questions").
        Refused in the exchange's light, the question is asked once more alone: it may not continue the
        exchange at all, and alone it gets the answer it would have had without one."""
        answer: Answer | None = None
        for item in self._stream_once(question, follow_up):
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
        assert answer is not None
        if follow_up is None or not answer.refused:
            yield answer
            return
        alone = self.answer(question)
        alone.timings.total_ms += answer.timings.total_ms
        yield alone

    def _stream_once(self, question: str, follow_up: Exchange | None) -> Iterator[str | Answer]:
        started = self._clock()
        language = self.detect_language(question)
        text = self.check_question(question, language)
        timings = Timings()

        def finish(answer: str, cited: list[Citation], method: str) -> Answer:
            timings.total_ms = (self._clock() - started) * 1000
            refused = method.startswith("refusal:")
            return Answer(text, answer, refused, language, cited, timings, method, self.name)

        def refusal(check: str) -> Answer:
            return finish(phrase("refusal", language), [], f"refusal:{check}")

        query = f"{follow_up.question} {text}" if follow_up else text
        passages = self._retriever.retrieve(query, self._top_k)
        timings.retrieve_ms = (self._clock() - started) * 1000
        if not passages:
            yield refusal("no-passage")
            return
        quote_citations, markers = citations(passages[:1])
        quoted = phrase("extractive", language, marker=markers, quote=passages[0].text)
        timings.first_token_ms = (self._clock() - started) * 1000
        yield quoted

        article = self._article_for(passages)
        near = [p.text for p in passages[: self._near_sentences]]
        messages = self._reader.messages(article, text, language, follow_up, near)
        try:
            self.read_article()
            reading = self._reader.read(messages)
        except MODEL_FAILURES:
            logger.warning("the model failed; quoting the passage instead", exc_info=True)
            yield finish(quoted, quote_citations, "extractive")
            return
        reply = reading.reply
        logger.debug("%r: reply %r, refusal lean %.3f", text, reply, reading.refusal_lean)
        if not reply or marks_refusal(reply):
            yield refusal("model")
            return
        # A follow-up is checked as the asker means it, after the exchange it continues: an answer that only
        # repeats the previous one adds nothing (measured: README, "Follow-up questions").
        asked = f"{follow_up.question} {strip_markers(follow_up.answer)} {text}" if follow_up else text
        # The exchange lends a follow-up its passages, not its nearness to the article: a question off the
        # article asked after one would borrow it (measured: README, "Follow-up questions").
        similarity = passages[0].score
        if follow_up is not None:
            own = self._retriever.retrieve(text, 1)
            similarity = own[0].score if own else 0.0
        check = self._checks.check(reply, reading, asked, language, similarity)
        if isinstance(check, str):
            yield replace(refusal(check), candidate=reply)  # what the check refused, for the eval
            return
        signals, best = check
        # The look sees the question alone, as the weights learned it: after an exchange it doubted right
        # follow-ups and trusted answers off the article (measured: README, "Follow-up questions").
        look_at = messages
        if follow_up is not None:
            look_at = self._reader.messages(article, text, language, None, near)
        signals = self._second_thoughts.weigh(
            signals,
            self.min_confidence,
            look_at=look_at,
            drawn_from=messages,
            asked=asked,
            reply=reply,
            always=self.always_look,
        )
        confidence = self._answerability.probability(signals)
        scored = signals.to_record()
        if confidence < self.min_confidence:
            yield replace(refusal("confidence"), candidate=reply, confidence=confidence, signals=scored)
            return
        cited = supporting(self._retriever, self._facts, reply, text, language, best)
        cited_records, markers = citations(cited)
        shown = finish(f"{reply} {markers}", cited_records, "model")
        yield replace(shown, candidate=reply, confidence=confidence, signals=scored)

    def suggest_question(self, language: str) -> str | None:
        """A short question the article answers, in the language, to show a new reader; None if the model
        wrote something else. Only a suggestion: its answer is verified when it is asked."""
        article = self._whole_article if self.reads_whole_article else self.article_paragraphs[0]
        try:
            self.read_article()
            return self._reader.suggestion(article, language)
        except MODEL_FAILURES:
            logger.warning("the model could not suggest a question", exc_info=True)
            return None

    def _article_for(self, passages: list[Passage]) -> str:
        """The whole article when it fits; else the paragraphs of the retrieved sentences, in order."""
        if self.reads_whole_article:
            return self._whole_article
        return numbered(self.article_paragraphs, sorted({p.paragraph for p in passages}))
