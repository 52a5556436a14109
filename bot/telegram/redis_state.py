"""The bot's memory in Redis (REDIS_URL), shared by replicas: any replica can take any update of a chat
and see its article, its follow-ups, its cached answers and its users' limits.

Keys live under `articlebot:`; all but a chat's articles expire, so the store needs no cleaning.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, cast

import redis
import redis.asyncio as aioredis

from bot.engine.records import Answer, Exchange
from bot.errors import ConfigError, StateError
from bot.telegram.chats import RECENT

PREFIX = "articlebot:"
DAY = 86_400
KEEP = 7 * DAY  # follow-ups and the last answer of a chat

# A sliding window in one atomic step, so two replicas cannot both let the 11th question through.
TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then return tostring(oldest[2] + ARGV[2] - ARGV[1]) end
  return ARGV[2]
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[2]))
return '0'
"""


def connect(url: str) -> aioredis.Redis:
    """An asyncio client; a bad URL is a one-line ConfigError naming REDIS_URL."""
    try:
        return aioredis.Redis.from_url(
            url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30
        )
    except ValueError as error:
        raise ConfigError(f"REDIS_URL is not a Redis URL ({error})") from None


def check_reachable(url: str) -> None:
    """Fail at start, in one line, rather than on the first update."""
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5) as client:
            client.ping()
    except (redis.RedisError, ValueError) as error:
        raise ConfigError(f"cannot reach Redis: fix REDIS_URL ({error})") from None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class RedisState:
    """ChatState in Redis: the same calls as LocalState, shared by every replica."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self.redis = connect(url)
        self._clock = clock  # wall time: the replicas' clocks must agree, not their uptimes
        self._take = self.redis.register_script(TAKE)

    # --- each chat's articles: a sorted set of names by last use, and who uses each name -------------

    async def current(self, chat_id: int) -> str | None:
        recent = await self.recent(chat_id, 1)
        return recent[0] if recent else None

    async def recent(self, chat_id: int, limit: int = RECENT) -> list[str]:
        # The client is made without decode_responses, so members come back as bytes.
        key = f"{PREFIX}chat:{chat_id}:articles"
        names = cast("list[bytes]", await self.redis.zrevrange(key, 0, limit - 1))
        return [name.decode() for name in names]

    async def use(self, chat_id: int, name: str) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(f"{PREFIX}chat:{chat_id}:articles", {name: self._clock()})
                pipe.sadd(f"{PREFIX}article:{name}:chats", chat_id)
                await pipe.execute()
        except redis.RedisError as error:
            raise StateError(
                f"could not save this chat's article ({error}); the previous one stays"
            ) from None

    async def forget(self, name: str) -> None:
        chats = cast("set[bytes]", await self.redis.smembers(f"{PREFIX}article:{name}:chats"))
        async with self.redis.pipeline(transaction=True) as pipe:
            for chat_id in chats:
                pipe.zrem(f"{PREFIX}chat:{chat_id.decode()}:articles", name)
            pipe.delete(f"{PREFIX}article:{name}:chats")
            await pipe.execute()

    # --- limits -----------------------------------------------------------------------------------------

    async def take(self, kind: str, user_id: int, per_window: int, window: float) -> int:
        key = f"{PREFIX}limit:{kind}:{user_id}"
        wait = float(await self._take(keys=[key], args=[self._clock(), window, per_window, uuid.uuid4().hex]))
        return 0 if wait == 0 else max(1, round(wait))

    # --- caches and memories: JSON with an expiry -------------------------------------------------------

    async def _get(self, key: str) -> Any:
        raw = await self.redis.get(PREFIX + key)
        return None if raw is None else json.loads(raw)

    async def _set(self, key: str, value: Any, ttl: int) -> None:
        await self.redis.set(PREFIX + key, json.dumps(value, ensure_ascii=False), ex=ttl)

    async def answer(self, key: str) -> Answer | None:
        data = await self._get(f"answer:{_digest(key)}")
        return None if data is None else Answer.from_record(data)

    async def keep_answer(self, key: str, answer: Answer) -> None:
        await self._set(f"answer:{_digest(key)}", answer.to_record(), DAY)

    async def exchange(self, chat_id: int, message_id: int) -> Exchange | None:
        data = await self._get(f"exchange:{chat_id}:{message_id}")
        return None if data is None else Exchange(**data)

    async def keep_exchange(self, chat_id: int, message_id: int, exchange: Exchange) -> None:
        await self._set(f"exchange:{chat_id}:{message_id}", asdict(exchange), KEEP)

    async def last_answer(self, chat_id: int) -> Answer | None:
        data = await self._get(f"last:{chat_id}")
        return None if data is None else Answer.from_record(data)

    async def keep_last_answer(self, chat_id: int, answer: Answer) -> None:
        await self._set(f"last:{chat_id}", answer.to_record(), KEEP)

    async def recent_exchange(self, chat_id: int, article: str) -> Exchange | None:
        data = await self._get(f"recent:{chat_id}")
        if data is None or data["article"] != article:
            return None
        return Exchange(data["question"], data["answer"])

    async def keep_recent_exchange(
        self, chat_id: int, article: str, exchange: Exchange, seconds: float
    ) -> None:
        # Redis forgets it when the window closes; whole seconds, at least one.
        await self._set(
            f"recent:{chat_id}", {"article": article, **asdict(exchange)}, max(1, math.ceil(seconds))
        )

    async def forget_recent_exchange(self, chat_id: int) -> None:
        await self.redis.delete(f"{PREFIX}recent:{chat_id}")

    async def inline_question(self, key: str) -> tuple[str, str] | None:
        data = await self._get(f"inline:{key}")
        return None if data is None else (data[0], data[1])

    async def keep_inline_question(self, key: str, article: str, question: str) -> None:
        await self._set(f"inline:{key}", [article, question], DAY)

    async def first(self, kind: str, key: str) -> bool:
        return bool(await self.redis.set(f"{PREFIX}first:{kind}:{key}", 1, nx=True, ex=DAY))

    async def close(self) -> None:
        await self.redis.aclose()
