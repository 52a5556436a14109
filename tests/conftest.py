"""Shared fixtures: the real store (Chroma in a temporary directory), the real embedder and the real model."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.engine.engine import Engine
from bot.engine.language import LanguageGuesser
from bot.engine.library import Library
from bot.engine.llm import LlamaModel, Message, Token
from bot.engine.retrieval import Retriever
from bot.engine.states import StateFiles
from bot.settings import Settings
from store.chroma_store import ArticleLibrary, ArticleStore, open_client
from store.embeddings import E5Embedder
from tests import servers
from tests.telegram_fixtures import *  # noqa: F403 - the Telegram stand-in and bot fixtures


def pytest_configure(config: pytest.Config) -> None:
    """One model cache for the whole run (every engine, CLI subprocess and bench in it), so the default
    GGUF is assembled once, not 250 MB per test."""
    cache = Path(tempfile.mkdtemp(prefix="articlebot-models-"))
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    os.environ["MODEL_CACHE_DIR"] = str(cache)


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings that ignore the developer's .env and keep every file under tmp (models: the run's cache)."""
    values = {"chroma_path": tmp / "chroma", **overrides}
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("articlebot"))


@pytest.fixture(scope="session")
def embedder() -> E5Embedder:
    return E5Embedder()


@pytest.fixture(scope="session")
def library(
    settings: Settings, embedder: E5Embedder, real_model: LlamaModel, guesser: LanguageGuesser
) -> Library:
    """Every article in one real Chroma store, the bundled one indexed as the default."""
    articles = ArticleLibrary(open_client(settings.chroma_path), embedder)
    library = Library(
        articles,
        embedder,
        real_model,
        guesser,
        default_name="",
        states=StateFiles(settings.model_cache_dir / "article-states", 10**9),
    )
    library.default_name = library.ingest(library.load(str(settings.article_path))).record.name
    return library


@pytest.fixture(scope="session")
def store(library: Library) -> ArticleStore:
    stored = library.articles.get(library.default_name)
    assert stored is not None
    return stored


@pytest.fixture(scope="session")
def retriever(store: ArticleStore, embedder: E5Embedder) -> Retriever:
    return Retriever(store, embedder)


@pytest.fixture(scope="session")
def guesser() -> LanguageGuesser:
    return LanguageGuesser()


@pytest.fixture(scope="session")
def real_model(settings: Settings) -> LlamaModel:
    model = LlamaModel(settings)
    model.load()
    return model


@pytest.fixture(scope="session")
def engine(library: Library) -> Engine:
    """The engine as users get it: real Chroma, real e5, the bundled GGUF at temperature 0."""
    engine = library.engine()
    engine.warm_up()
    return engine


class ScriptedModel:
    """Behind the model seam only: feeds the engine output the real model will not give on demand."""

    name = "scripted"
    context_size = 4096

    def __init__(self, reply: str | Exception | list[str], refusal_probability: float = 0.0) -> None:
        self.replies = reply if isinstance(reply, list) else [reply]  # one per call; the last repeats
        self.refusal_probability = refusal_probability
        self.calls: list[list[Message]] = []
        self.looks: list[list[Message]] = []  # the engine's second looks at its answer
        self.drawn: list[list[Message]] = []  # the answers drawn at a temperature, to compare with the reply
        self.drawn_reply = ""  # what each drawn answer says ("": the reply itself, said again)
        self.drawn_words: list[int] = []  # how many words of each the engine read before it stopped it
        self.said = ""

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        openings: Sequence[str] = (),
        temperature: float = 0.0,
        seed: int = 0,
    ) -> Iterator[Token]:
        if temperature > 0:  # the answers drawn to see whether the model says the same again
            self.drawn.append(messages)
            self.drawn_words.append(0)
            for word in (self.drawn_reply or self.said).split(" "):
                self.drawn_words[-1] += 1
                yield Token(word + " ", None)
            return
        self.calls.append(messages)
        reply = self.replies[min(len(self.calls), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        self.said = reply
        first = tuple(self._chances(openings))
        for n, word in enumerate(reply.split(" ")):
            # No token probabilities, as from a model server that gives none.
            yield Token(word + " ", None, first if n == 0 else ())

    def next_token_probabilities(self, messages: list[Message], openings: Sequence[str]) -> list[float]:
        self.looks.append(messages)
        return self._chances(openings)

    def _chances(self, openings: Sequence[str]) -> list[float]:
        return [self.refusal_probability if opening == "NOT_IN_ARTICLE" else 0.0 for opening in openings]

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def keep_prefix(self, messages: list[Message], state_file: Path | None, progress: Any = None) -> str:
        return "evaluated"


@pytest.fixture
def scripted_engine(settings: Settings, retriever: Retriever, guesser: LanguageGuesser):
    def build(
        reply: str | Exception | list[str], refusal_probability: float = 0.0, **options: Any
    ) -> tuple[Engine, ScriptedModel]:
        """An engine on the scripted model; every checked answer is shown unless min_confidence is given,
        so each test sees the checks, not the learned weights."""
        model = ScriptedModel(reply, refusal_probability)
        article = settings.article_path.read_text(encoding="utf-8")
        options.setdefault("min_confidence", 0.0)
        return Engine(article, retriever, model, guesser, **options), model

    return build


# --- the real servers of the scale-out tests (tests/servers.py), started once per run when used ----------


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with servers.chroma_server(tmp_path_factory.mktemp("chroma-server")) as environment:
        yield environment


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with servers.model_server(tmp_path_factory.mktemp("model-server")) as served:
        yield served


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with servers.redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
