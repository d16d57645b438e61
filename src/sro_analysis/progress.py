"""Progress display for long work (rich), silent when asked or when not on a terminal.

Two shapes, one home: :func:`progress_bar` counts steps of one job (files cleaned, reports
rendered); :func:`transfer_progress` shows one transient bar per file being copied or
downloaded, in bytes with rate and time left (``sro-analysis fetch``).  Both draw on stderr,
so stdout stays clean for the command's own output.

Example:
    >>> with progress_bar(False, total=2, description="demo") as advance:
    ...     advance(step=1); advance(step=1)
    >>> with transfer_progress(False) as transfers:
    ...     task = transfers.start("a.csv", total=3)
    ...     transfers.advance(task, 3); transfers.stop(task)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


@contextlib.contextmanager
def progress_bar(enabled: bool | Callable = True, *, total: int, description: str) -> Iterator[Callable]:
    """Yield ``advance(step=0, description=None)``; draws a rich bar on stderr when enabled."""
    if callable(enabled):
        yield enabled
        return
    if not enabled:
        yield lambda step=0, description=None: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=_stderr_console(), transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(step: int = 0, description: str | None = None) -> None:
            bar.update(task, advance=step, **({"description": description} if description else {}))

        yield advance


class Transfers:
    """Bars of files in transfer: ``start`` one per file, ``advance`` it by bytes, ``stop`` it.

    With no rich ``Progress`` behind it (display off) every call does nothing, so callers
    never test whether progress is on.
    """

    def __init__(self, progress: Any | None = None) -> None:
        self._progress = progress

    def start(self, label: str, total: int | None, completed: int = 0) -> Any | None:
        """Add a bar for ``label`` (``total`` bytes, or None when unknown); return its task."""
        if self._progress is None:
            return None
        return self._progress.add_task(label, total=total, completed=completed)

    def advance(self, task: Any | None, n: int) -> None:
        """Move the bar of ``task`` on by ``n`` bytes."""
        if self._progress is not None and task is not None:
            self._progress.advance(task, n)

    def stop(self, task: Any | None) -> None:
        """Remove the bar of ``task`` (the file is done, or failed)."""
        if self._progress is not None and task is not None:
            self._progress.remove_task(task)


@contextlib.contextmanager
def transfer_progress(enabled: bool = True) -> Iterator[Transfers]:
    """Yield :class:`Transfers`; when enabled, bars show bytes, rate and time left on stderr."""
    if not enabled:
        yield Transfers()
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=_stderr_console(), transient=True) as progress:
        yield Transfers(progress)
