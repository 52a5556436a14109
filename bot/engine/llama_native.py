"""llama.cpp below llama-cpp-python's high-level API: the raw module, its token type, its log callback, and
the switch for its extra CPU buffer types, which crash decoding on AMX machines."""

from __future__ import annotations

import ctypes
import functools
import logging
from pathlib import Path
from typing import Any


def cpu_has_amx() -> bool:
    try:
        return "amx_tile" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def llama_cpp_lib() -> Any:
    import llama_cpp

    return llama_cpp


def llama_token_type() -> Any:
    return llama_cpp_lib().llama_token


class extra_buffer_types:
    """llama.cpp's extra CPU buffer types (AMX, weight repacking) crash decoding on AMX machines here (a
    segmentation fault on the first token, under this VM); elsewhere they speed prefill up, so they stay."""

    def __init__(self, *, enabled: bool, module: Any) -> None:
        self._enabled, self._module = enabled, module
        self._original = module.llama_model_default_params

    def _params(self) -> Any:
        params = self._original()
        params.use_extra_bufts = False
        return params

    def __enter__(self) -> None:
        if not self._enabled:
            self._module.llama_model_default_params = self._params

    def __exit__(self, *exc: object) -> None:
        self._module.llama_model_default_params = self._original


@functools.cache
def route_llama_cpp_logs() -> Any:
    """llama.cpp prints some notices to stderr even with verbose=False; send them to our log at DEBUG."""
    import llama_cpp

    llama_logger = logging.getLogger("llama_cpp")

    def log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        llama_logger.debug("%s", text.decode("utf-8", "replace").rstrip())

    callback = llama_cpp.llama_log_callback(log)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    return callback  # cached, so the C callback is never garbage-collected
