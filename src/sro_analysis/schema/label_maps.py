"""Read the versioned label-map CSVs under ``schema/maps/``: one loader for every adapter.

Vocabulary knowledge (CPD disposition labels, TRR action names, location descriptions) lives in
these CSV files, not in code. Cells are read as text; a blank cell is ``''``.

Example:
    >>> read_map("cps_school_type.csv").columns[:2].tolist()
    ['raw_label', 'school_type']
    >>> label_dict("cpd_roster_gender.csv", "gender")["MALE"]
    'male'
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources

import pandas as pd


@lru_cache(maxsize=None)
def read_map(name: str) -> pd.DataFrame:
    """The map file ``schema/maps/<name>`` as an all-text frame (cached; do not mutate it)."""
    try:
        text = resources.files("sro_analysis.schema").joinpath("maps", name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"no label map schema/maps/{name}") from None
    return pd.read_csv(io.StringIO(text), dtype="string", keep_default_na=False)


@lru_cache(maxsize=None)
def label_dict(name: str, value_column: str, key_column: str = "raw_label") -> dict[str, str]:
    """``{upper-case raw label: value}`` from one map file."""
    frame = read_map(name)
    return dict(zip(frame[key_column].str.upper(), frame[value_column]))
