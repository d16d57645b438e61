"""The clean stage: one engine for every source (raw folder in, validated Dataset out).

What it holds: :mod:`.declare` (what adapters declare), :mod:`.read` (decode, CSV, Excel, title
rows), :mod:`.discover` (which layout reads which file; every file accounted for),
:mod:`.check` (types, dates, ranges, labels, bad-value policies, on DuckDB), :mod:`.labels` (the
one label mapper), :mod:`.stage` (the per-partition task), :mod:`.partitions` (in-process or
Dask), :mod:`.derive` (the derivation contract), :mod:`.ledger_sql` (assembling and checking the
ledger), and :func:`clean`, the one orchestrator. It may import ``schema``, ``ids``, ``ledger``,
``dataset``, ``link`` (after cleaning) and the ``sources`` declarations; nothing imports it but
the CLI, the benchmarks and the package's short API.

Steps of :func:`clean`:

1. **discover** every file under the raw folder (:func:`.discover.discover`); a data file no
   layout takes stops the run unless ``allow_unused``;
2. **stage** each sheet (read, set aside non-records, check; Parquet parts in a work folder),
   in this process or as Dask tasks (``scheduler=``);
3. **derive** each source's canonical tables from its staged rows on one DuckDB connection with
   a memory limit and a spill folder;
4. **account**: every raw row of every file kept, merged or rejected exactly once
   (:func:`.ledger_sql.assemble_ledger` raises naming the file otherwise);
5. **link** (schools, officers, SRO roster) and **validate** into a :class:`~sro_analysis.
   dataset.Dataset`.

Example:
    >>> import sro_analysis as sro, tempfile, pathlib
    >>> raw = pathlib.Path(tempfile.mkdtemp())
    >>> _ = sro.synthetic.write_release(raw, n_incidents=200, seed=1)
    >>> ds = clean("synthetic", raw, progress=False)
    >>> int(ds.ledger_summary()["rows"].sum()) == len(ds.ledger)
    True
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import types
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sro_analysis import __version__
from sro_analysis.clean.declare import Col, Fact, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived
from sro_analysis.clean.discover import CleanError, Inventory, UnusedFilesError, discover, unused_error
from sro_analysis.clean.ledger_sql import assemble_ledger, layout_views, unused_file_rows
from sro_analysis.clean.partitions import run_tasks
from sro_analysis.clean.read import RawFileError
from sro_analysis.clean.stage import StagedPart, StageTask

#: Memory the run's DuckDB may use before it spills to the work folder.
DEFAULT_MEMORY_LIMIT = "2GB"

__all__ = ["clean", "Col", "Fact", "Layout", "Source", "Derived", "DeriveContext", "CleanError",
           "UnusedFilesError", "RawFileError", "CleanRun"]


@dataclass
class CleanRun:
    """What a run found and did, before linkage: for the CLI summary and the provenance."""

    inventory: Inventory
    parts: list[StagedPart]
    derived: dict[str, Derived]
    ledger: pd.DataFrame | Path
    tables: dict[str, pd.DataFrame]


def _connect(work: Path, memory_limit: str):
    import duckdb

    spill = work / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(spill),
                                  "preserve_insertion_order": True})


class _Clock:
    """Wall-clock seconds per step, into the caller's dict (the benchmark's view of a run)."""

    def __init__(self, into: dict | None) -> None:
        import time

        self._now, self.into, self._last = time.perf_counter, into, time.perf_counter()

    def lap(self, step: str) -> None:
        now = self._now()
        if self.into is not None:
            self.into[step] = self.into.get(step, 0.0) + now - self._last
        self._last = now


def run_sources(raw_dir: Path, sources: list[Source], *, work: Path, parameters: dict, salt: str | None,
                allow_unused: bool, scheduler, memory_limit: str, progress, timings: dict | None = None,
                ledger_to: Path | None = None, parquet_dir: Path | None = None) -> CleanRun:
    """Steps 1-4 of :func:`clean`: discover, stage, derive, account.

    With ``ledger_to`` the ledger is written to that Parquet file (never whole in memory) and
    ``CleanRun.ledger`` is the path; otherwise it is a frame. With ``parquet_dir``, the derived
    tables are also copied there by DuckDB (``<table>.parquet``; unconformed, in derivation order)
    instead of being returned as frames (``tables`` is then empty), and the ledger goes to
    ``parquet_dir/ledger.parquet`` unless ``ledger_to`` says otherwise: a run too large for memory
    (a national NIBRS year) stays within the DuckDB memory limit, spilling to ``work``.
    """
    from sro_analysis.progress import progress_bar

    clock = _Clock(timings)
    inventory = discover(raw_dir, sources)
    clock.lap("discover")
    if inventory.unused and not allow_unused:
        raise unused_error(inventory, raw_dir)
    if not inventory.plans:
        why = "; ".join(f"{u.label}: {u.reason}" for u in inventory.unused) or "the folder has no data file"
        raise CleanError(f"no file under {raw_dir} is read by the chosen source(s) ({why})")
    tasks = [StageTask(plan, str(work), memory_limit="1GB") for plan in inventory.plans]
    with progress_bar(progress, total=len(tasks), description="reading files") as advance:
        parts = run_tasks(tasks, scheduler=scheduler, on_done=lambda p: advance(step=1, description=p.label[-50:]))
    clock.lap("stage")
    con = _connect(work, memory_limit)
    try:
        derived: dict[str, Derived] = {}
        for source in sources:
            mine = [p for p in parts if p.source == source.name]
            if not mine:
                continue
            views = layout_views(con, source, mine)
            ctx = DeriveContext(con, source, views, {lay.name: [p for p in mine if p.layout == lay.name]
                                                     for lay in source.layouts}, parameters, salt)
            derived[source.name] = source.derive(ctx)
        clock.lap("derive")
        extra = unused_file_rows(inventory) if allow_unused else None
        if parquet_dir is not None:
            Path(parquet_dir).mkdir(parents=True, exist_ok=True)
            ledger_to = ledger_to if ledger_to is not None else Path(parquet_dir) / "ledger.parquet"
        ledger = assemble_ledger(con, parts, derived, extra, out=ledger_to)
        if parquet_dir is None:
            tables = _canonical_tables(con, derived)
        else:
            tables = {}
            _copy_tables(con, derived, Path(parquet_dir))
        clock.lap("account")
    finally:
        con.close()
    return CleanRun(inventory, parts, derived, ledger, tables)


def _copy_tables(con, derived: dict[str, Derived], out: Path) -> None:
    """DuckDB ``COPY`` of every derived table (relations only) to ``out/<table>.parquet``."""
    from sro_analysis.clean.sql import literal

    relations: dict[str, str] = {}
    for result in derived.values():
        for name, value in result.tables.items():
            if not isinstance(value, str) or name in relations or name == "ledger":
                raise CleanError(f"parquet_dir: table {name!r} is a frame, comes from two sources or is "
                                 "named ledger; only one DuckDB relation per table can be copied out")
            relations[name] = value
    for name, relation in relations.items():
        con.execute(f"COPY (SELECT * FROM {relation}) TO {literal(str(out / f'{name}.parquet'))} (FORMAT parquet)")


def _canonical_tables(con, derived: dict[str, Derived]) -> dict[str, pd.DataFrame]:
    from sro_analysis.schema.models import conform, empty_frame
    from sro_analysis.schema.registry import CANONICAL_TABLES, table

    fragments: dict[str, list[pd.DataFrame]] = {}
    for out in derived.values():
        for name, value in out.tables.items():
            if name not in CANONICAL_TABLES:
                raise CleanError(f"a derivation returned {name!r}, which is not a canonical table")
            frame = con.execute(f"SELECT * FROM {value}").df() if isinstance(value, str) else value
            if len(frame):
                fragments.setdefault(name, []).append(conform(frame, name))
    tables = {}
    for name in CANONICAL_TABLES:
        parts = fragments.get(name, [])
        merged = pd.concat(parts, ignore_index=True) if parts else empty_frame(name)
        key = list(table(name).primary_key)
        tables[name] = merged.sort_values(key, kind="stable").reset_index(drop=True)
    return tables


def _provenance(source: str, raw_dir: Path, run: CleanRun, parameters: dict, roster) -> dict:
    from sro_analysis.dataset import file_fingerprint

    used = sorted({p.relpath for p in run.parts})
    per_file = [{"file": p.label, "source": p.source, "layout": p.layout, "rows": p.n_rows, "encoding": p.encoding,
                 "header_line": p.header_line, "facts": p.facts} for p in sorted(run.parts, key=lambda p: p.label)]
    notes = [n for p in run.parts for n in p.notes] + [n for d in run.derived.values() for n in d.notes]
    return {
        "source": source,
        "package_version": __version__,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "parameters": parameters,
        "raw_dir": raw_dir.name,
        "inputs": [file_fingerprint(raw_dir / rel, raw_dir) for rel in used],
        "files": per_file,
        "not_data_files": [{"path": p, "reason": r} for p, r in run.inventory.not_data],
        "unused_files": [{"path": u.label, "reason": u.reason} for u in run.inventory.unused],
        "sources": {name: sorted({p.label for p in run.parts if p.source == name}) for name in run.derived},
        "roster": file_fingerprint(Path(roster)) if roster else None,
        "notes": notes,
    }


def clean(
    source: str,
    raw_dir: str | os.PathLike,
    *,
    sources: list[Source] | None = None,
    roster: str | os.PathLike | None = None,
    parameters: dict | None = None,
    progress: bool | Callable = True,
    allow_unused: bool = False,
    scheduler: str | object | None = None,
    work_dir: str | os.PathLike | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    timings: dict | None = None,
):
    """Clean every file under ``raw_dir`` into a validated :class:`~sro_analysis.dataset.Dataset`.

    Args:
        source: the source family (``chicago``, ``synthetic``, ``nyc``, ``louisiana``...), or with
            ``sources`` given (e.g. from a YAML mapping), a label for the provenance.
        raw_dir: folder searched recursively; files are recognised by their header, not their name.
        sources: the :class:`Source` declarations to use instead of the family's.
        roster: an SRO roster CSV (``docs/roster-format.md``).
        parameters: linkage and source parameters (see :mod:`sro_analysis.link`).
        allow_unused: go on when a data file is read by no layout (its rows are rejected
            ``file_not_used``) instead of stopping.
        scheduler: a Dask scheduler address (``tcp://host:8786``) or Client: stage files as tasks.
        work_dir: folder for the Parquet parts and DuckDB spill (default: a temporary folder, removed
            after the run); with it given, the Dataset's ledger file is `work_dir/dataset/ledger.parquet`.
        memory_limit: DuckDB memory limit of the derivation step.
        timings: a dict to receive wall-clock seconds per step (discover, stage, derive, account,
            link, validate): what ``sro-analysis bench`` reports.
    """
    from sro_analysis.clean.finish import finish_dataset
    from sro_analysis.sources import sources_for

    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist")
    parameters = dict(parameters or {})
    sources = sources if sources is not None else sources_for(source)
    own_work = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="sro-clean-")) if own_work else Path(work_dir)
    # The Dataset's own files (its ledger): kept after the work folder goes, removed with the Dataset.
    store = Path(tempfile.mkdtemp(prefix="sro-dataset-")) if own_work else work / "dataset"
    store.mkdir(parents=True, exist_ok=True)
    try:
        try:
            run = run_sources(raw_dir, sources, work=work, parameters=parameters,
                              salt=os.environ.get("SRO_ANALYSIS_SALT"), allow_unused=allow_unused,
                              scheduler=scheduler, memory_limit=memory_limit, progress=progress, timings=timings,
                              ledger_to=store / "ledger.parquet")
        finally:
            if own_work:
                shutil.rmtree(work, ignore_errors=True)
        provenance = _provenance(source, raw_dir, run, parameters, roster)
        audits = {name: frame for d in run.derived.values() for name, frame in d.audits.items()}
        ds = finish_dataset(run.tables, run.ledger, provenance, audits, parameters=parameters, roster=roster,
                            timings=timings)
    except BaseException:
        if own_work:
            shutil.rmtree(store, ignore_errors=True)
        raise
    if own_work:
        weakref.finalize(ds, shutil.rmtree, store, True)
    return ds


class _CallableModule(types.ModuleType):
    """``sro_analysis.clean`` is this package and, called, the :func:`clean` function.

    Importing the package sets ``sro_analysis.clean`` to the module, which would shadow the short
    API's ``sro.clean(...)``; calling the module runs :func:`clean`, so both spellings work.
    """

    def __call__(self, *args, **kwargs):
        return clean(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
