"""NYC measures from the NYPD Student Safety Act tables (``nyc_interventions``, ``nyc_precinct_counts``).

:func:`nyc_measures` returns tidy frames: per campus (DOE building) and school year, city-wide
per quarter (remote-schooling quarters flagged, never pooled silently) and per school year, and
relative rate indices by race, sex and age group per precinct and city-wide.

Measures (SPEC §3.2 on the NYPD ladder of §1.6b). **E** = interventions of students
(``is_student = yes``, i.e. Greater Than 21 = No) whose type is one of the four discretionary
outcomes (Arrested, Summons, Juvenile Report, Mitigated; ``in_ata_denominator = yes``): Child
in Crisis (not a suspect contact) and PINS / Warrant (non-discretionary) are outside it.

==================  =============================================  ==========================
measure             events x                                       base n
==================  =============================================  ==========================
ata                 E not taken into custody                       E (custody known)
ata_strict          as ata, without Summons (citation_summons)     E (custody known)
custodial_arrest    E taken into custody (Arrested)                E (custody known)
restraint           E with Metal or Velcro restraints              E (restraints known)
force               E with Force = Y (Type Of Force if Force blank) E (force known)
restraint_cic       Child in Crisis with Metal or Velcro           Children in Crisis (students,
                                                                   restraints known)
==================  =============================================  ==========================

Every row has ``x``, ``n``, ``unknown`` (eligible rows whose value is unknown, left out of x and
n), ``U = unknown / (n + unknown)``, the rate and its Wilson interval
(:func:`~sro_analysis.metrics.intervals.binomial_interval`), and ``status``: ``ok``,
``incomplete`` (U > 0.10) or ``not_published`` (U > 0.25), SPEC §3.2. Campus rows add funnel
limits (:func:`~sro_analysis.metrics.funnel.funnel`, per measure and school year) and
empirical-Bayes tiers (:func:`~sro_analysis.metrics.shrinkage.empirical_bayes`). Campuses the
linker left unplaced are not in the campus table; ``linkage`` says how many interventions
each school year that is. Suppression for publication is the publish step's job (these are
internal tables).

Relative rate indices (:func:`~sro_analysis.metrics.disparity.rri_table`) from the precinct
counts: ``custodial_arrest`` (arrests among E, i.e. arrest vs the other discretionary
interventions) and ``restraint_cic`` (restraints among children in crisis; decision point
``force``), for race/ethnicity (reference white, OJJDP), sex and age group (reference: all
other groups): city-wide per school year and pooled, and per precinct pooled over the quarters.

Example:
    >>> frame = pd.DataFrame({"quarter": ["2019Q1"] * 3, "school_year": ["2018-19"] * 3,
    ...     "remote_schooling": [False] * 3, "building_code": ["K410"] * 3,
    ...     "in_ata_denominator": ["yes", "yes", "yes"], "is_student": ["yes"] * 3,
    ...     "reported_as": ["ata"] * 3, "taken_into_custody": ["yes", "no", "no"],
    ...     "outcome_canonical": ["custodial_arrest", "citation_summons", "school_discipline_restorative"],
    ...     "restrained": ["yes", "no", "no"], "force": ["no", "no", "unknown"], "type_of_force_used": ["no", "no", "unknown"]})
    >>> t = intervention_rates(frame, ["quarter"])
    >>> t.set_index("measure").loc[["ata", "ata_strict", "force"], ["x", "n", "unknown"]].values.tolist()
    [[2, 3, 0], [1, 3, 0], [0, 2, 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sro_analysis.metrics.disparity import ALL_OTHERS, rri_table
from sro_analysis.metrics.funnel import funnel
from sro_analysis.metrics.intervals import binomial_interval
from sro_analysis.metrics.shrinkage import empirical_bayes

MEASURES = ("ata", "ata_strict", "custodial_arrest", "restraint", "force", "restraint_cic")
#: U above which a rate is marked incomplete / not published (SPEC §3.2).
U_INCOMPLETE, U_WITHHELD = 0.10, 0.25
#: Reference group per grouping of the RRIs.
RRI_REFERENCE = {"race_ethnicity": "white", "sex": ALL_OTHERS, "age_group": ALL_OTHERS}
RATE_COLUMNS = ["measure", "x", "n", "unknown", "U", "rate", "ci_low", "ci_high", "status"]


def _yes(series: pd.Series) -> pd.Series:
    return series.astype("string").eq("yes").fillna(False).astype(bool)


def _known(series: pd.Series) -> pd.Series:
    return series.astype("string").isin(["yes", "no"]).fillna(False).astype(bool)


def measure_masks(frame: pd.DataFrame) -> dict[str, tuple[pd.Series, pd.Series, pd.Series]]:
    """Per measure: (event, counted, unknown) masks over intervention rows (see the module table)."""
    student = _yes(frame["is_student"])
    e = _yes(frame["in_ata_denominator"]) & student
    cic = frame["reported_as"].astype("string").eq("child_in_crisis").fillna(False) & student
    custody = _known(frame["taken_into_custody"])
    free = frame["taken_into_custody"].astype("string").eq("no").fillna(False)
    summons = frame["outcome_canonical"].astype("string").eq("citation_summons").fillna(False)
    force = frame["force"].astype("string").where(_known(frame["force"]), frame["type_of_force_used"])
    restraint = _known(frame["restrained"])
    return {
        "ata": (e & custody & free, e & custody, e & ~custody),
        "ata_strict": (e & custody & free & ~summons, e & custody, e & ~custody),
        "custodial_arrest": (e & custody & ~free, e & custody, e & ~custody),
        "restraint": (e & restraint & _yes(frame["restrained"]), e & restraint, e & ~restraint),
        "force": (e & _known(force) & _yes(force), e & _known(force), e & ~_known(force)),
        "restraint_cic": (cic & restraint & _yes(frame["restrained"]), cic & restraint, cic & ~restraint),
    }


def rate_columns(x, n, unknown) -> pd.DataFrame:
    """rate, Wilson interval, U and status for count arrays (NaN rate where n = 0).

    Example:
        >>> rate_columns([7], [20], [0]).round(6)[["rate", "ci_low", "ci_high"]].values.tolist()
        [[0.35, 0.181192, 0.567146]]
    """
    x, n, unknown = (np.asarray(v, dtype=float) for v in (x, n, unknown))
    low, high = binomial_interval(x, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / n, np.nan)
        share = np.where(n + unknown > 0, unknown / (n + unknown), np.nan)
    status = np.select([share > U_WITHHELD, share > U_INCOMPLETE], ["not_published", "incomplete"], "ok")
    return pd.DataFrame({"U": share, "rate": rate, "ci_low": np.atleast_1d(low), "ci_high": np.atleast_1d(high),
                         "status": status})


def intervention_rates(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Every measure per group of ``by`` over intervention rows: tidy, one row per (group, measure)."""
    masks = measure_masks(frame)
    parts = []
    for measure in MEASURES:
        event, counted, unknown = masks[measure]
        counts = pd.DataFrame({"x": event, "n": counted, "unknown": unknown}).astype("int64")
        grouped = counts.join(frame[by]).groupby(by, dropna=False, sort=True)[["x", "n", "unknown"]].sum()
        grouped = grouped[(grouped["n"] + grouped["unknown"]) > 0].reset_index()
        grouped.insert(len(by), "measure", measure)
        parts.append(pd.concat([grouped, rate_columns(grouped["x"], grouped["n"], grouped["unknown"])], axis=1))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(by + ["measure"], kind="stable").reset_index(drop=True)[by + RATE_COLUMNS]


def with_funnel_and_tiers(campus: pd.DataFrame) -> pd.DataFrame:
    """Campus rows with funnel limits and empirical-Bayes tiers per (measure, school year)."""
    parts = []
    for (measure, year), group in campus.groupby(["measure", "school_year"], sort=True):
        group = group.copy()
        units = group[group["n"] > 0].rename(columns={"building_code": "unit"})
        group["comparison_note"] = ""
        if len(units) < 3 or not 0 < units["x"].sum() < units["n"].sum():
            group["comparison_note"] = "fewer than 3 campuses, or every campus at 0 or at 100%: no funnel or tiers"
            parts.append(group)
            continue
        limits = funnel(units, x="x", n="n", unit="unit").units.set_index("unit")
        for column in ("lo95", "hi95", "lo998", "hi998", "position"):
            group[f"funnel_{column}"] = group["building_code"].map(limits[column])
        try:
            tiers = empirical_bayes(units, x="x", n="n", unit="unit").set_index("unit")
        except ValueError as exc:  # no Beta prior exists (e.g. every fitted campus at x = n): say so
            group["comparison_note"] = f"no empirical-Bayes tiers: {exc}"
        else:
            for column in ("eb_mean", "eb_low", "eb_high", "tier"):
                group[column] = group["building_code"].map(tiers[column])
        parts.append(group)
    return pd.concat(parts, ignore_index=True) if parts else campus


#: RRI decision point of each measure (restraint is a use of force; its base: the children in crisis).
RRI_STAGE_OF = {"custodial_arrest": "custodial_arrest", "restraint_cic": "force"}


def _rri_counts(counts: pd.DataFrame, group_type: str, scope: list[str]) -> pd.DataFrame:
    """(scope..., stage, group, events, base) rows of both RRI measures from the precinct cells."""
    student = counts["is_student"].eq("yes")
    arrest_base = counts["in_ata_denominator"].eq("yes") & student & counts["taken_into_custody"].isin(["yes", "no"])
    cic_base = counts["reported_as"].eq("child_in_crisis") & student & counts["restrained"].isin(["yes", "no"])
    parts = []
    for measure, base, event in (
            ("custodial_arrest", arrest_base, arrest_base & counts["taken_into_custody"].eq("yes")),
            ("restraint_cic", cic_base, cic_base & counts["restrained"].eq("yes"))):
        frame = counts.assign(events=counts["n"].where(event, 0), base=counts["n"].where(base, 0))
        frame = frame[frame[group_type] != "unknown"]
        out = frame.groupby(scope + [group_type], sort=True)[["events", "base"]].sum().reset_index()
        parts.append(out.rename(columns={group_type: "group"}).assign(stage=RRI_STAGE_OF[measure]))
    return pd.concat(parts, ignore_index=True)


def precinct_rri(counts: pd.DataFrame, reference: dict[str, str] | None = None) -> pd.DataFrame:
    """RRIs by race, sex and age group: city-wide (``precinct = 'all'``) per school year and pooled
    (``school_year = 'all'``), and per precinct pooled over every quarter of the files (one
    precinct's year is too small a base for most groups)."""
    reference = {**RRI_REFERENCE, **(reference or {})}
    counts = counts.assign(all_precincts="all", all_years="all")
    measure_of = {stage: measure for measure, stage in RRI_STAGE_OF.items()}
    parts = []
    for group_type, ref in reference.items():
        for year_column, unit_column in (("school_year", "all_precincts"), ("all_years", "all_precincts"),
                                         ("all_years", "precinct")):
            table = _rri_counts(counts, group_type, [year_column, unit_column])
            table = table[table["base"] > 0]
            for (year, unit), cells in table.groupby([year_column, unit_column], sort=True):
                result = rri_table(cells, reference=ref)
                result.insert(0, "measure", result.pop("stage").map(measure_of))
                parts.append(result.assign(school_year=year, precinct=unit, group_type=group_type, reference=ref))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    first = ["school_year", "precinct", "measure", "group_type", "reference"]
    return out[first + [c for c in out.columns if c not in first]].sort_values(
        first + ["group"], kind="stable").reset_index(drop=True)


def linkage(interventions: pd.DataFrame) -> pd.DataFrame:
    """Interventions per school year and how many the linker placed in a building."""
    linked = interventions["building_code"].notna()
    out = interventions.assign(linked=linked).groupby("school_year", sort=True).agg(
        interventions=("linked", "size"), linked=("linked", "sum")).reset_index()
    out["linked_share"] = out["linked"] / out["interventions"]
    return out


def nyc_measures(dataset) -> dict[str, pd.DataFrame]:
    """The NYC measures of a cleaned dataset (family ``nyc``): see the module docstring.

    Returns frames ``campus_year`` (building x school year, with funnel and EB columns),
    ``city_quarter`` (with ``remote_schooling``), ``city_year``, ``precinct_rri`` and ``linkage``.
    """
    tables = dataset.tables if hasattr(dataset, "tables") else dataset
    interventions = tables["nyc_interventions"]
    if hasattr(interventions, "to_pandas"):
        interventions = interventions.to_pandas()
    interventions = pd.DataFrame(interventions)
    counts = pd.DataFrame(tables["nyc_precinct_counts"])
    campus = intervention_rates(interventions[interventions["building_code"].notna()],
                                ["building_code", "school_year"])
    city_quarter = intervention_rates(interventions, ["quarter", "school_year", "remote_schooling"])
    city_year = intervention_rates(interventions, ["school_year"])
    remote = interventions.groupby("school_year")["remote_schooling"].any()
    city_year.insert(1, "includes_remote_quarters", city_year["school_year"].map(remote).astype(bool))
    # A school year the files cover only in part (they start in 2019Q1) must say which quarters it holds.
    held = interventions.groupby("school_year")["quarter"].agg(lambda q: ";".join(sorted(set(q))))
    city_year.insert(1, "quarters", city_year["school_year"].map(held))
    return {"campus_year": with_funnel_and_tiers(campus), "city_quarter": city_quarter, "city_year": city_year,
            "precinct_rri": precinct_rri(counts) if len(counts) else pd.DataFrame(),
            "linkage": linkage(interventions)}


__all__ = ["MEASURES", "nyc_measures", "intervention_rates", "measure_masks", "rate_columns", "precinct_rri",
           "with_funnel_and_tiers", "linkage"]
