"""Keeping the bot token out of the logs, and a rate limiter that also retries network errors."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

NETWORK_RETRIES = 2


class TokenFilter(logging.Filter):
    """Replaces the bot token in any record (message, arguments, traceback) by a placeholder."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        with suppress(Exception):
            message = record.getMessage()
            if self.token in message:
                record.msg, record.args = message.replace(self.token, "<token>"), None
            if record.exc_info:
                text = record.exc_text or logging.Formatter().formatException(record.exc_info)
                if self.token in text:
                    record.exc_text = text.replace(self.token, "<token>")
        return True


def quiet_logging(token: str) -> None:
    """Silence httpx's request URLs (they carry the token) and redact the token from every handler."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for target in [*logging.getLogger().handlers, logging.getLogger("httpx")]:
        if not any(isinstance(f, TokenFilter) and f.token == token for f in target.filters):
            target.addFilter(TokenFilter(token))


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (which waits out RetryAfter) that also retries network errors, with a short backoff.

    A timed-out send is not retried: Telegram may have delivered it, and a duplicate is worse than a wait.
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        for attempt in itertools.count():
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise
            except NetworkError as error:
                sends = endpoint.startswith("send") and endpoint not in ("sendChatAction", "sendMessageDraft")
                if attempt >= NETWORK_RETRIES or (isinstance(error, TimedOut) and sends):
                    raise
                logger.warning("Network error on %s, retrying: %s", endpoint, error)
                await asyncio.sleep(0.5 * 2**attempt)
