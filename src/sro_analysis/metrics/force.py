"""What a force report documents: specific de-escalation tactics, presence/verbal only, force, restraint.

CPD files member presence and verbal commands under "Force Mitigation", so nearly every TRR
"documents de-escalation" (94.8% of Chicago school TRRs, 65/65 in 2017-18): a measure at its
ceiling cannot show change or differences between officers. The label map
``schema/maps/deescalation_classes.csv`` therefore sorts every ``force_options`` and
``deescalation_tactics`` value of the registry into a class:

* ``specific_tactic``: a named de-escalation tactic (tactical positioning, zone of safety,
  additional units, time as a tactic, continual communication, crisis-intervention member);
* ``presence_or_verbal``: member presence, verbal direction;
* ``force``: an option that is reportable force whatever the form's level says is missing
  (takedown, strikes, weapons, their display);
* ``other``: neither (an unnamed mitigation effort; handcuffing and escort holds, which are not
  reportable force on their own).

The ``restraint`` column marks restraint options (``metal``: handcuffs; ``soft``: velcro-type
restraints, once the registry has such an option).

Lists follow one convention: ``""`` (empty) means the form has the field and nothing was listed;
NA means the field was not collected for that report. A report is *unknown* for the
de-escalation split when ``deescalation_documented`` is ``unknown`` (an adapter that rejected
some of a report's action rows writes that; such a report counts in U, never as "none") or when
its ``deescalation_tactics`` is NA: CPD's TRR forms before 2017 (releases 2004-2016, 2004-2018)
and the 2017-2020 release carry no tactic box at all, so "no tactic named" there is "not asked",
not "none". Per report (:func:`classify_force_reports`):

* ``deescalation``: ``deescalation_documented`` (yes / no / unknown);
* ``tactics``: ``yes`` (>= 1 specific tactic listed), ``no`` (tactics recorded, none specific),
  ``unknown`` (either reason above); ``specific_tactic`` is ``tactics == "yes"``;
* ``presence_verbal_only``: tactics known, mitigation documented, member presence or verbal
  direction listed, and no tactic of any class listed;
* ``force``: ``yes`` if the level is level_1-3, ``no`` if it is ``none``; with the level unknown
  (CPD's TRR files carry no level; NYPD records force Y/N only) ``yes`` when a force-class
  option is listed, else ``unknown``;
* ``restraint``: ``metal`` / ``soft`` when such an option is listed, ``none`` when the options
  are known (a list, possibly empty) and hold none, ``unknown`` when ``force_options`` is
  missing (NA) for that report.

Example:
    >>> fr = pd.DataFrame({"deescalation_documented": ["yes", "yes", "yes", "unknown", "no"],
    ...     "force_options": ["member_presence;takedown", "verbal_direction", "verbal_direction", "handcuffing", ""],
    ...     "deescalation_tactics": ["zone_of_safety", "", None, "", ""],
    ...     "reportable_force_level": ["unknown", "unknown", "unknown", "unknown", "none"]})
    >>> classify_force_reports(fr).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'deescalation': ['yes', 'yes', 'yes', 'unknown', 'no'], 'tactics': ['yes', 'no', 'unknown', 'unknown', 'no'],
     'specific_tactic': [True, False, False, False, False], 'presence_verbal_only': [False, True, False, False, False],
     'force': ['yes', 'unknown', 'unknown', 'unknown', 'no'], 'restraint': ['none', 'none', 'none', 'metal', 'none']}
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from sro_analysis.schema.label_maps import read_map
from sro_analysis.schema.registry import DEESCALATION_TACTICS, FORCE_OPTIONS, LIST_SEPARATOR

__all__ = ["DEESCALATION_CLASSES", "FORCE_LEVELS", "RESTRAINT_KINDS", "classify_force_reports",
           "combine_statuses", "deescalation_classes"]

DEESCALATION_CLASSES = ("specific_tactic", "presence_or_verbal", "force", "other")
RESTRAINT_KINDS = ("metal", "soft")
#: Force levels that count as force (SPEC §3.2: level >= level_1).
FORCE_LEVELS = ("level_1", "level_2", "level_3")
_KINDS = {"force_option": FORCE_OPTIONS, "deescalation_tactic": DEESCALATION_TACTICS}


@lru_cache(maxsize=None)
def deescalation_classes() -> pd.DataFrame:
    """The class map, checked: one row per (kind, registry value), every registry value present.

    Example:
        >>> m = deescalation_classes().set_index(["kind", "value"])
        >>> m.loc[("force_option", "member_presence"), "class"]
        'presence_or_verbal'
    """
    frame = read_map("deescalation_classes.csv")
    problems = []
    for kind, allowed in _KINDS.items():
        values = frame.loc[frame["kind"] == kind, "value"]
        problems += [f"{kind} {v!r} is not a registry value" for v in sorted(set(values) - set(allowed))]
        problems += [f"{kind} {v!r} has no class" for v in allowed if v not in set(values)]
        problems += [f"{kind} {v!r} is listed twice" for v in sorted(values[values.duplicated()].unique())]
    problems += [f"unknown kind {k!r}" for k in sorted(set(frame["kind"]) - set(_KINDS))]
    problems += [f"unknown class {c!r}" for c in sorted(set(frame["class"]) - set(DEESCALATION_CLASSES))]
    problems += [f"unknown restraint {r!r}" for r in sorted(set(frame["restraint"]) - {"", *RESTRAINT_KINDS})]
    if problems:
        raise ValueError("schema/maps/deescalation_classes.csv: " + "; ".join(problems))
    return frame


def _values(kind: str, *, cls: str | None = None, restraint: str | None = None) -> set[str]:
    m = deescalation_classes()
    rows = m["kind"] == kind
    if cls is not None:
        rows &= m["class"] == cls
    if restraint is not None:
        rows &= m["restraint"] == restraint
    return set(m.loc[rows, "value"])


def _lists_any(lists: pd.Series, values: set[str]) -> np.ndarray:
    """Per ';'-joined list: does it hold any of ``values``? (NA holds nothing.)"""
    tokens = lists.astype("string").str.split(LIST_SEPARATOR).explode()
    hit = tokens.isin(values).fillna(False).astype(bool)
    return hit.groupby(level=0, sort=False).any().reindex(lists.index, fill_value=False).to_numpy(dtype=bool)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def classify_force_reports(force_reports: pd.DataFrame) -> pd.DataFrame:
    """Per force report: ``deescalation, tactics, specific_tactic, presence_verbal_only, force, restraint``.

    See the module docstring for the rules. A missing optional column (``force_options``,
    ``deescalation_tactics``) counts as not collected: NA for every report.
    """
    fr = force_reports.reset_index(drop=True)
    documented = _column(fr, "deescalation_documented")
    known = documented.isin(["yes", "no"]).fillna(False).to_numpy(dtype=bool)
    deescalation = np.where(known, documented.fillna("unknown").to_numpy(dtype=object), "unknown")
    options, tactics = _column(fr, "force_options"), _column(fr, "deescalation_tactics")
    specific = _lists_any(tactics, _values("deescalation_tactic", cls="specific_tactic"))
    any_tactic = _lists_any(tactics, _values("deescalation_tactic"))
    presence = _lists_any(options, _values("force_option", cls="presence_or_verbal"))
    tactics_known = known & tactics.notna().to_numpy(dtype=bool)
    level = _column(fr, "reportable_force_level")
    force_option = _lists_any(options, _values("force_option", cls="force"))
    force = np.select([level.isin(FORCE_LEVELS).fillna(False).to_numpy(dtype=bool),
                       (level == "none").fillna(False).to_numpy(dtype=bool), force_option],
                      ["yes", "no", "yes"], default="unknown")
    metal = _lists_any(options, _values("force_option", restraint="metal"))
    soft = _lists_any(options, _values("force_option", restraint="soft"))
    restraint = np.select([metal, soft, options.isna().to_numpy(dtype=bool)], ["metal", "soft", "unknown"],
                          default="none")
    out = pd.DataFrame({
        "deescalation": deescalation,
        "tactics": np.where(tactics_known, np.where(specific, "yes", "no"), "unknown"),
        "specific_tactic": tactics_known & specific,
        "presence_verbal_only": tactics_known & (documented == "yes").fillna(False).to_numpy(dtype=bool)
        & presence & ~any_tactic,
        "force": force,
        "restraint": restraint,
    })
    out.index = force_reports.index
    return out


def combine_statuses(status: pd.Series, keys: pd.Series, order: tuple[str, ...]) -> pd.Series:
    """One status per key: the first of ``order`` any of its rows holds (e.g. yes > unknown > no).

    Example:
        >>> combine_statuses(pd.Series(["no", "unknown", "no", "yes"]), pd.Series(["a", "a", "b", "b"]),
        ...                  ("yes", "unknown", "no")).to_dict()
        {'a': 'unknown', 'b': 'yes'}
    """
    rank = pd.Series(status.map({s: i for i, s in enumerate(order)}).to_numpy(), index=keys.to_numpy())
    best = rank.groupby(level=0, sort=True).min()
    return best.map(dict(enumerate(order))).astype("string")
