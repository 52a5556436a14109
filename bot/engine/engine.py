"""The answer engine: the model reads the article and writes a short answer; the code verifies it.

1. The best retrieved sentence is quoted at once, framed in the asker's language.
2. The model reads the article (whole, from an evaluated prefix kept on disk, when it fits the context)
   and answers in the asker's language, or says NOT_IN_ARTICLE.
3. The code refuses when the model says so, or when its first token leaned that way (a measured
   threshold); checks that the answer is in the asker's language and that its numbers and names stand in
   the article; and resolves the [n] markers itself, to the article sentences holding the answer.

It knows nothing of Telegram, so the CLI, the eval and the bench drive it the same way.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from bot.engine.language import LanguageGuesser, language_name
from bot.engine.llm import Message, TextModel
from bot.engine.prompts import phrase, render_file
from bot.engine.records import Answer, Citation, Exchange, Passage, Timings
from bot.engine.retrieval import Retriever
from bot.engine.states import StateFiles
from bot.engine.text import content_words, stem
from bot.engine.verify import ArticleFacts, answer_facts
from bot.errors import QuestionError
from store.chunking import article_checksum, split_paragraphs

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

REFUSAL_MARK = "NOT_IN_ARTICLE"
# Refuse when the model's first token is NOT_IN_ARTICLE's with at least this probability, even when it
# wrote an answer: measured on the public eval sets (README, "Refusal").
REFUSAL_PROBABILITY = 0.15
# Tokens kept free for the question, a follow-up and the answer when deciding if the article fits.
RESERVED_TOKENS = 384
MAX_CITATIONS = 3
# An answer in the article's language whose own words (beyond the question's) are mostly not the
# article's says something the article does not ("crêpes … farine, lait, beurre"). Across languages, an
# answer this far (e5 cosine) from every sentence of the article is about something else: measured,
# verified answers sat at 0.78 and above, "Crêpes are made with flour…" 0.73. README, "Refusal".
ARTICLE_WORD_SHARE = 1 / 3
CROSS_LINGUAL_SIMILARITY = 0.75
_MARKER = re.compile(r"\s*\[\d+\]")


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
        refusal_probability: float = REFUSAL_PROBABILITY,
        states: StateFiles | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name, self.title = name, title
        self.article_text = article_text
        self.article_sha = article_checksum(article_text)
        self.article_paragraphs = [text for _, text in split_paragraphs(article_text)]
        self.article_language = language or guesser.detect(article_text[:2000])
        self._facts = ArticleFacts(article_text, self.article_language)
        self._article_stems = {stem(word) for word in content_words(article_text)}
        self._retriever = retriever
        self._model = model
        self._guesser = guesser
        self._top_k = top_k
        self._max_question_chars = max_question_chars
        self._max_answer_tokens = max_answer_tokens
        self._refusal_probability = refusal_probability
        self._states = states
        self._clock = clock
        numbered = _numbered(self.article_paragraphs)
        budget = model.context_size - RESERVED_TOKENS - max_answer_tokens
        self.reads_whole_article = model.count_tokens(numbered) <= budget
        self.article_read = "not yet"  # then how warm_up read it: "evaluated", "loaded" or "kept"
        self._whole_article = numbered

    @classmethod
    def from_settings(cls, settings: Settings, model: TextModel | None = None) -> Engine:
        """The engine of the default article (ARTICLE_PATH), indexed if needed, with its article read."""
        from bot.engine.library import Library

        engine = Library.from_settings(settings, model).engine()
        engine.warm_up()
        return engine

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
        system = self._system(self._whole_article)
        state_file = None
        if self._states:  # one file per model and prompt: a changed template or article is read anew
            key = hashlib.sha256(f"{self._model.name}\n{system[0]['content']}".encode()).hexdigest()[:24]
            state_file = self._states.path(key)
        try:
            self.article_read = self._model.keep_prefix(system, state_file, progress)
        except Exception:
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
        """Yield the quote to show meanwhile, then the final Answer."""
        started = self._clock()
        language = self.detect_language(question)
        text = self.check_question(question, language)
        timings = Timings()

        def finish(answer: str, citations: list[Citation], refused: bool, method: str) -> Answer:
            timings.total_ms = (self._clock() - started) * 1000
            return Answer(text, answer, refused, language, citations, timings, method, self.name)

        def refusal(check: str) -> Answer:
            return finish(phrase("refusal", language), [], True, f"refusal:{check}")

        # A name the article never mentions, asked in the article's own language (where names are spelled
        # alike): the article cannot answer about it. Across languages names change ("NATO", "OTAN").
        if language == self.article_language and self._facts.unknown_names(text):
            logger.debug("refusing %r: the article never names %s", text, self._facts.unknown_names(text))
            yield refusal("unknown-name")
            return
        query = f"{follow_up.question} {text}" if follow_up else text
        passages = self._retriever.retrieve(query, self._top_k)
        timings.retrieve_ms = (self._clock() - started) * 1000
        if not passages:
            yield refusal("no-passage")
            return
        best = passages[:1]
        quote_citations, markers = _citations(best)
        quoted = phrase("extractive", language, marker=markers, quote=best[0].text)
        timings.first_token_ms = (self._clock() - started) * 1000
        yield quoted

        messages = self._messages(text, language, passages, follow_up)
        try:
            self.read_article()
            reply = self._read(messages)
            leaning = self._model.next_token_probabilities(messages, [REFUSAL_MARK])[0]
        except Exception:
            logger.warning("the model failed; quoting the passage instead", exc_info=True)
            yield finish(quoted, quote_citations, False, "extractive")
            return
        verdict = self._verdict(reply, leaning, text, language)
        logger.debug("%r: reply %r, refusal lean %.3f: %s", text, reply, leaning, verdict)
        if verdict == "quote":
            yield finish(quoted, quote_citations, False, "extractive")
            return
        if verdict != "answer":
            yield refusal(verdict)
            return
        cited = self._supporting(reply, text, language)
        citations, markers = _citations(cited)
        yield finish(f"{reply} {markers}", citations, False, "model")

    def _verdict(self, reply: str, leaning: float, question: str, language: str) -> str:
        """ "answer" (verified), "quote" (not verifiable: show the quoted sentence) or the refusing check."""
        if not reply or _marks_refusal(reply):
            return "model"
        if leaning >= self._refusal_probability:
            return "leaning"
        unsupported = self._facts.unsupported(reply, language, question)
        numbers = [fact for fact in unsupported if fact.kind == "number"]
        if numbers or (unsupported and language == self.article_language):
            return "facts"
        if not self._stands_in_article(reply, question, language):
            return "off-article"
        # Across languages a name may be a translation ("February", "NATO" for "février", "OTAN"): one the
        # article does not spell alike cannot be verified, so the asker gets the quoted sentence instead.
        if unsupported or not self._guesser.is_language(reply, language):
            return "quote"
        return "answer"

    def suggest_question(self, language: str) -> str | None:
        """A short question the article answers, in the language, to show a new reader; None if the model
        wrote something else. Only a suggestion: its answer is verified when it is asked."""
        messages = self._system(
            self._whole_article if self.reads_whole_article else self.article_paragraphs[0]
        )
        prompt = render_file("suggest_user.txt", language=language_name(language))
        messages.append({"role": "user", "content": prompt.strip()})
        try:
            self.read_article()
            question = self._read(messages)
        except Exception:
            logger.warning("the model could not suggest a question", exc_info=True)
            return None
        question = question.strip().strip('"«»“”').strip()
        return question if question.endswith(("?", "？", "؟")) and 8 <= len(question) <= 160 else None

    def _read(self, messages: list[Message]) -> str:
        """The model's first line, without the markers it may copy from the numbered article."""
        reply = ""
        for piece in self._model.stream(messages, max_tokens=self._max_answer_tokens):
            reply += piece
            if "\n" in reply.strip():
                break
        return _MARKER.sub("", reply.strip().split("\n")[0]).strip()

    def _stands_in_article(self, reply: str, question: str, language: str) -> bool:
        """In the article's language, most of the answer's own words are the article's; in another, it is
        close to one of the article's sentences."""
        if language != self.article_language:
            return self._retriever.best_similarity(reply) >= CROSS_LINGUAL_SIMILARITY
        asked = {stem(word) for word in content_words(question)}
        own = [word for word in content_words(reply) if stem(word) not in asked]
        if len(own) < 2:
            return True
        return sum(stem(word) in self._article_stems for word in own) >= ARTICLE_WORD_SHARE * len(own)

    def _supporting(self, reply: str, question: str, language: str) -> list[Passage]:
        """The article sentences that hold the answer: the nearest to question and answer, then for each
        number or name of the answer that it lacks, the nearest sentence holding it."""
        candidates = self._retriever.retrieve(f"{question} {reply}", len(self._retriever.chunks))
        cited = candidates[:1]
        for fact in answer_facts(reply, language):
            if any(self._facts.sentence_holds(p.text, fact) for p in cited):
                continue
            holder = next((p for p in candidates if self._facts.sentence_holds(p.text, fact)), None)
            if holder and len(cited) < MAX_CITATIONS:
                cited.append(holder)
        return cited

    def _messages(
        self, question: str, language: str, passages: list[Passage], follow_up: Exchange | None
    ) -> list[Message]:
        """The article first (identical for every question, so its evaluated prefix is reused), then the
        previous exchange if any, then the question."""
        if self.reads_whole_article:
            article = self._whole_article
        else:  # a long article: the paragraphs of the retrieved sentences, in article order
            wanted = sorted({p.paragraph for p in passages})
            article = "\n\n".join(f"[{i + 1}] {self.article_paragraphs[i]}" for i in wanted)
        messages = self._system(article)
        if follow_up:
            messages.append({"role": "user", "content": follow_up.question})
            messages.append({"role": "assistant", "content": _MARKER.sub("", follow_up.answer)})
        user = render_file("reader_user.txt", question=question, language=language_name(language))
        messages.append({"role": "user", "content": user.strip()})
        return messages

    def _system(self, article: str) -> list[Message]:
        return [{"role": "system", "content": render_file("reader_system.txt", article=article).strip()}]


def _marks_refusal(reply: str) -> bool:
    """NOT_IN_ARTICLE, or the model's paraphrase of it ("Not in article.", "not_in_the_article")."""
    letters = re.sub(r"[\W_]+", "", reply).lower()
    return REFUSAL_MARK in reply or letters.startswith(("notinarticle", "notinthearticle"))


def _numbered(paragraphs: list[str]) -> str:
    return "\n\n".join(f"[{i + 1}] {text}" for i, text in enumerate(paragraphs))


def _citations(passages: list[Passage]) -> tuple[list[Citation], str]:
    """Numbered citations for the passages, and their markers: "[1][2]"."""
    citations = [Citation(n, p.paragraph, p.sentence, p.text, p.chunk_id) for n, p in enumerate(passages, 1)]
    return citations, "".join(f"[{c.n}]" for c in citations)
