"""Hand trace of the NIBRS expected figures, independent of the package (csv module only).

Run ``python tests/nibrs_trace.py /work/shared/data/nibrs-louisiana`` (any folder of CDE
``<ST>-<year>/`` state-year folders); it prints the dict literal stored in
``tests/nibrs_expected.py``. ``--cross-check`` recounts every year a second way (pandas merges,
see :func:`cross_check`).

The rules traced here are the ones ``sources/nibrs.derive`` must follow:

* A table is found by its file name, case-insensitively, with a leading ``cde_`` dropped
  (``cde_agencies.csv`` and ``agencies.csv`` are the same role). Header cells are compared in
  lower case (legacy files are lower case, current files upper case and quoted).
* Juvenile: ``age_num`` is a whole number below 18 (a blank ``age_num``, age code ``00``
  Unknown, is not juvenile).
* Placement of an arrestee at a location: the offense of the arrestee's incident whose
  ``offense_type_id`` equals the arrestee's (at most one exists: NIBRS records offense types,
  not counts, per incident), through ``location_id`` -> ``location_code`` of that year's
  location-type table. When no offense of the incident has that type, the incident's single
  location if all its offenses share one; otherwise the arrestee is not placed (``not_placed``).
* Arrest type: ``arrest_type_id`` -> ``arrest_type_code`` (O/S/T) of that year's table.
  Disposition under 18: ``under_18_disposition_code`` as written (H, R or blank).
* Agency: ``incident.agency_id`` -> the agencies table's ``ori``.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

SCHOOL_CODES = ("53", "22")


def read_table(folder: Path, role: str) -> list[dict[str, str]]:
    """Rows of the table ``role`` (e.g. ``nibrs_arrestee``) with lower-case header names."""
    matches = [p for p in folder.iterdir()
               if p.suffix.lower() == ".csv" and p.stem.lower().removeprefix("cde_") == role]
    if len(matches) != 1:
        raise FileNotFoundError(f"{folder}: expected one file for {role}, found {matches}")
    with matches[0].open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        return [dict(zip(header, row)) for row in reader]


def is_juvenile(age_num: str) -> bool:
    return age_num.strip().isdigit() and int(age_num) < 18


def trace_year(folder: Path) -> dict:
    """Expected figures of one state-year folder."""
    location_code = {r["location_id"]: r["location_code"] for r in read_table(folder, "nibrs_location_type")}
    arrest_code = {r["arrest_type_id"]: r["arrest_type_code"] for r in read_table(folder, "nibrs_arrest_type")}
    ori = {r["agency_id"]: r["ori"] for r in read_table(folder, "agencies")}
    agency_of = {r["incident_id"]: r["agency_id"] for r in read_table(folder, "nibrs_incident")}
    offense_location: dict[tuple[str, str], str] = {}
    incident_locations: dict[str, set[str]] = defaultdict(set)
    for r in read_table(folder, "nibrs_offense"):
        code = location_code[r["location_id"]]
        key = (r["incident_id"], r["offense_type_id"])
        assert key not in offense_location, f"two offenses of one type in incident {key}"
        offense_location[key] = code
        incident_locations[r["incident_id"]].add(code)

    arrestees = read_table(folder, "nibrs_arrestee")
    out: dict = {"arrestee_rows": len(arrestees), "juvenile_arrestees": 0}
    placement = Counter()
    by_code = {c: {"arrestees": 0, "arrest_type": Counter(), "disposition": Counter(),
                   "agencies": set(), "placed_by": Counter(), "multiple_indicator_M": 0,
                   "by_agency": defaultdict(Counter)}
               for c in SCHOOL_CODES}
    for r in arrestees:
        if not is_juvenile(r["age_num"]):
            continue
        out["juvenile_arrestees"] += 1
        code = offense_location.get((r["incident_id"], r["offense_type_id"]))
        how = "offense_type"
        if code is None:
            locations = incident_locations[r["incident_id"]]
            code, how = (next(iter(locations)), "single_location") if len(locations) == 1 else (None, "not_placed")
        placement[how] += 1
        if code not in by_code:
            continue
        cell = by_code[code]
        cell["arrestees"] += 1
        cell["arrest_type"][arrest_code[r["arrest_type_id"]]] += 1
        cell["disposition"][r["under_18_disposition_code"].strip() or "blank"] += 1
        agency = ori[agency_of[r["incident_id"]]]
        cell["agencies"].add(agency)
        cell["by_agency"][agency].update(["n", arrest_code[r["arrest_type_id"]], r["under_18_disposition_code"] or "blank"])
        cell["placed_by"][how] += 1
        cell["multiple_indicator_M"] += r["multiple_indicator"] == "M"
    out["juvenile_placement"] = dict(sorted(placement.items()))
    for code, cell in by_code.items():
        out[f"code_{code}"] = summarise(cell)
    both = {"arrest_type": by_code["53"]["arrest_type"] + by_code["22"]["arrest_type"],
            "disposition": by_code["53"]["disposition"] + by_code["22"]["disposition"],
            "agencies": by_code["53"]["agencies"] | by_code["22"]["agencies"]}
    out["school_53_or_22"] = {
        "arrestees": by_code["53"]["arrestees"] + by_code["22"]["arrestees"],
        "agencies": len(both["agencies"]),
        "ata": ratio(both["arrest_type"]["S"], sum(both["arrest_type"].values())),
        "fpa": ratio(both["disposition"]["H"], both["disposition"]["H"] + both["disposition"]["R"]),
        # per ORI: (arrestees, S, H, R): ATA = S / arrestees, FPA = H / (H + R)
        "by_agency": {o: tuple(sum(by_code[c]["by_agency"][o][k] for c in SCHOOL_CODES) for k in ("n", "S", "H", "R"))
                      for o in sorted(both["agencies"])},
    }
    return out


def summarise(cell: dict) -> dict:
    types, disp = cell["arrest_type"], cell["disposition"]
    return {
        "arrestees": cell["arrestees"],
        "arrest_type": {k: types[k] for k in ("O", "S", "T")},
        "disposition": {k: disp[k] for k in ("H", "R", "blank")},
        "agencies": len(cell["agencies"]),
        "placed_by": dict(sorted(cell["placed_by"].items())),
        "multiple_indicator_M": cell["multiple_indicator_M"],
        "ata": ratio(types["S"], types["O"] + types["S"] + types["T"]),
        "fpa": ratio(disp["H"], disp["H"] + disp["R"]),
    }


def ratio(num: int, den: int) -> tuple[int, int] | None:
    """A rate as (numerator, denominator) so the test compares integers exactly."""
    return (num, den) if den else None


def cross_check(folder: Path) -> dict:
    """Second way, pandas merges instead of dict look-ups, two views.

    ``placed``: the same placement rule as :func:`trace_year`, as merges (must equal it).
    ``incident_level``: juvenile arrestees whose *incident* has an offense at the code, with no
    offense-type matching; ``incident_level_only`` lists the arrestees it adds to ``placed``
    (their own offense is elsewhere in a mixed-location incident), so the gap is explained.
    """
    import pandas as pd

    def load(role: str) -> pd.DataFrame:
        return pd.DataFrame(read_table(folder, role))

    loc = load("nibrs_location_type")[["location_id", "location_code"]]
    off = load("nibrs_offense").merge(loc, on="location_id")
    arr = load("nibrs_arrestee").merge(load("nibrs_arrest_type")[["arrest_type_id", "arrest_type_code"]],
                                       on="arrest_type_id")
    arr = arr[pd.to_numeric(arr["age_num"], errors="coerce") < 18]
    # 2016 lists 9 agencies twice (rows differing only in PARTICIPATED): one ORI per agency_id.
    agencies = load("agencies")[["agency_id", "ori"]].drop_duplicates()
    inc = load("nibrs_incident").merge(agencies, on="agency_id", validate="many_to_one")
    arr = arr.merge(inc[["incident_id", "ori"]], on="incident_id")
    by_type = arr.merge(off[["incident_id", "offense_type_id", "location_code"]],
                        on=["incident_id", "offense_type_id"], how="left")
    single = off.groupby("incident_id")["location_code"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else None)
    by_type["location_code"] = by_type["location_code"].fillna(by_type["incident_id"].map(single))

    def counts(hit: pd.DataFrame) -> dict:
        return {
            "arrestees": len(hit),
            "arrest_type": hit["arrest_type_code"].value_counts().reindex(["O", "S", "T"], fill_value=0).to_dict(),
            "disposition": hit["under_18_disposition_code"].replace("", "blank").value_counts()
            .reindex(["H", "R", "blank"], fill_value=0).to_dict(),
            "agencies": hit["ori"].nunique(),
        }

    out = {}
    for code in SCHOOL_CODES:
        placed = by_type[by_type["location_code"] == code]
        incidents = off.loc[off["location_code"] == code, "incident_id"].drop_duplicates()
        wide = arr[arr["incident_id"].isin(incidents)]
        extra = by_type[by_type["arrestee_id"].isin(set(wide["arrestee_id"]) - set(placed["arrestee_id"]))]
        out[f"code_{code}"] = {
            "placed": counts(placed), "incident_level": counts(wide),
            "incident_level_only": sorted(zip(extra["arrestee_id"], extra["location_code"])),
        }
    return out


def main(argv: list[str]) -> None:
    root = Path(argv[1])
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if "--cross-check" in argv:
        for folder in folders:
            traced, second = trace_year(folder), cross_check(folder)
            for code in SCHOOL_CODES:
                placed = second[f"code_{code}"]["placed"]
                same = all(traced[f"code_{code}"][k] == v for k, v in placed.items())
                print(folder.name, code, "placed equals trace:", same, second[f"code_{code}"])
        return
    print("{")
    for folder in folders:
        print(f"    {folder.name!r}: {trace_year(folder)!r},")
    print("}")


if __name__ == "__main__":
    main(sys.argv)
