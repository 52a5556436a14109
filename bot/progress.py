"""Progress bars for the long steps of the command line (fetching, embedding, the model's first read): shown
on a terminal, silent otherwise, so scripts and logs get only the result."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

Report = Callable[[int, int | None], None]  # (done, total or None when unknown)


@contextmanager
def progress_bar(
    description: str, *, unit: str = "items", console: Console | None = None
) -> Iterator[Report]:
    """A report(done, total) callback drawing one transient bar on stderr when it is a terminal."""
    console = console or Console(stderr=True)
    amount = (
        DownloadColumn() if unit == "bytes" else TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + unit)
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        amount,
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None)

        def report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield report
