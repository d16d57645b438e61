"""NIBRS measures: juvenile arrests at school locations per agency and year, pooled, and statewide.

NIBRS (FBI Crime Data Explorer tables, :mod:`sro_analysis.sources.nibrs`) records arrests and
citations only: never warnings, referrals back to school or other outcomes without an arrest. So
the rate computed here is **not** an alternatives-to-arrest rate; it is labelled
"non-custodial share of arrests" everywhere (SPEC §1.6b):

* ``non_custodial``: arrest type S (summoned / cited, not taken into custody) over all arrests
  (O on view, S, T taken into custody on a warrant or a previous report);
* ``handled_within``: Data Element 52 H (handled within the department) over H + R (referred to
  other authorities); a blank DE52 is unknown, outside both, and its share is published as
  ``unknown_share`` (the rate is flagged above 10 % and withheld above 25 %, SPEC §3.2).

Who and where: arrestees under 18 (``age_at_incident`` < 18; an unknown age is not counted, and
the statewide table says how many such arrestees there were), placed at a school location
(:data:`sro_analysis.sources.nibrs.SCHOOL_LOCATION_CODES`: K-12 code 53 and the legacy
School/College code 22, flagged; college code 52 never). Every table has two scopes:
``school`` (53 and 22) and ``k12`` (53 only). The unit of count is an (incident, arrestee) row,
as SPEC §3.2 counts contacts; ``multiple_m`` says how many rows of a denominator carry Data
Element 44 = M (the same arrest listed under another incident of the arrestee), and the
statewide table gives the counted-once figures beside the headline.

Reporting: an agency that is not listed in a data year's agencies table, or is listed but has no
kept incident, **did not report**: its row says ``not_reported`` with empty counts, never a
zero. An agency that reported (``partial`` when fewer than 12 months carry an incident) and had
no juvenile school arrest has counts of 0 and no rate.

Statistics come from the general modules (nothing re-implemented): Wilson intervals
(:func:`~sro_analysis.metrics.intervals.binomial_interval`), funnel limits with overdispersion
(:func:`~sro_analysis.metrics.funnel.funnel`) and empirical-Bayes tiers
(:func:`~sro_analysis.metrics.shrinkage.empirical_bayes`) over the agencies of a state-year (or
state, pooled) with n at or above the publication threshold (SPEC §3.5 rules 2 and 5), rule 2-3
suppression (:func:`~sro_analysis.metrics.suppression.suppress_rates`) for the display columns,
and relative rate indices by race/ethnicity and sex (:func:`~sro_analysis.metrics.disparity.
rri_table`: stage ``custodial_arrest`` = O+T among arrests, stage ``formal_processing`` = R
among H+R).

Example:
    >>> import pandas as pd
    >>> arrests = pd.DataFrame({"state": "XX", "agency_ori": "XX0010000", "data_year": 2018,
    ...     "arrest_type": list("SSOT"), "disposition": list("HRRR"), "k12": True,
    ...     "multiple_indicator": "N", "race_ethnicity": "white", "sex": "male"})
    >>> unit_counts(arrests, ["agency_ori"])[["measure", "numerator", "denominator"]].values.tolist()
    [['non_custodial', 2, 4], ['handled_within', 1, 4]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sro_analysis.metrics.disparity import rri_table
from sro_analysis.metrics.funnel import funnel
from sro_analysis.metrics.intervals import binomial_interval
from sro_analysis.metrics.shrinkage import empirical_bayes
from sro_analysis.metrics.suppression import SuppressionRules, suppress_rates

__all__ = ["MEASURE_LABELS", "SCOPES", "juvenile_school_arrests", "unit_counts", "nibrs_measures"]

#: The measures and the label they carry in every table (NIBRS has no warnings or referrals).
MEASURE_LABELS = {
    "non_custodial": "non-custodial share of arrests (summoned/cited among on-view, summoned/cited and "
                     "taken-into-custody arrests)",
    "handled_within": "handled within the department, H/(H+R) of Data Element 52",
}
#: Location scopes: ``school`` = codes 53 and legacy 22 (flagged), ``k12`` = code 53 only.
SCOPES = {"school": ("53", "22"), "k12": ("53",)}
JUVENILE_AGE = 18
REPORTED, PARTIAL, NOT_REPORTED = "reported", "partial", "not_reported"
#: Reference groups of the disparity tables (race: OJJDP's default; sex: the larger group).
REFERENCES = {"race_ethnicity": "white", "sex": "male"}


def _tables(data) -> dict[str, pd.DataFrame]:
    if isinstance(data, dict):
        return data
    return {name: getattr(data, name) for name in ("outcomes", "incident_subjects", "incidents", "agencies")}


def juvenile_school_arrests(data) -> pd.DataFrame:
    """One row per juvenile arrestee placed at a school location (codes 53 or 22).

    Columns: ``state, agency_ori, data_year, location_code, location_flag, k12, arrest_type,
    disposition, multiple_indicator, race_ethnicity, sex``. ``attrs["unknown_age"]`` counts the
    school arrestees of unknown age per (state, data year), who are left out.
    """
    t = _tables(data)
    out = t["outcomes"]
    school = out[out["nibrs_location_code"].isin(SCOPES["school"])]
    rows = school.merge(t["incident_subjects"][["subject_id", "age_at_incident", "race_ethnicity", "sex"]],
                        on="subject_id", how="left", validate="one_to_one")
    rows = rows.merge(t["incidents"][["incident_id", "agency_ori", "data_year"]], on="incident_id", how="left",
                      validate="many_to_one")
    rows["state"] = _state(rows["agency_ori"], t["agencies"])
    age = pd.to_numeric(rows["age_at_incident"], errors="coerce")
    unknown_age = rows[age.isna()].groupby(["state", "data_year"]).size()
    juv = rows[age < JUVENILE_AGE]
    frame = pd.DataFrame({
        "state": juv["state"].astype(str).to_numpy(),
        "agency_ori": juv["agency_ori"].astype(str).to_numpy(),
        "data_year": juv["data_year"].astype(int).to_numpy(),
        "location_code": juv["nibrs_location_code"].astype(str).to_numpy(),
        "location_flag": juv["location_flag"].astype(str).to_numpy(),
        "k12": (juv["nibrs_location_code"] == SCOPES["k12"][0]).to_numpy(dtype=bool),
        "arrest_type": juv["nibrs_arrest_type"].astype(str).to_numpy(),
        "disposition": juv["nibrs_juv_disposition"].astype(str).to_numpy(),
        "multiple_indicator": juv["nibrs_multiple_indicator"].astype(str).to_numpy(),
        "race_ethnicity": juv["race_ethnicity"].astype(str).to_numpy(),
        "sex": juv["sex"].astype(str).to_numpy(),
    })
    frame.attrs["unknown_age"] = {k: int(v) for k, v in unknown_age.items()}
    return frame


def _state(ori: pd.Series, agencies: pd.DataFrame) -> pd.Series:
    """State of an agency: the agencies table's ``state_abbr``, else the ORI's first two letters."""
    abbr = agencies.dropna(subset=["state_abbr"]).drop_duplicates("agency_ori").set_index("agency_ori")["state_abbr"]
    return ori.map(abbr).astype(object).fillna(ori.str[:2]).astype(str)


def unit_counts(arrests: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Numerator, denominator, unknown and M rows of both measures per ``keys`` (long format).

    ``non_custodial``: S over O+S+T (another arrest type is unknown); ``handled_within``: H over
    H+R (a blank DE52 is unknown).
    """
    a = arrests
    known_type = a["arrest_type"].isin(("O", "S", "T"))
    known_disp = a["disposition"].isin(("H", "R"))
    m = a["multiple_indicator"] == "M"
    parts = []
    for measure, num, den, unk in (
        ("non_custodial", a["arrest_type"] == "S", known_type, ~known_type),
        ("handled_within", a["disposition"] == "H", known_disp, ~known_disp),
    ):
        cols = pd.DataFrame({"numerator": num, "denominator": den, "unknown": unk, "multiple_m": den & m,
                             "numerator_once": num & ~m, "denominator_once": den & ~m}).astype(int)
        agg = pd.concat([a[keys], cols], axis=1).groupby(keys, sort=True, dropna=False).sum().reset_index()
        agg.insert(0, "measure", measure)
        parts.append(agg)
    return pd.concat(parts, ignore_index=True)


def _with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Rate, Wilson interval, unknown share and the unstable flag of count rows (NaN where n = 0)."""
    x = frame["numerator"].to_numpy(dtype=float)
    n = frame["denominator"].to_numpy(dtype=float)
    u = frame["unknown"].to_numpy(dtype=float)
    lo, hi = binomial_interval(np.nan_to_num(x), np.nan_to_num(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["rate"] = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        frame["unknown_share"] = np.where(n + u > 0, u / (n + u), np.nan)
    frame["ci_low"], frame["ci_high"] = np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)
    frame["measure_label"] = frame["measure"].map(MEASURE_LABELS)
    rules = SuppressionRules()
    frame["publishable_n"] = frame["denominator"].fillna(0) >= rules.min_denominator
    frame["unstable"] = frame["publishable_n"] & (frame["denominator"] < rules.unstable_below)
    return frame


def _display(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """``rate_display`` and ``suppression_reason`` from SPEC §3.5 rules 2-3 (rows with n > 0)."""
    has = frame["denominator"].fillna(0) > 0
    frame["rate_display"], frame["suppression_reason"] = "", ""
    if has.any():
        cols = ["numerator", "denominator", "rate", "ci_low", "ci_high", "unknown", "unknown_share"]
        shown = suppress_rates(frame.loc[has, cols].astype({"numerator": int, "denominator": int, "unknown": int}),
                               table_name=name).table
        frame.loc[has, "rate_display"] = shown["rate_display"].to_numpy()
        frame.loc[has, "suppression_reason"] = shown["suppression_reason"].to_numpy()
    return frame


def _reporting(agencies: pd.DataFrame) -> pd.DataFrame:
    """Every (agency, data year) of the run's years: reported, partial or not_reported, with its name."""
    ag = agencies.copy()
    ag["state"] = _state(ag["agency_ori"], agencies)
    years = sorted(ag["data_year"].astype(int).unique())
    names = (ag.sort_values("data_year").groupby("agency_ori")[["agency_name", "state"]].last())
    grid = pd.MultiIndex.from_product([sorted(names.index), years], names=["agency_ori", "data_year"]).to_frame(
        index=False)
    listed = ag[["agency_ori", "data_year", "reported", "incident_months"]].astype(
        {"data_year": int, "reported": bool, "incident_months": int})
    grid = grid.merge(listed, on=["agency_ori", "data_year"], how="left")
    months = grid["incident_months"].fillna(0).astype(int)
    grid["reporting"] = np.select([~grid["reported"].fillna(False).astype(bool), months < 12],
                                  [NOT_REPORTED, PARTIAL], default=REPORTED)
    grid["incident_months"] = months.where(grid["reporting"] != NOT_REPORTED).astype("Int64")
    grid = grid.drop(columns="reported").join(names, on="agency_ori")
    return grid[["state", "agency_ori", "agency_name", "data_year", "reporting", "incident_months"]]


def _scoped(arrests: pd.DataFrame):
    for scope, codes in SCOPES.items():
        yield scope, arrests[arrests["location_code"].isin(codes)]


def _agency_year(arrests: pd.DataFrame, reporting: pd.DataFrame) -> pd.DataFrame:
    parts = []
    keys = ["agency_ori", "data_year"]
    for scope, rows in _scoped(arrests):
        counts = unit_counts(rows, keys)
        for measure in MEASURE_LABELS:
            grid = reporting.assign(scope=scope, measure=measure)
            got = grid.merge(counts[counts["measure"] == measure].drop(columns="measure"), on=keys, how="left")
            reported = got["reporting"] != NOT_REPORTED
            for col in ("numerator", "denominator", "unknown", "multiple_m"):
                # reported with no school arrest: a real 0; not reported: no count at all
                got[col] = got[col].where(~reported, got[col].fillna(0)).astype("Int64")
            parts.append(got.drop(columns=["numerator_once", "denominator_once"]))
    frame = _with_rates(pd.concat(parts, ignore_index=True))
    return _display(_with_comparisons(frame, ["scope", "measure", "state", "data_year"]), "nibrs_agency_year")


def _agency_pooled(arrests: pd.DataFrame, reporting: pd.DataFrame) -> pd.DataFrame:
    years = (reporting[reporting["reporting"] != NOT_REPORTED].groupby("agency_ori")["data_year"]
             .agg(years_reported="count", first_year="min", last_year="max"))
    base = reporting.drop_duplicates("agency_ori")[["state", "agency_ori", "agency_name"]].join(years, on="agency_ori")
    base = base[base["years_reported"].notna()]
    parts = []
    for scope, rows in _scoped(arrests):
        counts = unit_counts(rows, ["agency_ori"])
        for measure in MEASURE_LABELS:
            got = base.assign(scope=scope, measure=measure).merge(
                counts[counts["measure"] == measure].drop(columns="measure"), on="agency_ori", how="left")
            for col in ("numerator", "denominator", "unknown", "multiple_m"):
                got[col] = got[col].fillna(0).astype("Int64")
            parts.append(got.drop(columns=["numerator_once", "denominator_once"]))
    frame = _with_rates(pd.concat(parts, ignore_index=True))
    frame["years_reported"] = frame["years_reported"].astype(int)
    return _display(_with_comparisons(frame, ["scope", "measure", "state"]), "nibrs_agency_pooled")


def _with_comparisons(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Funnel position and empirical-Bayes tier of each publishable agency within its ``by`` group."""
    frame = frame.copy()
    for col in ("funnel_position", "eb_tier"):
        frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    for col in ("funnel_z_adjusted", "eb_mean", "eb_low", "eb_high"):
        frame[col] = np.nan
    for _, group in frame[frame["publishable_n"]].groupby(by, sort=False):
        units = pd.DataFrame({"unit": group["agency_ori"].to_numpy(), "x": group["numerator"].astype(int).to_numpy(),
                              "n": group["denominator"].astype(int).to_numpy()}, index=group.index)
        p0 = units["x"].sum() / units["n"].sum()
        if len(units) < 2 or not 0 < p0 < 1:
            continue  # no comparison among fewer than two agencies, or all-or-none
        fun = funnel(units).units.set_index("unit")
        eb = empirical_bayes(units).set_index("unit")
        ori = group["agency_ori"].to_numpy()
        frame.loc[group.index, "funnel_position"] = fun.loc[ori, "position"].to_numpy()
        frame.loc[group.index, "funnel_z_adjusted"] = fun.loc[ori, "z_adjusted"].to_numpy()
        for col in ("eb_mean", "eb_low", "eb_high"):
            frame.loc[group.index, col] = eb.loc[ori, col].to_numpy()
        frame.loc[group.index, "eb_tier"] = eb.loc[ori, "tier"].to_numpy()
    return frame


def _statewide(arrests: pd.DataFrame, reporting: pd.DataFrame, unknown_age: dict) -> pd.DataFrame:
    activity = reporting.assign(reported=reporting["reporting"] != NOT_REPORTED).groupby(["state", "data_year"]).agg(
        agencies_listed_or_seen=("agency_ori", "size"), agencies_reporting=("reported", "sum"))
    parts = []
    for scope, rows in _scoped(arrests):
        counts = unit_counts(rows, ["state", "data_year"])
        with_arrests = rows.groupby(["state", "data_year"])["agency_ori"].nunique().rename("agencies_with_arrests")
        got = (counts.join(activity, on=["state", "data_year"]).join(with_arrests, on=["state", "data_year"]))
        got.insert(0, "scope", scope)
        parts.append(got)
    frame = _with_rates(pd.concat(parts, ignore_index=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["rate_counted_once"] = frame["numerator_once"] / frame["denominator_once"].where(
            frame["denominator_once"] > 0)
    frame["agencies_with_arrests"] = frame["agencies_with_arrests"].fillna(0).astype(int)
    frame["unknown_age_school_arrestees"] = [unknown_age.get((s, y), 0) for s, y in
                                             zip(frame["state"], frame["data_year"])]
    return _display(frame, "nibrs_statewide")


def _disparity(arrests: pd.DataFrame) -> pd.DataFrame:
    """RRI by race/ethnicity and by sex per scope, state and year (and ``pooled``)."""
    rows = []
    pooled = arrests.assign(data_year="pooled")
    both = pd.concat([arrests.assign(data_year=arrests["data_year"].astype(str)), pooled], ignore_index=True)
    for scope, scoped in _scoped(both):
        for group_type, reference in REFERENCES.items():
            counts = unit_counts(scoped, ["state", "data_year", group_type])
            for (state, year), cell in counts.groupby(["state", "data_year"], sort=True):
                stages = _stage_counts(cell, group_type)
                table = rri_table(stages, reference=reference)
                rows.append(table.assign(scope=scope, state=state, data_year=year, group_type=group_type))
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    out["stage_label"] = out["stage"].map({
        "custodial_arrest": "custodial share of arrests (O+T among O, S, T): complement of the non-custodial share",
        "formal_processing": "referred to other authorities (R among H+R of Data Element 52)"})
    lead = ["scope", "state", "data_year", "group_type"]
    return out[lead + [c for c in out.columns if c not in lead]]


def _stage_counts(cell: pd.DataFrame, group_type: str) -> pd.DataFrame:
    """Events and base of the two RRI stages per group, from :func:`unit_counts` rows."""
    nc = cell[cell["measure"] == "non_custodial"].set_index(group_type)
    hw = cell[cell["measure"] == "handled_within"].set_index(group_type)
    frames = [
        pd.DataFrame({"stage": "custodial_arrest", "group": nc.index,
                      "events": (nc["denominator"] - nc["numerator"]).to_numpy(), "base": nc["denominator"].to_numpy()}),
        pd.DataFrame({"stage": "formal_processing", "group": hw.index,
                      "events": (hw["denominator"] - hw["numerator"]).to_numpy(), "base": hw["denominator"].to_numpy()}),
    ]
    return pd.concat(frames, ignore_index=True)


def nibrs_measures(dataset) -> dict[str, pd.DataFrame]:
    """Every NIBRS measure table of a cleaned dataset (or a dict of its canonical tables).

    Returns ``{"agency_year", "agency_pooled", "statewide", "disparity", "arrests"}``: per
    agency and data year (every agency known in any year, so a year it did not report is a
    ``not_reported`` row), per agency over the years it reported, per state and year, relative
    rate indices by race/ethnicity and sex, and the juvenile school arrest rows they count
    (internal: record-level, never published).
    """
    t = _tables(dataset)
    arrests = juvenile_school_arrests(t)
    reporting = _reporting(t["agencies"])
    return {
        "agency_year": _agency_year(arrests, reporting),
        "agency_pooled": _agency_pooled(arrests, reporting),
        "statewide": _statewide(arrests, reporting, arrests.attrs["unknown_age"]),
        "disparity": _disparity(arrests),
        "arrests": arrests,
    }
