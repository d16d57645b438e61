"""Speed and memory of :func:`sro_analysis.clean.clean`, per step, against floors measured in the same run.

``sro-analysis bench`` (``make bench``, ``benchmarks/run.py``) writes the synthetic release
(:func:`sro_analysis.synthetic.write_release`) at each requested size (raw data rows, all files
together) and, for each scheduler, runs **one clean in a fresh Python process**, so the peak
memory is that run's own. The steps are the ones ``clean(timings=...)`` reports:

==========  =====================================================================================
step        what it does
==========  =====================================================================================
discover    which layout reads which file
stage       read, set aside non-records, check; Parquet parts (in-process or Dask tasks)
derive      each source's canonical tables on the run's DuckDB
account     the ledger, checked exactly-once
link        incidents across sources, officers, schools, SRO roster
validate    every table against the registry and the cross-table rules
clean       the sum of the six (the whole call)
rates       ``metrics.rates.contacts`` + ``rates(by="school")`` on the Dataset (the ``rates``
            floor is a DuckDB ``GROUP BY school_id_occurrence`` over the same contacts)
==========  =====================================================================================

Floors, measured in the same run on the same files (each in its own fresh process):

* ``duckdb_floor``: DuckDB ``read_csv`` (all text) of every raw file and a ``GROUP BY`` of its
  first column (the record number), i.e. reading plus one keyed pass: ``ratio_to_floor``;
* ``parse_floor``: ``pyarrow.csv.read_csv`` of every raw file (all text), the issue's target
  floor: ``ratio_to_parse``.

Throughput is raw rows per second of each step. Peak memory is the largest resident set of the
process tree (the run's process plus, on Dask, its LocalCluster workers), sampled every 50 ms,
and at least the process's own ``ru_maxrss``. :func:`targets` states, per target of issue 16,
whether it is met and by how much it is missed.

Example (prints the table; takes seconds, so not a doctest)::

    print(run(sizes=[2000], schedulers=("in-process",), out_csv=None))
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

#: Default sizes (raw data rows). 10^7 runs only when asked (minutes, ~7 GB to generate).
DEFAULT_SIZES = (100_000, 1_000_000)
SCHEDULERS = ("in-process", "dask")
#: Workers of the benchmark's Dask LocalCluster (one thread each).
DASK_WORKERS = 2
SEED = 20181
STEPS = ("discover", "stage", "derive", "account", "link", "validate")
COLUMNS = ("size", "raw_rows", "scheduler", "stage", "seconds", "rows_per_second", "floor_seconds",
           "ratio_to_floor", "parse_seconds", "ratio_to_parse", "peak_rss_mb")


# -- measuring inside a fresh process -----------------------------------------------------------
class PeakMemory:
    """Largest resident set of this process and its children, sampled on a thread (MB).

    Example:
        >>> with PeakMemory() as peak:
        ...     block = bytearray(50 * 2**20)
        >>> peak.mb > 50
        True
    """

    def __init__(self, every: float = 0.05) -> None:
        self.every, self.mb, self._stop = every, 0.0, threading.Event()

    def _sample(self) -> float:
        import psutil

        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:  # a worker that just ended
                pass
        return total / 2**20

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.mb = max(self.mb, self._sample())
            self._stop.wait(self.every)

    def __enter__(self) -> "PeakMemory":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        import resource

        self.mb = max(self.mb, self._sample(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def raw_files(raw_dir: Path) -> list[Path]:
    """The release's data files (CSV), in name order."""
    return sorted(Path(raw_dir).glob("*.csv"))


def duckdb_floor(raw_dir: Path) -> float:
    """Seconds for DuckDB to read every raw file as text and group it by its first column."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="sro-bench-") as spill:
        con = duckdb.connect(config={"memory_limit": "2GB", "temp_directory": spill})
        start = time.perf_counter()
        for path in raw_files(raw_dir):
            first = con.execute("SELECT * FROM read_csv(?, all_varchar = true, header = true) LIMIT 0",
                                [str(path)]).description[0][0]
            con.execute(f'SELECT count(*) FROM (SELECT "{first}", count(*) FROM read_csv(?, all_varchar = true, '
                        f'header = true) GROUP BY 1)', [str(path)]).fetchall()
        seconds = time.perf_counter() - start
        con.close()
    return seconds


def parse_floor(raw_dir: Path) -> float:
    """Seconds for pyarrow to parse every raw file, every column as text."""
    import pyarrow
    import pyarrow.csv as pcsv

    start = time.perf_counter()
    for path in raw_files(raw_dir):
        with open(path, "rb") as fh:
            names = fh.readline().decode("utf-8-sig").strip().split(",")
        pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types={n: pyarrow.string() for n in names}))
    return time.perf_counter() - start


def _rates_stage(ds) -> tuple[float, float]:
    """(seconds of contacts + rates by school, seconds of the DuckDB GROUP BY floor on the contacts)."""
    import duckdb

    from sro_analysis.metrics.rates import contacts, rates

    start = time.perf_counter()
    frame = contacts(ds)
    rates(frame, by="school")
    seconds = time.perf_counter() - start
    con = duckdb.connect()
    con.register("contacts", frame[["school_id_occurrence", "ata", "eligible"]])
    start = time.perf_counter()
    con.execute("SELECT school_id_occurrence, sum(CAST(ata AS INT)), count(*) FROM contacts WHERE eligible "
                "GROUP BY 1").fetchall()
    return seconds, time.perf_counter() - start


def measure_clean(raw_dir: Path, scheduler: str, with_rates: bool = True) -> dict:
    """One clean of ``raw_dir`` in this process: seconds per step, peak MB, rates timings."""
    from sro_analysis.clean import clean

    cluster = client = None
    if scheduler == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=DASK_WORKERS, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    timings: dict[str, float] = {}
    try:
        with PeakMemory() as peak:
            ds = clean("synthetic", raw_dir, progress=False, scheduler=client, timings=timings)
            out = {"steps": {s: timings.get(s, 0.0) for s in STEPS}}
            if with_rates:
                out["rates"], out["rates_floor"] = _rates_stage(ds)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    out["peak_rss_mb"] = peak.mb
    return out


def measure_floor(raw_dir: Path, which: str) -> dict:
    """A floor in this process: seconds and peak MB."""
    with PeakMemory() as peak:
        seconds = (duckdb_floor if which == "duckdb_floor" else parse_floor)(raw_dir)
    return {"seconds": seconds, "peak_rss_mb": peak.mb}


def _in_fresh_process(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "sro_analysis.bench", *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"benchmark step {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the table ------------------------------------------------------------------------------------
def release(work: Path, size: int, seed: int = SEED) -> tuple[Path, int]:
    """The synthetic release of about ``size`` raw rows under ``work`` (reused when present)."""
    from sro_analysis import synthetic

    raw = work / f"raw_{size}"
    info_file = raw / "bench.json"
    if info_file.exists():
        return raw, json.loads(info_file.read_text())["raw_rows"]
    n_incidents = max(1, int(round(size / synthetic.ROWS_PER_INCIDENT)))
    info = synthetic.write_release(raw, n_incidents=n_incidents, seed=seed)
    (raw / "bench.json").write_text(json.dumps({"raw_rows": info.total_rows, "n_incidents": n_incidents}))
    return raw, info.total_rows


def _row(size, raw_rows, scheduler, stage, seconds, peak, floor=None, parse=None) -> dict:
    return {"size": size, "raw_rows": raw_rows, "scheduler": scheduler, "stage": stage, "seconds": seconds,
            "rows_per_second": raw_rows / seconds if seconds else None, "floor_seconds": floor,
            "ratio_to_floor": seconds / floor if floor else None, "parse_seconds": parse,
            "ratio_to_parse": seconds / parse if parse else None, "peak_rss_mb": peak}


def measure_size(work: Path, size: int, schedulers: Sequence[str] = SCHEDULERS, with_rates: bool = True) -> list[dict]:
    """Rows of the table for one size: the floors, then each scheduler's steps."""
    raw, raw_rows = release(work, size)
    floor = _in_fresh_process("floor", str(raw), "duckdb_floor")
    parse = _in_fresh_process("floor", str(raw), "parse_floor")
    rows = [_row(size, raw_rows, "-", "duckdb_floor", floor["seconds"], floor["peak_rss_mb"]),
            _row(size, raw_rows, "-", "parse_floor", parse["seconds"], parse["peak_rss_mb"])]
    f, p = floor["seconds"], parse["seconds"]
    for scheduler in schedulers:
        got = _in_fresh_process("clean", str(raw), scheduler, "rates" if with_rates else "no-rates")
        peak = got["peak_rss_mb"]
        steps = got["steps"]
        rows += [_row(size, raw_rows, scheduler, s, steps[s], None, f, p) for s in STEPS]
        rows.append(_row(size, raw_rows, scheduler, "link+validate", steps["link"] + steps["validate"], None, f, p))
        rows.append(_row(size, raw_rows, scheduler, "clean", sum(steps.values()), peak, f, p))
        if with_rates:
            rows.append(_row(size, raw_rows, scheduler, "rates", got["rates"], None, got["rates_floor"]))
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table (the columns of :data:`COLUMNS`)."""
    def cell(value, column):
        if value is None:
            return ""
        if column in ("seconds", "floor_seconds", "parse_seconds"):
            return f"{value:.3f}"
        if column in ("ratio_to_floor", "ratio_to_parse"):
            return f"{value:.1f}x"
        if column == "rows_per_second":
            return f"{value:,.0f}"
        if column == "peak_rss_mb":
            return f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [list(COLUMNS)] + [[cell(r[c], c) for c in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells)


def targets(rows: list[dict]) -> list[str]:
    """Each target of issue 16 that the rows can speak to: met, or missed by how much.

    Example:
        >>> rows = [_row(10**6, 10**6, "in-process", "clean", 10.0, 900.0, 1.0, 0.5)]
        >>> targets(rows)[0]
        'clean <= 5x pyarrow parse at 1,000,000 rows (in-process): 20.0x, MISSED by 4.0x'
    """
    lines = []

    def verdict(what, value, bound, unit="x"):
        ok = value <= bound
        how = "met" if ok else f"MISSED by {value / bound:.1f}x"
        lines.append(f"{what}: {value:.1f}{unit}, {how}" if unit == "x" else f"{what}: {value:,.0f} {unit}, {how}")

    for r in rows:
        tag = f"{r['raw_rows']:,} rows ({r['scheduler']})"
        if r["stage"] == "clean" and r["ratio_to_parse"] and r["size"] >= 10**6:
            verdict(f"clean <= 5x pyarrow parse at {tag}", r["ratio_to_parse"], 5)
        if r["stage"] == "link+validate" and r["ratio_to_parse"] and r["size"] >= 10**6:
            verdict(f"link + finish <= 2x pyarrow parse at {tag}", r["ratio_to_parse"], 2)
        if r["stage"] == "rates" and r["ratio_to_floor"] and r["size"] >= 10**6:
            verdict(f"contacts + rates <= 2x DuckDB GROUP BY at {tag}", r["ratio_to_floor"], 2)
        if r["stage"] == "clean" and r["peak_rss_mb"] and r["size"] >= 10**7:
            verdict(f"peak memory <= 1.5 GB at {tag}", r["peak_rss_mb"], 1536, unit="MB")
    return lines


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def run(sizes: Sequence[int] = DEFAULT_SIZES, *, schedulers: Sequence[str] = SCHEDULERS,
        out_csv: Path | None = None, work_dir: Path | None = None, with_rates: bool = True) -> str:
    """Measure every size and scheduler; returns the table and the target lines as text."""
    unknown = set(schedulers) - set(SCHEDULERS)
    if unknown:
        raise ValueError(f"unknown scheduler(s) {sorted(unknown)}; choose from {SCHEDULERS}")
    own = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="sro-bench-")) if own else Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = [r for size in sizes for r in measure_size(work, int(size), schedulers, with_rates)]
    finally:
        if own:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    if out_csv is not None:
        write_csv(rows, Path(out_csv))
    text = io.StringIO()
    text.write(format_table(rows) + "\n")
    lines = targets(rows)
    if lines:
        text.write("\ntargets (issue 16):\n" + "\n".join(f"  - {line}" for line in lines) + "\n")
    return text.getvalue()


def _main(argv: list[str]) -> None:
    """``python -m sro_analysis.bench floor RAW WHICH | clean RAW SCHEDULER rates|no-rates``: one JSON line."""
    kind, raw = argv[0], Path(argv[1])
    if kind == "floor":
        result = measure_floor(raw, argv[2])
    else:
        result = measure_clean(raw, argv[2], with_rates=argv[3] == "rates")
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    _main(sys.argv[1:])
