"""The model as `articlebot bench` sees it: the real LlamaModel behind a proxy that lets one caller in at a
time, in arrival order, and records each streamed call (the answer's prompt, its tokens and the time spent
inside the model), so that the bench can replay it through llama.cpp directly. The second look is not
recorded: its time counts as the pipeline's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.engine.llm import LlamaModel, Message, Progress, Token

clock = time.perf_counter  # every time the bench takes, here and in bench.py


@dataclass
class ModelCall:
    """One call of the engine on the model, as the recording proxy saw it."""

    messages: list[Message]
    max_tokens: int
    started: float
    chunks: int = 0
    ran_out: bool = False  # the model ended the stream (end of text or max_tokens), not the engine
    prefill_s: float = 0.0  # inside the model up to the first chunk: prompt prefill and the first token
    model_s: float = 0.0  # all time inside the model; the rest of the call is the engine's own checks
    ended: float = 0.0

    @property
    def generated(self) -> int:
        """Tokens decoded: one per chunk, plus the end-of-text token when the model stopped by itself."""
        return self.chunks + int(self.ran_out and self.chunks < self.max_tokens)


class FifoLock:
    """A lock granted in arrival order, like the Telegram front end's one model thread and its queue.

    threading.Lock is not fair: a releasing thread can take it straight back, and the p95 wait of the
    concurrent askers would then measure that unfairness rather than the engine.
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._issued = self._serving = 0

    def __enter__(self) -> None:
        with self._turn:
            ticket, self._issued = self._issued, self._issued + 1
            self._turn.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *_: object) -> None:
        with self._turn:
            self._serving += 1
            self._turn.notify_all()


class RecordingModel:
    """A TextModel in front of the real LlamaModel: one caller at a time, and a record of every call."""

    def __init__(self, model: LlamaModel) -> None:
        self.llama = model.load()
        self.name = model.name
        self.context_size = model.context_size
        self._model = model
        self._lock = FifoLock()
        self.calls: list[ModelCall] = []

    def count_tokens(self, text: str) -> int:
        return self._model.count_tokens(text)

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        return self._model.prompt_tokens(messages)

    def keep_prefix(
        self, messages: list[Message], state_file: Path | None, progress: Progress | None = None
    ) -> str:
        with self._lock:
            return self._model.keep_prefix(messages, state_file, progress)

    def next_token_probabilities(self, messages: list[Message], openings: Sequence[str]) -> list[float]:
        with self._lock:
            return self._model.next_token_probabilities(messages, openings)

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        openings: Sequence[str] = (),
        temperature: float = 0.0,
        seed: int = 0,
    ) -> Iterator[Token]:
        # Held until the engine closes the stream: llama.cpp never runs two calls at once.
        with self._lock:
            call = ModelCall(messages, max_tokens, clock())
            self.calls.append(call)
            chunks = self._model.stream(
                messages, max_tokens=max_tokens, openings=openings, temperature=temperature, seed=seed
            )
            try:
                while True:
                    entered = clock()
                    try:
                        piece = next(chunks)
                    except StopIteration:
                        call.ran_out = True
                        return
                    finally:
                        call.model_s += clock() - entered
                        if not call.chunks:
                            call.prefill_s = call.model_s
                    call.chunks += 1
                    yield piece
            finally:
                if isinstance(chunks, Generator):  # every model's stream is one: stop it where we stopped
                    chunks.close()
                call.ended = clock()
