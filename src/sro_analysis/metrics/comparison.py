"""Which units a funnel plot or an empirical-Bayes fit may compare (one home for the unit checks).

A comparison puts schools (or officers) side by side. Two kinds of rows of a ``rates`` table are
not units that can be compared, and both are left out here with a :class:`UnitExcludedWarning`
that names them (the excluded rows travel with the result, so a caption can say so):

* the bucket ``unit_id == "unknown"``: contacts matched to no school, or decided by no recorded
  officer. It is a residual of the linkage, not a school; fed in as a school it moves the pooled
  target and the overdispersion test (on the demo district it holds 11.6% of the contacts);
* rows flagged ``withheld_unknown`` (U > 0.25): SPEC §3.2 says such a unit is not ranked;
* rows with denominator 0 (every contact of the unit has an unknown outcome): nothing to compare.

Any other frame is checked the same way for the label ``"unknown"``; the columns are named by
the caller (``x``, ``n``, ``unit``).

Example:
    >>> import warnings
    >>> table = pd.DataFrame({"unit_id": ["609966", "unknown"], "numerator": [5, 9], "denominator": [20, 30]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     units, excluded = comparison_units(table, "numerator", "denominator", "unit_id")
    >>> units["unit"].tolist(), excluded["reason"].tolist()
    (['609966'], ['unknown_unit'])
"""

from __future__ import annotations

import warnings

import pandas as pd

__all__ = ["UNKNOWN_UNIT", "UnitExcludedWarning", "comparison_units"]

#: The label rates use for contacts with no school matched / no deciding officer recorded.
UNKNOWN_UNIT = "unknown"

_REASONS = {
    "unknown_unit": "the 'unknown' bucket (no school matched / no officer recorded) is not a unit",
    "withheld_unknown": "more than 25% of its outcomes are unknown (SPEC §3.2: not ranked)",
    "no_known_outcome": "denominator 0: no contact with a known outcome",
}


class UnitExcludedWarning(UserWarning):
    """Rows were left out of a comparison because they are not comparable units."""


def _exclusion_reasons(data: pd.DataFrame, n: str, unit: str) -> pd.Series:
    reason = pd.Series(pd.NA, index=data.index, dtype="string")
    if "withheld_unknown" in data.columns:
        reason[data["withheld_unknown"].astype("boolean").fillna(False).astype(bool)] = "withheld_unknown"
    if "withheld_unknown" in data.columns or "unknown_share" in data.columns:
        # A rates table: a unit with only unknown outcomes has n = 0 and nothing to compare.
        zero = pd.to_numeric(data[n], errors="coerce").eq(0).fillna(False).astype(bool)
        reason[zero & reason.isna()] = "no_known_outcome"
    reason[data[unit].astype("string").eq(UNKNOWN_UNIT).fillna(False).astype(bool)] = "unknown_unit"
    return reason


def comparison_units(
    data: pd.DataFrame, x: str, n: str, unit: str, *, caller: str = "funnel", allow_zero_n: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparable units of ``data`` as columns ``unit, x, n`` sorted by unit, and the rows left out.

    Args:
        data: one row per unit (a ``rates`` table or any frame with the three columns).
        x, n, unit: column names of event counts, denominators and unit ids.
        caller: name used in error messages.
        allow_zero_n: accept n = 0 (empirical Bayes gives such a unit the prior) instead of failing.

    Returns:
        ``(units, excluded)``: ``excluded`` has columns ``unit, x, n, reason`` (see module doc).

    Raises:
        ValueError: missing columns, missing unit ids, duplicate units (e.g. a rates table holding
            several measures or years: filter it to one first), or counts outside 0 <= x <= n.
    """
    missing = [c for c in (unit, x, n) if c not in data.columns]
    if missing:
        raise ValueError(f"{caller}: missing column(s) {missing}; have {list(data.columns)}")
    if data[unit].isna().any():
        raise ValueError(f"{caller}: unit ids must not be missing")
    reason = _exclusion_reasons(data, n, unit)
    left_out = reason.notna().to_numpy()
    excluded = pd.DataFrame({"unit": data[unit].to_numpy()[left_out], "x": data[x].to_numpy()[left_out],
                             "n": data[n].to_numpy()[left_out], "reason": reason.to_numpy()[left_out]})
    if len(excluded):
        what = "; ".join(f"{r}: {', '.join(map(str, g['unit'].head(5)))} ({_REASONS[r]})"
                         for r, g in excluded.groupby("reason", sort=True))
        warnings.warn(f"{caller}: {len(excluded)} row(s) left out of the comparison: {what}",
                      UnitExcludedWarning, stacklevel=3)
    kept = data.loc[~left_out]
    # Counts keep their input dtype (integers stay integers); arithmetic uses floats.
    frame = pd.DataFrame({
        "unit": kept[unit].to_numpy(),
        "x": pd.to_numeric(kept[x], errors="raise").to_numpy(),
        "n": pd.to_numeric(kept[n], errors="raise").to_numpy(),
    })
    n_bad = (frame["n"] < 0) if allow_zero_n else (frame["n"] <= 0)
    bad = frame["x"].isna() | frame["n"].isna() | n_bad | (frame["x"] < 0) | (frame["x"] > frame["n"])
    if bad.any():
        rule = "n >= 0" if allow_zero_n else "n > 0"
        rows = frame.loc[bad, ["unit", "x", "n"]].head(5).to_dict("records")
        raise ValueError(f"{caller}: need 0 <= x <= n and {rule} for every unit; offending rows: {rows}")
    dupes = frame["unit"].duplicated(keep=False)
    if dupes.any():
        hint = (" (a rates table with several measures, years or groups: keep one before comparing units)"
                if {"measure", "school_year", "group"} & set(data.columns) else "")
        raise ValueError(f"{caller}: duplicate unit(s) {sorted(frame.loc[dupes, 'unit'].unique().tolist())}{hint}")
    return frame.sort_values("unit", kind="stable").reset_index(drop=True), excluded
