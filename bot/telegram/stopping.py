"""How a stop signal ends the process: PTB's polling loop is not waited on while Telegram is unreachable,
and a stop that overruns its grace period exits."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

POLLING_TASK = "Updater:start_polling:polling_task"  # PTB's name for its getUpdates loop
STOP_POLLING_WAIT = 0.5  # seconds PTB's polling loop is given to stop by itself


async def cut_short(polling: asyncio.Task[Any]) -> None:
    """PTB's stop tells its polling loop to stop, which it does at once unless it is sleeping between failed
    attempts: up to 30 s while Telegram is unreachable. A loop still running shortly after is cancelled
    (PTB's stop allows for that); cancelled mid-request, it would leave that request's task behind."""
    await asyncio.wait([polling], timeout=STOP_POLLING_WAIT)
    if not polling.done():
        logger.info("Telegram is unreachable: not waiting for the next attempt to poll it")
        polling.cancel()


def stop_overdue(settings: Settings) -> None:
    """Still stopping when the grace period ends (a request or an answer that does not end): log where each
    thread is, then exit. Runs in a timer thread, so a stuck event loop or a thread joined at exit cannot
    hold it; a replica's unfinished updates stay journalled for another."""
    logger.warning(
        "Still stopping %g s after the signal (STOP_GRACE_SECONDS): exiting now. Where each thread was:",
        settings.stop_grace_seconds,
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    faulthandler.dump_traceback(all_threads=True)
    os._exit(0)
