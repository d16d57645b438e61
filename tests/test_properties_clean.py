"""Properties of cleaning messy raw files (the engine, with the tests/corpus/mapping.yaml source).

hypothesis writes small files mixing valid rows, blank lines, bad dates, unmapped labels, exact
and conflicting duplicates in any order, and checks that every raw row is accounted for exactly
once, that cleaning is idempotent (tables, ledger and saved bytes), and that the order of the
rows changes nothing: not an id, not a table, not the fate of any row.

Why the last one holds (and failed before): rows sharing a record key follow one rule that does
not look at their order (:func:`sro_analysis.clean.derive.resolve_keys`): the same values merge,
different values reject every version. The earlier rule kept the *first* row of a key and merged
a later copy only when it equalled the row kept, so with a row A, its exact copy A' and a
conflicting version B, the order A, B, A' gave {kept 1, merged 1, rejected 1} and B, A, A' gave
{kept 1, rejected 2}. The failure hypothesis reported under that code (``{'merged': 1} !=
{'merged': 2}``, no conflicting key) came from this test itself: when the shuffle put a blank line
last, it appended a copy of a row to the shuffled file (a trailing blank line is not a row), so
the two files did not hold the same rows. A reordering here is a permutation that keeps a
non-blank line last.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from sro_analysis.clean import clean, run_sources
from sro_analysis.sources.mapped import sources_from_mapping

MAPPING = ROOT / "tests" / "corpus" / "mapping.yaml"
HEADER = ("Report #,Incident Date,Time,Campus Code,Officer Badge,Officer Last,Officer First,Subject Type,"
          "Age,Race,Gender,Result")
SOURCES = sources_from_mapping(MAPPING)
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


def reorder(lines: list[str], rnd) -> list[str]:
    """A permutation of the rows with a non-blank line last (a trailing blank line would not be a row)."""
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    if shuffled[-1] == "":
        last = max(i for i, line in enumerate(shuffled) if line)
        shuffled[-1], shuffled[last] = shuffled[last], shuffled[-1]
    return shuffled


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _run(folder: Path, lines: list[str]):
    """Steps 1-4 of a clean (discover, stage, derive, account) of one file holding ``lines``."""
    raw = folder / "raw"
    _write(raw, "uof.csv", lines)
    return run_sources(raw, SOURCES, work=folder / "work", parameters={}, salt=None, allow_unused=False,
                       scheduler=None, memory_limit="512MB", progress=False)


def _ledger_by_content(run, lines: list[str]) -> Counter:
    """Each raw line with its fate (messages name row numbers, so they are left out)."""
    led = run.ledger.astype(object).where(run.ledger.notna(), None)
    return Counter((lines[r.source_row - 1], r.status, r.reason, r.table, r.record_id, r.column, r.value)
                   for r in led.itertuples())


@pytest.mark.slow
@SETTINGS
@given(messy_rows())
def test_every_row_is_kept_merged_or_rejected_exactly_once(lines):
    with tempfile.TemporaryDirectory() as tmp:
        run = _run(Path(tmp), lines)
    ledger, incidents = run.ledger, run.tables["incidents"]
    assert ledger["source_row"].tolist() == list(range(1, len(lines) + 1))
    counts = ledger["status"].value_counts()
    assert int(counts.sum()) == len(lines)
    # kept rows are exactly the incidents; merged rows point at a kept record
    kept = ledger[ledger["status"] == "kept"]
    assert len(kept) == len(incidents) == kept["record_id"].nunique()
    assert set(kept["record_id"]) == set(incidents["incident_id"])
    merged = ledger[ledger["status"] == "merged"]
    assert set(merged["record_id"]) <= set(kept["record_id"])
    rejected = ledger[ledger["status"] == "rejected"]
    assert rejected["reason"].notna().all() and rejected["message"].notna().all()
    expected_bad = sum(1 for line in lines if line == "" or line.startswith("Q-"))
    assert (rejected["reason"] != "conflicting_duplicate_key").sum() == expected_bad


@pytest.mark.slow
@SETTINGS
@given(messy_rows(), st.randoms(use_true_random=False))
# The shape of the case the earlier rule failed on: a row, its exact copy and a conflicting version.
@example(lines=["P-1,03/01/2022,10:00,RHS,4411,Baker,Dana,Suspect,9,B,F,Arrested",
                "P-1,03/01/2022,10:00,RHS,4411,Baker,Dane,Suspect,9,B,F,Arrested",
                "P-1,03/01/2022,10:00,RHS,4411,Baker,Dana,Suspect,9,B,F,Arrested",
                "P-2,03/02/2022,10:00,RHS,4411,Baker,Dana,Suspect,9,B,F,Warning"],
         rnd=random.Random(3))
# The case the earlier test failed on: a blank line the shuffle may put last.
@example(lines=["P-11,03/16/2022,10:00,RHS,4411,Baker,Dana,Suspect,9,B,F,Arrested",
                "P-11,03/16/2022,10:00,RHS,4411,Baker,Dana,Suspect,9,B,F,Arrested",
                "P-3,03/16/2022,10:00,RHS,4411,Baker,Dana,Suspect,19,B,F,Arrested", "",
                "P-1,03/01/2022,10:00,RHS,4411,Baker,Dana,Suspect,5,B,F,Arrested"],
         rnd=random.Random(0))
def test_row_order_changes_no_id_no_table_and_no_row_fate(lines, rnd):
    shuffled = reorder(lines, rnd)
    assert sorted(shuffled) == sorted(lines)
    with tempfile.TemporaryDirectory() as tmp:
        a = _run(Path(tmp) / "a", lines)
        b = _run(Path(tmp) / "b", shuffled)
    for name, frame in a.tables.items():
        other = b.tables[name]
        order = list(frame.columns)
        pd.testing.assert_frame_equal(frame.sort_values(order, ignore_index=True),
                                      other.sort_values(order, ignore_index=True), obj=name)
    assert _ledger_by_content(a, lines) == _ledger_by_content(b, shuffled)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_rows())
def test_cleaning_twice_gives_identical_tables_ledger_and_bytes(lines):
    with tempfile.TemporaryDirectory() as tmp:
        raw = _write(Path(tmp) / "raw", "uof.csv", lines).parent
        one = clean("mapped", raw, sources=SOURCES, progress=False)
        two = clean("mapped", raw, sources=SOURCES, progress=False)
        for name, frame in one.tables.items():
            pd.testing.assert_frame_equal(frame, two.tables[name], obj=name)
        pd.testing.assert_frame_equal(one.ledger, two.ledger)
        one.save(Path(tmp) / "one")
        two.save(Path(tmp) / "two")
        files = sorted(p.relative_to(Path(tmp) / "one") for p in (Path(tmp) / "one").rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(Path(tmp) / "two") for p in (Path(tmp) / "two").rglob("*") if p.is_file())
        for rel in files:
            assert (Path(tmp) / "one" / rel).read_bytes() == (Path(tmp) / "two" / rel).read_bytes(), rel
