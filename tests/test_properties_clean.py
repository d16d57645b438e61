"""Properties of cleaning messy raw files (mapped adapter, tests/corpus/mapping.yaml layout).

hypothesis writes small files mixing valid rows, blank lines, bad dates, unmapped labels, exact
and conflicting duplicates in any order, and checks that every raw row is accounted for exactly
once, that cleaning is idempotent (tables, ledger and saved bytes), and that row order changes
no id.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from sro_analysis.clean import clean
from sro_analysis.sources.base import CleanContext, SourceFile
from sro_analysis.sources.mapped import adapters_from_mapping

MAPPING = ROOT / "tests" / "corpus" / "mapping.yaml"
HEADER = ("Report #,Incident Date,Time,Campus Code,Officer Badge,Officer Last,Officer First,Subject Type,"
          "Age,Race,Gender,Result")
UOF = adapters_from_mapping(MAPPING)[0]
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

valid_row = st.builds(
    lambda key, day, age, race, result: f"P-{key},03/{day:02d}/2022,10:00,RHS,4411,Baker,Dana,Suspect,{age},{race},F,{result}",
    st.integers(1, 12), st.integers(1, 28), st.integers(5, 19), st.sampled_from(["B", "W", "H", "A", ""]),
    st.sampled_from(["Arrested", "Warning", "", "warning"]))
bad_row = st.one_of(
    st.just(""),  # blank line inside the data
    st.builds(lambda k: f"Q-{k},31/02/2022,10:00,RHS,4411,Baker,Dana,Suspect,15,B,F,Warning", st.integers(1, 5)),
    st.builds(lambda k: f"Q-{k},03/01/2022,10:00,RHS,4411,Baker,Dana,Suspect,15,B,F,Sent to the moon", st.integers(1, 5)),
    st.builds(lambda k: f"Q-{k},03/01/2022,10:00,RHS,4411,Baker,Dana,Suspect,15,Z,F,Warning", st.integers(1, 5)),
    st.just("Q-9,03/01/2022,10:00,RHS"),  # malformed: too few cells
)


@st.composite
def messy_rows(draw) -> list[str]:
    """Data lines: valid rows with exact copies and conflicting versions, bad rows, any order."""
    rows = draw(st.lists(valid_row, min_size=1, max_size=10))
    copies = draw(st.lists(st.sampled_from(rows), max_size=4))  # exact duplicates (same key, same content)
    conflicts = [r.replace(",Baker,Dana,", ",Baker,Dane,") for r in draw(st.lists(st.sampled_from(rows), max_size=2))]
    bad = draw(st.lists(bad_row, max_size=5))
    lines = draw(st.permutations(rows + copies + conflicts + bad))
    # Trailing blank lines are not rows (the reader drops them); keep a data row last.
    return [*lines, rows[0]] if lines[-1] == "" else lines


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _load(path: Path):
    out = UOF.load([SourceFile(path, path.name)], CleanContext(raw_dir=path.parent))
    return out.tables, out.ledger.to_frame()


def _has_conflicts(lines: list[str]) -> bool:
    by_key: dict[str, set[str]] = {}
    for line in lines:
        cells = line.split(",")
        if len(cells) == 12 and cells[0]:
            by_key.setdefault(cells[0], set()).add(line)
    return any(len(v) > 1 for v in by_key.values())


@SETTINGS
@given(messy_rows())
def test_every_row_is_kept_merged_or_rejected_exactly_once(lines):
    with tempfile.TemporaryDirectory() as tmp:
        tables, ledger = _load(_write(Path(tmp), "uof.csv", lines))
    assert ledger["source_row"].tolist() == list(range(1, len(lines) + 1))
    counts = ledger["status"].value_counts()
    assert int(counts.sum()) == len(lines)
    # kept rows are exactly the incidents; merged rows point at a kept record
    assert int(counts.get("kept", 0)) == len(tables.get("incidents", [])) == ledger["record_id"].dropna().nunique()
    merged = ledger[ledger["status"] == "merged"]
    assert set(merged["record_id"]) <= set(ledger.loc[ledger["status"] == "kept", "record_id"])
    rejected = ledger[ledger["status"] == "rejected"]
    assert rejected["reason"].notna().all() and rejected["message"].notna().all()
    expected_bad = sum(1 for line in lines if line == "" or line.startswith("Q-"))
    assert (rejected["reason"] != "conflicting_duplicate_key").sum() == expected_bad


@SETTINGS
@given(messy_rows(), st.randoms(use_true_random=False))
def test_reordering_rows_changes_no_id(lines, rnd):
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    shuffled = [*shuffled, lines[-1]] if shuffled[-1] == "" else shuffled
    with tempfile.TemporaryDirectory() as tmp:
        a, led_a = _load(_write(Path(tmp), "a.csv", lines))
        b, led_b = _load(_write(Path(tmp), "a.csv", shuffled))
    assert sorted(a["incidents"]["incident_id"]) == sorted(b["incidents"]["incident_id"])
    if not _has_conflicts(lines):
        # Without conflicting versions, which row is "first" does not matter: every id is equal.
        for name in ("incident_subjects", "outcomes", "incident_officers", "officers"):
            key = a[name].columns[0]
            assert sorted(a[name][key]) == sorted(b[name][key]), name
        assert led_a["status"].value_counts().to_dict() == led_b["status"].value_counts().to_dict()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_rows())
def test_cleaning_twice_gives_identical_tables_ledger_and_bytes(lines):
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        raw.mkdir()
        _write(raw, "uof.csv", lines)
        adapters = adapters_from_mapping(MAPPING)
        one = clean("mapped", raw, adapters=adapters, progress=False)
        two = clean("mapped", raw, adapters=adapters, progress=False)
        for name, frame in one.tables.items():
            pd.testing.assert_frame_equal(frame, two.tables[name], obj=name)
        pd.testing.assert_frame_equal(one.ledger, two.ledger)
        one.save(Path(tmp) / "one")
        two.save(Path(tmp) / "two")
        files = sorted(p.relative_to(Path(tmp) / "one") for p in (Path(tmp) / "one").rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(Path(tmp) / "two") for p in (Path(tmp) / "two").rglob("*") if p.is_file())
        for rel in files:
            assert (Path(tmp) / "one" / rel).read_bytes() == (Path(tmp) / "two" / rel).read_bytes(), rel
