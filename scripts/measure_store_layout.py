"""One Chroma collection per article, or one collection for all with the article in each passage's
metadata? Times a query and a whole-article read at 10 and 50 articles, both ways, on the same vectors.
Run: .venv/bin/python scripts/measure_store_layout.py"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import chromadb
import numpy as np
from chromadb.api.types import Embedding, Where
from chromadb.config import Settings as ChromaSettings

PASSAGES, DIMENSIONS, QUERIES = 40, 384, 50


def timed(action: Callable[[], object], repeats: int = QUERIES) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    rng = np.random.default_rng(0)
    for articles in (10, 50):
        for name, ms in measure(articles, rng).items():
            print(f"{articles:3} articles  {name:26} {ms:7.2f} ms")


def measure(articles: int, rng: np.random.Generator) -> dict[str, float]:
    vectors = rng.standard_normal((articles, PASSAGES, DIMENSIONS)).astype(np.float32)
    with tempfile.TemporaryDirectory() as home:
        client = chromadb.PersistentClient(str(Path(home)), ChromaSettings(anonymized_telemetry=False))
        shared = client.create_collection("all", metadata={"hnsw:space": "cosine"})
        for a in range(articles):
            ids = [f"a{a}-p{i}" for i in range(PASSAGES)]
            own = client.create_collection(f"article-{a}", metadata={"hnsw:space": "cosine"})
            own.add(ids=ids, embeddings=vectors[a], documents=ids)
            shared.add(ids=ids, embeddings=vectors[a], documents=ids, metadatas=[{"article": a}] * PASSAGES)
        query: Embedding = rng.standard_normal(DIMENSIONS).astype(np.float32)
        target = client.get_collection(f"article-{articles // 2}")
        where: Where = {"article": articles // 2}
        rows: dict[str, float] = {
            "query, own collection": timed(
                lambda: target.query(query_embeddings=[query], n_results=PASSAGES)
            ),
            "query, shared + where": timed(
                lambda: shared.query(query_embeddings=[query], n_results=PASSAGES, where=where)
            ),
            "read all, own collection": timed(lambda: target.get(include=["documents"])),
            "read all, shared + where": timed(lambda: shared.get(where=where, include=["documents"])),
            "remove, own collection": timed(lambda: client.delete_collection(f"article-{articles - 1}"), 1),
            "remove, shared + where": timed(lambda: shared.delete(where={"article": articles - 1}), 1),
        }
        return rows


if __name__ == "__main__":
    main()
