"""Consistency rules across fields and tables (SPEC §2.6), with messages a person understands.

Each rule returns the offending rows; :func:`check_outcomes` turns them into one readable
error. A violation is a hard validation error (SPEC §2.6).

Example:
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"outcome_id": ["o1"], "outcome_canonical": ["custodial_arrest"],
    ...     "taken_into_custody": ["no"], "diversion_timing": ["not_applicable"],
    ...     "nibrs_arrest_type": [pd.NA]})
    >>> outcome_violations(bad)["rule"].tolist()
    ['custodial_arrest implies taken_into_custody = yes']
"""

from __future__ import annotations

import pandas as pd

from sro_analysis.schema.models import SchemaError

_NO_CUSTODY = ("citation_summons", "school_discipline_restorative", "warning_no_action")


def _rules(o: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    canon, custody, timing = o["outcome_canonical"], o["taken_into_custody"], o["diversion_timing"]
    arrest_type = o["nibrs_arrest_type"] if "nibrs_arrest_type" in o else pd.Series(pd.NA, index=o.index)
    diversion = canon == "diversion_referral"
    return [
        ("custodial_arrest implies taken_into_custody = yes", (canon == "custodial_arrest") & (custody != "yes")),
        ("station_adjustment implies taken_into_custody = yes (5-301 presupposes arrest)",
         (canon == "station_adjustment") & (custody != "yes")),
        ("diversion_referral: taken_into_custody = yes exactly when diversion_timing = post_arrest",
         diversion & (timing.isin(["post_arrest", "pre_arrest"])) & ((custody == "yes") != (timing == "post_arrest"))),
        ("citation, school discipline and warning imply taken_into_custody = no",
         canon.isin(_NO_CUSTODY) & (custody != "no")),
        ("nibrs_arrest_type S (summoned/cited) implies taken_into_custody = no", (arrest_type == "S") & (custody != "no")),
        ("nibrs_arrest_type O or T implies taken_into_custody = yes",
         arrest_type.isin(["O", "T"]) & (custody != "yes")),
    ]


def outcome_violations(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``outcomes`` breaking a SPEC §2.6 rule: ``outcome_id, rule``."""
    found = []
    for rule, mask in _rules(outcomes):
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            found.append(pd.DataFrame({"outcome_id": outcomes.loc[mask, "outcome_id"].to_numpy(), "rule": rule}))
    if not found:
        return pd.DataFrame(columns=["outcome_id", "rule"])
    return pd.concat(found, ignore_index=True)


def check_outcomes(outcomes: pd.DataFrame) -> None:
    """Raise :class:`SchemaError` listing each broken rule, its row count and example ids."""
    bad = outcome_violations(outcomes)
    if bad.empty:
        return
    lines = ["outcomes break the consistency rules of SPEC §2.6:"]
    for rule, group in bad.groupby("rule", sort=True):
        lines.append(f"  - {rule}: {len(group)} row(s), e.g. {', '.join(group['outcome_id'].head(3))}")
    raise SchemaError("\n".join(lines))


def _orphans(child: pd.DataFrame, column: str, parent: pd.DataFrame, key: str) -> pd.Series:
    from sro_analysis.standardize import is_in  # Arrow-backed isin: pandas' is ~12x slower on ids

    values = child[column].dropna()
    return values[~is_in(values, parent[key]).to_numpy()]


def check_dataset(ds) -> None:
    """Cross-table checks of a Dataset: outcome rules and foreign keys that must resolve."""
    check_outcomes(ds.tables["outcomes"])
    from sro_analysis.schema.registry import CANONICAL_TABLES, table

    problems = []
    for name in CANONICAL_TABLES:
        for column, ref_table, ref_field in table(name).foreign_keys:
            if ref_table not in ds.tables:
                continue
            orphans = _orphans(ds.tables[name], column, ds.tables[ref_table], ref_field)
            if len(orphans):
                problems.append(f"{name}.{column}: {len(orphans)} value(s) not in {ref_table}.{ref_field}, "
                                f"e.g. {', '.join(map(str, orphans.unique()[:3]))}")
    if problems:
        raise SchemaError("foreign keys do not resolve:\n  - " + "\n  - ".join(problems))
