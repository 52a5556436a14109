"""Names for an article: a title out of its text, a slug out of its title."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

MAX_SLUG = 48
MIN_SLUG = 3
MAX_HEADLINE = 150
TITLE_WORDS = 8
# Scripts written without spaces between words: anyascii gives one capitalised syllable per character
# ("英国" -> "YingGuo"), so each becomes a word of the slug rather than one endless run.
SYLLABIC = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")


def slugify(title: str) -> str:
    """'Élection à Москва' -> 'election-a-moskva': lowercase [a-z0-9-], at most 48 characters cut between
    words, 'article' when fewer than 3 are left (e.g. an empty title)."""
    spaced = "".join(
        f" {anyascii(ch)} " if unicodedata.name(ch, "").startswith(SYLLABIC) else ch for ch in title
    )
    words = re.findall(r"[a-z0-9]+", anyascii(spaced).lower())
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > MAX_SLUG:
            break
        slug = longer
    if not slug and words:
        slug = words[0][:MAX_SLUG]  # a single word longer than the limit
    return slug if len(slug) >= MIN_SLUG else "article"


def is_headline(paragraph: str) -> bool:
    """One short line that does not end like a sentence: a title, not the story's first paragraph."""
    line = paragraph.strip()
    return bool(line) and "\n" not in line and len(line) < MAX_HEADLINE and not line.endswith((".", "。"))


def short_title(text: str) -> str:
    """The first line when it is short, else its first words and an ellipsis."""
    line = text.strip().split("\n", 1)[0].strip()
    if len(line) < MAX_HEADLINE:
        return line
    words = line.split()
    if len(words) > TITLE_WORDS:
        return " ".join(words[:TITLE_WORDS]) + "…"
    return line[:40].rstrip() + "…"  # text without spaces (Chinese, Japanese)
