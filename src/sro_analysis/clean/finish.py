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


def finish_dataset(tables: dict[str, pd.DataFrame], ledger: pd.DataFrame, provenance: dict,
                   audits: dict[str, pd.DataFrame], *, parameters: dict | None = None, roster=None,
                   timings: dict | None = None):
    """Link and validate: the :class:`~sro_analysis.dataset.Dataset` a clean returns."""
    import time

    from sro_analysis.dataset import Dataset
    from sro_analysis.ledger import Ledger
    from sro_analysis.link import link_dataset

    start = time.perf_counter()
    book = Ledger.from_frame(ledger)
    linked = link_dataset(tables, book, LinkContext(dict(parameters or {})), roster=Path(roster) if roster else None)
    all_audits = dict(audits)
    all_audits.update(linked.audits)
    ds = Dataset(linked.tables, book.to_frame(), provenance, all_audits)
    linked_at = time.perf_counter()
    ds.validate()
    if timings is not None:
        timings["link"] = linked_at - start
        timings["validate"] = time.perf_counter() - linked_at
    return ds
