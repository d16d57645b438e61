"""Relative Rate Index at school-policing decision points (SPEC §3.4).

The RRI compares a group's rate at one decision point with a reference group's rate at the same
point, where each stage's denominator is the preceding stage (OJJDP DMC method):

====================  ====================================  ==============================
stage                 events                                base
====================  ====================================  ==============================
notification          police notifications                  enrolled students
contact               police contacts                       notifications (or enrollment)
custodial_arrest      taken_into_custody = yes              eligible contacts E
formal_processing     arrests not station-adjusted/diverted arrests
force                 contacts with reportable force        eligible contacts E
====================  ====================================  ==============================

RRI = rate(g)/rate(ref); 95% CI by the log method, SE(ln RRI) = sqrt(1/a − 1/n₁ + 1/c − 1/n₂).
An RRI is computed only when both groups have base ≥ 10 and events ≥ 5 (this package's rule)
and the group is ≥ 1% of the population (Feyerherm & Butts, DMC-1pct).

Sources: SPEC §3.4; OJJDP DMC Databook, "What is an RRI?" and "Constructing an RRI Matrix"
(OJJDP-RRI); DMC Technical Assistance Manual, 4th ed., ch. 1 (DMC-TA).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sro_analysis.metrics.intervals import normal_quantile

__all__ = ["ALL_OTHERS", "RRI_STAGES", "RRIResult", "relative_rate_index", "relative_rate_indices", "rri_table"]

#: Decision points in pipeline order (SPEC §3.4).
RRI_STAGES: tuple[str, ...] = ("notification", "contact", "custodial_arrest", "formal_processing", "force")

#: Special reference value: all groups other than the focal group, pooled.
ALL_OTHERS = "all_others"


@dataclass(frozen=True)
class RRIResult:
    """One relative rate index with its log-method confidence interval.

    Attributes:
        rri: rate / ref_rate.
        log_se: Standard error of ln(RRI).
        ci_low: Lower confidence bound.
        ci_high: Upper confidence bound.
        rate: Focal group's rate events/base.
        ref_rate: Reference group's rate.
    """

    rri: float
    log_se: float
    ci_low: float
    ci_high: float
    rate: float
    ref_rate: float


def relative_rate_index(events, base, ref_events, ref_base, *, level: float = 0.95) -> RRIResult:
    """Relative rate index of a focal group against a reference group (SPEC §3.4).

    Args:
        events: Focal group's events a (> 0).
        base: Focal group's base n₁ (≥ events).
        ref_events: Reference group's events c (> 0).
        ref_base: Reference group's base n₂ (≥ ref_events).
        level: Confidence level of the interval.

    Returns:
        An :class:`RRIResult` with CI = RRI·exp(±z·SE), SE = sqrt(1/a − 1/n₁ + 1/c − 1/n₂).

    Raises:
        ValueError: A zero event count (ln RRI undefined), a base not above zero, or
            events outside [0, base].

    Example:
        >>> r = relative_rate_index(120, 400, 15, 100)
        >>> round(r.rri, 4), round(r.log_se, 4), round(r.ci_low, 4), round(r.ci_high, 4)
        (2.0, 0.25, 1.2253, 3.2646)
        >>> # complement (alternatives-to-arrest) RRI: 280/400 vs 85/100
        >>> round(relative_rate_index(280, 400, 85, 100).rri, 4)
        0.8235
    """
    a, n1, c, n2 = (float(v) for v in (events, base, ref_events, ref_base))
    for label, ev, b in (("focal", a, n1), ("reference", c, n2)):
        if not (np.isfinite(ev) and np.isfinite(b)) or b <= 0 or ev < 0 or ev > b:
            raise ValueError(f"{label} group: need 0 <= events <= base and base > 0, got events={ev}, base={b}")
        if ev == 0:
            raise ValueError(f"{label} group has 0 events: ln(RRI) and its standard error are undefined")
    row = relative_rate_indices(a, n1, c, n2, level=level).iloc[0]
    return RRIResult(**{f: float(row[f]) for f in ("rri", "log_se", "ci_low", "ci_high", "rate", "ref_rate")})


def relative_rate_indices(events, base, ref_events, ref_base, *, level: float = 0.95) -> pd.DataFrame:
    """:func:`relative_rate_index` on arrays: one row per focal/reference pair of counts.

    A pair with 0 events on either side gets NaN ``rri``, ``log_se`` and bounds (ln RRI is
    undefined there) instead of an error; the SPEC's minimum counts are :func:`rri_table`'s job.

    Returns:
        DataFrame with columns ``events, base, ref_events, ref_base, rate, ref_rate, rri, log_se,
        ci_low, ci_high``.

    Raises:
        ValueError: A base not above zero or events outside [0, base].

    Example:
        >>> r = relative_rate_indices([120, 280, 0], [400, 400, 50], [15, 85, 5], [100, 100, 100])
        >>> r[["rri", "ci_low", "ci_high"]].round(4).to_numpy().tolist()
        [[2.0, 1.2253, 3.2646], [0.8235, 0.7419, 0.9141], [nan, nan, nan]]
    """
    a, n1, c, n2 = np.broadcast_arrays(*(np.asarray(v, dtype=float).reshape(-1) for v in
                                         (events, base, ref_events, ref_base)))
    for label, ev, b in (("focal", a, n1), ("reference", c, n2)):
        bad = ~(np.isfinite(ev) & np.isfinite(b)) | (b <= 0) | (ev < 0) | (ev > b)
        if bad.any():
            raise ValueError(f"{label} group: need 0 <= events <= base and base > 0, got events="
                             f"{ev[bad][:5].tolist()}, base={b[bad][:5].tolist()}")
    rate, ref_rate = a / n1, c / n2
    defined = (a > 0) & (c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rri = np.where(defined, rate / ref_rate, np.nan)
        log_se = np.where(defined, np.sqrt(1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2), np.nan)
    z = normal_quantile(level)
    return pd.DataFrame({"events": a, "base": n1, "ref_events": c, "ref_base": n2, "rate": rate,
                         "ref_rate": ref_rate, "rri": rri, "log_se": log_se,
                         "ci_low": rri * np.exp(-z * log_se), "ci_high": rri * np.exp(z * log_se)})


def _population_shares(population, groups) -> dict:
    pop = pd.Series(population) if isinstance(population, Mapping) else population
    if not isinstance(pop, pd.Series):
        raise ValueError("population must be a mapping or a Series: group -> population count")
    missing = sorted(set(groups) - set(pop.index) - {ALL_OTHERS})
    if missing:
        raise ValueError(f"population has no count for group(s) {missing}")
    pop = pd.to_numeric(pop, errors="raise").astype(float)
    if (pop < 0).any() or pop.isna().any() or pop.sum() <= 0:
        raise ValueError("population counts must be non-negative, non-missing, with a positive total")
    return (pop / pop.sum()).to_dict()


def _reasons(events: float, base: float, share: float | None, *, min_base, min_events, min_share) -> list[str]:
    reasons = []
    if base < min_base:
        reasons.append(f"base < {min_base:g}")
    if events < min_events:
        reasons.append(f"events < {min_events:g}")
    elif events <= 0:
        # Only reachable with min_events <= 0: ln(RRI) is undefined at zero events.
        reasons.append("events = 0")
    if share is not None and share < min_share:
        reasons.append(f"group < {min_share * 100:g}% of population")
    return reasons


def rri_table(
    counts: pd.DataFrame,
    *,
    stage: str = "stage",
    group: str = "group",
    events: str = "events",
    base: str = "base",
    reference: str = "white",
    min_base: float = 10,
    min_events: float = 5,
    min_share: float = 0.01,
    population=None,
    level: float = 0.95,
) -> pd.DataFrame:
    """RRI matrix: one row per (stage, group), with the reason when an RRI is not computed.

    Args:
        counts: One row per (stage, group) with events and base. Not modified.
        stage: Column of stage names, each one of :data:`RRI_STAGES`.
        group: Column of group labels (e.g. race/ethnicity).
        events: Column of events at that decision point.
        base: Column of the stage's base (the preceding stage's count).
        reference: Reference group label (default ``"white"``, as OJJDP), or
            ``"all_others"`` to compare each group with all other groups pooled.
        min_base: Both groups need base ≥ min_base.
        min_events: Both groups need events ≥ min_events.
        min_share: The focal group needs ≥ this share of ``population``.
        population: Mapping or Series group → population count (e.g. enrollment) for the
            share rule; when None the share rule is not applied.
        level: Confidence level of the interval.

    Returns:
        DataFrame sorted by stage (pipeline order) then group, with columns ``stage, group,
        events, base, rate, ref_group, ref_rate, rri, ci_low, ci_high, computed, reason``.
        ``reason`` is "" when computed, else the failed rules joined by "; " ("base < 10",
        "events < 5", "group < 1% of population", "reference group not computable"). The
        reference group's own row has rri = 1, no interval, computed = False and reason
        "reference group".

    Raises:
        ValueError: Missing columns, unknown stage names, duplicate (stage, group) rows,
            missing or impossible counts, or a group missing from ``population``.

    Example:
        >>> counts = pd.DataFrame({"stage": ["custodial_arrest"] * 3,
        ...                        "group": ["black", "white", "asian"],
        ...                        "events": [120, 15, 3], "base": [400, 100, 30]})
        >>> t = rri_table(counts)
        >>> t[["group", "rri", "computed", "reason"]].round(2).values.tolist()
        [['asian', nan, False, 'events < 5'], ['black', 2.0, True, ''], ['white', 1.0, False, 'reference group']]
    """
    missing = [c for c in (stage, group, events, base) if c not in counts.columns]
    if missing:
        raise ValueError(f"rri_table: missing column(s) {missing}; have {list(counts.columns)}")
    frame = pd.DataFrame(
        {
            "stage": counts[stage].to_numpy(),
            "group": counts[group].to_numpy(),
            "events": pd.to_numeric(counts[events], errors="raise").to_numpy(),
            "base": pd.to_numeric(counts[base], errors="raise").to_numpy(),
        }
    )
    unknown = sorted(set(frame["stage"].dropna()) - set(RRI_STAGES))
    if unknown or frame["stage"].isna().any():
        raise ValueError(f"rri_table: unknown stage(s) {unknown}; valid stages: {', '.join(RRI_STAGES)}")
    if frame["group"].isna().any():
        raise ValueError("rri_table: group labels must not be missing")
    if (frame["group"] == ALL_OTHERS).any():
        raise ValueError(f"rri_table: {ALL_OTHERS!r} is reserved for the pooled reference")
    bad = frame["events"].isna() | frame["base"].isna() | (frame["events"] < 0) | (frame["events"] > frame["base"])
    if bad.any():
        rows = frame.loc[bad].head(5).to_dict("records")
        raise ValueError(f"rri_table: need 0 <= events <= base for every row; offending rows: {rows}")
    dupes = frame.duplicated(["stage", "group"], keep=False)
    if dupes.any():
        rows = frame.loc[dupes, ["stage", "group"]].drop_duplicates().to_dict("records")
        raise ValueError(f"rri_table: duplicate (stage, group) rows: {rows}")
    shares = _population_shares(population, frame["group"].unique()) if population is not None else None
    rules = {"min_base": min_base, "min_events": min_events, "min_share": min_share}

    rows = []
    for stage_name in RRI_STAGES:
        at_stage = frame[frame["stage"] == stage_name].sort_values("group", kind="stable")
        for rec in at_stage.itertuples(index=False):
            rows.append(_rri_row(rec, at_stage, reference, shares, rules, level))
    columns = [
        "stage", "group", "events", "base", "rate", "ref_group", "ref_rate",
        "rri", "ci_low", "ci_high", "computed", "reason",
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    return table.astype({"computed": bool, "rate": float, "ref_rate": float, "rri": float,
                         "ci_low": float, "ci_high": float})  # fmt: skip


def _rri_row(rec, at_stage: pd.DataFrame, reference: str, shares, rules, level: float) -> dict:
    """One matrix cell: focal group `rec` against the reference within its stage."""
    rate = rec.events / rec.base if rec.base > 0 else np.nan
    row = {
        "stage": rec.stage, "group": rec.group, "events": rec.events, "base": rec.base, "rate": rate,
        "ref_group": reference, "ref_rate": np.nan, "rri": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "computed": False, "reason": "",
    }  # fmt: skip

    if reference == ALL_OTHERS:
        others = at_stage[at_stage["group"] != rec.group]
        ref_events, ref_base = float(others["events"].sum()), float(others["base"].sum())
        ref_share = None if shares is None else 1.0 - shares[rec.group]
        ref_present = len(others) > 0
    else:
        ref_rows = at_stage[at_stage["group"] == reference]
        ref_present = len(ref_rows) == 1
        ref_events = float(ref_rows["events"].sum())
        ref_base = float(ref_rows["base"].sum())
        ref_share = None if shares is None or not ref_present else shares.get(reference)
    if ref_present and ref_base > 0:
        row["ref_rate"] = ref_events / ref_base
    ref_ok = ref_present and not _reasons(ref_events, ref_base, ref_share, **rules)

    if reference != ALL_OTHERS and rec.group == reference:
        # The reference row anchors the matrix at 1; there is no comparison to make.
        if ref_ok:
            row["rri"] = 1.0
        row["reason"] = "reference group" if ref_ok else "reference group not computable"
        return row

    focal_share = None if shares is None else shares[rec.group]
    reasons = _reasons(float(rec.events), float(rec.base), focal_share, **rules)
    if not ref_ok:
        reasons.append("reference group not computable")
    if reasons:
        row["reason"] = "; ".join(reasons)
        return row
    result = relative_rate_index(rec.events, rec.base, ref_events, ref_base, level=level)
    row.update(rri=result.rri, ci_low=result.ci_low, ci_high=result.ci_high, computed=True)
    return row
