"""The outcome ladder (SPEC §3.1, §2.6) and its versioned label maps.

Label maps live in ``schema/maps/outcome_map_<vocab>.csv`` with columns ``raw_label,
canonical, custody, diversion_timing, station_adjustment_type, source_url, map_version``.
Matching is on the normalised label (upper case, single spaces). An unmapped label is never
turned into ``other_unknown``: :func:`map_outcomes` returns it as unmapped so the caller can
reject the row with the file, column and value.

Example:
    >>> import pandas as pd
    >>> mapped, unmapped = map_outcomes(pd.Series(["Station Adjustment - Informal", "??"]), "synthetic")
    >>> mapped["outcome_canonical"].tolist()
    ['station_adjustment', <NA>]
    >>> unmapped.tolist()
    [False, True]
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

#: Severity order for collapsing several outcomes of one subject-incident (SPEC §2.6), most
#: severe first. A diversion whose timing is unknown (``unknown`` or blank) could be post-arrest
#: (custody) or pre-arrest (none): it ranks right after the post-arrest diversion, so it loses to
#: any outcome at least that severe and wins over every outcome without custody. The contact is
#: then custody-unknown (its row carries ``taken_into_custody = unknown``) and counts in U: a
#: diversion of unknown timing next to a warning is never an alternative to arrest. (A diversion
#: of unknown timing whose custody is recorded ranks by it: yes as post-arrest, no as pre-arrest.)
#: ``other_unknown`` ranks last (SPEC: used only when nothing else is known).
LADDER: tuple[tuple[str, str], ...] = (
    ("custodial_arrest", "*"),
    ("station_adjustment", "*"),
    ("diversion_referral", "post_arrest"),
    ("diversion_referral", "unknown"),
    ("citation_summons", "*"),
    ("diversion_referral", "pre_arrest"),
    ("school_discipline_restorative", "*"),
    ("warning_no_action", "*"),
)

#: Outcomes counted as alternatives to arrest (SPEC §3.2 headline numerator).
ATA_OUTCOMES = ("citation_summons", "diversion_referral_pre", "school_discipline_restorative", "warning_no_action")

MAP_COLUMNS = ["raw_label", "canonical", "custody", "diversion_timing", "station_adjustment_type",
               "source_url", "map_version"]


def normalise_label(series: pd.Series) -> pd.Series:
    """Upper-case, trim and collapse whitespace: the key labels are matched on."""
    return series.astype("string").str.upper().str.strip().str.replace(r"\s+", " ", regex=True)


@lru_cache(maxsize=None)
def outcome_map(vocab: str) -> pd.DataFrame:
    """The label map of a vocabulary (``cpd``, ``synthetic``, ...), one row per normalised label."""
    name = f"outcome_map_{vocab}.csv"
    try:
        text = resources.files("sro_analysis.schema").joinpath("maps", name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"no outcome map for vocabulary {vocab!r} (expected schema/maps/{name})") from None
    import io

    frame = pd.read_csv(io.StringIO(text), dtype="string", keep_default_na=False)
    missing = set(MAP_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{name}: missing columns {sorted(missing)}")
    frame["key"] = normalise_label(frame["raw_label"])
    dup = frame["key"].duplicated()
    if dup.any():
        raise ValueError(f"{name}: label(s) mapped twice: {frame.loc[dup, 'raw_label'].tolist()}")
    return frame


def map_outcomes(labels: pd.Series, vocab: str) -> tuple[pd.DataFrame, pd.Series]:
    """Map raw labels to canonical outcome fields; return (mapped fields, unmapped mask).

    The mapped frame has ``outcome_canonical, taken_into_custody, diversion_timing,
    station_adjustment_type, map_version`` aligned with ``labels``; unmapped rows are NA there.
    """
    table = outcome_map(vocab).set_index("key")
    keys = normalise_label(labels)
    hit = keys.isin(table.index)
    looked_up = table.reindex(keys.fillna("").to_numpy())
    mapped = pd.DataFrame({
        "outcome_canonical": looked_up["canonical"].to_numpy(),
        "taken_into_custody": looked_up["custody"].to_numpy(),
        "diversion_timing": looked_up["diversion_timing"].to_numpy(),
        "station_adjustment_type": looked_up["station_adjustment_type"].to_numpy(),
        "map_version": looked_up["map_version"].to_numpy(),
    }, index=labels.index).astype("string")
    return mapped, ~hit


def ladder_rank(canonical: pd.Series, timing: pd.Series, custody: pd.Series | None = None) -> pd.Series:
    """Severity rank (0 = most severe) of each outcome; ``other_unknown`` ranks last.

    A diversion whose timing is blank or unknown ranks as ``("diversion_referral", "unknown")``,
    unless ``custody`` says yes or no: then it is a post- or pre-arrest diversion.

    Example:
        >>> ladder_rank(pd.Series(["diversion_referral"] * 3), pd.Series(["unknown"] * 3),
        ...             pd.Series(["unknown", "yes", "no"])).tolist()
        [3, 2, 5]
    """
    rank = pd.Series(len(LADDER), index=canonical.index, dtype="int64")
    is_diversion = (canonical == "diversion_referral").fillna(False).astype(bool)
    timing = timing.astype("string")
    undecided = is_diversion & ~timing.isin(["post_arrest", "pre_arrest"]).fillna(False).astype(bool)
    if custody is not None:
        custody = custody.astype("string")
        timing = timing.mask(undecided & (custody == "yes").fillna(False), "post_arrest")
        timing = timing.mask(undecided & (custody == "no").fillna(False), "pre_arrest")
        undecided &= ~custody.isin(["yes", "no"]).fillna(False).astype(bool)
    timing = timing.mask(undecided, "unknown")
    for i, (outcome, when) in reversed(list(enumerate(LADDER))):
        hit = canonical == outcome
        if when != "*":
            hit &= timing == when
        rank[hit.fillna(False).astype(bool)] = i
    return rank


def collapse_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per (incident, subject): the most severe *known* outcome (SPEC §2.6, :data:`LADDER`).

    ``other_unknown`` is kept only when nothing else is known for that subject. A diversion of
    unknown timing is kept unless a custodial arrest, station adjustment or post-arrest diversion
    is also recorded (it may itself be post-arrest); the contact is then custody-unknown.
    Ties keep the lowest ``outcome_id``.

    Example:
        >>> import pandas as pd
        >>> o = pd.DataFrame({"incident_id": ["i", "i"], "subject_id": ["s", "s"], "outcome_id": ["a", "b"],
        ...     "outcome_canonical": ["warning_no_action", "custodial_arrest"],
        ...     "diversion_timing": ["not_applicable"] * 2})
        >>> collapse_outcomes(o)["outcome_canonical"].tolist()
        ['custodial_arrest']
    """
    custody = outcomes["taken_into_custody"] if "taken_into_custody" in outcomes.columns else None
    ranked = outcomes.assign(_rank=ladder_rank(outcomes["outcome_canonical"], outcomes["diversion_timing"], custody))
    ranked = ranked.sort_values(["incident_id", "subject_id", "_rank", "outcome_id"], kind="stable")
    return ranked.drop_duplicates(["incident_id", "subject_id"]).drop(columns="_rank").reset_index(drop=True)
