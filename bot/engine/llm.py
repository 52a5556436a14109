"""The model seam: stream a reply with each token's probability, score a next token, keep an evaluated
prompt prefix on disk.

LlamaModel runs any GGUF through llama-cpp-python's high-level `Llama`; the chat template comes from the
GGUF. It decodes greedily itself, from the logits of each step, because llama-cpp-python returns logprobs
only with logits_all (which costs memory and time on every prompt token): so one pass gives the reply, the
probability of each of its tokens and the first position's distribution. The saved prefix uses llama.cpp's
state-file API.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.engine.bundled import BUNDLED_MODELS, assemble
from bot.engine.llama_native import (
    cpu_has_amx,
    extra_buffer_types,
    llama_cpp_lib,
    llama_token_type,
    route_llama_cpp_logs,
)
from bot.errors import ModelLoadError
from bot.settings import Settings

logger = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}
Progress = Callable[[int, int], None]  # (tokens evaluated, tokens)
PREFILL_STEP = 256  # tokens evaluated between two progress reports
PREFIXES_KEPT = 16  # articles whose shared prompt prefix stays tokenized
# What a model call may raise that the asker should survive: llama.cpp's runtime errors, a model server
# gone (ModelLoadError, OSError), a reply it cannot decode.
MODEL_FAILURES = (RuntimeError, ValueError, OSError, ModelLoadError)


@dataclass(frozen=True)
class Token:
    """A piece of a reply, with how sure the model was of it."""

    text: str
    probability: float | None  # of this token where it was chosen; None when the model server gives none
    # The first token only: for each of the openings asked for, the probability that the reply would have
    # started with that opening's first token instead.
    openings: tuple[float, ...] = ()


class TextModel(Protocol):
    """What the engine needs of a model. Decoding is greedy unless a temperature is given, so the same prompt
    gives the same reply; with one, the seed decides the draw."""

    name: str

    @property
    def context_size(self) -> int:
        """Tokens."""
        ...

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        openings: Sequence[str] = (),
        temperature: float = 0.0,
        seed: int = 0,
    ) -> Iterator[Token]:
        """The reply to a conversation, token by token (greedy at temperature 0, else drawn), each with its
        probability; the first token also tells how likely each opening was in its place."""
        ...

    def next_token_probabilities(self, messages: list[Message], openings: Sequence[str]) -> list[float]:
        """For each opening, the probability that the reply starts with its first token."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def keep_prefix(
        self, messages: list[Message], state_file: Path | None, progress: Progress | None = None
    ) -> str:
        """Evaluate what every prompt starting with these messages shares, once (from state_file if saved):
        "kept" (already in the context), "loaded" (from state_file) or "evaluated"."""
        ...


class LlamaModel:
    """A GGUF loaded once, lazily, and kept; one caller at a time (llama.cpp keeps one context)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._llama: Any = None
        self._format: Any = None
        self._lock = threading.RLock()
        self._prefixes: dict[tuple[tuple[str, str], ...], list[int]] = {}
        self.name = "unloaded"

    @property
    def context_size(self) -> int:
        return self._settings.n_ctx

    def _setting_hint(self) -> str:
        s = self._settings
        if s.model_path:
            return f"MODEL_PATH={s.model_path}"
        if s.model_repo:
            return f"MODEL_REPO={s.model_repo} / MODEL_FILE={s.model_file}"
        return f"DEFAULT_MODEL={s.default_model} (or set MODEL_PATH)"

    def load(self) -> Any:
        with self._lock:
            if self._llama is None:
                self._llama = self._load()
        return self._llama

    def _load(self) -> Any:
        import httpx
        import llama_cpp
        import llama_cpp.llama_cpp as low_level
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        route_llama_cpp_logs()
        s = self._settings
        common = {"n_ctx": s.n_ctx, "n_threads": s.n_threads, "seed": s.seed, "verbose": False}
        try:
            with extra_buffer_types(enabled=not cpu_has_amx(), module=low_level):
                llama = self._open(Llama, common)
        except ModelLoadError:
            raise
        except (ValueError, RuntimeError, OSError, ImportError, httpx.HTTPError) as error:
            # llama.cpp raises ValueError (no such file, not a loadable GGUF, no context) or RuntimeError;
            # MODEL_REPO adds ImportError (no huggingface-hub), its errors (OSError, ValueError) and httpx's.
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            raise ModelLoadError(
                f"cannot load the model ({first_line}): check {self._setting_hint()}"
            ) from None
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelLoadError(
                f"the model has no chat template: use an instruct GGUF ({self._setting_hint()})"
            )
        vocab = llama._model.vocab
        self._format = Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(llama_cpp.llama_vocab_eos(vocab)),
            bos_token=llama._model.token_get_text(llama_cpp.llama_vocab_bos(vocab)),
        )
        self.name = Path(llama.model_path).name
        return llama

    def _open(self, llama_class: Any, common: dict[str, Any]) -> Any:
        s = self._settings
        if s.model_path:
            if not s.model_path.is_file():
                raise ModelLoadError(f"model file not found: fix MODEL_PATH={s.model_path}")
            return llama_class(model_path=str(s.model_path), **common)
        if s.model_repo:
            if not s.model_file:
                raise ModelLoadError(
                    "MODEL_REPO is set but MODEL_FILE is not: name the GGUF file in the repo"
                )
            s.model_cache_dir.mkdir(parents=True, exist_ok=True)
            return llama_class.from_pretrained(
                repo_id=s.model_repo, filename=s.model_file, cache_dir=str(s.model_cache_dir), **common
            )
        path = assemble(BUNDLED_MODELS[s.default_model], s.model_cache_dir)
        return llama_class(model_path=str(path), **common)

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The conversation laid out by the GGUF's chat template, as tokens."""
        llama = self.load()
        prompt = self._format(messages=messages)
        tokens: list[int] = llama.tokenize(
            prompt.prompt.encode("utf-8"), add_bos=not prompt.added_special, special=True
        )
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False))

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        openings: Sequence[str] = (),
        temperature: float = 0.0,
        seed: int = 0,
    ) -> Iterator[Token]:
        with self._lock:
            llama = self.load()
            logits = self._last_logits(llama, self.prompt_tokens(messages))
            first = self._probabilities(logits, self._first_tokens(llama, openings)) if openings else []
            vocab = llama._model.vocab
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            draw = np.random.default_rng(seed)
            chosen: list[int] = []
            for _ in range(max_tokens):
                token = int(np.argmax(logits)) if temperature <= 0 else self._drawn(logits, temperature, draw)
                if llama_cpp_lib().llama_vocab_is_eog(vocab, token):
                    return
                [probability] = self._probabilities(logits, [token])
                piece = decoder.decode(llama.detokenize([token], prev_tokens=chosen))
                chosen.append(token)
                yield Token(piece, probability, tuple(first) if len(chosen) == 1 else ())
                llama.eval([token])
                logits = self._logits(llama)

    def next_token_probabilities(self, messages: list[Message], openings: Sequence[str]) -> list[float]:
        with self._lock:
            llama = self.load()
            logits = self._last_logits(llama, self.prompt_tokens(messages))
            return self._probabilities(logits, self._first_tokens(llama, openings))

    @staticmethod
    def _first_tokens(llama: Any, openings: Sequence[str]) -> list[int]:
        return [llama.tokenize(o.encode("utf-8"), add_bos=False, special=False)[0] for o in openings]

    @staticmethod
    def _drawn(logits: np.ndarray, temperature: float, draw: np.random.Generator) -> int:
        """A token drawn from the distribution the logits give at this temperature."""
        scaled = np.exp((logits - logits.max()) / temperature)
        return int(draw.choice(len(scaled), p=scaled / scaled.sum()))

    @staticmethod
    def _probabilities(logits: np.ndarray, tokens: list[int]) -> list[float]:
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        return [float(probabilities[token]) for token in tokens]

    def _last_logits(self, llama: Any, tokens: list[int]) -> np.ndarray:
        """Evaluate the tokens, reusing the longest prefix already in the context, and return the logits
        of the last one."""
        reuse = min(llama.longest_token_prefix(llama._input_ids, tokens), len(tokens) - 1)
        llama.n_tokens = reuse
        llama.eval(tokens[reuse:])
        return self._logits(llama)

    @staticmethod
    def _logits(llama: Any) -> np.ndarray:
        """The logits of the last token evaluated."""
        return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()

    def keep_prefix(
        self, messages: list[Message], state_file: Path | None, progress: Progress | None = None
    ) -> str:
        """The tokens every question's prompt shares with these messages (the system turn: the article)
        are evaluated once; with a state file they are saved, so a restart loads them in a blink."""
        with self._lock:
            llama = self.load()
            prefix = self._shared_prefix(llama, messages)
            if llama.longest_token_prefix(llama._input_ids, prefix) == len(prefix):
                return "kept"
            if state_file and state_file.is_file() and self._load_state(llama, state_file, prefix):
                logger.debug("read the article from its saved state %s", state_file)
                return "loaded"
            llama.reset()
            for start in range(0, len(prefix), PREFILL_STEP):  # in steps, to report progress
                llama.eval(prefix[start : start + PREFILL_STEP])
                if progress:
                    progress(min(start + PREFILL_STEP, len(prefix)), len(prefix))
            if state_file:
                state_file.parent.mkdir(parents=True, exist_ok=True)
                partial = state_file.with_suffix(".partial")
                array = (llama_token_type() * len(prefix))(*prefix)
                # Written aside, then renamed: a full disk leaves no half state behind, only a slower start.
                saved = llama_cpp_lib().llama_state_save_file(
                    llama._ctx.ctx, str(partial).encode(), array, len(prefix)
                )
                if saved:
                    partial.replace(state_file)
                else:
                    partial.unlink(missing_ok=True)
                    logger.warning("could not save the article's model state to %s (disk full?)", state_file)
            return "evaluated"

    def _shared_prefix(self, llama: Any, messages: list[Message]) -> list[int]:
        """The tokens every prompt starting with these messages shares, found by laying out two probe
        questions. Remembered per conversation start: each answer asks again, and the article is long."""
        key = tuple((message["role"], message["content"]) for message in messages)
        if key not in self._prefixes:
            probe = [self.prompt_tokens([*messages, {"role": "user", "content": q}]) for q in ("a", "b")]
            if len(self._prefixes) >= PREFIXES_KEPT:
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[key] = probe[0][: llama.longest_token_prefix(probe[0], probe[1])]
        return self._prefixes[key]

    def _load_state(self, llama: Any, state_file: Path, prefix: list[int]) -> bool:
        capacity = llama.n_ctx()
        tokens = (llama_token_type() * capacity)()
        count = ctypes.c_size_t(0)
        loaded = llama_cpp_lib().llama_state_load_file(
            llama._ctx.ctx, str(state_file).encode(), tokens, capacity, ctypes.byref(count)
        )
        if not loaded or list(tokens[: count.value]) != prefix:
            logger.info("the saved model state %s does not fit this model or article; evaluating", state_file)
            llama.reset()
            return False
        llama.input_ids[: count.value] = prefix
        llama.n_tokens = count.value
        return True
