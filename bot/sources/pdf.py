"""Paragraphs out of a PDF's text layer, with pypdf."""

from __future__ import annotations

import io
import logging
import re
import statistics

from bot.errors import SourceError
from bot.sources.document import fail
from bot.sources.extract import CONTROL, join_lines

# pypdf warns about every odd object in a damaged file; the user gets one message from us instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)

PAGE_NUMBER = re.compile(r"^\s*(?:page\s*)?\d+(?:\s*(?:/|of|sur)\s*\d+)?\s*$", re.IGNORECASE)


def pdf_article(data: bytes, source: str, max_chars: int) -> tuple[str | None, list[str]]:
    """The title from the PDF's metadata (when it has a real one) and the text as paragraphs.

    pypdf gives lines, not paragraphs: a blank line or a line well short of the page's usual width ends
    one."""
    from pypdf import PdfReader  # 0.6 s to import: only when a PDF comes

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise fail(source, "the PDF is password-protected")
        lines: list[str] = []
        chars = 0
        for page in reader.pages:
            page_lines = CONTROL.sub("", page.extract_text() or "").split("\n")
            lines += [line for line in page_lines if not PAGE_NUMBER.match(line)]
            chars += sum(map(len, page_lines))
            if chars > 2 * max_chars:  # stop reading a huge PDF: it cannot fit anyway
                break
        title = (reader.metadata.title if reader.metadata else None) or ""
    except SourceError:
        raise
    except Exception as error:  # a parser on untrusted bytes: any failure means "this PDF is unreadable"
        raise fail(source, "the PDF could not be read (it may be damaged)") from error
    paragraphs = _paragraphs(lines)
    if not paragraphs:
        raise fail(source, "the PDF has no extractable text (a scanned image?)")
    title = " ".join(title.split())
    if title.lower().endswith((".doc", ".docx", ".pdf", ".tex")) or title.lower() in {"untitled", "title"}:
        title = ""  # a file name or a template's placeholder, not the article's title
    return title or None, paragraphs


def _paragraphs(lines: list[str]) -> list[str]:
    texts = [line.strip() for line in lines]
    widths = [len(text) for text in texts if text]
    if not widths:
        return []
    full = statistics.median(widths)
    following = [""] * len(texts)  # the next non-blank line after each one
    for i in range(len(texts) - 2, -1, -1):
        following[i] = texts[i + 1] or following[i + 1]
    paragraphs: list[str] = []
    current: list[str] = []
    for text, after in zip(texts, following, strict=True):
        if not text:
            paragraphs.append(join_lines(current))
            current = []
            continue
        if current and current[-1].endswith("-") and text[:1].islower():
            current[-1] = current[-1][:-1] + text  # a word hyphenated across lines
        else:
            current.append(text)
        # A line well short of the usual width ends its paragraph (or is a heading), unless the sentence
        # visibly goes on: a trailing comma or hyphen, or a next line starting in lower case.
        goes_on = text.endswith((",", "-")) or after[:1].islower()
        if len(text) < 0.8 * full and not goes_on:
            paragraphs.append(join_lines(current))
            current = []
    paragraphs.append(join_lines(current))
    return [p for p in paragraphs if p]
