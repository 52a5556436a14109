"""The article's passages in Chroma: a persistent local collection by default, a server to scale out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from bot.errors import StoreError
from store.chunking import Chunk, article_checksum, chunk_article
from store.embeddings import ChromaEmbeddingFunction, Embedder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    status: str  # "created", "unchanged" or "reindexed"
    chunks: int
    checksum: str


def open_client(path: Path, host: str | None = None, port: int = 8000) -> ClientAPI:
    """A Chroma server when host is set, else a persistent local Chroma at path."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if host:
            return chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as error:
        where = f"CHROMA_HOST={host}:{port}" if host else f"CHROMA_PATH={path}"
        raise StoreError(f"cannot open the Chroma store ({where}): {error}") from None


class ArticleStore:
    """One article per collection; the collection's metadata keeps the article text and its checksum."""

    def __init__(self, client: ClientAPI, embedder: Embedder, collection_name: str = "article") -> None:
        self._client = client
        self._embedder = embedder
        self._embedding_function = ChromaEmbeddingFunction(embedder)
        self._name = collection_name
        self._collection: Collection | None = None

    def _open(self) -> Collection:
        if self._collection is None:
            try:
                self._collection = self._client.get_or_create_collection(
                    self._name,
                    embedding_function=self._embedding_function,
                    metadata={"hnsw:space": "cosine"},
                )
            except Exception as error:
                raise StoreError(f"cannot open Chroma collection {self._name!r}: {error}") from None
        return self._collection

    def _recreate(self) -> Collection:
        self._client.delete_collection(self._name)
        self._collection = None
        return self._open()

    @property
    def checksum(self) -> str | None:
        return (self._open().metadata or {}).get("checksum")

    def ingest(self, article_text: str) -> IngestReport:
        """Index the article; the same text again changes nothing, a changed text replaces the old one."""
        checksum = article_checksum(article_text)
        chunks = chunk_article(article_text)
        collection = self._open()
        metadata = collection.metadata or {}
        same = metadata.get("checksum") == checksum and metadata.get("embedder") == self._embedder.name
        if same and collection.count() == len(chunks):
            return IngestReport("unchanged", len(chunks), checksum)
        status = "created" if not metadata.get("checksum") else "reindexed"
        if metadata.get("checksum"):
            logger.info("article or embedder changed: re-indexing collection %r", self._name)
            collection = self._recreate()
        collection.upsert(
            ids=[chunk.chunk_id for chunk in chunks],
            documents=[chunk.text for chunk in chunks],
            embeddings=self._embedder.embed_passages([chunk.text for chunk in chunks]),
            metadatas=[
                {"paragraph": c.paragraph, "sentence": c.sentence, "start": c.start, "end": c.end}
                for c in chunks
            ],
        )
        collection.modify(
            metadata={
                "checksum": checksum,
                "embedder": self._embedder.name,
                "article": article_text,
            }
        )
        return IngestReport(status, len(chunks), checksum)

    def article_text(self) -> str | None:
        return (self._open().metadata or {}).get("article")

    def count(self) -> int:
        return self._open().count()

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, in article order."""
        result = self._open().get(include=["documents", "metadatas"])
        chunks = [
            Chunk(
                chunk_id,
                int(meta["paragraph"]),
                int(meta["sentence"]),
                text,
                int(meta["start"]),
                int(meta["end"]),
            )
            for chunk_id, text, meta in zip(
                result["ids"], result["documents"], result["metadatas"], strict=True
            )
        ]
        return sorted(chunks, key=lambda chunk: chunk.start)

    def search(self, query_embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the k nearest chunks."""
        result = self._open().query(query_embeddings=[query_embedding], n_results=k, include=["distances"])
        return [(cid, 1.0 - dist) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]
