"""synthetic_nibrs.write_nibrs: the real CDE layout, same bytes for a seed, truth equal to derive's count."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from nibrs_staging import stage_folders
from sro_analysis.sources import nibrs
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
def derived(small_release):
    schema, rel = small_release
    con = duckdb.connect()
    staged = stage_folders(con, rel.root, list(rel.partitions))
    return schema, rel, con, staged, nibrs.derive(con, staged)


def test_derive_finds_the_truth(derived):
    """Every partition: fates by reason, kept records and the juvenile school-arrest figures."""
    _, rel, con, staged, out = derived
    fates = con.execute(f"SELECT _file, status, reason, \"table\" FROM {out['fates']}").df()
    fates["partition"] = fates["_file"].str.split("/").str[0]
    juv = con.execute(f"""
        SELECT split_part(o.source_file, '/', 1) AS partition, o.nibrs_location_code AS code,
               o.nibrs_arrest_type AS arrest_type, o.nibrs_juv_disposition AS disposition,
               o.location_placement AS placement, i.agency_ori
        FROM {out['outcomes']} o JOIN {out['incident_subjects']} s USING (subject_id)
        JOIN {out['incidents']} i ON i.incident_id = o.incident_id
        WHERE s.age_at_incident < 18""").df()
    agencies = con.execute(f"SELECT * FROM {out['agencies']}").df()
    for part in rel.partitions:
        truth = rel.truth[part]
        f = fates[fates.partition == part]
        assert len(f) == sum(truth["rows"].values())
        assert dict(Counter(f.loc[f.status == "rejected", "reason"])) == truth["rejected"]
        assert dict(Counter(f.loc[f.status == "merged", "reason"])) == truth["merged"]
        kept = Counter(f.loc[f.status == "kept", "table"])
        assert (kept["incidents"], kept["incident_subjects"]) == (truth["incidents"], truth["arrestees"])
        j = juv[juv.partition == part]
        assert len(j) == truth["juvenile_arrestees"]
        assert dict(Counter(j["placement"])) == truth["juvenile_placement"]
        for code in ("53", "22"):
            c = j[j.code == code]
            assert {
                "arrestees": len(c),
                "arrest_type": {t: int((c.arrest_type == t).sum()) for t in "OST"},
                "disposition": {"H": int((c.disposition == "H").sum()), "R": int((c.disposition == "R").sum()),
                                "blank": int((c.disposition == "unknown").sum())},
                "agencies": c.agency_ori.nunique(),
            } == truth[f"code_{code}"], (part, code)
        school = j[j.code.isin(["53", "22"])]
        assert {o: [len(g), int((g.arrest_type == "S").sum()), int((g.disposition == "H").sum()),
                    int((g.disposition == "R").sum())] for o, g in school.groupby("agency_ori")} == truth[
            "school_53_or_22_by_agency"]
        a = agencies[agencies.agency_ori.str.startswith(part[:2])]
        assert (len(a), int(a.reported.sum()), int((a.reported & (a.incident_months < 12)).sum())) == (
            truth["agencies"]["listed"], truth["agencies"]["reporting"],
            truth["agencies"]["reporting_fewer_than_12_months"])


def test_every_synthetic_row_has_one_fate(derived):
    _, _, con, staged, out = derived
    rows = " UNION ALL ".join(f"SELECT _file, _row FROM {t}" for t in staged.values())
    assert con.execute(f"SELECT count(*) FROM ({rows}) s ANTI JOIN {out['fates']} USING (_file, _row)").fetchone() == (0,)
    assert con.execute(f"SELECT count(*), count(DISTINCT (_file, _row)) FROM {out['fates']}").fetchone() == (
        con.execute(f"SELECT count(*) FROM ({rows})").fetchone()[0],) * 2


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
