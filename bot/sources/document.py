"""The article a source yields, the limits a source must fit, and the one way to build both."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from bot.errors import NotAnArticle, SourceError
from bot.sources.naming import is_headline, short_title

MIN_ARTICLE_CHARS = 200
MIN_ARTICLE_SENTENCES = 2
# A sentence ends at . ! ? before a space, a closing quote or the end; CJK full stops need no space.
SENTENCE_END = re.compile(r"[.!?…](?=[\s\"'»”)\]]|$)|[。！？]")
# Words, for variety: runs of letters, and each character of scripts written without spaces.
WORD = re.compile(r"[\u2e80-\u9fff\u3040-\u30ff\uac00-\ud7af\uf900-\ufaff]|[^\W\d_]+")
# Prose of N words uses well over 2·√N different ones (4 to 7 on the eval articles, 2.0 on their first
# 200 characters); "pourquoi " 700 times has 1 in 700, a sentence pasted 25 times 5 in 125.
MIN_WORD_VARIETY = 2.0


@dataclass(frozen=True)
class Document:
    """An article: `text` is its paragraphs separated by one blank line, without the title."""

    title: str
    text: str
    source: str


@dataclass(frozen=True)
class SourceLimits:
    """How much a source may weigh, how long it may take, and where it may be fetched from."""

    max_bytes: int = 5_000_000
    max_chars: int = 100_000
    timeout: float = 20
    max_redirects: int = 3
    allow_private_networks: bool = False
    allowed_ports: frozenset[int] | None = frozenset({80, 443})  # None: any port


def fail(source: str, problem: str, kind: type[SourceError] = SourceError) -> SourceError:
    """A one-line error naming the source (shortened) and the problem."""
    shown = " ".join(source.split())
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return kind(" ".join(f"Cannot load {shown}: {problem}".split()))


def article_problem(text: str) -> str | None:
    """Why a text does not read as an article (too short, fewer than two sentences, the same few words
    over and over), or None when it does. Pages and pasted texts both go through it."""
    if len(text) < MIN_ARTICLE_CHARS:
        return f"only {len(text)} characters of text"
    sentences = len(SENTENCE_END.findall(text))
    if sentences < MIN_ARTICLE_SENTENCES:
        return f"{sentences} sentence{'s' if sentences != 1 else ''} in {len(text):,} characters"
    words = Counter(word.casefold() for word in WORD.findall(text))
    total = sum(words.values())
    if len(words) < MIN_WORD_VARIETY * math.sqrt(total):
        return f"the same {len(words)} word{'s' if len(words) != 1 else ''} over and over"
    return None


def size_text(count: int) -> str:
    """5000000 -> '5 MB', for messages."""
    return f"{count / 1_000_000:g} MB" if count >= 1_000_000 else f"{count / 1000:g} kB"


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def make_document(
    title: str | None,
    paragraphs: list[str],
    source: str,
    limits: SourceLimits,
    *,
    check_article: bool = False,
) -> Document:
    """Pick the title, keep it out of the text, and check the result is an article within the limits.

    Without a title, a first paragraph that reads as a headline becomes it; `check_article` (web pages,
    pasted texts) refuses what does not read as a story: what an extractor returns from a page of links,
    or a long message that is not an article (NotAnArticle)."""
    paragraphs = [p for p in (" ".join(p.split()) for p in paragraphs) if p]
    if not paragraphs and not check_article:
        raise fail(source, "it contains no text")
    title = " ".join((title or "").split())
    first = paragraphs[0] if len(paragraphs) > 1 and is_headline(paragraphs[0]) else ""
    if first and (
        not title or (title.casefold().startswith(first.casefold()) and 2 * len(first) >= len(title))
    ):
        # A page's <title> is often "Headline | Site" where its <h1> is the headline alone.
        title = first
    if title and len(paragraphs) > 1 and _same(paragraphs[0], title):
        paragraphs = paragraphs[1:]
    text = "\n\n".join(paragraphs)
    if len(text) > limits.max_chars:
        raise fail(source, f"the article is {len(text):,} characters long; the limit is {limits.max_chars:,}")
    if check_article and (problem := article_problem(text)):
        raise fail(source, f"no article text found ({problem})", NotAnArticle)
    return Document(title=title or short_title(text), text=text, source=source)
