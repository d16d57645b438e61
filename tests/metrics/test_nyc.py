"""NYC measures (metrics/nyc.py) on the cleaned NYPD Student Safety Act files.

The city-wide figures are recomputed here from the workbook cells (openpyxl, ``tests/nyc_ssa_cells.py``),
not through package code: E = rows whose Intervention Type is Arrested, Summons, Juvenile Report or
Mitigated and whose Greater Than 21 cell is No (any case), and

    ATA        = (Summons + Juvenile Report + Mitigated) / E
    ATA-strict = (Juvenile Report + Mitigated) / E
    custodial  = Arrested / E
    restraint of children in crisis = Child in Crisis rows (Greater Than 21 = No) with Metal or Velcro
                                      / Child in Crisis rows (Greater Than 21 = No)

per school year (Q1, Q2 of year Y -> (Y-1)-Y; Q3, Q4 -> Y-(Y+1)).
"""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from nyc_ssa_cells import sheet
from sro_analysis.dataset import Dataset
from sro_analysis.metrics import EB_TIERS, FUNNEL_POSITIONS
from sro_analysis.metrics.nyc import intervention_rates, nyc_measures, rate_columns

E_TYPES = ("Arrested", "Summons", "Juvenile Report", "Mitigated")


@pytest.fixture(scope="module")
def measures(nyc_dataset_dir) -> dict[str, pd.DataFrame]:
    return nyc_measures(Dataset.load(nyc_dataset_dir))


def _school_year(file_name: str) -> str:
    quarter, year = file_name.rsplit("-", 2)[1][0], int(file_name.rsplit("-", 1)[1][:4])
    start = year - 1 if quarter in "12" else year
    return f"{start}-{(start + 1) % 100:02d}"


@pytest.fixture(scope="module")
def by_hand(shared_data) -> dict[str, collections.Counter]:
    """School year -> counts of (Intervention Type, restrained) among students, from the cells."""
    out = collections.defaultdict(collections.Counter)
    for path in sorted((shared_data / "nyc-ssa" / "school").glob("*.xlsx")):
        header, rows = sheet(path)
        kind = header.index("Intervention Type")
        over = next(header.index(h) for h in header if h.lower().replace("greator", "greater") == "greater than 21")
        restraint = header.index("Restraints")
        for row in rows:
            if str(row[over]).strip().lower() == "no":
                out[_school_year(path.name)][(str(row[kind]).strip(), str(row[restraint]).strip() != "No Restraints")] += 1
    return out


@pytest.mark.real
def test_city_wide_ata_per_school_year_is_the_hand_computed_one(measures, by_hand):
    city = measures["city_year"].set_index(["school_year", "measure"])
    for year, counts in by_hand.items():
        kinds = collections.Counter()
        for (kind, _), n in counts.items():
            kinds[kind] += n
        e = sum(kinds[k] for k in E_TYPES)
        assert city.loc[(year, "ata"), ["x", "n"]].tolist() == [kinds["Summons"] + kinds["Juvenile Report"] +
                                                                kinds["Mitigated"], e], year
        assert city.loc[(year, "ata_strict"), ["x", "n"]].tolist() == [kinds["Juvenile Report"] + kinds["Mitigated"], e]
        assert city.loc[(year, "custodial_arrest"), ["x", "n"]].tolist() == [kinds["Arrested"], e]
        cic = counts[("Child in Crisis", True)] + counts[("Child in Crisis", False)]
        assert city.loc[(year, "restraint_cic"), ["x", "n"]].tolist() == [counts[("Child in Crisis", True)], cic]
        restrained = sum(counts[(k, True)] for k in E_TYPES)
        assert city.loc[(year, "restraint"), ["x", "n"]].tolist() == [restrained, e]
    # the figures quoted in the report: ATA per school year (2018-19 and 2021-22 hold two quarters each)
    ata = city.xs("ata", level="measure")
    assert ata[["x", "n"]].astype(int).values.tolist() == [[4196, 4609], [5206, 5520], [415, 432], [3681, 3823]]
    assert ata["quarters"].tolist() == ["2019Q1;2019Q2", "2019Q3;2019Q4;2020Q1;2020Q2",
                                        "2020Q3;2020Q4;2021Q1;2021Q2", "2021Q3;2021Q4"]
    assert ata["includes_remote_quarters"].tolist() == [False, True, True, False]
    low, high = binomtest(4196, 4609).proportion_ci(method="wilson")
    assert ata.loc["2018-19", ["ci_low", "ci_high"]].tolist() == pytest.approx([low, high], abs=1e-12)
    assert (ata["unknown"] == 0).all() and (ata["status"] == "ok").all()


@pytest.mark.real
def test_quarters_are_shown_with_the_remote_schooling_flag(measures):
    quarters = measures["city_quarter"]
    ata = quarters[quarters["measure"] == "ata"].set_index("quarter")
    assert len(ata) == 12
    assert ata.index[ata["remote_schooling"]].tolist() == ["2020Q2", "2020Q3", "2020Q4", "2021Q1", "2021Q2"]
    assert ata.loc["2020Q2", ["x", "n"]].tolist() == [7, 15]  # the first remote quarter: 15 student contacts
    assert int(ata["n"].sum()) == int(measures["city_year"].query("measure == 'ata'")["n"].sum())


@pytest.mark.real
def test_campus_rates_funnel_and_tiers(measures):
    campus = measures["campus_year"]
    city = measures["city_year"].set_index(["school_year", "measure"])
    linkage = measures["linkage"].set_index("school_year")
    assert linkage["interventions"].sum() == 20138 and linkage["linked"].sum() == 18407
    ata = campus[campus["measure"] == "ata"]
    for year, group in ata.groupby("school_year"):
        assert group["n"].sum() <= city.loc[(year, "ata"), "n"]
        assert group["building_code"].is_unique
    assert set(campus["tier"].dropna()) <= set(EB_TIERS)
    assert set(campus["funnel_position"].dropna()) <= set(FUNNEL_POSITIONS)
    with_limits = campus["funnel_lo95"].notna()
    assert with_limits.any() and (campus.loc[with_limits, "funnel_lo95"] <= campus.loc[with_limits, "funnel_hi95"]).all()
    assert ((campus["ci_low"] <= campus["rate"]) & (campus["rate"] <= campus["ci_high"])).all()


@pytest.mark.real
def test_precinct_rri_by_sex_is_the_hand_computed_one(measures, shared_data):
    """2018-19, city-wide, arrests among E by sex: male vs all others (female and unknown)."""
    counts = collections.Counter()
    for path in sorted((shared_data / "nyc-ssa" / "precinct").glob("*.xlsx")):
        if _school_year(path.name) != "2018-19":
            continue
        header, rows = sheet(path)
        kind = header.index("Intervention Type") if "Intervention Type" in header else header.index("Intervention")
        age, sex = header.index("Age"), header.index("Gender")
        for row in rows:
            if row[age] not in (None, "") and int(row[age]) <= 21 and str(row[kind]).strip() in E_TYPES:
                counts[(str(row[sex]).strip() == "M", str(row[kind]).strip() == "Arrested")] += 1
    a, n1 = counts[(True, True)], counts[(True, True)] + counts[(True, False)]
    c, n2 = counts[(False, True)], counts[(False, True)] + counts[(False, False)]
    rri = measures["precinct_rri"]
    row = rri[(rri["school_year"] == "2018-19") & (rri["precinct"] == "all") & (rri["measure"] == "custodial_arrest")
              & (rri["group_type"] == "sex") & (rri["group"] == "male")].iloc[0]
    assert (row["events"], row["base"]) == (a, n1)
    assert row["rri"] == pytest.approx((a / n1) / (c / n2), rel=1e-12)
    se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    assert [row["ci_low"], row["ci_high"]] == pytest.approx([row["rri"] * np.exp(-1.959964 * se),
                                                             row["rri"] * np.exp(1.959964 * se)], rel=1e-5)
    assert set(rri["measure"]) == {"custodial_arrest", "restraint_cic"}
    assert set(rri["group_type"]) == {"race_ethnicity", "sex", "age_group"}
    assert rri["precinct"].nunique() > 70


def test_unknowns_are_counted_apart_and_mark_the_rate():
    frame = pd.DataFrame({
        "unit": ["a"] * 10, "in_ata_denominator": ["yes"] * 10, "is_student": ["yes"] * 9 + ["unknown"],
        "reported_as": ["ata"] * 10, "taken_into_custody": ["yes", "no", "no", "no", "no", "no", "no", "no", "no", "no"],
        "outcome_canonical": ["custodial_arrest"] + ["school_discipline_restorative"] * 9,
        "restrained": ["unknown"] * 3 + ["no"] * 7, "force": ["unknown"] + ["no"] * 9,
        "type_of_force_used": ["yes"] + ["no"] * 9})
    t = intervention_rates(frame, ["unit"]).set_index("measure")
    # the student of unknown status is out of E altogether (SPEC 3.2 condition 2)
    assert t.loc["ata", ["x", "n", "unknown"]].tolist() == [8, 9, 0]
    assert t.loc["restraint", ["x", "n", "unknown", "status"]].tolist() == [0, 6, 3, "not_published"]
    assert t.loc["force", ["x", "n", "unknown"]].tolist() == [1, 9, 0]  # Force blank: Type Of Force decides
    assert rate_columns([1, 1], [9, 8], [1, 1])["status"].tolist() == ["ok", "incomplete"]  # U = 0.10, 0.11
