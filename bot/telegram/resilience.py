"""Calls the answer can do without: a failure is logged once per kind and skipped, and start-up calls
are retried in the background. Telegram answers 5xx and times out now and then; a third-party Bot API
server may not know a method at all. None of that may stop an answer, let alone the bot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import BadRequest, Forbidden, TelegramError

logger = logging.getLogger(__name__)

_reported: set[str] = set()
START_BACKOFF = (1.0, 2.0, 5.0, 15.0, 60.0)  # seconds between start-up attempts, the last repeated


async def optional(call: Awaitable[Any], what: str) -> bool:
    """Await an optional Bot API call: False (logged the first time for this kind) if it failed. A chat
    that blocked the bot (Forbidden) is not optional: it ends the answer, so it is raised."""
    try:
        await call
        return True
    except Forbidden:
        raise
    except TelegramError as error:
        if what not in _reported:
            _reported.add(what)
            logger.warning("%s failed (%s); going on without it (logged once)", what, error)
        else:
            logger.debug("%s failed again: %s", what, error)
        return False


def is_gone(error: BadRequest) -> bool:
    """The message to edit was deleted (by its user, or never existed)."""
    text = str(error).lower()
    return "message to edit not found" in text or "message_id_invalid" in text


def retry_in_background(
    step: Callable[[], Awaitable[Any]], what: str, backoff: tuple[float, ...] = START_BACKOFF
) -> asyncio.Task[None]:
    """Run a start-up step (the command menu) until it succeeds, waiting longer after each failure,
    without holding up the bot: it answers meanwhile."""

    async def attempts() -> None:
        for attempt in range(1_000_000):
            try:
                await step()
                if attempt:
                    logger.info("%s succeeded after %d retries", what, attempt)
                return
            except TelegramError as error:
                delay = backoff[min(attempt, len(backoff) - 1)]
                log = logger.warning if attempt == 0 else logger.debug
                log("%s failed (%s); retrying in %.0f s, in the background", what, error, delay)
                await asyncio.sleep(delay)

    return asyncio.get_running_loop().create_task(attempts(), name=f"articlebot: {what}")
