"""After the sources: link the canonical tables and validate them into a Dataset.

``finish_dataset`` is step 5 of :func:`sro_analysis.clean.clean`: linkage (incidents across
sources, officers, schools, the SRO roster; :mod:`sro_analysis.link`, tables in and tables out)
and validation against the registry and the cross-table rules.

Example:
    >>> from sro_analysis.schema.models import empty_frame
    >>> from sro_analysis.schema.registry import CANONICAL_TABLES
    >>> ds = finish_dataset({n: empty_frame(n) for n in CANONICAL_TABLES}, empty_frame("ledger"), {}, {})
    >>> len(ds.incidents)
    0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class LinkContext:
    """Parameters for linkage (the link stage reads tables only, never raw files)."""

    parameters: dict = field(default_factory=dict)

    def param(self, name: str, default=None):
        return self.parameters.get(name, default)


def finish_dataset(tables: dict[str, pd.DataFrame], ledger: pd.DataFrame | Path, provenance: dict,
                   audits: dict[str, pd.DataFrame], *, parameters: dict | None = None, roster=None,
                   timings: dict | None = None):
    """Link and validate: the :class:`~sro_analysis.dataset.Dataset` a clean returns.

    ``ledger`` is a frame or a Parquet file (what :func:`~sro_analysis.clean.clean` passes): a
    file is remapped by linkage and validated in DuckDB and stays the Dataset's ledger file.
    """
    import time

    from sro_analysis.clean.ledger_sql import LedgerFile
    from sro_analysis.dataset import Dataset
    from sro_analysis.ledger import Ledger
    from sro_analysis.link import link_dataset

    start = time.perf_counter()
    on_disk = isinstance(ledger, Path)
    book = LedgerFile(ledger) if on_disk else Ledger.from_frame(ledger)
    linked = link_dataset(tables, book, LinkContext(dict(parameters or {})), roster=Path(roster) if roster else None)
    all_audits = dict(audits)
    all_audits.update(linked.audits)
    ds = Dataset(linked.tables, ledger if on_disk else book.to_frame(), provenance, all_audits)
    linked_at = time.perf_counter()
    validate_in_duckdb(ds)
    if timings is not None:
        timings["link"] = linked_at - start
        timings["validate"] = time.perf_counter() - linked_at
    return ds


def validate_in_duckdb(ds) -> None:
    """:meth:`~sro_analysis.dataset.Dataset.validate` in DuckDB: a ledger file is never read into pandas.

    Raises :class:`~sro_analysis.schema.models.SchemaError` listing every problem.
    """
    import duckdb

    from sro_analysis.clean.sql import literal
    from sro_analysis.schema.models import SchemaError
    from sro_analysis.schema.registry import CANONICAL_TABLES
    from sro_analysis.schema.sql_checks import dataset_problems

    con = duckdb.connect()
    try:
        relations = {}
        for name in CANONICAL_TABLES:
            con.register(f"table__{name}", ds.tables[name])
            relations[name] = f"table__{name}"
        path = ds.ledger_path()
        if path is None:
            con.register("table__ledger", ds.ledger)
        relations["ledger"] = f"read_parquet({literal(str(path))})" if path is not None else "table__ledger"
        problems = dataset_problems(con, relations)
    finally:
        con.close()
    if problems:
        raise SchemaError("the cleaned Dataset does not validate:\n  - " + "\n  - ".join(problems))
