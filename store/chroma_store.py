"""Every article's passages in one Chroma store: a persistent local one by default, a server to scale out.

One collection per article (`article-<name>`), so retrieval can never mix articles and removing one is a
single call. The collection's metadata keeps the article: its text, sha256, title, language and source.
A new or changed article is embedded first and written to a staging collection, which is renamed over the
old one only once complete: a failure leaves the store exactly as it was.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Embeddable, EmbeddingFunction
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError

from bot.errors import StoreError
from store.chunking import Chunk, article_checksum, chunk_article
from store.embeddings import ChromaEmbeddingFunction, Embedder

logger = logging.getLogger(__name__)

PREFIX = "article-"
STAGING = "staging-"
EMBED_BATCH = 16
Progress = Callable[[int, int], None]  # (done, total)

# What a Chroma call raises when the store fails: its own errors (from its Rust core, or named by its
# server), ValueError (a server it cannot reach, a bad argument), the HTTP client's errors, and the disk's.
CHROMA_FAILURES = (ChromaError, ValueError, httpx.HTTPError, OSError)


@dataclass(frozen=True)
class ArticleRecord:
    """What the store knows of an article besides its passages."""

    name: str
    title: str
    language: str
    sha256: str
    source: str
    chunks: int
    ingested_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IngestReport:
    status: str  # "created", "unchanged" or "reindexed"
    record: ArticleRecord


def open_client(
    path: Path, host: str | None = None, port: int = 8000, *, ssl: bool = False, token: str | None = None
) -> ClientAPI:
    """A Chroma server when host is set (`chroma run`; over TLS with ssl, with a bearer token if given),
    else a persistent local Chroma at path, which only one process may use."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if host:
            headers = {"Authorization": f"Bearer {token}"} if token else None
            return chromadb.HttpClient(host, port, ssl, headers, chroma_settings)
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except CHROMA_FAILURES as error:
        where = f"CHROMA_HOST={host}:{port}" if host else f"CHROMA_PATH={path}"
        raise StoreError(f"cannot open the Chroma store ({where}): {error}") from None


class ArticleStore:
    """One article's passages: what retrieval reads."""

    def __init__(self, collection: Collection) -> None:
        self._collection = collection
        self.record = _record(collection)

    def article_text(self) -> str:
        return str((self._collection.metadata or {}).get("article", ""))

    def count(self) -> int:
        return self._collection.count()

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, in article order."""
        result = self._collection.get(include=["documents", "metadatas"])
        chunks = [
            Chunk(
                chunk_id,
                _int(meta["paragraph"]),
                _int(meta["sentence"]),
                text,
                _int(meta["start"]),
                _int(meta["end"]),
            )
            for chunk_id, text, meta in zip(
                result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True
            )
        ]
        return sorted(chunks, key=lambda chunk: chunk.start)

    def search(self, query_embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the k nearest chunks."""
        result = self._collection.query(
            query_embeddings=[query_embedding], n_results=min(k, self.record.chunks), include=["distances"]
        )
        distances = (result["distances"] or [[]])[0]
        return [(cid, 1.0 - dist) for cid, dist in zip(result["ids"][0], distances, strict=True)]


class ArticleLibrary:
    """All the articles of one Chroma store, by name."""

    def __init__(self, client: ClientAPI, embedder: Embedder) -> None:
        self._client = client
        self._embedder = embedder
        # Chroma types the function as taking documents or images; ours is only ever given documents.
        self._embedding_function = cast("EmbeddingFunction[Embeddable]", ChromaEmbeddingFunction(embedder))

    def _collection(self, name: str) -> Collection | None:
        try:
            return self._client.get_collection(PREFIX + name, embedding_function=self._embedding_function)
        except NotFoundError:
            return None
        except CHROMA_FAILURES as error:  # not "no such article": the store itself failed
            raise StoreError(f"cannot read the article {name!r} from the Chroma store: {error}") from None

    def get(self, name: str) -> ArticleStore | None:
        collection = self._collection(name)
        return ArticleStore(collection) if collection is not None else None

    def records(self) -> list[ArticleRecord]:
        """Every article, oldest first."""
        try:
            collections = self._client.list_collections()
        except CHROMA_FAILURES as error:
            raise StoreError(f"cannot list the Chroma store's articles: {error}") from None
        records = [_record(c) for c in collections if c.name.startswith(PREFIX)]
        return sorted(records, key=lambda record: record.ingested_at)

    def ingest(
        self,
        name: str,
        text: str,
        *,
        title: str,
        language: str,
        source: str,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Index the article under name: the same text again changes nothing; a changed text (or embedder)
        replaces the old passages whole."""
        checksum = article_checksum(text)
        old = self._collection(name)
        if old is not None:
            meta = old.metadata or {}
            if meta.get("sha256") == checksum and meta.get("embedder") == self._embedder.name:
                return IngestReport("unchanged", _record(old))
        chunks = chunk_article(text, language)
        if not chunks:
            raise StoreError(f"the article {name!r} has no sentences to index")
        embeddings = self._embed([chunk.text for chunk in chunks], progress)
        metadata = {
            "hnsw:space": "cosine",
            "name": name,
            "title": title,
            "language": language,
            "sha256": checksum,
            "source": source,
            "embedder": self._embedder.name,
            "ingested_at": time.time(),
            "chunks": len(chunks),
            "article": text,
        }
        staging_name = f"{STAGING}{uuid.uuid4().hex[:12]}"
        try:
            staging = self._client.create_collection(
                staging_name, embedding_function=self._embedding_function, metadata=metadata
            )
            staging.add(
                ids=[chunk.chunk_id for chunk in chunks],
                documents=[chunk.text for chunk in chunks],
                embeddings=embeddings,
                metadatas=[
                    {"paragraph": c.paragraph, "sentence": c.sentence, "start": c.start, "end": c.end}
                    for c in chunks
                ],
            )
            if old is not None:
                self._client.delete_collection(PREFIX + name)
            staging.modify(name=PREFIX + name)
        except CHROMA_FAILURES as error:
            self._drop(staging_name)
            raise StoreError(f"cannot write the article {name!r} to the Chroma store: {error}") from None
        stored = self._collection(name)
        assert stored is not None
        return IngestReport("reindexed" if old is not None else "created", _record(stored))

    def remove(self, name: str) -> bool:
        if self._collection(name) is None:
            return False
        self._client.delete_collection(PREFIX + name)
        return True

    def drop_staging(self) -> None:
        """Staging collections left by an ingest that was killed halfway."""
        for collection in self._client.list_collections():
            if collection.name.startswith(STAGING):
                logger.info("dropping %s, left by an interrupted ingest", collection.name)
                self._drop(collection.name)

    def _drop(self, collection_name: str) -> None:
        try:
            self._client.delete_collection(collection_name)
        except NotFoundError:
            logger.debug("no collection %s to drop", collection_name)
        except CHROMA_FAILURES as error:  # cleaning up after a failure: report it, keep the first failure
            logger.warning("could not drop the collection %s: %s", collection_name, error)

    def _embed(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(self._embedder.embed_passages(texts[start : start + EMBED_BATCH]))
            if progress:
                progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        return np.vstack(parts)


def _int(value: object) -> int:
    """A number of a chunk's metadata, which Chroma types as any metadata value."""
    return int(cast("int | float | str", value))


def _record(collection: Collection) -> ArticleRecord:
    meta = collection.metadata or {}
    return ArticleRecord(
        name=str(meta.get("name", collection.name.removeprefix(PREFIX))),
        title=str(meta.get("title", "")),
        language=str(meta.get("language", "")),
        sha256=str(meta.get("sha256", "")),
        source=str(meta.get("source", "")),
        chunks=int(meta.get("chunks", 0)),
        ingested_at=float(meta.get("ingested_at", 0.0)),
    )
