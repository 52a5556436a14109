"""The articles the engine answers about: ingest one, list them, remove one, and an Engine for each.

One embedder, one model and one language guesser serve every article; each article has its own Chroma
collection, its own Engine (kept for the most recently used few) and its own saved model state.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.engine.answerability import Answerability
from bot.engine.engine import Engine
from bot.engine.language import LanguageGuesser
from bot.engine.llm import TextModel
from bot.engine.retrieval import Retriever
from bot.engine.states import StateFiles
from bot.errors import ArticlebotError, UnknownArticle
from bot.sources import Document, SourceLimits, load_bytes, load_source, load_text, slugify
from store.chroma_store import ArticleLibrary, ArticleRecord, IngestReport
from store.chunking import article_checksum
from store.embeddings import Embedder

if TYPE_CHECKING:
    from bot.engine.llm import LlamaModel
    from bot.engine.server_model import ServerModel
    from bot.settings import Settings

logger = logging.getLogger(__name__)

ENGINES_KEPT = 8  # each holds an article's sentences, BM25 index and facts: small
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,46}[a-z0-9]$")


def default_engine(settings: Settings, model: TextModel | None = None) -> Engine:
    """The engine of the default article (ARTICLE_PATH), indexed if needed, with its article read."""
    engine = Library.from_settings(settings, model).engine()
    engine.warm_up()
    return engine


def reader(settings: Settings) -> LlamaModel | ServerModel:
    """The model the settings name, not loaded yet: a server with LLM_BASE_URL, else the GGUF in-process."""
    from bot.engine.llm import LlamaModel
    from bot.engine.server_model import ServerModel

    return ServerModel(settings) if settings.llm_base_url else LlamaModel(settings)


def check_name(name: str) -> str:
    """Article names are collection names: 3-48 of a-z, 0-9, '-', '_' and '.', alphanumeric at the ends."""
    if not _NAME.match(name):
        raise ArticlebotError(
            f"{name!r} is not a usable article name: use 3 to 48 lowercase letters, digits and dashes"
        )
    return name


def owner_tag(owner: str) -> str:
    """Six characters standing for an owner in its articles' names, without showing who it is."""
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:6]


class Library:
    def __init__(
        self,
        articles: ArticleLibrary,
        embedder: Embedder,
        model: TextModel,
        guesser: LanguageGuesser,
        *,
        default_name: str,
        limits: SourceLimits | None = None,
        states: StateFiles | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self.articles = articles
        self.embedder = embedder
        self.model = model
        self.guesser = guesser
        self.default_name = default_name
        self.limits = limits or SourceLimits()
        self.states = states
        self._engine_options = engine_options or {}
        self._engines: OrderedDict[tuple[str, str], Engine] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, model: TextModel | None = None) -> Library:
        """Open the store, load the embedder and the model once, and index ARTICLE_PATH as the default."""
        from store.chroma_store import open_client
        from store.embeddings import load_embedder

        embedder = load_embedder(settings.embedder)
        articles = ArticleLibrary(
            open_client(
                settings.chroma_path,
                settings.chroma_host,
                settings.chroma_port,
                ssl=settings.chroma_ssl,
                token=settings.chroma_auth_token.get_secret_value() if settings.chroma_auth_token else None,
            ),
            embedder,
        )
        if not settings.chroma_host:  # a server is shared: another replica may be writing its staging now
            articles.drop_staging()
        if model is None:
            model = reader(settings)
            model.load()
        limits = SourceLimits(
            max_bytes=settings.max_source_bytes,
            max_chars=settings.max_article_chars,
            timeout=settings.fetch_timeout,
            allow_private_networks=settings.fetch_allow_private_networks,
            allowed_ports=settings.fetch_ports,
        )
        library = cls(
            articles,
            embedder,
            model,
            LanguageGuesser(),
            default_name="",
            limits=limits,
            states=StateFiles(
                settings.model_cache_dir / "article-states", settings.article_state_budget_mb * 1_000_000
            ),
            engine_options={
                "top_k": settings.top_k,
                "max_question_chars": settings.max_question_chars,
                "max_answer_tokens": settings.max_answer_tokens,
                "min_confidence": settings.answer_confidence,
                "always_look": settings.always_look,
                "near_sentences": settings.near_sentences,
                "retrieval_mode": settings.retrieval_mode,
            },
        )
        document = load_source(str(settings.article_path), library.limits)
        library.default_name = library.ingest(document).record.name
        return library

    def use_answerability(self, weights: Answerability) -> None:
        """Weigh the answers of the engines built from now on with these weights (the training script
        collects its examples before any weights for the current signals exist)."""
        self._engine_options["answerability"] = weights

    # -- articles -------------------------------------------------------------------------------------

    def load(self, source: str, progress: Callable[[int, int | None], None] | None = None) -> Document:
        """A path or URL, fetched and extracted within the limits (SourceError says what is wrong)."""
        return load_source(source, self.limits, progress=progress)

    def load_bytes(self, data: bytes, filename: str, source: str) -> Document:
        """An uploaded file (.txt, .md, .html, .pdf)."""
        return load_bytes(data, filename, source, self.limits)

    def load_text(self, text: str, source: str) -> Document:
        """A pasted text; its first line is its title."""
        return load_text(text, source, self.limits)

    def ingest(
        self,
        document: Document,
        name: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        *,
        owner: str | None = None,
    ) -> IngestReport:
        """Index the document under name (default: a slug of its title). The same text under the same name
        changes nothing; a changed one replaces it.

        An owner (a chat that pasted or uploaded the document) gets names of its own: the slug ends with a
        tag of the owner, so that no one else's article can ever take the name, nor this one theirs."""
        checksum = article_checksum(document.text)
        if name is None:  # a title's slug; another article already under it (not an update) keeps it
            name = slugify(document.title)
            if owner is not None:
                name = f"{name[:41].rstrip('-')}-{owner_tag(owner)}"
            taken = self.articles.get(name)
            if (
                taken is not None
                and taken.record.sha256 != checksum
                and taken.record.source != document.source
            ):
                name = f"{name[:41].rstrip('-')}-{checksum[:6]}"
        stored = self.articles.get(check_name(name))
        if stored is not None and stored.record.sha256 == checksum:
            return IngestReport("unchanged", stored.record)
        language = self.guesser.detect(document.text[:2000])
        return self.articles.ingest(
            name,
            document.text,
            title=document.title,
            language=language,
            source=document.source,
            progress=progress,
        )

    def records(self) -> list[ArticleRecord]:
        return self.articles.records()

    def record(self, name: str | None = None) -> ArticleRecord:
        stored = self.articles.get(name or self.default_name)
        if stored is None:
            raise UnknownArticle(name or self.default_name)
        return stored.record

    def remove(self, name: str) -> None:
        if not self.articles.remove(name):
            raise UnknownArticle(name)
        with self._lock:
            for key in [key for key in self._engines if key[0] == name]:
                del self._engines[key]

    # -- engines --------------------------------------------------------------------------------------

    def engine(self, name: str | None = None) -> Engine:
        """The Engine of an article (default: the default article), built on first use. Its article is
        read by the model on its first answer, or ahead with engine.read_article()."""
        name = name or self.default_name
        stored = self.articles.get(name)
        if stored is None:
            raise UnknownArticle(name)
        key = (name, stored.record.sha256)
        with self._lock:
            if key in self._engines:
                self._engines.move_to_end(key)
                return self._engines[key]
        options = dict(self._engine_options)
        mode = options.pop("retrieval_mode", "hybrid")
        engine = Engine(
            stored.article_text(),
            Retriever(stored, self.embedder, mode),
            self.model,
            self.guesser,
            language=stored.record.language,
            states=self.states,
            name=name,
            title=stored.record.title,
            **options,
        )
        with self._lock:
            self._engines[key] = engine
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)
        return engine
