"""Source declarations, grouped by family (``chicago``, ``synthetic``, ``nibrs``, ``nyc``).

Each module declares one source (``SOURCE``: its file layouts, columns, label maps, keys and
derivation; see :mod:`sro_analysis.clean.declare`). Nothing here reads, checks or accounts for
rows: the engine in :mod:`sro_analysis.clean` does that, once, for every source.

Example:
    >>> [s.name for s in sources_for("chicago")][:2]
    ['cps_schools', 'cpd_roster']
"""

from __future__ import annotations

import importlib

#: Family -> source modules, in the order their derivations run (schools and officers before the
#: records that link to them).
FAMILIES: dict[str, tuple[str, ...]] = {
    "chicago": ("cps_schools", "cpd_roster", "chicago_trr", "chicago_crimes", "chicago_juvenile"),
    "synthetic": ("synthetic_release",),
    "nyc": ("nyc_schools_reading", "nyc_ssa"),
    # FBI NIBRS Crime Data Explorer downloads of any state and year (not one jurisdiction's family).
    "nibrs": ("nibrs",),
    "louisiana": ("nibrs",),  # the fetch catalogue's name for nibrs-louisiana/ (one state's CDE downloads)
}


def sources_for(family: str) -> list:
    """The :class:`~sro_analysis.clean.declare.Source` declarations of a family, in run order."""
    if family not in FAMILIES:
        raise KeyError(f"unknown source {family!r}; choose one of: {', '.join(sorted(FAMILIES))} "
                       f"(or --mapping FILE.yaml for another jurisdiction)")
    return [importlib.import_module(f"sro_analysis.sources.{module}").SOURCE for module in FAMILIES[family]]


def all_sources() -> list:
    """Every built-in source declaration (for tools that look across families)."""
    seen, out = set(), []
    for family in FAMILIES:
        for source in sources_for(family):
            if source.name not in seen:
                seen.add(source.name)
                out.append(source)
    return out


__all__ = ["FAMILIES", "sources_for", "all_sources"]
