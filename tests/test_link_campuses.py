"""Campus linkage: NYPD Student Safety Act campus strings -> DOE buildings (link/campuses.py).

Unit tests pin the normaliser and the parser on the tricky forms met in the 12 workbooks; the
real-data tests run the linker on every campus string of the workbooks against the NYC school
directory and assert the link rates, the method mix and the precision on the hand-checked sample
``tests/data/nyc_campus_sample.csv`` (165 campuses, each decided from the directory rows by a
person, see its ``evidence`` column) exactly.
"""

from __future__ import annotations

import pandas as pd
import pytest

from nyc_ssa_cells import campus_counts
from sro_analysis.link.campuses import (
    align_initials, building_table, campus_key, compatible, correct_spelling, DirectoryIndex, link_campuses,
    link_rates, normalise_name, number_key, parse_campus, school_code,
)
from sro_analysis.schema.models import conform, validate
from sro_analysis.sources.nyc_schools_reading import read_school_directory

# ---------------------------------------------------------------------------------------------
# The normaliser and the parser


@pytest.mark.parametrize("a, b", [
    ("MS 137", "M.S. 137"), ("IS 181", "I.S. 181"), ("JHS 144", "J.H.S. 144"), ("JHS 144", "Junior High School 144"),
    ("Abraham Lincoln HS", "Abraham Lincoln H.S."), ("Abraham Lincoln HS", "Abraham Lincoln High School"),
    ("P.S. 001 The Bergen", "PS 1 Bergen"), ("Arts & Media Prep Acad", "Arts and Media Preparatory Academy"),
    ("Young Women's Leadership School", "YOUNG WOMEN LEADERSHIP SCHOOL"),
    ("JM Rapport School", "J. M. Rapport School"), ("IS/JHS 180", "IS JHS 180"), ("MS 297M", "MS 297"),
    ("William H. Maxwell Career & Technical Education HS", "WILLIAM H MAXWELL CTE HS"),
    ("Julia Richman Educational Complex", "Julia Richman Campus"),
    ("World Journalism Preparatory: A College Board School", "World Journalism Preparatory"),
    ("PS/MS 11X498 - VAN NEST ACADEMY", "PS MS VAN NEST ACADEMY"),
])
def test_spellings_of_one_name_normalise_alike(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_normalised_names_keep_what_tells_schools_apart():
    assert normalise_name("P.S. 022 Thomas Jefferson") != normalise_name("Thomas Jefferson HS")
    assert normalise_name("A. Philip Randolph Campus HS") == "A PHILIP RANDOLPH CAMPUS HS"  # 'A' is an initial
    assert not compatible("BRONX LEADERSHIP ACADEMY HS".split(), "BRONX LEADERSHIP ACADEMY II HS".split())
    assert not compatible("IS 364 ANNEX".split(), "IS 364".split())
    assert not compatible("THOMAS JEFFERSON HS".split(), "PS 22 THOMAS JEFFERSON".split())
    assert not compatible("CONEY ISLAND HS".split(), "CONEY ISLAND MS".split())
    assert compatible("RIVERDALE ACADEMY SECONDARY".split(), "RIVERDALE ACADEMY MS".split())


@pytest.mark.parametrize("raw, name, host, aliases, borough, source", [
    ("Abraham Lincoln HS(BS)", "Abraham Lincoln HS", None, [], "brooklyn", "suffix"),
    ("PS 256(Brooklyn)", "PS 256", None, [], "brooklyn", "suffix"),
    ("Adlai Stevenson HS(XE) ", "Adlai Stevenson HS", None, [], "bronx", "suffix"),
    ("PS 50(Bx)", "PS 50", None, [], "bronx", "suffix"),
    ("PS 192 # 2(Manhatan)", "PS 192 # 2", None, [], "manhattan", "suffix"),
    ("Stephen T. Mather Building Arts & Craftsmanship HS(ManSouth)",
     "Stephen T. Mather Building Arts & Craftsmanship HS", None, [], "manhattan", "suffix"),
    ("Urban Assembly School for Criminal Justice (Bklyn)", "Urban Assembly School for Criminal Justice", None, [],
     "brooklyn", "suffix"),
    ("47 THE AMERICAN SIGN LANGUAGE & ENGLISH SECONDARY SCHOOL(MS)",
     "47 THE AMERICAN SIGN LANGUAGE & ENGLISH SECONDARY SCHOOL", None, [], "manhattan", "suffix"),
    ("THE URBAN ASSEMBLY SCHOOL FOR MEDIA STUDIES(MLK Educational Campus)",
     "THE URBAN ASSEMBLY SCHOOL FOR MEDIA STUDIES", None, ["MLK Educational Campus"], None, None),
    ("City Knoll Middle School (02M933)", "City Knoll Middle School", None, ["02M933"], "manhattan", "code_letter"),
    ("College Point Collaborative (MS 379Q)", "College Point Collaborative", None, ["MS 379Q"], "queens",
     "code_letter"),
    ("QUEENS TECHNICAL HS (Queens-former:Qns Voc & Tech HS)", "QUEENS TECHNICAL HS", None, ["Qns Voc & Tech HS"],
     "queens", "suffix"),
    ("Digital Arts & Cinema Technology High School (Global Studies-BS)",
     "Digital Arts & Cinema Technology High School", None, ["Global Studies"], "brooklyn", "suffix"),
    ("Bronx Collegiate Academy(XW)Old Bronx Expeditionary Learning HS", "Bronx Collegiate Academy", None,
     ["Old Bronx Expeditionary Learning HS"], "bronx", "suffix"),
    ("GEORGE WASHINGTON CARVER HIGH SCHOOL FOR THE SCIENCES(Queens)(QS)",
     "GEORGE WASHINGTON CARVER HIGH SCHOOL FOR THE SCIENCES", None, [], "queens", "suffix"),
    ("MS 297M@PS/IS 323M", "MS 297M", "PS/IS 323M", [], "manhattan", "code_letter"),
    ("ART & DESIGN HS @PS 59M(MS)", "ART & DESIGN HS", "PS 59M", [], "manhattan", "suffix"),
    ("Explore Exceed Charter School@K022", "Explore Exceed Charter School", "K022", [], "brooklyn", "code_letter"),
    ("Claremont International High School", "Claremont International High School", None, [], None, None),
])
def test_parse_campus_splits_name_host_aliases_and_borough(raw, name, host, aliases, borough, source):
    p = parse_campus(raw)
    assert (p["name"], p["host"], p["aliases"], p["borough"], p["borough_source"]) == (
        name, host, aliases, borough, source)


def test_the_borough_command_is_kept_only_for_command_codes():
    assert [parse_campus(c)["command"] for c in ["IS 218(BN)", "PS 256(Brooklyn)", "P4@P179(QS)"]] == [
        "BN", None, "QS"]


@pytest.mark.parametrize("text, code", [
    ("City Knoll Middle School (02M933)", "M933"), ("PS 191M", "M191"), ("P723X", "X723"), ("P009Q@Q268", "Q009"),
    ("Q268", "Q268"), ("PreK Center @ 1258 65th Street (UPK695K)", "K695"), ("PS 256", None),
    ("PS 1258 65th Street", None),
])
def test_school_code_reads_doe_codes_only(text, code):
    assert school_code(text) == code


def test_number_keys_and_initials():
    assert number_key("PS 256") == (frozenset({"PS"}), 256)
    assert number_key("P 721 OTC") == (frozenset({"P"}), 721)
    assert number_key("BRONX HS 2") is None  # HS + number is not a numbered school of a PS/IS/MS family
    assert align_initials(["THEODORE", "ROOSEVELT", "HS"], ["T", "ROOSEVELT", "EVENING", "HS", "TR"])[0] == [
        "T", "ROOSEVELT", "HS"]
    assert campus_key("  Adlai  Stevenson HS(XE) ") == "ADLAI STEVENSON HS(XE)"


# ---------------------------------------------------------------------------------------------
# The linker on small directories


def _directory(rows) -> pd.DataFrame:
    cols = ["school_year", "dbn", "location_code", "building_code", "location_name", "address", "borough"]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.assign(is_building_total=False, lat=pd.NA, lon=pd.NA)


SMALL = _directory([
    ("2015-16", "15K001", "K001", "K001", "P.S. 001 The Bergen", "309 47 STREET", "brooklyn"),
    ("2015-16", "30Q001", "Q001", "Q001", "P.S. 001 Queens", "1 QUEENS BLVD", "queens"),
    ("2015-16", "21K410", "K410", "K410", "Abraham Lincoln High School", "2800 OCEAN PARKWAY", "brooklyn"),
    ("2015-16", "21K411", "K411", "K410", "Abraham Lincoln Yabc", "2800 OCEAN PARKWAY", "brooklyn"),
    ("2015-16", "19K364", "K364", "K364", "I.S. 364 Gateway", "1426 FREEPORT LOOP", "brooklyn"),
    ("2015-16", "13K648", "K648", "K324", "Bedford Stuyvesant Collegiate Charter School", "800 GATES AVENUE",
     "brooklyn"),
    ("2015-16", "13K648", "K648", "K458", "Bedford Stuyvesant Collegiate Charter School", "832 MARCY AVENUE",
     "brooklyn"),
    ("2015-16", "11X415", "X415", "X415", "C Columbus Hs Yabc", "925 ASTOR AVENUE", "bronx"),
    ("2015-16", "11X232", "X232", "X082", "I.S. 232", "1700 MACOMBS ROAD", "bronx"),
])


def test_numbers_repeat_across_boroughs_and_the_suffix_decides():
    links = link_campuses(pd.DataFrame({"campus": ["PS 1(BS)", "PS 1(QS)", "PS 1 (Queens)"]}), SMALL)
    assert links.set_index("campus")["building_code"].to_dict() == {
        "PS 1 (Queens)": "Q001", "PS 1(BS)": "K001", "PS 1(QS)": "Q001"}
    assert set(links["method"]) == {"school_number"}


def test_a_bare_number_without_borough_is_never_linked():
    links = link_campuses(pd.DataFrame({"campus": ["IS 232", "IS 232(XW)"]}), SMALL).set_index("campus")
    assert pd.isna(links.at["IS 232", "building_code"]) and links.at["IS 232", "reason"] == "no_match"
    assert links.at["IS 232(XW)", "building_code"] == "X082"


def test_schools_of_one_building_are_one_campus_but_two_buildings_are_ambiguous():
    links = link_campuses(pd.DataFrame({"campus": [
        "ABRAHAM LINCOLN HS(BS)", "Bedford Stuyvesant Collegiate Charter School(BN)"]}), SMALL).set_index("campus")
    assert links.at["ABRAHAM LINCOLN HS(BS)", "building_code"] == "K410"
    bed = links.loc["Bedford Stuyvesant Collegiate Charter School(BN)"]
    assert pd.isna(bed["building_code"]) and bed["ambiguous"] and bed["reason"] == "ambiguous"
    assert bed["n_candidates"] == 2 and "K324" in bed["candidates"] and "K458" in bed["candidates"]


def test_an_annex_is_another_building():
    links = link_campuses(pd.DataFrame({"campus": ["IS 364 Annex(BN)", "IS 364(BN)"]}), SMALL).set_index("campus")
    assert pd.isna(links.at["IS 364 Annex(BN)", "building_code"])
    assert links.at["IS 364(BN)", "building_code"] == "K364"


def test_a_program_named_after_the_campus_finds_the_old_high_school():
    links = link_campuses(pd.DataFrame({"campus": ["CHRISTOPHER COLUMBUS HS(XE)"]}), SMALL)
    assert links.loc[0, ["building_code", "method"]].tolist() == ["X415", "name_fuzzy"]


def test_the_crosswalk_wins_and_can_say_none():
    crosswalk = pd.DataFrame({"campus": ["Abraham Lincoln HS(BS) ", "PS 1(BS)"], "building_code": ["K999", "none"]})
    links = link_campuses(pd.DataFrame({"campus": ["Abraham Lincoln HS(BS)", "PS 1(BS)", "PS 1(QS)"]}), SMALL,
                          crosswalk).set_index("campus")
    assert links.loc["Abraham Lincoln HS(BS)", ["building_code", "method", "reason"]].tolist() == [
        "K999", "crosswalk", "crosswalk"]
    assert pd.isna(links.at["PS 1(BS)", "building_code"]) and links.at["PS 1(BS)", "reason"] == "crosswalk_none"
    assert links.at["PS 1(QS)", "method"] == "school_number"


def test_a_crosswalk_giving_two_buildings_for_one_campus_is_refused():
    crosswalk = pd.DataFrame({"campus": ["PS 1(BS)", "ps 1(bs) "], "building_code": ["K001", "K002"]})
    with pytest.raises(ValueError, match="two buildings"):
        link_campuses(pd.DataFrame({"campus": ["PS 1(BS)"]}), SMALL, crosswalk)


def test_nypd_offices_are_not_schools():
    links = link_campuses(pd.DataFrame({"campus": ["Brooklyn North Borough Office", "PS 132 ANNEX Suspension Site(MN)"]}),
                          SMALL)
    assert links["reason"].tolist() == ["not_a_school", "not_a_school"]


def test_same_links_in_any_input_order():
    campuses = pd.DataFrame({"campus": ["PS 1(BS)", "IS 232(XW)", "ABRAHAM LINCOLN HS(BS)", "PS 1(BS)"]})
    a = link_campuses(campuses, SMALL)
    b = link_campuses(campuses.iloc[::-1], SMALL.iloc[::-1])
    pd.testing.assert_frame_equal(a, b)


def test_spelling_is_corrected_only_to_one_directory_word():
    index = DirectoryIndex(SMALL)
    assert correct_spelling("ABRAHAM LINKOLN HS", index) == "ABRAHAM LINCOLN HS"
    assert correct_spelling("ADLAI STEVENSON HS", index) == "ADLAI STEVENSON HS"


def test_a_directory_without_the_needed_columns_is_an_error():
    with pytest.raises(ValueError, match="lacks column"):
        link_campuses(pd.DataFrame({"campus": ["PS 1(BS)"]}), SMALL.drop(columns="building_code"))


# ---------------------------------------------------------------------------------------------
# The real files


@pytest.fixture(scope="module")
def real(shared_data):
    counts = campus_counts(shared_data / "nyc-ssa" / "school")
    directory = read_school_directory(sorted((shared_data / "nyc-schools").glob("*.csv")))
    links = link_campuses(pd.DataFrame({"campus": sorted(counts)}), directory)
    interventions = pd.DataFrame({"campus": [c for c, n in sorted(counts.items()) for _ in range(n)]})
    return counts, directory, links, interventions


@pytest.mark.real
@pytest.mark.slow
def test_link_rates_on_every_campus_string(real):
    counts, _, links, interventions = real
    assert len(links) == 1582 and len(interventions) == 20138
    linked = links[links["building_code"].notna()]
    assert len(linked) == 1407  # 88.9 % of the distinct campus strings
    assert sum(counts[c] for c in linked["campus"]) == 18407  # 91.4 % of the interventions
    assert link_rates(links, interventions) == {"campuses": 1407 / 1582, "interventions": 18407 / 20138}


@pytest.mark.real
@pytest.mark.slow
def test_method_and_reason_mix(real):
    counts, _, links, _ = real
    by_method = links.groupby("method")["campus"].agg(["size", lambda c: sum(counts[x] for x in c)])
    assert by_method.to_dict("index") == {
        "building_number": {"size": 58, "<lambda_0>": 708}, "campus_at": {"size": 8, "<lambda_0>": 141},
        "campus_street": {"size": 1, "<lambda_0>": 292}, "name_exact": {"size": 569, "<lambda_0>": 8720},
        "name_fuzzy": {"size": 118, "<lambda_0>": 2369}, "none": {"size": 161, "<lambda_0>": 1695},
        "not_a_school": {"size": 14, "<lambda_0>": 36}, "school_code": {"size": 13, "<lambda_0>": 129},
        "school_number": {"size": 640, "<lambda_0>": 6048}}
    assert links["reason"].value_counts().to_dict() == {
        "linked": 1407, "no_match": 67, "low_score": 66, "ambiguous": 15, "not_a_school": 14,
        "host_unlinked": 11, "command_mismatch": 2}
    assert int(links["ambiguous"].sum()) == 15


@pytest.mark.real
@pytest.mark.slow
def test_precision_on_the_hand_checked_sample(real):
    _, _, links, _ = real
    sample = _sample()
    assert set(sample["campus"]) <= set(links["campus"])
    judged = sample.merge(links, on="campus", how="left")
    judged["linked"] = judged["building_code"].notna()
    judged["right"] = judged["linked"] & (judged["building_code"] == judged["correct_building_code"])
    result = judged.groupby("sample").agg(n=("campus", "size"), linked=("linked", "sum"), right=("right", "sum"))
    assert result.to_dict("index") == {"first": {"n": 125, "linked": 99, "right": 98},
                                       "holdout": {"n": 40, "linked": 33, "right": 33}}
    wrong = judged[judged["linked"] & ~judged["right"]]
    assert wrong[["campus", "building_code", "correct_building_code"]].values.tolist() == [
        ["KAPPA I(XE)", "X148", "none"]]
    assert judged["right"].sum() / judged["linked"].sum() >= 0.98


def _sample() -> pd.DataFrame:
    from pathlib import Path

    return pd.read_csv(Path(__file__).parent / "data" / "nyc_campus_sample.csv", keep_default_na=False)


def test_the_sample_is_stratified_and_every_row_has_evidence():
    sample = _sample()
    assert sample.groupby(["sample", "stratum"]).size().to_dict() == {
        ("first", "abbreviations"): 20, ("first", "campus_or_old_high_school"): 25, ("first", "no_borough"): 15,
        ("first", "numbered"): 25, ("first", "parentheses_or_host"): 20, ("first", "plain_name"): 20,
        ("holdout", "abbreviations"): 7, ("holdout", "campus_or_old_high_school"): 8, ("holdout", "no_borough"): 4,
        ("holdout", "numbered"): 8, ("holdout", "parentheses_or_host"): 6, ("holdout", "plain_name"): 7}
    assert not sample["campus"].duplicated().any()
    assert (sample["evidence"].str.len() > 20).all()
    codes = sample["correct_building_code"]
    assert codes.str.fullmatch(r"none|[KMXQR][0-9A-Z]{3}").all()
    assert set(sample.loc[codes == "none", "basis"]) <= {"not_in_directory", "ambiguous", "not_a_school"}


@pytest.mark.real
@pytest.mark.slow
def test_borough_commands_agree_with_the_buildings_they_link_to(real):
    """BS/BN link only to Brooklyn buildings, MS/MN Manhattan, XE/XW Bronx, QS/QN Queens, SI Staten Island;
    and each split borough's halves lie where their names say (mean position of their buildings)."""
    _, directory, links, _ = real
    strong = links[links["method"].isin(["school_code", "name_exact", "school_number"])].copy()
    strong["command"] = strong["campus"].map(lambda c: parse_campus(c)["command"])
    strong = strong.dropna(subset=["command"])
    letters = strong.groupby("command")["building_code"].agg(lambda b: "".join(sorted(set(b.str[0]))))
    assert letters.to_dict() == {"BN": "K", "BS": "K", "MN": "M", "MS": "M", "QN": "Q", "QS": "Q", "SI": "R",
                                 "XE": "X", "XW": "X"}
    where = directory.dropna(subset=["lat", "lon"]).groupby("building_code")[["lat", "lon"]].median()
    mean = strong.join(where, on="building_code").groupby("command")[["lat", "lon"]].mean()
    assert mean.at["BN", "lat"] > mean.at["BS", "lat"] and mean.at["MN", "lat"] > mean.at["MS", "lat"]
    assert mean.at["QN", "lat"] > mean.at["QS", "lat"] and mean.at["XE", "lon"] > mean.at["XW", "lon"]


@pytest.mark.real
@pytest.mark.slow
def test_outputs_are_registry_tables_and_the_building_table_adds_up(real):
    _, directory, links, _ = real
    validate(conform(links, "campus_links"), "campus_links")
    buildings = building_table(directory)
    validate(conform(buildings, "buildings"), "buildings")
    assert buildings.shape == (4738, 12)
    assert buildings.groupby("school_year").size().to_dict() == {
        "2013-14": 1179, "2014-15": 1192, "2015-16": 1189, "2016-17": 1178}
    lincoln = buildings.set_index(["building_code", "school_year"]).loc[("K410", "2014-15")]
    assert (lincoln["register_total"], lincoln["register_building_total"], lincoln["dbns"]) == (
        2594, 2594, "21K410;21K411")
    # 2016-17 registers are not read (not row-aligned in that export): never a total
    assert buildings.loc[buildings["school_year"] == "2016-17", "register_total"].isna().all()
    assert set(links["building_code"].dropna()) <= set(buildings["building_code"])
