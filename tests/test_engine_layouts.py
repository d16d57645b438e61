"""Engine additions made while porting the Chicago sources: documentation names, excluded columns,
rows set aside before the derivation."""

from __future__ import annotations

from pathlib import Path

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.discover import discover
from sro_analysis.clean.read import is_data_candidate


def test_licence_and_readme_texts_with_a_suffix_are_documentation(tmp_path):
    names = {"LICENSE-datamade-justice-divided.txt": False, "README_2014.txt": False, "NOTICE": False,
             "license_plates.csv": True, "notices.txt": True, "arrests.txt": True}
    assert {n: is_data_candidate(Path(n)) for n in names} == names
    (tmp_path / "LICENSE-datamade-justice-divided.txt").write_text("MIT License\n\nCopyright (c) 2015 DataMade\n")
    (tmp_path / "a.csv").write_text("id\n1\n")
    inv = discover(tmp_path, [Source("demo", "demo", (Layout("rows", (Col("id", need=True),)),), derive=None)])
    assert [p.label for p in inv.plans] == ["a.csv"] and not inv.unused
    assert inv.not_data == [("LICENSE-datamade-justice-divided.txt", "documentation or manifest (not a data file)")]


def test_a_layout_never_takes_a_header_holding_a_column_it_excludes(tmp_path):
    roster = Layout("roster", (Col("row_id", need=True), Col("last_name", need=True), Col("star1")),
                    excludes=("trr_id",))
    reports = Layout("officer_reports", (Col("trr_id", need=True), Col("last_name", need=True)))
    sources = [Source("roster", "r", (roster,), derive=None), Source("reports", "t", (reports,), derive=None)]
    (tmp_path / "roster.csv").write_text("row_id,last_name,star1\n1,AARON,13001\n")
    # More cells match the roster layout (3 against 2), but trr_id marks a report table.
    (tmp_path / "trr.csv").write_text("row_id,trr_id,last_name,star1\n1,55,COLLINS,4827\n")
    inv = discover(tmp_path, sources)
    assert sorted((p.label, p.layout.name) for p in inv.plans) == [("roster.csv", "roster"), ("trr.csv", "officer_reports")]
    (tmp_path / "trr.csv").write_text("row_id,TRR ID,last_name\n1,55,COLLINS\n")
    inv = discover(tmp_path, sources[:1])
    assert [u.label for u in inv.unused] == ["trr.csv"]
    assert inv.unused[0].reason.startswith("no layout of the chosen sources recognises its header")


def test_a_derivation_sees_which_rows_the_engine_set_aside(tmp_path):
    from cleaning import clean_files
    from sro_analysis.clean.derive import Derived, concat_fates, rejected

    seen = {}

    def derive(ctx):
        seen["aside"] = ctx.set_aside("rows")
        seen["staged"] = ctx.frame("rows")["source_row"].tolist()
        return Derived(fates=[concat_fates([rejected(ctx.frame("rows"), "not_needed", "test")])])

    layout = Layout("rows", (Col("id", need=True), Col("n", need=True, kind="count")))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("id,n\n1,2\n\n2,x\n1,2\n3,4,5\n4,1\nnote,\n")
    clean_files(tmp_path / "run", {"a.csv": raw / "a.csv"}, [Source("demo", "demo", (layout,), derive)])
    assert seen["staged"] == [1, 6]
    assert seen["aside"][["source_row", "reason"]].values.tolist() == [
        [2, "blank_line"], [3, "invalid_number"], [4, "duplicate_row_in_file"], [5, "malformed_line"], [7, "footer_row"]]
