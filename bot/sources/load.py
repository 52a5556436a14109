"""The public entry points: a path or link, uploaded bytes, or pasted text -> a Document."""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from bot.sources.document import Document, SourceLimits, fail, make_document, size_text
from bot.sources.extract import html_article, markdown_article, text_paragraphs
from bot.sources.fetch import Progress, fetch
from bot.sources.pdf import pdf_article

HTML_EXTENSIONS = {".html", ".htm", ".xhtml"}
MARKDOWN_EXTENSIONS = {".md", ".markdown"}
TEXT_EXTENSIONS = {".txt", ".text", ""}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
UNKNOWN_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
SUPPORTED = "only web pages, .txt, .md, .html and .pdf files are supported"
BINARY = "it is a binary file, not text, HTML or PDF"
HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<!--)", re.IGNORECASE)
META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)


def _kind(data: bytes, filename: str, media_type: str, source: str) -> str:
    """'pdf', 'html', 'markdown' or 'text': from the bytes first, then the server's type, then the name."""
    extension = PurePosixPath(filename).suffix.lower()
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if extension == ".pdf" or media_type == "application/pdf":
        raise fail(source, "it is not a valid PDF file")
    if media_type not in UNKNOWN_TYPES | HTML_TYPES and not media_type.startswith("text/"):
        raise fail(source, f"the server sent {media_type}; {SUPPORTED}")
    if b"\x00" in data[:8192]:
        raise fail(source, BINARY)
    if media_type in HTML_TYPES or extension in HTML_EXTENSIONS:
        return "html"
    if extension in MARKDOWN_EXTENSIONS or media_type == "text/markdown":
        return "markdown"
    if extension not in TEXT_EXTENSIONS and media_type in UNKNOWN_TYPES:
        raise fail(source, f"{extension} files are not supported; {SUPPORTED}")
    return "html" if extension == "" and HTML_START.match(data[:1024]) else "text"


def _decode_html(data: bytes, charset: str | None) -> str:
    """The server's charset, else the page's <meta>, else UTF-8; a browser shows bad bytes, so do we."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    meta = META_CHARSET.search(data[:4096])
    for clue in (charset, meta[1].decode("ascii", "ignore") if meta else None):
        if clue:
            try:
                return data.decode(clue, errors="replace")
            except LookupError:
                continue  # an unknown charset name: try the next clue
    return data.decode("utf-8", errors="replace")


def _decode_text(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else cp1252/latin-1 if the result reads as text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise fail(source, BINARY) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f") + text.count("\x7f")
    if controls > len(text) / 100:  # prose, in whatever encoding, has next to no control characters
        raise fail(source, BINARY)
    return text


def _document(
    data: bytes,
    filename: str,
    source: str,
    limits: SourceLimits,
    media_type: str = "",
    charset: str | None = None,
) -> Document:
    if len(data) > limits.max_bytes:
        raise fail(source, f"it is larger than the {size_text(limits.max_bytes)} limit")
    if not data.strip():
        raise fail(source, "it is empty")
    kind = _kind(data, filename, media_type, source)
    if kind == "pdf":
        title, paragraphs = pdf_article(data, source, limits.max_chars)
        return make_document(title, paragraphs, source, limits)
    if kind == "html":
        url = source if source.startswith(("http://", "https://")) else None
        title, paragraphs = html_article(_decode_html(data, charset), url)
        return make_document(title, paragraphs, source, limits, check_article=True)
    text = _decode_text(data, source)
    if kind == "markdown":
        title, paragraphs = markdown_article(text)
        return make_document(title, paragraphs, source, limits)
    return make_document(None, text_paragraphs(text), source, limits)


def load_bytes(data: bytes, filename: str, source: str, limits: SourceLimits) -> Document:
    """An uploaded file: its type from its bytes and its name (.txt, .md, .html/.htm, .pdf)."""
    return _document(data, filename, source, limits)


def load_text(text: str, source: str, limits: SourceLimits) -> Document:
    """Pasted text: a short first line standing alone is the title, else its first words are. It must read
    as an article, as a page must (NotAnArticle)."""
    if not text.strip():
        raise fail(source, "the text is empty")
    return make_document(None, text_paragraphs(text), source, limits, check_article=True)


def load_source(source: str, limits: SourceLimits, *, progress: Progress | None = None) -> Document:
    """A file path or an http(s) link; progress(bytes so far, total or None) is called while downloading."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source):
        fetched = fetch(source, limits, progress)
        name = unquote(PurePosixPath(urlsplit(fetched.url).path).name)
        return _document(fetched.body, name, source, limits, fetched.media_type, fetched.charset)
    path = Path(os.path.abspath(Path(source).expanduser()))
    shown = str(path)
    try:
        if not path.exists():
            raise fail(shown, "no such file")
        if path.is_dir():
            raise fail(shown, "it is a folder, not a file")
        if path.stat().st_size > limits.max_bytes:
            raise fail(shown, f"it is larger than the {size_text(limits.max_bytes)} limit")
        data = path.read_bytes()
    except OSError as error:
        raise fail(shown, f"it cannot be read ({error.strerror or error})") from None
    return _document(data, path.name, shown, limits)
