"""The answer engine: question in, short cited answer out, grounded in the article.

It knows nothing of Telegram, so the CLI, the eval and the bench drive it the same way.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import tomllib
from collections.abc import Callable, Iterator
from functools import cache

from bot.engine.grounding import answer_candidates, stands_in, ungrounded_facts
from bot.engine.llm import LlamaModel, Message, TextModel
from bot.engine.prompts import phrase, render_file
from bot.engine.question import LanguageGuesser, Question, analyse
from bot.engine.records import Answer, Citation, Exchange, Passage, Timings
from bot.engine.refusal import RefusalChecks, attribution_chain, holds_what_is_asked
from bot.engine.retrieval import Retriever
from bot.engine.text import content_words, stem, stems, words
from bot.errors import QuestionError
from bot.paths import PROMPTS_DIR
from bot.settings import Settings
from store.chroma_store import ArticleStore, open_client
from store.chunking import split_paragraphs
from store.embeddings import load_embedder

logger = logging.getLogger(__name__)

# A second passage is cited with the first when its score is this close (hybrid score units).
SECOND_PASSAGE_MARGIN = 0.01
# A sentence of the same paragraph this close to the best one is cited (and quoted) with it.
NEIGHBOUR_MARGIN = 0.03
# A passage this close to the best one may be cited first when only it holds the kind of answer asked for.
KIND_MARGIN = 0.03
MAX_ANSWER_CHARS = 300
# Share of an answer's own content words that must stand in the cited passages.
GROUNDED_SHARE = 0.75
_MARKER = re.compile(r"\s*\[\d+\]")


@cache
def _examples() -> list[dict[str, str]]:
    return tomllib.loads((PROMPTS_DIR / "answer_examples.toml").read_text(encoding="utf-8"))["example"]


class Engine:
    def __init__(
        self,
        article_text: str,
        retriever: Retriever,
        model: TextModel,
        guesser: LanguageGuesser,
        *,
        top_k: int = 4,
        max_question_chars: int = 500,
        max_answer_tokens: int = 48,
        model_languages: tuple[str, ...] = (),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.article_text = article_text
        self.article_paragraphs = [text for _, text in split_paragraphs(article_text)]
        self._refusals = RefusalChecks(self.article_paragraphs, retriever.embedder)
        self._article_language = guesser.detect(article_text)
        self._retriever = retriever
        self._model = model
        self._guesser = guesser
        self._top_k = top_k
        self._max_question_chars = max_question_chars
        self._max_answer_tokens = max_answer_tokens
        self._model_languages = model_languages or (self._article_language,)
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, model: TextModel | None = None) -> Engine:
        """Open (and if needed fill) the store, load the embedder and the model once."""
        from bot.engine.articles import read_article

        article_text = read_article(settings.article_path)
        embedder = load_embedder(settings.embedder)
        store = ArticleStore(
            open_client(settings.chroma_path, settings.chroma_host, settings.chroma_port),
            embedder,
            settings.chroma_collection,
        )
        store.ingest(article_text)
        if model is None:
            llama = LlamaModel(settings)
            llama.load()
            model = llama
        engine = cls(
            article_text,
            Retriever(store, embedder, settings.retrieval_mode),
            model,
            LanguageGuesser(),
            top_k=settings.top_k,
            max_question_chars=settings.max_question_chars,
            max_answer_tokens=settings.max_answer_tokens,
            model_languages=tuple(settings.model_languages),
        )
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Evaluate the fixed prompt prefix once, so the first asker does not pay for it (~0.7 s here)."""
        try:
            for _ in self._model.stream(self._fixed_messages(), max_tokens=1):
                pass
        except Exception:
            logger.warning("warming the model up failed; the first answer will be slower", exc_info=True)

    # -- small lookups the front ends use -------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self._model.name

    def passage(self, chunk_id: str) -> Passage | None:
        return self._retriever.passage(chunk_id)

    def retrieve(self, question: str, k: int = 5) -> list[Passage]:
        return self._retriever.retrieve(question, k)

    def detect_language(self, text: str) -> str:
        return self._guesser.detect(text)

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
        """Yield text to show meanwhile (the quote, while the model writes), then the final Answer."""
        started = self._clock()
        language = self._guesser.detect(question)
        text = self.check_question(question, language)
        asked = analyse(text, language)
        timings = Timings()

        def finish(answer: str, citations: list[Citation], refused: bool, method: str) -> Answer:
            timings.total_ms = (self._clock() - started) * 1000
            timings.first_token_ms = timings.first_token_ms or timings.total_ms
            return Answer(text, answer, refused, language, citations, timings, method)

        if asked.is_injection:
            yield finish(phrase("injection", language), [], True, "refusal")
            return
        if asked.wants_summary:
            yield self._summary(asked, finish)
            return

        query = f"{follow_up.question} {text}" if follow_up else text
        passages = self._retriever.retrieve(query, self._top_k)
        timings.retrieve_ms = (self._clock() - started) * 1000
        cited = self._cited(passages, asked)
        refusal = self._refusals.check(asked, cited)
        if refusal:
            logger.debug("refusing %r: %s", text, refusal.reason)
            said = (
                phrase("not_named", language, names=", ".join(refusal.unknown_names))
                if refusal.unknown_names
                else phrase("refusal", language)
            )
            yield finish(said, [], True, "refusal")
            return
        citations, markers = _citations(cited)

        separator = " " if len({p.paragraph for p in cited}) == 1 else " […] "
        quote = separator.join(p.text for p in cited)
        quoted = phrase("extractive", language, marker=markers, quote=quote)
        # The model answers questions that ask for a checkable kind of fact (a number, a date, a name…);
        # for open questions a small model's paraphrase was wrong more often than the quoted sentence.
        if language in self._model_languages and asked.answer_kind:
            # The quote is shown at once; the model's short answer replaces it only if it passes every check.
            timings.first_token_ms = (self._clock() - started) * 1000
            yield quoted
            written = self._written_answer(asked, cited)
            if written:
                yield finish(f"{written} {markers}", citations, False, "model")
                return
        yield finish(quoted, citations, False, "extractive")

    def _cited(self, passages: list[Passage], asked: Question) -> list[Passage]:
        """The best passage, or a close runner-up that holds the kind of answer the question asks for
        and keeps every name of the question that the best passage holds."""
        if (asked.answer_kind or asked.asked_detail) and passages:
            kept_names = _names_standing_in(asked, passages[0])
            holding = [
                p
                for p in passages
                if passages[0].score - p.score < KIND_MARGIN
                and holds_what_is_asked(asked, p.text)
                and kept_names <= _names_standing_in(asked, p)
            ]
            passages = holding[:1] + [p for p in passages if p not in holding[:1]]
        best = passages[:1]
        if len(passages) > 1:
            gap = abs(passages[0].score - passages[1].score)
            neighbours = passages[0].paragraph == passages[1].paragraph
            if gap < SECOND_PASSAGE_MARGIN or (neighbours and gap < NEIGHBOUR_MARGIN):
                best.append(passages[1])
                if neighbours:  # read in article order
                    best.sort(key=lambda p: p.sentence)
        if asked.answer_kind == "person" and best:
            best += self._speaker(best, asked)
        return best

    def _speaker(self, cited: list[Passage], asked: Question) -> list[Passage]:
        """For "who said…" about a quotation that names nobody: the nearest earlier sentence naming its
        speaker ("…", a déclaré M. Belousov), to cite with it."""
        if answer_candidates("person", " ".join(p.text for p in cited), asked.text):
            return []
        first = cited[0]
        chain = attribution_chain(self.article_paragraphs, first.paragraph)
        for chunk in reversed(self._retriever.chunks):  # nearest first
            earlier = (chunk.paragraph, chunk.sentence) < (first.paragraph, first.sentence)
            if earlier and chunk.paragraph in chain and answer_candidates("person", chunk.text, asked.text):
                speaker = self._retriever.passage(chunk.chunk_id)
                return [speaker] if speaker else []
        return []

    def _summary(self, asked: Question, finish: Callable[..., Answer]) -> Answer:
        lead = [p for p in (self._retriever.passage(f"p{i}s0") for i in range(2)) if p is not None]
        citations, markers = _citations(lead)
        text = phrase("summary", asked.language, lead=" ".join(p.text for p in lead), markers=markers)
        return finish(text, citations, False, "summary")

    def _messages(self, asked: Question, cited: list[Passage]) -> list[Message]:
        """System prompt and few-shot examples first, identical for every question, so llama.cpp reuses
        their evaluated prefix; only the last turn (passage, question, language) is new each time."""
        messages = self._fixed_messages()
        user = render_file(
            "answer_user.txt",
            passage=" ".join(p.text for p in cited),
            question=asked.text,
            language=phrase("language_name", asked.language),
        )
        messages.append({"role": "user", "content": user.strip()})
        return messages

    def _fixed_messages(self) -> list[Message]:
        messages: list[Message] = [{"role": "system", "content": render_file("answer_system.txt").strip()}]
        for example in _examples():
            user = render_file(
                "answer_user.txt",
                passage=example["passage"],
                question=example["question"],
                language=example["language"],
            )
            messages.append({"role": "user", "content": user.strip()})
            messages.append({"role": "assistant", "content": example["answer"]})
        return messages

    def _written_answer(self, asked: Question, cited: list[Passage]) -> str:
        """The model's short answer if it passes every check, else "". Generation stops at the first
        ungrounded number or name: an answer cut short is never kept."""
        passages = [p.text for p in cited]
        text = ""
        try:
            for piece in self._model.stream(self._messages(asked, cited), max_tokens=self._max_answer_tokens):
                text += piece
                if "\n" in text or len(text) > MAX_ANSWER_CHARS:
                    break
                complete = _MARKER.sub("", text.rsplit(" ", 1)[0] if " " in text else "")
                if ungrounded_facts(complete, passages):
                    logger.debug("model answer %r has an ungrounded fact; quoting instead", complete)
                    return ""
        except Exception:
            logger.warning("the model failed; quoting the passage instead", exc_info=True)
            return ""
        answer = _MARKER.sub("", text.split("\n")[0]).strip()[:MAX_ANSWER_CHARS]
        if answer and self._verified(answer, asked, cited):
            return answer
        logger.debug("model answer %r failed verification; quoting the passage instead", answer)
        return ""

    def _verified(self, draft: str, asked: Question, cited: list[Passage]) -> bool:
        passages = [p.text for p in cited]
        if len(words(draft)) < 2 or ungrounded_facts(draft, passages):
            return False
        if self._guesser.detect(draft, default=asked.language) != asked.language:
            return False  # a small model often slips into the passage's French: the asker gets the quote
        passage_stems = stems(word for text in passages for word in content_words(text))
        new_facts = stems(content_words(draft)) - stems(asked.content)
        if not new_facts & passage_stems:
            return False  # says nothing the passage says beyond the question's own words
        if len(new_facts & passage_stems) < GROUNDED_SHARE * len(new_facts):
            return False  # mostly words of its own: a small model's paraphrase drifts from the passage
        if asked.language == self._article_language and _stray_words(draft, [*passages, asked.text]):
            return False  # "28 localités spéciales": a word the passage never puts there
        if asked.answer_kind:
            candidates = answer_candidates(asked.answer_kind, " ".join(passages), asked.text)
            return bool(stems(words(draft)) & stems(word for c in candidates for word in words(c)))
        return True


def _stray_words(draft: str, sources: list[str]) -> list[str]:
    """The draft's content words that share no neighbour with the sources: for a draft in the sources'
    language, each word taken from them comes with a word it stands next to there ("28 localités")."""
    pairs = {pair for text in sources for pair in itertools.pairwise(stem(w) for w in words(text))}
    draft_stems = [stem(word) for word in words(draft)]
    content = stems(content_words(draft))
    return [
        word
        for i, word in enumerate(draft_stems)
        if word in content
        and (i == 0 or (draft_stems[i - 1], word) not in pairs)
        and (i + 1 == len(draft_stems) or (word, draft_stems[i + 1]) not in pairs)
    ]


def _names_standing_in(asked: Question, passage: Passage) -> set[str]:
    passage_stems = stems(words(passage.text))
    return {name for name in asked.names if stands_in(name, passage_stems)}


def _citations(passages: list[Passage]) -> tuple[list[Citation], str]:
    """Numbered citations for the passages, and their markers: "[1][2]"."""
    citations = [Citation(n, p.paragraph, p.sentence, p.text, p.chunk_id) for n, p in enumerate(passages, 1)]
    return citations, "".join(f"[{c.n}]" for c in citations)
