"""Split an article into paragraphs (on blank lines) and sentences (pysbd), keeping exact anchors."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

import pysbd
from pysbd.languages import LANGUAGE_CODES

_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Chunk:
    """One sentence of the article; `text` is verbatim and `start`/`end` index the article text."""

    chunk_id: str
    paragraph: int
    sentence: int
    text: str
    start: int
    end: int


def article_checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_paragraphs(text: str) -> list[tuple[int, str]]:
    """(start offset, paragraph text) for each non-empty paragraph, stripped."""
    paragraphs = []
    position = 0
    for block in _BLANK_LINES.split(text):
        offset = text.index(block, position)
        position = offset + len(block)
        stripped = block.strip()
        if stripped:
            paragraphs.append((offset + block.index(stripped), stripped))
    return paragraphs


@cache
def _segmenter(language: str) -> pysbd.Segmenter:
    # pysbd knows some 23 languages; English rules split the others (and Latin-script ones) well enough.
    known = language if language in LANGUAGE_CODES else "en"
    return pysbd.Segmenter(language=known, clean=False, char_span=True)


def split_sentences(paragraph: str, language: str = "fr") -> list[tuple[int, str]]:
    """(start offset, sentence) pairs; pysbd knows that "M. Belousov" is one sentence."""
    sentences = []
    for span in _segmenter(language).segment(paragraph):
        stripped = span.sent.strip()
        if stripped:
            sentences.append((span.start + span.sent.index(stripped), stripped))
    return sentences


def chunk_article(text: str, language: str = "fr") -> list[Chunk]:
    """Deterministic ids p{paragraph}s{sentence}: re-chunking the same text gives the same chunks."""
    chunks = []
    for p_index, (p_start, paragraph) in enumerate(split_paragraphs(text)):
        for s_index, (s_start, sentence) in enumerate(split_sentences(paragraph, language)):
            start = p_start + s_start
            chunks.append(
                Chunk(f"p{p_index}s{s_index}", p_index, s_index, sentence, start, start + len(sentence))
            )
    return chunks
