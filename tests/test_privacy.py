"""Tests of ``sro_analysis.privacy``: the salt rules and the leak scans, on planted examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from sro_analysis.privacy import (
    DEFAULT_SALT, Leak, SaltError, check_salt, load_salt, officer_key, scan_html, scan_release,
)

GOOD = "a-perfectly-good-salt-0123"


def kinds(leaks: list[Leak]) -> set[str]:
    return {leak.kind for leak in leaks}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- salt ---------------------------------------------------------------------------------------

def test_salt_from_environment_wins():
    assert load_salt({"SRO_ANALYSIS_SALT": GOOD, "SRO_ANALYSIS_SALT_FILE": "/nowhere"}) == GOOD


def test_salt_from_named_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not inside a git checkout
    outside = tmp_path / "secrets"
    outside.mkdir()
    salt_file = write(outside, "salt", GOOD + "\n")
    assert load_salt({"SRO_ANALYSIS_SALT_FILE": str(salt_file)}) == GOOD


def test_salt_from_default_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".config" / "sro-analysis").mkdir(parents=True)
    write(tmp_path / ".config" / "sro-analysis", "salt", GOOD)
    assert load_salt({}) == GOOD


def test_missing_salt_is_refused_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SaltError) as err:
        load_salt({})
    assert "export SRO_ANALYSIS_SALT=" in str(err.value) and "~/.config/sro-analysis/salt" in str(err.value)
    with pytest.raises(SaltError, match="does not exist"):
        load_salt({"SRO_ANALYSIS_SALT_FILE": str(tmp_path / "missing")})


def test_default_and_short_salts_are_refused():
    with pytest.raises(SaltError, match="default"):
        check_salt(DEFAULT_SALT)
    with pytest.raises(SaltError, match="fewer than 16"):
        check_salt("0123456789abcde")
    assert check_salt("0123456789abcdef") == "0123456789abcdef"
    with pytest.raises(SaltError, match="no salt"):
        check_salt("   ")


def test_salt_file_inside_output_or_repository_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "release"
    out.mkdir()
    inside = write(out, "salt", GOOD)
    with pytest.raises(SaltError, match="lies inside"):
        load_salt({"SRO_ANALYSIS_SALT_FILE": str(inside)}, forbidden=[out])
    repo_file = Path(__file__).resolve().parents[1] / ".pytest-salt-probe"
    repo_file.write_text(GOOD)
    try:
        with pytest.raises(SaltError, match="lies inside"):
            load_salt({"SRO_ANALYSIS_SALT_FILE": str(repo_file)})
    finally:
        repo_file.unlink()


def test_officer_key_is_salted_and_stable():
    a = officer_key("off-0000000000000001", GOOD)
    assert a == officer_key("off-0000000000000001", GOOD)
    assert a != officer_key("off-0000000000000001", GOOD + "x")
    assert len(a) == 12 and int(a, 16) >= 0


# -- release scan ---------------------------------------------------------------------------------

def test_clean_aggregate_table_passes(tmp_path):
    write(tmp_path, "rates_by_school.csv",
          "measure,unit_type,unit_id,school_year,group_type,group,numerator,denominator,unknown,unknown_share,"
          "rate,ci_low,ci_high,ci_method,incomplete_outcomes,withheld_unknown,unstable,rate_display,suppressed,"
          "suppression_reason\n"
          "ata,school,609966,2018-19,all,all,35,100,0,0.0,0.35,0.26,0.45,wilson,false,false,false,35.0%,false,\n"
          "ata,school,610001,2018-19,all,all,,40,,,,,,wilson,false,false,false,,true,primary_small_count\n")
    assert scan_release(tmp_path) == []


@pytest.mark.parametrize("text, kind", [
    ("school_id,race_ethnicity,n\nA,black,40\n", "restricted_column"),
    ("school_id,person_key,n\nA,abc,40\n", "restricted_column"),
    ("incident_id,school_id\ninc-0123456789abcdef,A\n", "subject_level"),
    ("school_id,when,n\nA,2019-03-04,40\n", "fine_date"),
    ("school_id,when,n\nA,3/4/2019,40\n", "fine_date"),
    ("school_id,school_year,n\nA,2018-19,3\n", "small_count"),
    ("school_id,lat,lon\nA,41.88,-87.63\n", "coordinates"),
    ("school_id,where,n\nA,032XX W ADAMS ST,40\n", "coordinates"),
    ("school_id,numerator,denominator,rate\nA,4,50,0.08\n", "small_rate"),
    ("school_id,denominator,rate\nA,50,0.92\n", "small_rate"),  # complement 4, numerator implied
    ("school_id,numerator,denominator,rate\nA,0,15,0.0\n", "small_rate"),  # all-or-none below 20
    ("officer_name,n\n\"SMITH, ANN\",40\n", "officer_name"),
])
def test_scan_catches_each_kind_of_leak(tmp_path, text, kind):
    write(tmp_path, "planted.csv", text)
    found = scan_release(tmp_path)
    assert kind in kinds(found), found
    assert all(leak.file == "planted.csv" for leak in found)


def test_scan_knows_record_tables_and_small_counts_by_row(tmp_path):
    write(tmp_path, "incidents.csv", "school_year,location_type\n2018-19,school_building\n")
    write(tmp_path, "outcome_counts_by_school_year.csv",
          "school_id,school_year,outcome_class,n,n_display,suppressed\n"
          "A,2018-19,custody,40,40,false\nA,2018-19,citation_summons,3,3,false\n")
    leaks = scan_release(tmp_path)
    assert [(lk.file, lk.kind) for lk in leaks if lk.kind == "subject_level"] == [("incidents.csv", "subject_level")]
    small = [lk for lk in leaks if lk.kind == "small_count"]
    assert [(lk.column, lk.row) for lk in small] == [("n", 2)]


def test_scan_respects_min_n_and_audit_tables(tmp_path):
    write(tmp_path, "t.csv", "school_id,n\nA,7\n")
    assert kinds(scan_release(tmp_path, min_n=10)) == {"small_count"}
    assert scan_release(tmp_path, min_n=5) == []
    # row accounting counts file rows, not people: audit tables are exempt from the small-cell rule
    write(tmp_path, "ledger_summary.csv", "source_file,rows,kept,merged,rejected,rejected_by_reason\na.csv,3,2,0,1,x: 1\n")
    assert scan_release(tmp_path, min_n=5) == []


def test_scan_reads_parquet_types(tmp_path):
    import pandas as pd

    pd.DataFrame({"school_id": ["A"], "when": pd.to_datetime(["2019-03-04"])}).to_parquet(tmp_path / "t.parquet")
    assert "fine_date" in kinds(scan_release(tmp_path))


def test_officer_names_allowed_when_the_release_says_names(tmp_path):
    write(tmp_path, "t.csv", "officer_name,n\n\"SMITH, ANN\",40\n")
    assert "officer_name" in kinds(scan_release(tmp_path))
    assert scan_release(tmp_path, officer_identity="names") == []


# -- HTML scan ------------------------------------------------------------------------------------

def test_scan_html(tmp_path):
    page = write(tmp_path, "report.html", """<html><body><p>Report for SMITH, ANN's school</p>
      <table><tr><th>school</th><th>n</th><th>rate</th></tr>
        <tr><td>A</td><td>4</td><td>20%</td></tr><tr><td>B</td><td>1,204</td><td>31%</td></tr></table>
      <table><tr><th>school year</th><th>date</th></tr><tr><td>2018-19</td><td>2019-03-04</td></tr></table>
      </body></html>""")
    leaks = scan_html(page, officer_names=["SMITH, ANN", "JONES, BOB"])
    assert sorted((lk.kind, lk.column, lk.row) for lk in leaks) == [
        ("fine_date", "date", 1), ("officer_name", None, None), ("small_count", "n", 1)]
    assert scan_html(page, officer_identity="names", officer_names=["SMITH, ANN"]) == [
        lk for lk in leaks if lk.kind != "officer_name"]


def test_clean_html_passes(tmp_path):
    page = write(tmp_path, "ok.html", "<table><tr><th>school</th><th>n</th></tr><tr><td>A</td><td>&lt;10</td></tr>"
                                      "<tr><td>B</td><td>0</td></tr><tr><td>C</td><td>45</td></tr></table>")
    assert scan_html(page) == []
