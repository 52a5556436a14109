"""Where one answer appears while it streams: a chat message (or a private chat's draft), or a message
sent through inline mode. Progress is optional, the final answer is not: a failed progress update is
skipped, and a placeholder the user deleted is replaced by a new message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.telegram.render import split_html
from bot.telegram.resilience import is_gone, optional

logger = logging.getLogger(__name__)


async def edit(bot: Bot, text: str, **where: Any) -> None:
    """edit_message_text where 'message is not modified' is not an error."""
    try:
        await bot.edit_message_text(text, **where)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


class Sink:
    """Where one answer appears while it streams: a chat message (or draft), or an inline message."""

    def __init__(self, bot: Bot, interval: float, clock: Callable[[], float]) -> None:
        self.bot, self.interval, self.clock = bot, interval, clock
        self._last = -float("inf")

    def due(self, force: bool) -> bool:
        """Throttle: at most one update per interval, unless forced."""
        now = self.clock()
        if force or now - self._last >= self.interval:
            self._last = now
            return True
        return False

    async def started(self) -> None:
        """The model has started on this question."""

    async def progress(self, text: str, *, force: bool = False, lasting: bool = False) -> None:
        """Show the text so far (throttled unless forced); `lasting` text stays until replaced."""
        raise NotImplementedError

    async def finish(self, chunks: list[str], markup: InlineKeyboardMarkup | None) -> list[int]:
        raise NotImplementedError

    async def withdraw(self) -> None:
        """Another replica answers instead: take back what this one showed, where it can be taken back."""


class ChatSink(Sink):
    """A chat: one message edited as the answer grows (or a private-chat draft), then the final message."""

    def __init__(
        self, bot: Bot, chat_id: int, reply_to: int | None, draft_id: int | None, **throttle: Any
    ) -> None:
        super().__init__(bot, **throttle)
        self.chat_id, self.reply_to, self.draft_id = chat_id, reply_to, draft_id
        self.message_id: int | None = None

    async def started(self) -> None:
        await optional(self.bot.send_chat_action(self.chat_id, ChatAction.TYPING), "sendChatAction")

    async def progress(self, text: str, *, force: bool = False, lasting: bool = False) -> None:
        """Progress is optional: a failed draft or edit is skipped, and the final answer still comes."""
        if not self.due(force):
            return
        # Drafts vanish after ~30 s, so a queue notice is a real message, and once one exists we edit it.
        if self.draft_id is not None and self.message_id is None and not lasting:
            if await optional(
                self.bot.send_message_draft(self.chat_id, self.draft_id, text), "sendMessageDraft"
            ):
                return
            self.draft_id = None  # streaming by edits from now on
        try:
            if self.message_id is None:
                self.message_id = (await self._send(text, None)).message_id
            else:
                await edit(self.bot, text, chat_id=self.chat_id, message_id=self.message_id)
        except BadRequest as error:
            if not is_gone(error):
                raise
            self.message_id = None  # the user deleted it: the next update sends a new one
        except Forbidden:
            raise
        except TelegramError as error:
            logger.info("A progress update failed (%s); the answer goes on", error)

    async def finish(self, chunks: list[str], markup: InlineKeyboardMarkup | None) -> list[int]:
        ids = []
        for index, chunk in enumerate(chunks):
            keyboard = markup if index == len(chunks) - 1 else None
            if index == 0 and self.message_id is not None:
                try:
                    await edit(
                        self.bot,
                        chunk,
                        chat_id=self.chat_id,
                        message_id=self.message_id,
                        reply_markup=keyboard,
                    )
                    ids.append(self.message_id)
                    continue
                except BadRequest as error:
                    if not is_gone(error):
                        raise
                    # The placeholder was deleted meanwhile: the answer comes as a new message.
            ids.append((await self._send(chunk, keyboard)).message_id)
        return ids

    async def withdraw(self) -> None:
        if self.message_id is not None:
            await optional(self.bot.delete_message(self.chat_id, self.message_id), "deleteMessage")
            self.message_id = None

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        reply = ReplyParameters(self.reply_to) if self.reply_to else None
        return await self.bot.send_message(self.chat_id, text, reply_parameters=reply, reply_markup=markup)


class InlineSink(Sink):
    """A message sent through inline mode, edited by inline_message_id (one message: no splitting)."""

    def __init__(self, bot: Bot, inline_message_id: str, header: str, **throttle: Any) -> None:
        super().__init__(bot, **throttle)
        self.inline_message_id, self.header = inline_message_id, header

    async def progress(self, text: str, *, force: bool = False, lasting: bool = False) -> None:
        if self.due(force):
            shown = split_html(f"{self.header}\n\n{text}")[0]
            await optional(
                edit(self.bot, shown, inline_message_id=self.inline_message_id), "inline progress edit"
            )

    async def finish(self, chunks: list[str], markup: InlineKeyboardMarkup | None) -> list[int]:
        await edit(self.bot, chunks[0], inline_message_id=self.inline_message_id, reply_markup=markup)
        return []
