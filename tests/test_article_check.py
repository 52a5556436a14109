"""What reads as an article: the one check a fetched page and a pasted text both go through."""

from __future__ import annotations

import pytest

from bot.errors import NotAnArticle
from bot.paths import BUNDLED_ARTICLE, PUBLIC_SETS
from bot.sources import SourceLimits, load_text

ARTICLES = [BUNDLED_ARTICLE, *sorted(PUBLIC_SETS.glob("*.txt"))]


@pytest.mark.parametrize("path", ARTICLES, ids=lambda path: path.stem)
def test_every_eval_article_reads_as_one_when_pasted(path):
    text = path.read_text(encoding="utf-8")
    assert load_text(text, "telegram:chat:1:text", SourceLimits()).text
    assert load_text(text[:1000], "telegram:chat:1:text", SourceLimits()).text, "its first 1,000 too"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("pourquoi " * 700, "0 sentences in 6,299 characters"),
        ("What did the minister say? " * 60, "the same 5 words over and over"),
        ("Why? " * 700, "the same 1 word over and over"),
        ("Breaking news\n\nShort.", "only 6 characters of text"),
    ],
)
def test_a_text_that_is_no_article_is_refused_with_its_reason(text, problem):
    with pytest.raises(NotAnArticle) as refused:
        load_text(text, "pasted", SourceLimits())
    assert str(refused.value) == f"Cannot load pasted: no article text found ({problem})"
