"""Source adapters, grouped by family (``chicago``, ``synthetic``, ``mapped``).

Each adapter module exposes ``ADAPTERS``: a list of :class:`SourceAdapter` instances.

Example:
    >>> [a.name for a in adapters_for("synthetic")][:1]
    ['synthetic_release']
"""

from __future__ import annotations

import importlib

from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawFileError, RawHead, RawTable, SourceAdapter, SourceFile,
    read_head, read_raw_csv,
)

#: Family -> adapter modules, in the order they run (schools and officers before the records
#: that link to them).
FAMILIES: dict[str, tuple[str, ...]] = {
    "chicago": ("cps_schools", "cpd_roster", "chicago_trr", "chicago_crimes", "chicago_juvenile"),
    "synthetic": ("synthetic_release",),
}


def adapters_for(family: str) -> list[SourceAdapter]:
    """The adapters of a family, in run order; a clear error names the known families."""
    if family not in FAMILIES:
        raise KeyError(f"unknown source {family!r}; choose one of: {', '.join(sorted(FAMILIES))} "
                       f"(or --mapping FILE.yaml for another jurisdiction)")
    out: list[SourceAdapter] = []
    for module in FAMILIES[family]:
        out.extend(importlib.import_module(f"sro_analysis.sources.{module}").ADAPTERS)
    return out


__all__ = [
    "AdapterOutput", "CleanContext", "FAMILIES", "RawFileError", "RawHead", "RawTable", "SourceAdapter",
    "SourceFile", "adapters_for", "read_head", "read_raw_csv",
]
