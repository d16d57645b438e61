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
