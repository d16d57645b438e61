"""Stable package-minted ids: a short hash of what identifies a record in its source.

Ids depend only on source keys, never on row order, so reruns and reordered inputs give the
same ids (SPEC §2.3: "hash of source system + source key").

Example:
    >>> mint_id("inc", "cpd_trr", "55")
    'inc-f3caf029b32b1875'
    >>> mint_id("inc", "cpd_trr", "55") == mint_id("inc", "cpd_trr", "55")
    True
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

_UNIT_SEPARATOR = "\x1f"


def mint_id(prefix: str, *parts: object) -> str:
    """Return ``prefix-<16 hex>`` from the sha256 of ``parts`` (None and NA hash as empty)."""
    text = _UNIT_SEPARATOR.join("" if p is None or p is pd.NA else str(p) for p in parts)
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def mint_ids(prefix: str, *columns: pd.Series | str) -> pd.Series:
    """Vectorised :func:`mint_id` over aligned Series (a plain string is broadcast).

    Example:
        >>> mint_ids("inc", "cpd_trr", pd.Series(["55", "60", "55"])).tolist()
        ['inc-f3caf029b32b1875', 'inc-1e8115415e7b19e5', 'inc-f3caf029b32b1875']
    """
    series = [c for c in columns if isinstance(c, pd.Series)]
    if not series:
        raise ValueError("mint_ids needs at least one Series")
    index = series[0].index
    parts = [
        (c.astype("string").fillna("") if isinstance(c, pd.Series) else pd.Series(c, index=index, dtype="string"))
        for c in columns
    ]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + _UNIT_SEPARATOR + p
    # Each distinct key is hashed once (a whole city repeats the same keys across many rows).
    codes, keys = pd.factorize(joined)
    minted = np.array([f"{prefix}-{hashlib.sha256(t.encode('utf-8')).hexdigest()[:16]}" for t in keys], dtype=object)
    return pd.Series(minted[codes] if len(codes) else [], index=index, dtype="string")


def salted_hash(value: str, salt: str) -> str:
    """Salted sha256 for person keys; the salt never leaves the machine (SPEC §3.5)."""
    return hashlib.sha256(f"{salt}{_UNIT_SEPARATOR}{value}".encode("utf-8")).hexdigest()
