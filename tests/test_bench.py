"""``sro-analysis bench`` runs end to end at a tiny size and prints every column (no timing asserts)."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from sro_analysis import bench
from sro_analysis.cli import main


def test_bench_command_prints_each_step_with_its_columns(tmp_path):
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(main, ["bench", "--sizes", "1500", "--schedulers", "in-process",
                                       "--out", str(out), "--work", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == list(bench.COLUMNS)
    raw_rows = json.loads((tmp_path / "work" / "raw_1500" / "bench.json").read_text())["raw_rows"]
    rows = list(csv.DictReader(out.open()))
    stages = [r["stage"] for r in rows]
    assert stages == ["duckdb_floor", "parse_floor", *bench.STEPS, "link+validate", "clean", "rates"]
    assert {r["scheduler"] for r in rows[2:]} == {"in-process"}
    assert {int(r["raw_rows"]) for r in rows} == {raw_rows}
    clean = rows[stages.index("clean")]
    # The whole call is the sum of its steps; its ratios are to the floors of the same run.
    steps = sum(float(r["seconds"]) for r in rows if r["stage"] in bench.STEPS)
    assert abs(float(clean["seconds"]) - steps) < 1e-6
    assert abs(float(clean["ratio_to_parse"]) - float(clean["seconds"]) / float(rows[1]["seconds"])) < 1e-6
    assert float(clean["peak_rss_mb"]) > 50
    printed = [line.split()[3] for line in lines[1:len(rows) + 1]]
    assert printed == stages


def test_an_unknown_scheduler_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["bench", "--sizes", "1000", "--schedulers", "slurm"])
    assert result.exit_code == 1 and "unknown scheduler(s) ['slurm']" in result.output
