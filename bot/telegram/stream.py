"""The model queue: one thread runs the model's work (an answer, an article's first read) one at a time,
bridged into asyncio. Every article's engine shares the one model, hence the one queue."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from redis import RedisError

from bot.engine.conversation import normalise
from bot.engine.records import Answer, Exchange
from bot.errors import ArticlebotError

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.telegram.state import ChatState

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
STARTED = object()  # the model thread took the job: the asker is no longer in line
SHUTTING_DOWN = object()  # the bot is stopping: this question was still in line, and will not be answered
_END = object()


class ShuttingDown(ArticlebotError):
    """Model work refused because the bot is stopping."""


class Lru(OrderedDict[K, V]):
    """A dict that forgets its oldest entries beyond `size`."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class ModelQueue:
    """The model thread, which must never run twice at once: a FIFO of questions, and the answer cache."""

    def __init__(self, state: ChatState) -> None:
        self.model_pool = ThreadPoolExecutor(1, thread_name_prefix="articlebot-model")
        self.in_line = 0  # questions given to the model thread and not finished
        self.closing = False  # set on SIGTERM: what is in line is released, what runs finishes
        self.state = state  # where answers are cached: article + normalised question -> answer

    async def cached(self, engine: Engine, question: str | None) -> Answer | None:
        """A cached answer to this question on this article (never for follow-ups, which depend on more)."""
        if question is None:
            return None
        return await self.state.answer(f"{engine.article_sha}\n{normalise(question)}")

    def _cached_in_thread(
        self, loop: asyncio.AbstractEventLoop, engine: Engine, question: str
    ) -> Answer | None:
        try:
            return asyncio.run_coroutine_threadsafe(self.cached(engine, question), loop).result(timeout=5)
        except (RedisError, TimeoutError) as error:  # an unreachable shared cache only costs the model's time
            logger.warning("The answer cache could not be read (%s); asking the model", error)
            return None

    async def run(self, function: Callable[..., V], *args: object) -> V:
        """Any other model work (an article's first read, a suggested question), in line with the answers."""
        self.in_line += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.model_pool, self._unless_closing(function), *args
            )
        finally:
            self.in_line -= 1

    def _unless_closing(self, function: Callable[..., V]) -> Callable[..., V]:
        def job(*args: object) -> V:
            if self.closing:
                raise ShuttingDown("the bot is restarting: please send it again in a minute")
            return function(*args)

        return job

    def submit(
        self, engine: Engine, question: str, follow_up: Exchange | None
    ) -> tuple[int, AsyncIterator[object]]:
        """Queue engine.stream() for the model thread: how many are ahead, and the stream bridged to asyncio.

        The stream gives STARTED when the model thread takes the question, the growing text, then the Answer.
        Only an answer made without a previous exchange is cached: one made with it depends on more.
        """
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[object] = asyncio.Queue()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(items.put_nowait, item)

        def work() -> None:
            try:
                if self.closing:
                    put(SHUTTING_DOWN)
                    return
                put(STARTED)
                # An identical question ahead in line may have been answered meanwhile.
                answer = None if follow_up else self._cached_in_thread(loop, engine, question)
                for item in [answer] if answer else engine.stream(question, follow_up):
                    put(item)
            except Exception as error:  # deliberately anything: stream() raises it again on the asking side
                put(error)
            finally:
                put(_END)

        async def stream() -> AsyncIterator[object]:
            while (item := await items.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                if isinstance(item, Answer) and follow_up is None:
                    await self._keep(engine, question, item)
                yield item

        ahead, self.in_line = self.in_line, self.in_line + 1
        loop.run_in_executor(self.model_pool, work).add_done_callback(self._left_line)
        return ahead, stream()

    async def _keep(self, engine: Engine, question: str, answer: Answer) -> None:
        try:
            await self.state.keep_answer(f"{engine.article_sha}\n{normalise(question)}", answer)
        except RedisError as error:  # the answer is given all the same
            logger.warning("The answer could not be cached (%s)", error)

    def _left_line(self, _: object) -> None:
        self.in_line -= 1

    def close(self) -> None:
        """Stop taking work: the question being answered finishes, those in line are released at once."""
        self.closing = True

    def shutdown(self) -> None:
        self.model_pool.shutdown(wait=False, cancel_futures=True)
