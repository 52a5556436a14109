"""Replicas behind a load balancer, each update answered exactly once.

PTB hands every update to an update processor; this one, in Redis, lets only the first replica to claim an
update's id process it (Telegram may deliver it twice, or the balancer retry it on another replica), and
journals it until its handlers finish. Each replica renews a heartbeat; when one dies mid-answer, another
finds its unfinished updates in the journal and answers them. A replica that only stalled past its lease
(an event-loop stall, a Redis blip) finds on resuming that its update is another's: `still_ours` tells the
answer to stay silent, and finishing is a compare-and-delete, so only the owner marks an update done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable
from contextlib import suppress
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import redis
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.telegram.redis_state import DAY, PREFIX

if TYPE_CHECKING:
    from bot.telegram.commands import BotApp

logger = logging.getLogger(__name__)

JOURNAL = f"{PREFIX}updates:unfinished"  # update id -> the update's JSON, until it is answered
DONE = "done"

# The first replica to claim an update owns it; its owner may claim it again (a taken-over update).
CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""
# Mark an update done and take it out of the journal, only if this replica still owns it: one whose lease
# lapsed must not finish an update another replica has taken over (and may be answering).
FINISH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  redis.call('HDEL', KEYS[2], ARGV[3])
  return 1
end
return 0
"""
# Move an update from a dead owner to this replica, unless someone else did it first.
TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""

# The update the running handler serves, and the processor that claimed it (None: no replicas).
_serving: ContextVar[tuple[ClaimedUpdates, int] | None] = ContextVar("articlebot_update", default=None)


async def still_ours() -> bool:
    """Whether this replica still owns the update its caller is handling (always, without replicas). An
    answer asks before showing each piece: a replica whose update was taken over then shows nothing more."""
    serving = _serving.get()
    return True if serving is None else await serving[0].owns(serving[1])


class ClaimedUpdates(BaseUpdateProcessor):
    """An update processor for replicas: each update claimed in Redis, and finished or taken over."""

    def __init__(
        self, client: Any, *, lease: float, max_concurrent_updates: int = 256, replica: str | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.redis, self.lease = client, lease
        self.replica = replica or uuid.uuid4().hex[:12]
        self._claim = client.register_script(CLAIM)
        self._finish_script = client.register_script(FINISH)
        self._take_over = client.register_script(TAKE_OVER)
        self._running: set[int] = set()  # ids this replica is processing now
        self._watch: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()  # set by shutdown: the watch loop ends at its next check

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        update_id = update.update_id
        if update_id in self._running or not await self._claim_update(update):
            logger.debug("Update %s is another replica's, or already answered", update_id)
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            return
        self._running.add(update_id)
        serving = _serving.set((self, update_id))
        try:
            await coroutine
        finally:
            _serving.reset(serving)
            self._running.discard(update_id)
            await self._finish(update_id)

    async def _claim_update(self, update: Update) -> bool:
        key = f"{PREFIX}update:{update.update_id}"
        try:
            return bool(
                await self._claim(
                    keys=[key, JOURNAL], args=[self.replica, DAY, update.update_id, update.to_json()]
                )
            )
        except redis.RedisError:
            # Without Redis no replica can know; answering twice beats never answering.
            logger.warning("Redis is unreachable: answering update %s unclaimed", update.update_id)
            return True

    async def owns(self, update_id: int) -> bool:
        """Whether this replica still owns the update (no owner left means Redis lost it: answer anyway)."""
        try:
            owner = await self.redis.get(f"{PREFIX}update:{update_id}")
        except redis.RedisError as error:
            logger.warning("Redis is unreachable (%s): going on with update %s", error, update_id)
            return True
        return owner is None or owner.decode() == self.replica

    async def _finish(self, update_id: int) -> None:
        key = f"{PREFIX}update:{update_id}"
        try:
            finished = await self._finish_script(keys=[key, JOURNAL], args=[self.replica, DONE, update_id])
        except redis.RedisError as error:  # it stays journalled: taken over, its owner being alive, never
            logger.warning("Redis is unreachable (%s): update %s is not marked finished", error, update_id)
            return
        if not finished:
            logger.info("Update %s was taken over by another replica while this one stalled", update_id)

    # --- heartbeat, and taking over a dead replica's updates ---------------------------------------------

    def watch(self, application: BotApp) -> None:
        """Start renewing this replica's heartbeat and looking for a dead one's updates (from post_init)."""
        self._stopping.clear()
        self._watch = asyncio.create_task(self._watch_loop(application), name="articlebot-replicas")

    async def _watch_loop(self, application: BotApp) -> None:
        while not self._stopping.is_set():
            try:
                await self.redis.set(f"{PREFIX}replica:{self.replica}", 1, px=int(self.lease * 1000))
                for update in await self.orphans(application):
                    if not application.running:  # stopping: PTB would never take it off the queue
                        break
                    logger.info(
                        "Answering update %s, left unfinished by a replica that died", update.update_id
                    )
                    application.update_queue.put_nowait(update)
            except redis.RedisError as error:
                logger.warning("Redis is unreachable (%s); retrying", error)
            with suppress(TimeoutError):  # the next round, or shutdown, whichever comes first
                await asyncio.wait_for(self._stopping.wait(), self.lease / 3)

    async def orphans(self, application: BotApp) -> list[Update]:
        """The journalled updates whose owner's heartbeat has lapsed, now claimed by this replica."""
        taken: list[Update] = []
        if not application.running:
            return taken
        for raw_id, raw_update in (await self.redis.hgetall(JOURNAL)).items():
            update_id = int(raw_id)
            key = f"{PREFIX}update:{update_id}"
            owner = await self.redis.get(key)
            if owner is None or owner.decode() == DONE:  # expired, or finished as it was being journalled
                await self.redis.hdel(JOURNAL, update_id)
                continue
            owner_id = owner.decode()
            if owner_id == self.replica or await self.redis.exists(f"{PREFIX}replica:{owner_id}"):
                continue
            if await self._take_over(keys=[key], args=[owner_id, self.replica]):
                taken.append(Update.de_json(json.loads(raw_update), application.bot))
        return taken

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        # Cancelling alone cannot stop the watch loop: on Python 3.11, asyncio.wait_for (which redis-py wraps
        # around each send) swallows a cancellation that lands as its inner call finishes (CPython issue
        # 86296, fixed in 3.12), and the loop then went on forever while this awaited it: a replica's stop
        # hung. The flag ends it at its next check, after at most the Redis call in flight (socket timeouts
        # bound it); the cancel only cuts a call or a wait short.
        self._stopping.set()
        if self._watch is not None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
        with suppress(redis.RedisError):
            await self.redis.delete(f"{PREFIX}replica:{self.replica}")
