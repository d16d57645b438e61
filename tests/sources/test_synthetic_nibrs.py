"""synthetic_nibrs.write_nibrs: the real CDE layout, same bytes for a seed, and clean() finding its truth
(also with the ledger and tables copied out by DuckDB, ``run_sources(parquet_dir=...)``)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sro_analysis.clean import clean, run_sources
from sro_analysis.sources import sources_for
from sro_analysis.synthetic_nibrs import FILES, state_sizes, write_nibrs

REAL = {"current": "LA-2016", "legacy": "LA-2012"}
CELL = re.compile(r'("(?:[^"]|"")*"|[^,]*)(?:,|$)')


def quoting(path: Path, lines: int = 300) -> tuple[list[str], str, list[set[str]]]:
    """Header cells, line end, and per column how non-empty cells are written (quoted or bare)."""
    raw = path.read_bytes()
    eol = "\r\n" if b"\r\n" in raw[:2000] else "\n"
    text = raw.decode("utf-8").split(eol)
    header = text[0].split(",")
    kinds = [set() for _ in header]
    for line in text[1:lines]:
        if not line:
            continue
        values = [m.group(1) for m in CELL.finditer(line)][:len(header)]
        for i, v in enumerate(values):
            if v not in ("", '""'):
                kinds[i].add("quoted" if v.startswith('"') else "bare")
    return header, eol, kinds


@pytest.fixture(scope="module", params=["current", "legacy"])
def small_release(request, tmp_path_factory):
    schema = request.param
    root = tmp_path_factory.mktemp(f"nibrs-{schema}")
    return schema, write_nibrs(root, states=3, incidents=9000, seed=11, schema=schema,
                               year=2018 if schema == "current" else 2014, malformed=True)


@pytest.mark.real
def test_layout_is_the_real_cde_layout(small_release, shared_data):
    schema, rel = small_release
    real = shared_data / "nibrs-louisiana" / REAL[schema]
    folder = rel.root / rel.partitions[0]
    for role, name in FILES[schema].items():
        real_header, real_eol, real_kinds = quoting(real / name)
        header, eol, kinds = quoting(folder / name)
        assert header == real_header, name
        assert eol == real_eol, name
        for column, mine, theirs in zip(header, kinds, real_kinds):
            if mine and theirs:
                # current files quote every string; legacy ones only cells that need it (a comma)
                assert mine == theirs if schema == "current" else mine <= theirs, (name, column, mine, theirs)


def test_same_seed_same_bytes(tmp_path):
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a = files(write_nibrs(tmp_path / "a", states=2, incidents=3000, seed=4, malformed=True).root)
    b = files(write_nibrs(tmp_path / "b", states=2, incidents=3000, seed=4, malformed=True).root)
    c = files(write_nibrs(tmp_path / "c", states=2, incidents=3000, seed=5, malformed=True).root)
    assert a == b
    assert a.keys() == c.keys() and a != c
    assert len(a) == 2 * 12  # 11 tables and truth.json per state


def test_truth_json_is_the_returned_truth(small_release):
    _, rel = small_release
    for part in rel.partitions:
        assert json.loads((rel.root / part / "truth.json").read_text()) == rel.truth[part]


@pytest.fixture(scope="module")
def cleaned(small_release):
    schema, rel = small_release
    return schema, rel, clean("nibrs", rel.root, progress=False)


def juvenile_rows(ds) -> pd.DataFrame:
    o = ds.outcomes.merge(ds.incident_subjects[["subject_id", "age_at_incident"]], on="subject_id")
    o = o.merge(ds.incidents[["incident_id", "agency_ori"]], on="incident_id")
    o["partition"] = o["source_file"].str.split("/").str[0]
    return o[o["age_at_incident"] < 18]


def test_clean_finds_the_truth(cleaned):
    """Every partition: fates by reason, kept records and the juvenile school-arrest figures.

    The generator's truth names the planted age 'XX' a rejection (``unparseable_number``); the
    engine blanks an age that is not a number and flags the kept row ``invalid_number`` (the
    registry's policy for ``age_at_incident``): the arrest is kept, its age unknown.
    """
    schema, rel, ds = cleaned
    led = ds.ledger.assign(partition=ds.ledger["source_file"].str.split("/").str[0])
    juv = juvenile_rows(ds)
    for part in rel.partitions:
        truth = rel.truth[part]
        f = led[led.partition == part]
        assert len(f) == sum(truth["rows"].values())
        rejected = dict(truth["rejected"])
        planted_age = rejected.pop("unparseable_number")
        assert dict(Counter(f.loc[f.status == "rejected", "reason"])) == rejected
        flagged = f[(f.status == "kept") & (f.reason == "invalid_number")]
        assert (len(flagged), set(flagged["column"]), set(flagged["value"])) == (planted_age, {"age_num"}, {"XX"})
        merged = dict(truth["merged"])
        if schema == "legacy":
            # the twice-listed legacy agency row is an exact copy (no PARTICIPATED flag to differ):
            # the engine merges it as a copy before the derivation sees it
            merged["duplicate_row_in_file"] = merged.pop("duplicate_agency")
        assert dict(Counter(f.loc[f.status == "merged", "reason"])) == merged
        kept = Counter(f.loc[f.status == "kept", "table"])
        assert (kept["incidents"], kept["incident_subjects"]) == (truth["incidents"], truth["arrestees"] + planted_age)
        j = juv[juv.partition == part]
        assert len(j) == truth["juvenile_arrestees"]
        assert dict(Counter(j["location_placement"])) == truth["juvenile_placement"]
        for code in ("53", "22"):
            c = j[j.nibrs_location_code == code]
            assert {
                "arrestees": len(c),
                "arrest_type": {t: int((c.nibrs_arrest_type == t).sum()) for t in "OST"},
                "disposition": {"H": int((c.nibrs_juv_disposition == "H").sum()),
                                "R": int((c.nibrs_juv_disposition == "R").sum()),
                                "blank": int((c.nibrs_juv_disposition == "unknown").sum())},
                "agencies": c.agency_ori.nunique(),
            } == truth[f"code_{code}"], (part, code)
        school = j[j.nibrs_location_code.isin(["53", "22"])]
        assert {o: [len(g), int((g.nibrs_arrest_type == "S").sum()), int((g.nibrs_juv_disposition == "H").sum()),
                    int((g.nibrs_juv_disposition == "R").sum())] for o, g in school.groupby("agency_ori")} == truth[
            "school_53_or_22_by_agency"]
        a = ds.agencies[ds.agencies.agency_ori.str.startswith(part[:2])]
        assert (len(a), int(a.reported.sum()), int((a.reported & (a.incident_months < 12)).sum())) == (
            truth["agencies"]["listed"], truth["agencies"]["reporting"],
            truth["agencies"]["reporting_fewer_than_12_months"])


def test_parquet_dir_copies_out_the_same_ledger_and_tables(cleaned, tmp_path):
    """The bounded-memory path of the national benchmark: same ledger rows and records, in DuckDB."""
    _, rel, ds = cleaned
    out = tmp_path / "out"
    run = run_sources(rel.root, sources_for("nibrs"), work=tmp_path / "work", parameters={}, salt=None,
                      allow_unused=False, scheduler=None, memory_limit="1GB", progress=False, parquet_dir=out)
    assert run.ledger == out / "ledger.parquet" and run.tables == {}
    con = duckdb.connect()
    ledger = con.execute(f"SELECT * FROM '{out / 'ledger.parquet'}' ORDER BY source_file, source_row").df()
    assert ledger[["source_file", "source_row", "status", "reason"]].astype(str).values.tolist() == \
        ds.ledger[["source_file", "source_row", "status", "reason"]].astype(str).values.tolist()
    for name in ("incidents", "incident_subjects", "outcomes", "agencies", "nibrs_codes"):
        key = {"incidents": "incident_id", "incident_subjects": "subject_id", "outcomes": "outcome_id",
               "agencies": "agency_ori, data_year", "nibrs_codes": "code_table, source_file, source_id"}[name]
        ids = con.execute(f"SELECT {key} FROM '{out / f'{name}.parquet'}' ORDER BY ALL").fetchall()
        frame = getattr(ds, name)[[k.strip() for k in key.split(",")]]
        assert ids == sorted(map(tuple, frame.astype(object).values.tolist())), name


def test_shares_are_the_documented_ones(tmp_path):
    """Fixed seed, one state of 40,000 incidents: the generating shares come out (no flaky tolerance:
    the seed fixes every draw; the bands say what 'realistic' means)."""
    rel = write_nibrs(tmp_path, states=1, incidents=40_000, seed=2018)
    t = rel.truth["AL-2018"]
    rows = t["rows"]
    assert 1.22 < rows["NIBRS_OFFENSE.csv"] / rows["NIBRS_incident.csv"] < 1.28
    assert 0.39 < rows["NIBRS_ARRESTEE.csv"] / rows["NIBRS_incident.csv"] < 0.45
    assert 0.09 < t["juvenile_arrestees"] / t["arrestees"] < 0.14
    school = t["code_53"]["arrestees"] + t["code_22"]["arrestees"]
    s = t["code_53"]["arrest_type"]["S"] + t["code_22"]["arrest_type"]["S"]
    assert 0.33 < s / school < 0.47
    assert t["agencies"]["listed"] > t["agencies"]["reporting"] > t["agencies"]["reporting_fewer_than_12_months"] > 0


def test_state_sizes_and_arguments():
    sizes = state_sizes(12_000_000, 50, 2018)
    assert sizes.sum() == 12_000_000 and sizes.min() >= 1
    assert 0.05 < sizes.max() / sizes.sum() < 0.2  # a big state, not the whole nation
    with pytest.raises(ValueError, match="schema"):
        write_nibrs("/nonexistent", states=1, incidents=10, schema="old")
    with pytest.raises(ValueError, match="at least"):
        write_nibrs("/nonexistent", states=2, incidents=20, malformed=True)
