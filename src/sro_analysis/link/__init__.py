"""Linkage: schools, officer identities and SRO roster attribution (SPEC §3.6).

Contract used by :func:`sro_analysis.clean.clean`::

    link_dataset(tables, ledger, ctx, roster=None) -> LinkOutput(tables, audits)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class LinkOutput:
    """Linked canonical tables and the audit tables that say how every link was made."""

    tables: dict[str, pd.DataFrame]
    audits: dict[str, pd.DataFrame] = field(default_factory=dict)


def link_dataset(tables, ledger, ctx, roster=None) -> LinkOutput:
    """Placeholder until link/ lands: no linking is done (the linkage helper replaces this)."""
    return LinkOutput(tables=tables, audits={})
