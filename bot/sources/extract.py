"""Article paragraphs (and a title, when the format has one) out of HTML, markdown and plain text."""

from __future__ import annotations

import logging
import re

# trafilatura logs every page it finds too short at WARNING; our caller reports that itself.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
# Hard-wrapped text keeps its lines under about 80 characters; a longer line is a whole paragraph.
WRAP_WIDTH = 100
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b\ufeff]")


def join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one line: joined by a space, except between CJK characters."""
    out = ""
    for line in (" ".join(line.split()) for line in lines):
        if not line:
            continue
        glue = "" if not out or (CJK.match(out[-1]) and CJK.match(line[0])) else " "
        out += glue + line
    return out


def text_paragraphs(text: str) -> list[str]:
    """Plain text: blank lines separate paragraphs. Inside a block, lines are joined when the text is
    hard-wrapped, and stand as paragraphs of their own when a long line shows it is not (pasted pages)."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        if len(lines) > 1 and max(len(line) for line in lines[:-1]) > WRAP_WIDTH:
            paragraphs += [join_lines([line]) for line in lines]
        else:
            paragraphs.append(join_lines(lines))
    return [p for p in paragraphs if p]


def html_article(html: str, url: str | None = None) -> tuple[str | None, list[str]]:
    """The story of a web page without its menus, banners and footer, and the page's title.

    trafilatura with favor_precision: on site chrome around six articles it kept every paragraph and
    leaked no boilerplate, where readability-lxml leaked share links (scripts/compare_extractors.py)."""
    import trafilatura  # 0.6 s to import: only when a page is read, not whenever the package is

    doc = trafilatura.bare_extraction(
        html, url=url, favor_precision=True, include_comments=False, include_tables=False, with_metadata=True
    )
    if doc is None or isinstance(doc, dict):  # a dict only with as_dict=True, which is not asked for
        return None, []
    return doc.title or None, [line for line in (doc.text or "").split("\n") if line.strip()]


FENCE = re.compile(r"^\s*(```|~~~)")
ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
QUOTE = re.compile(r"^\s*(?:>\s?)+")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
INLINE = [
    (re.compile(r"\s*!\[([^\]]*)\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<(https?://[^>]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[a-zA-Z][^>]*>"), ""),  # inline HTML tags
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])"), r"\1"),  # backslash escapes last
]


def _plain(line: str) -> str:
    for pattern, replacement in INLINE:
        line = pattern.sub(replacement, line)
    return line


def markdown_article(text: str) -> tuple[str | None, list[str]]:
    """Markdown as plain paragraphs: a leading `# Title` is the title, other headings and list items stand
    as paragraphs of their own, link text stays and the markup goes."""
    lines = CONTROL.sub("", text.replace("\r\n", "\n")).split("\n")
    if lines and lines[0].strip() == "---" and "---" in (line.strip() for line in lines[1:]):
        lines = lines[[line.strip() for line in lines[1:]].index("---") + 2 :]  # YAML front matter
    title: str | None = None
    blocks: list[list[str]] = []
    current: list[str] = []

    def close() -> None:
        nonlocal current
        if current:
            blocks.append(current)
        current = []

    for raw in lines:
        if FENCE.match(raw) or REFERENCE.match(raw) or TABLE_RULE.match(raw):
            continue
        line = QUOTE.sub("", raw)
        heading = ATX.match(line)
        underline = SETEXT.match(line)
        if heading or (underline and len(current) == 1):
            level, words = (len(heading[1]), heading[2]) if heading else (1 + ("-" in line), current.pop())
            close()
            if level == 1 and title is None and not blocks:
                title = _plain(words).strip()
            else:
                blocks.append([words])
        elif not line.strip() or RULE.match(line):
            close()
        elif ITEM.match(line):
            close()
            current.append(ITEM.sub("", line))
        else:
            current.append(line.replace("|", " ") if line.lstrip().startswith("|") else line)
    close()
    paragraphs = [join_lines([_plain(line) for line in block]) for block in blocks]
    return title or None, [p for p in paragraphs if p]
