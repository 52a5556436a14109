"""The article a source yields, the limits a source must fit, and the one way to build both."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import SourceError
from bot.sources.naming import is_headline, short_title

MIN_ARTICLE_CHARS = 200
MIN_ARTICLE_SENTENCES = 2
# A sentence ends at . ! ? before a space, a closing quote or the end; CJK full stops need no space.
SENTENCE_END = re.compile(r"[.!?…](?=[\s\"'»”)\]]|$)|[。！？]")


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


def fail(source: str, problem: str) -> SourceError:
    """A one-line error naming the source (shortened) and the problem."""
    shown = " ".join(source.split())
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return SourceError(" ".join(f"Cannot load {shown}: {problem}".split()))


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

    Without a title, a first paragraph that reads as a headline becomes it; `check_article` (web pages)
    refuses text too short to be a story, which is what an extractor returns from a page of links."""
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
    if check_article:
        sentences = len(SENTENCE_END.findall(text))
        if len(text) < MIN_ARTICLE_CHARS or sentences < MIN_ARTICLE_SENTENCES:
            raise fail(source, f"no article text found (only {len(text)} characters of text outside menus)")
    if len(text) > limits.max_chars:
        raise fail(source, f"the article is {len(text):,} characters long; the limit is {limits.max_chars:,}")
    return Document(title=title or short_title(text), text=text, source=source)
