"""Benchmark: the national synthetic NIBRS year cleaned by the engine in DuckDB, within bounded memory.

    .venv/bin/python benchmarks/nibrs_national.py --incidents 1.2e6      # 10% scale (development)
    .venv/bin/python benchmarks/nibrs_national.py                        # full size: 12M incidents

Steps, each in a fresh Python process so its peak resident memory (``VmHWM``) is its own:

* ``generate``: :func:`sro_analysis.synthetic_nibrs.write_nibrs` (50 states, current schema),
  skipped when ``--work`` already holds the release (set-up, not timed against anything);
* ``floor``: DuckDB over the same CSVs with the same memory limit: a ``COUNT(*)`` of every file
  and a ``GROUP BY`` on the column the derivation joins on (incidents by agency, offenses by
  location, arrestees by arrest type): the cost of reading the files once, nothing checked;
* ``clean``: :func:`sro_analysis.clean.run_sources` with ``parquet_dir``: discover, stage every
  file (typed, checked, Parquet parts), derive (:mod:`sro_analysis.sources.nibrs`), assemble and
  check the ledger (every raw row exactly once), and copy the ledger and the tables out with
  DuckDB. Nothing is materialised as a pandas frame.

Prints raw rows, seconds, rows per second, the clean/floor ratio and peak RSS per step, and
checks the run: ledger rows = raw rows, and the juvenile school arrestees per location code
equal the generator's ``truth.json`` (counted from its arrays, never read back from the files).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEMORY_LIMIT = "2GB"
#: Column of each CDE table the floor groups by (upper-case current-schema headers).
FLOOR_GROUP = {"NIBRS_incident.csv": "AGENCY_ID", "NIBRS_OFFENSE.csv": "LOCATION_ID",
               "NIBRS_ARRESTEE.csv": "ARREST_TYPE_ID"}


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def step_generate(raw: Path, incidents: int) -> dict:
    from sro_analysis.synthetic_nibrs import write_nibrs

    start = time.perf_counter()
    release = write_nibrs(raw, incidents=incidents)
    return {"seconds": time.perf_counter() - start, "partitions": len(release.partitions)}


def _connect(work: Path):
    import duckdb

    (work / "spill").mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(work / "spill")})


def step_floor(raw: Path, work: Path) -> dict:
    con = _connect(work)
    start = time.perf_counter()
    rows = 0
    for name in sorted({p.name for p in raw.glob("*/*.csv")}):
        files = "[" + ", ".join(f"'{p}'" for p in sorted(raw.glob(f"*/{name}"))) + "]"
        scan = f"read_csv({files}, all_varchar = true, header = true, union_by_name = true)"
        rows += con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0]
        if name in FLOOR_GROUP:
            con.execute(f"SELECT {FLOOR_GROUP[name]}, count(*) FROM {scan} GROUP BY ALL").fetchall()
    return {"seconds": time.perf_counter() - start, "rows": rows}


def step_clean(raw: Path, work: Path) -> dict:
    import duckdb

    from sro_analysis.clean import run_sources
    from sro_analysis.sources import sources_for

    out, timings = work / "out", {}
    start = time.perf_counter()
    run_sources(raw, sources_for("nibrs"), work=work / "clean", parameters={}, salt=None, allow_unused=False,
                scheduler=None, memory_limit=MEMORY_LIMIT, progress=False, timings=timings, parquet_dir=out)
    seconds = time.perf_counter() - start
    con = duckdb.connect()
    ledger = con.execute(f"SELECT count(*) FROM '{out / 'ledger.parquet'}'").fetchone()[0]
    school = dict(con.execute(f"""
        SELECT o.nibrs_location_code, count(*) FROM '{out / 'outcomes.parquet'}' o
        JOIN '{out / 'incident_subjects.parquet'}' s USING (subject_id)
        WHERE s.age_at_incident < 18 AND o.nibrs_location_code IN ('53', '22') GROUP BY ALL""").fetchall())
    return {"seconds": seconds, "ledger_rows": ledger, "school": school,
            "steps": {k: round(v, 1) for k, v in timings.items()}}


def truth_school(raw: Path) -> dict:
    """Juvenile school arrestees per location code, summed over the release's ``truth.json`` files."""
    total: dict[str, int] = {}
    for path in sorted(raw.glob("*/truth.json")):
        truth = json.loads(path.read_text())
        for code in ("53", "22"):
            if truth[f"code_{code}"]["arrestees"]:
                total[code] = total.get(code, 0) + truth[f"code_{code}"]["arrestees"]
    return total


def run_step(step: str, raw: Path, work: Path, incidents: int) -> dict:
    """Run one step in a fresh interpreter; its JSON result with that process's peak RSS."""
    out = subprocess.run([sys.executable, __file__, "--step", step, "--raw", str(raw), "--work", str(work),
                          "--incidents", str(incidents)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", default="12e6", help="incidents in all (default 12e6, the national size)")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept); default a temp folder")
    parser.add_argument("--raw", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    incidents = int(float(args.incidents))
    work = args.work or Path(tempfile.mkdtemp(prefix="nibrs-bench-"))
    raw = args.raw or work / "raw"
    if args.step:
        result = {"generate": lambda: step_generate(raw, incidents), "floor": lambda: step_floor(raw, work),
                  "clean": lambda: step_clean(raw, work)}[args.step]()
        print(json.dumps({**result, "peak_rss_mb": round(peak_rss_mb())}))
        return
    if not any(raw.glob("*/NIBRS_incident.csv")):
        gen = run_step("generate", raw, work, incidents)
        print(f"generate: {gen['partitions']} state folders, {gen['seconds']:.0f} s, peak {gen['peak_rss_mb']} MB")
    floor = run_step("floor", raw, work, incidents)
    clean = run_step("clean", raw, work, incidents)
    rows = floor["rows"]
    print(f"raw data rows: {rows:,} in {sum(p.stat().st_size for p in raw.glob('*/*.csv')) / 1e9:.2f} GB of CSV")
    print(f"{'step':<8}{'seconds':>10}{'rows/s':>14}{'x floor':>9}{'peak RSS MB':>13}")
    for name, res in (("floor", floor), ("clean", clean)):
        print(f"{name:<8}{res['seconds']:>10.1f}{rows / res['seconds']:>14,.0f}"
              f"{res['seconds'] / floor['seconds']:>9.1f}{res['peak_rss_mb']:>13,}")
    print(f"clean steps (s): {clean['steps']}; DuckDB memory limit {MEMORY_LIMIT}")
    truth = truth_school(raw)
    print(f"ledger rows {clean['ledger_rows']:,} (raw {rows:,}); juvenile school arrestees {clean['school']} "
          f"(truth {truth})")
    if clean["ledger_rows"] != rows or clean["school"] != truth:
        raise SystemExit("the clean does not match the raw rows or the generator's truth")


if __name__ == "__main__":
    main()
