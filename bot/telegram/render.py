"""How engine results look in Telegram: escaped HTML with [n] quotes, keyboards, inline results, split
messages, and the sinks that show an answer while it streams (an edited message, a draft, an inline message).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.constants import MessageLimit

from bot.engine.conversation import normalise
from bot.engine.prompts import phrase
from bot.engine.records import Answer, Passage

logger = logging.getLogger(__name__)

PHRASES = "telegram.toml"
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
CALLBACK_LIMIT = 64  # bytes of callback_data, and of an inline result id
_TAG_RESERVE = 64  # room for the closing tags a split adds
_BREAKS = ("\n\n", "\n", ". ", " ")
_OPEN_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^<>]*>")


def escape(text: str) -> str:
    """User and article text made safe for parse_mode=HTML."""
    return html.escape(text, quote=False)


def say(key: str, lang: str, **variables: object) -> str:
    """A fixed phrase from prompts/telegram.toml."""
    return phrase(key, lang, file=PHRASES, **variables)


def cache_key(question: str) -> str:
    return hashlib.sha256(normalise(question).encode("utf-8")).hexdigest()[:16]


def fits_callback(data: str) -> bool:
    return 1 <= len(data.encode("utf-8")) <= CALLBACK_LIMIT


def anchor(paragraph: int, sentence: int, lang: str) -> str:
    """'§3, sentence 2' for 0-based anchors."""
    return say("anchor", lang, paragraph=paragraph + 1, sentence=sentence + 1)


def render_partial(text: str) -> str:
    """A growing answer while it streams, with a cursor; bounded to one message."""
    body = escape(text.strip())
    if len(body) > TEXT_LIMIT - 100:
        body = "…" + body[-(TEXT_LIMIT - 100) :].split(" ", 1)[-1]
    return body + " ▍"


def render_answer(answer: Answer, *, question: str | None = None) -> str:
    """The final answer: the text with its [n] markers, then each cited quote with its § anchor."""
    parts = [f"❓ <b>{escape(question)}</b>"] if question else []
    parts.append(escape(answer.answer.strip()))
    for citation in answer.citations:
        where = anchor(citation.paragraph, citation.sentence, answer.language)
        parts.append(
            f"<b>[{citation.n}]</b> <i>{where}</i>\n<blockquote>{escape(citation.quote)}</blockquote>"
        )
    return "\n\n".join(parts)


def render_passage(passage: Passage, paragraph_text: str | None, lang: str) -> str:
    """One passage in full, inside its paragraph with the passage itself in bold."""
    body = escape(passage.text)
    if paragraph_text and passage.text in paragraph_text:
        before, _, after = paragraph_text.partition(passage.text)
        body = f"{escape(before)}<b>{body}</b>{escape(after)}"
    return f"<b>{anchor(passage.paragraph, passage.sentence, lang)}</b>\n<blockquote>{body}</blockquote>"


def render_sources(answer: Answer) -> str:
    """The passages behind an answer, as /sources shows them."""
    return "\n\n".join(
        f"<b>[{c.n}]</b> <i>{anchor(c.paragraph, c.sentence, answer.language)}</i>\n"
        f"<blockquote>{escape(c.quote)}</blockquote>"
        for c in answer.citations
    )


def lead_of(paragraphs: Sequence[str], limit: int = 300) -> str:
    """The article's first paragraph, cut at a word under the limit: its summary, as news leads are."""
    lead = paragraphs[0] if paragraphs else ""
    return lead if len(lead) <= limit else lead[:limit].rsplit(" ", 1)[0] + "…"


def render_article(paragraphs: Sequence[str]) -> list[str]:
    """The whole article, each paragraph under its §, split into messages."""
    text = "\n\n".join(f"<b>§{number}</b> {escape(p)}" for number, p in enumerate(paragraphs, start=1))
    return split_html(text)


def answer_keyboard(
    answer: Answer, lang: str, *, article: InlineKeyboardButton | None = None
) -> InlineKeyboardMarkup | None:
    """One button per [n] that shows its passage, and a button for the whole article."""
    buttons = [
        InlineKeyboardButton(f"[{c.n}] §{c.paragraph + 1}.{c.sentence + 1}", callback_data=data)
        for c in answer.citations
        if fits_callback(data := f"src:{answer.article}:{c.chunk_id}")
    ]
    rows = [buttons[start : start + 4] for start in range(0, len(buttons), 4)]
    if article is not None:
        rows.append([article])
    return InlineKeyboardMarkup(rows) if rows else None


def article_button(lang: str, name: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(say("article_button", lang), callback_data=f"art:{name}")


def generate_keyboard(key: str, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(say("generate_button", lang), callback_data=f"gen:{key}")]]
    )


def inline_results(
    question: str, key: str, passages: Sequence[Passage], answer: Answer | None, lang: str, bot_username: str
) -> list[InlineQueryResultArticle]:
    """The answer if one is ready, else a 'generate' result; then the best passages as quotes."""
    results = []
    if answer is not None:
        link = InlineKeyboardButton(
            say("article_button", lang), url=f"https://t.me/{bot_username}?start=article"
        )
        results.append(
            InlineQueryResultArticle(
                id=f"ans:{key}",
                title=say("inline_answer_title", lang),
                description=answer.answer[:200],
                input_message_content=InputTextMessageContent(
                    split_html(render_answer(answer, question=question))[0]
                ),
                reply_markup=answer_keyboard(answer, lang, article=link),
            )
        )
    else:
        results.append(
            InlineQueryResultArticle(
                id=f"gen:{key}",
                title=say("inline_generate_title", lang),
                description=question[:200],
                input_message_content=InputTextMessageContent(
                    f"❓ <b>{escape(question)}</b>\n\n{say('inline_pending', lang)}"
                ),
                reply_markup=generate_keyboard(key, lang),
            )
        )
    for passage in passages[:49]:
        where = anchor(passage.paragraph, passage.sentence, lang)
        results.append(
            InlineQueryResultArticle(
                id=f"q:{passage.chunk_id}"[:CALLBACK_LIMIT],
                title=f"📌 {where}",
                description=passage.text[:200],
                input_message_content=InputTextMessageContent(
                    split_html(f"<i>{where}</i>\n<blockquote>{escape(passage.text)}</blockquote>")[0]
                ),
            )
        )
    return results


def _utf16_prefix(text: str, budget: int) -> int:
    """The longest prefix length of text that takes at most `budget` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)


def _open_tags(text: str) -> list[tuple[str, str]]:
    """(name, start tag) of the tags still open at the end of text, outermost first."""
    stack: list[tuple[str, str]] = []
    for match in _OPEN_TAG.finditer(text):
        if not match.group(1):
            stack.append((match.group(2), match.group(0)))
        elif stack and stack[-1][0] == match.group(2):
            stack.pop()
    return stack


def _cut(text: str, budget: int) -> int:
    """Where to split: the last paragraph, line, sentence or word break in budget, outside tags/entities."""
    window = text[: _utf16_prefix(text, budget)]
    for mark in _BREAKS:
        position = window.rfind(mark)
        while position > 0:
            before = window[:position]
            if before.rfind("<") <= before.rfind(">") and before.rfind("&") <= before.rfind(";"):
                return position + 1 if mark == ". " else position  # a sentence keeps its full stop
            position = window.rfind(mark, 0, position)
    end = len(window)
    while end > 1 and (
        window.rfind("<", 0, end) > window.rfind(">", 0, end)
        or window.rfind("&", 0, end) > window.rfind(";", 0, end)
    ):
        end -= 1
    return end


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split HTML into messages of at most `limit`, on paragraph/line/sentence breaks, re-opening tags."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest.encode("utf-16-le")) // 2 > limit:
        cut = _cut(rest, limit - _TAG_RESERVE)
        head, rest = rest[:cut], rest[cut:].lstrip()
        tags = _open_tags(head)
        chunks.append(head.rstrip() + "".join(f"</{name}>" for name, _ in reversed(tags)))
        rest = "".join(tag for _, tag in tags) + rest
    chunks.append(rest)
    return [chunk for chunk in chunks if chunk.strip()]
