"""`articlebot run`: the built application served by long polling or by a webhook, its logging set up."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telegram import Update

from bot.errors import ConfigError
from bot.telegram.app import bot_token, build_application
from bot.telegram.logging import quiet_logging

if TYPE_CHECKING:
    from bot.engine.library import Library
    from bot.settings import Settings

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY, Update.CHOSEN_INLINE_RESULT]
LAST_GET_UPDATES = "Error while calling `get_updates` one more time"  # PTB's log line when that fails


def run(settings: Settings, library: Library) -> None:
    """`articlebot run`: long-poll Telegram until interrupted, or with WEBHOOK_URL set, serve a webhook
    (one of several replicas behind a load balancer)."""
    token = bot_token(settings)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level)
    quiet_logging(token)
    logging.getLogger("telegram.ext.Updater").addFilter(OneLineLastPoll())
    secret = webhook_secret(settings) if settings.webhook_url else None
    application = build_application(settings, library, handle_signals=True)
    # Telegram unreachable at start (getMe, setWebhook/deleteWebhook) is retried with backoff, not fatal;
    # the stop signals are the front end's own (post_init), so the queue is released before PTB waits on
    # handlers.
    if settings.webhook_url and secret:
        logger.info("articlebot serves its webhook on %s:%d", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
            stop_signals=None,
        )
    else:
        logger.info("articlebot is polling Telegram")
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1, stop_signals=None)


class OneLineLastPoll(logging.Filter):
    """On stopping, PTB calls getUpdates once more to confirm what it fetched, and logs a traceback when
    Telegram is unreachable. That is expected then: one line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith(LAST_GET_UPDATES):
            reason = record.exc_info[1]
            record.msg, record.args, record.exc_info = (
                "Telegram is unreachable (%s): the updates fetched last may be fetched again after a restart",
                (reason,),
                None,
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def webhook_secret(settings: Settings) -> str:
    """The secret every update must carry, the same for every replica; a one-line ConfigError if unfit."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError(
            "WEBHOOK_SECRET must be set for webhook mode: 1-256 characters of A-Z, a-z, 0-9, _ and -,"
            " the same for every replica"
        )
    return secret
