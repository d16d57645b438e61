"""Progress display for long work (rich), silent when asked or when not on a terminal.

Example:
    >>> with progress_bar(False, total=2, description="demo") as advance:
    ...     advance(step=1); advance(step=1)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(enabled: bool | Callable = True, *, total: int, description: str) -> Iterator[Callable]:
    """Yield ``advance(step=0, description=None)``; draws a rich bar on stderr when enabled."""
    if callable(enabled):
        yield enabled
        return
    if not enabled:
        yield lambda step=0, description=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(step: int = 0, description: str | None = None) -> None:
            bar.update(task, advance=step, **({"description": description} if description else {}))

        yield advance
