"""Running the per-partition staging tasks: in this process, or on a Dask cluster.

A partition is one sheet of one raw file (a NIBRS state-year is a folder of such files, a TRR
release a handful, an NYPD quarter one workbook). Its task, :func:`~sro_analysis.clean.stage.
stage_sheet`, is pure and writes its own Parquet parts, so the same function runs in a loop here
or as tasks on a Dask cluster (``client.map``); the DuckDB stage that follows reads the parts
either way, and the outputs are byte-identical.

On more than one machine the work folder must be on storage every worker can write and the
scheduler's machine can read (a shared or network file system); the raw folder likewise.

Example:
    >>> run_tasks([], scheduler=None)
    []
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sro_analysis.clean.stage import StagedPart, StageTask, stage_sheet


def run_tasks(tasks: Sequence[StageTask], *, scheduler: str | object | None = None,
              on_done: Callable[[StagedPart], None] | None = None) -> list[StagedPart]:
    """Stage every task, in order of the tasks; ``scheduler`` is a Dask scheduler address or Client."""
    if scheduler is None:
        parts = []
        for task in tasks:
            parts.append(stage_sheet(task))
            if on_done:
                on_done(parts[-1])
        return parts
    return _run_on_dask(list(tasks), scheduler, on_done)


def _run_on_dask(tasks: list[StageTask], scheduler, on_done) -> list[StagedPart]:
    from distributed import Client, as_completed

    own = not hasattr(scheduler, "map")
    client = Client(scheduler) if own else scheduler
    try:
        # pure=False: a task writes files; Dask must not skip it as a cached result.
        futures = client.map(stage_sheet, tasks, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        parts: list[StagedPart | None] = [None] * len(tasks)
        for future in as_completed(futures):
            part = future.result()
            parts[position[future.key]] = part
            if on_done:
                on_done(part)
        return [p for p in parts if p is not None]
    finally:
        if own:
            client.close()
