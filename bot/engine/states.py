"""The saved model states (each article's evaluated prompt prefix), kept under a size budget."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


class StateFiles:
    """One file per model and article prompt; the least recently used go first when over budget."""

    def __init__(self, directory: Path, budget_bytes: int) -> None:
        self.directory = directory
        self.budget_bytes = budget_bytes

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.state"

    def used(self, path: Path) -> None:
        """Mark path as just used, then evict the least recently used others until within budget."""
        if path.is_file():
            os.utime(path)
        self.evict(keep=path)

    def evict(self, keep: Path | None = None) -> list[Path]:
        files = sorted(self.directory.glob("*.state"), key=_mtime) if self.directory.is_dir() else []
        total = sum(_size(file) for file in files)
        evicted = []
        for file in files:
            if total <= self.budget_bytes:
                break
            if file == keep:
                continue
            total -= _size(file)
            file.unlink(missing_ok=True)
            evicted.append(file)
        if evicted:
            logger.info("evicted %d saved article states to stay within the budget", len(evicted))
        return evicted

    def total_bytes(self) -> int:
        return sum(_size(file) for file in self.directory.glob("*.state")) if self.directory.is_dir() else 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
