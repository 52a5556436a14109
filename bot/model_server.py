"""Serve the reader over HTTP for LLM_BASE_URL: llama-cpp-python's own server, with this machine's fix.

    python -m bot.model_server [--model PATH] [--host 127.0.0.1] [--port 8080] [llama_cpp.server options]

The bots then set LLM_BASE_URL=http://HOST:PORT/v1. Without --model it serves MODEL_PATH, else the bundled
DEFAULT_MODEL; the context, threads and seed default to N_CTX, N_THREADS and SEED.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.engine.bundled import BUNDLED_MODELS, assemble
from bot.engine.llama_native import cpu_has_amx, extra_buffer_types
from bot.errors import ArticlebotError
from bot.settings import Settings


def server_args(argv: Sequence[str], settings: Settings) -> list[str]:
    """llama_cpp.server's arguments: those given, and the bot's settings where they are not."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model")
    parser.add_argument("--model_alias")
    known, rest = parser.parse_known_args(argv)
    model = known.model or str(
        settings.model_path or assemble(BUNDLED_MODELS[settings.default_model], settings.model_cache_dir)
    )
    given = {arg.split("=", 1)[0] for arg in rest if arg.startswith("--")}
    defaults = {
        "--n_ctx": str(settings.n_ctx),
        "--n_threads": str(settings.n_threads),
        "--seed": str(settings.seed),
        # Logits of every token: what its logprobs need (the refusal lean). Measured here: reading the
        # article takes 10% longer, and a question 0.5 s more with its logprobs request.
        "--logits_all": "true",
        # Several bots share one server: a new request must wait its turn, not cut another's answer short.
        "--interrupt_requests": "false",
    }
    # The id GET /v1/models reports, which is also the bots' model name: the file's, not its whole path.
    args = ["--model", model, "--model_alias", known.model_alias or Path(model).name]
    for flag, value in defaults.items():
        if flag not in given:
            args += [flag, value]
    return [*args, *rest]


def main(argv: Sequence[str] | None = None) -> None:
    """Run llama_cpp.server's own main, with llama.cpp's extra CPU buffer types off on AMX machines (they
    crash the first decode there: see bot/engine/llama_native.py)."""
    import llama_cpp.llama_cpp as low_level
    from llama_cpp.server.__main__ import main as serve

    try:
        args = server_args(sys.argv[1:] if argv is None else argv, Settings())
    except ArticlebotError as error:
        print(f"model_server: error: {error}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [f"{sys.executable} -m bot.model_server", *args]
    with extra_buffer_types(enabled=not cpu_has_amx(), module=low_level):
        serve()


if __name__ == "__main__":
    main()
