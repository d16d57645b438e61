"""Speed and memory benchmarks: clean, link and metrics against floors measured in the same run.

``sro-analysis bench`` (and ``make bench``, ``benchmarks/run.py``) generates the synthetic
release at each requested size (raw data rows, all files together), then runs every stage in
a **fresh Python process** so that each stage's peak resident memory (``VmHWM``) is its own:

=============  ===========================================================================
stage          what is timed (imports and hand-over files between stages are not)
=============  ===========================================================================
generate       :func:`sro_analysis.synthetic.write_release` (set-up, not a target)
parse_floor    ``pyarrow.csv.read_csv`` of every raw CSV: the I/O floor of ``clean``
clean          discovery + source adapters + merge of fragments (``clean.clean`` before linking)
link           :func:`sro_analysis.link.link_dataset`
finish         ledger frame + ``Dataset.validate()`` + ``Dataset.save()``
metrics        :func:`~sro_analysis.metrics.rates.contacts` + ``rates`` by school and by officer
groupby_floor  ``contacts.groupby(school)[ata].agg([sum, count])``: the floor of ``rates``
stream_clean   :func:`sro_analysis.stream.clean_streaming` (bounded-memory path, tables + ledger)
rates_scale    ``rates(contacts, by="school")`` on contacts tiled to 10^7 rows, and its floor
demo           ``sro-analysis clean`` + ``report`` + ``publish`` on the default synthetic release
=============  ===========================================================================

``ratio`` is a stage's time over its floor's time on the same file in the same run (``clean``
and ``stream_clean`` over ``parse_floor``, ``metrics`` and ``rates_scale`` over their groupby
floor). Results go to a table (returned as text) and a CSV (``benchmarks/results.csv``).

Sizes above :data:`IN_MEMORY_LIMIT` raw rows run only the floor and the streaming clean: the
in-memory path would need tens of GB there (see ``benchmarks/README.md``).

Example (prints the table; takes seconds, so not run as a doctest)::

    import pathlib, tempfile
    text = run(sizes=[3000], out_csv=pathlib.Path(tempfile.mkdtemp()) / "r.csv", stages=("parse_floor",))
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: Default sizes (raw data rows): 10^4, 10^5, 10^6. 10^7 is optional (minutes; see README).
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
#: Above this many raw rows only parse_floor and stream_clean run.
IN_MEMORY_LIMIT = 2_000_000
#: Contacts rows of the rates_scale stage (the SPEC target is stated at 10^7 contacts).
RATES_SCALE_ROWS = 10_000_000
SEED = 20181
ALL_STAGES = ("generate", "parse_floor", "clean", "link", "finish", "metrics", "groupby_floor",
              "stream_clean", "rates_scale", "demo")
#: Stage -> the floor it is compared with.
FLOORS = {"clean": "parse_floor", "stream_clean": "parse_floor", "metrics": "groupby_floor"}
COLUMNS = ("size", "stage", "rows", "seconds", "rows_per_second", "peak_rss_mb", "floor", "floor_seconds",
           "ratio_to_floor", "note")


# -- measuring inside a stage process -----------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (``VmHWM``, else ``ru_maxrss``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _raw_csvs(raw_dir: Path) -> list[Path]:
    return sorted(p for p in raw_dir.glob("*.csv"))


def _raw_rows(raw_dir: Path) -> int:
    info = json.loads((raw_dir / "bench_info.json").read_text())
    return int(info["total_rows"])


def _stage_generate(raw_dir: Path, work: Path, size: int) -> dict:
    from sro_analysis import synthetic

    fixed = synthetic.rows_for(0)
    n_incidents = max(1, round((size - fixed) / synthetic.ROWS_PER_INCIDENT))
    start = time.perf_counter()
    info = synthetic.write_release(raw_dir, n_incidents=n_incidents, seed=SEED)
    seconds = time.perf_counter() - start
    (raw_dir / "bench_info.json").write_text(json.dumps({"total_rows": info.total_rows, "n_incidents": n_incidents}))
    # truth.json is large and not a data file; the benchmark has no use for it.
    info.truth_path.unlink(missing_ok=True)
    return {"rows": info.total_rows, "seconds": seconds, "note": f"{n_incidents:,} incidents"}


def _stage_parse_floor(raw_dir: Path, work: Path, size: int) -> dict:
    import pyarrow.csv as arrow_csv

    start = time.perf_counter()
    rows = sum(arrow_csv.read_csv(p).num_rows for p in _raw_csvs(raw_dir))
    return {"rows": rows, "seconds": time.perf_counter() - start,
            "note": f"{sum(p.stat().st_size for p in _raw_csvs(raw_dir)) / 1e6:.0f} MB of CSV"}


def _stage_clean(raw_dir: Path, work: Path, size: int) -> dict:
    import pickle

    if os.environ.get("SRO_BENCH_PYTHON_READER"):
        # "Before" figures: the csv-module reader only (what read_raw_csv was before the Arrow path).
        from sro_analysis.sources import base

        base._read_with_arrow = lambda *args, **kwargs: None

    from sro_analysis.pipeline import _merge_fragments, discover
    from sro_analysis.ledger import Ledger
    from sro_analysis.sources import CleanContext, adapters_for

    start = time.perf_counter()
    adapters = adapters_for("synthetic")
    ctx = CleanContext(raw_dir=raw_dir, parameters={"seed": SEED})
    found = discover(raw_dir, adapters)
    ledger, parts = Ledger(), {}
    for adapter in adapters:
        if found.claimed.get(adapter.name):
            out = adapter.load(found.claimed[adapter.name], ctx)
            ledger.extend(out.ledger)
            for name, frame in out.tables.items():
                parts.setdefault(name, []).append(frame)
    tables = _merge_fragments(parts)
    seconds = time.perf_counter() - start
    with open(work / "clean.pkl", "wb") as fh:
        pickle.dump((tables, ledger), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"rows": _raw_rows(raw_dir), "seconds": seconds}


def _stage_link(raw_dir: Path, work: Path, size: int) -> dict:
    import pickle

    from sro_analysis.link import link_dataset
    from sro_analysis.sources import CleanContext

    with open(work / "clean.pkl", "rb") as fh:
        tables, ledger = pickle.load(fh)
    ctx = CleanContext(raw_dir=raw_dir, parameters={"seed": SEED})
    rows = sum(len(f) for f in tables.values())
    start = time.perf_counter()
    linked = link_dataset(tables, ledger, ctx)
    seconds = time.perf_counter() - start
    with open(work / "link.pkl", "wb") as fh:
        pickle.dump((linked.tables, linked.audits, ledger), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"rows": rows, "seconds": seconds, "note": "rows = canonical table rows"}


def _stage_finish(raw_dir: Path, work: Path, size: int) -> dict:
    import pickle

    from sro_analysis.dataset import Dataset

    with open(work / "link.pkl", "rb") as fh:
        tables, audits, ledger = pickle.load(fh)
    start = time.perf_counter()
    ds = Dataset(tables, ledger.to_frame(), {"source": "synthetic", "bench": True}, dict(audits))
    ds.validate()
    ds.save(work / "dataset")
    return {"rows": len(ds.ledger), "seconds": time.perf_counter() - start, "note": "ledger + validate + save"}


def _stage_metrics(raw_dir: Path, work: Path, size: int) -> dict:
    from sro_analysis.dataset import Dataset
    from sro_analysis.metrics.rates import contacts, rates

    ds = Dataset.load(work / "dataset")
    start = time.perf_counter()
    frame = contacts(ds.tables)
    built = time.perf_counter() - start
    by_school = rates(frame, measure="ata", by="school")
    by_officer = rates(frame, measure="ata", by="officer")
    seconds = time.perf_counter() - start
    frame.to_parquet(work / "contacts.parquet")
    return {"rows": len(frame), "seconds": seconds,
            "note": f"contacts {built:.2f}s + rates by school ({len(by_school)}) and officer ({len(by_officer)}) "
                    f"{seconds - built:.2f}s"}


def _groupby_floor(frame) -> float:
    start = time.perf_counter()
    frame.groupby("school_id_occurrence", dropna=False)["ata"].agg(["sum", "count"])
    return time.perf_counter() - start


def _stage_groupby_floor(raw_dir: Path, work: Path, size: int) -> dict:
    import pandas as pd

    frame = pd.read_parquet(work / "contacts.parquet", columns=["school_id_occurrence", "ata"])
    return {"rows": len(frame), "seconds": _groupby_floor(frame)}


def _stage_stream_clean(raw_dir: Path, work: Path, size: int) -> dict:
    from sro_analysis.stream import clean_streaming

    out = work / "stream"
    start = time.perf_counter()
    result = clean_streaming(raw_dir, out, chunk_rows=int(os.environ.get("SRO_BENCH_CHUNK_ROWS", 50_000)))
    seconds = time.perf_counter() - start
    return {"rows": _raw_rows(raw_dir), "seconds": seconds,
            "note": f"chunks of {result.chunk_rows:,} rows; unlinked tables + ledger as Parquet"}


_SCALE_COLUMNS = ["incident_id", "subject_id", "eligible", "outcome_known", "ata", "ata_strict", "custody",
                  "school_id_occurrence", "decided_by_officer_uid", "school_year", "is_assigned_sro"]


def _stage_rates_scale(raw_dir: Path, work: Path, size: int) -> dict:
    import numpy as np
    import pandas as pd

    from sro_analysis.metrics.rates import rates

    base = pd.read_parquet(work / "contacts.parquet", columns=_SCALE_COLUMNS)
    reps = int(np.ceil(RATES_SCALE_ROWS / len(base)))
    frame = pd.concat([base] * reps, ignore_index=True).iloc[:RATES_SCALE_ROWS]
    floor = _groupby_floor(frame)
    start = time.perf_counter()
    rates(frame, measure="ata", by="school")
    seconds = time.perf_counter() - start
    return {"rows": len(frame), "seconds": seconds, "floor_seconds": floor,
            "note": f"contacts of this size tiled x{reps}; floor in the same process"}


def _stage_demo(raw_dir: Path, work: Path, size: int) -> dict:
    """The `make demo` commands on the default synthetic release (generation included)."""
    cli = [sys.executable, "-m", "sro_analysis.cli"]
    demo = work / "demo"
    steps = [("clean", [*cli, "clean", "--source", "synthetic", "--raw", str(demo / "raw"), "--out",
                        str(demo / "interim"), "--quiet"])]
    import importlib.util

    if importlib.util.find_spec("sro_analysis.reports"):
        steps.append(("report", [*cli, "report", "--dataset", str(demo / "interim"), "--out", str(demo / "reports"),
                                 "--name", "Synthetic demo district", "--quiet"]))
    if importlib.util.find_spec("sro_analysis.publish"):
        steps.append(("publish", [*cli, "publish", "--dataset", str(demo / "interim"), "--out",
                                  str(demo / "processed")]))
    times, failed = [], []
    env = dict(os.environ)
    # The demo data are fictional; publish refuses to hash ids without a salt, so give it a throwaway one.
    if not env.get("SRO_ANALYSIS_SALT") and not env.get("SRO_ANALYSIS_SALT_FILE"):
        env["SRO_ANALYSIS_SALT"] = "sro-analysis-benchmark-demo"
    start = time.perf_counter()
    for name, cmd in steps:
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        times.append(f"{name} {time.perf_counter() - t0:.1f}s")
        if done.returncode:
            failed.append(f"{name} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    seconds = time.perf_counter() - start
    import resource

    # The commands ran in child processes: report the largest child's peak, not this process's.
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = _raw_rows_of(demo / "raw")
    return {"rows": rows, "seconds": seconds, "note": "; ".join(times + failed), "child_peak_rss_mb": child_peak}


def _raw_rows_of(raw_dir: Path) -> int:
    total = 0
    for p in _raw_csvs(raw_dir):
        with open(p, "rb") as fh:
            total += max(0, sum(1 for _ in fh) - 1)
    return total


STAGES = {
    "generate": _stage_generate, "parse_floor": _stage_parse_floor, "clean": _stage_clean, "link": _stage_link,
    "finish": _stage_finish, "metrics": _stage_metrics, "groupby_floor": _stage_groupby_floor,
    "stream_clean": _stage_stream_clean, "rates_scale": _stage_rates_scale, "demo": _stage_demo,
}


def _stage_main(argv: Sequence[str]) -> None:
    """``python -m sro_analysis.bench STAGE RAW_DIR WORK_DIR SIZE``: run one stage, print JSON."""
    stage, raw_dir, work, size = argv[0], Path(argv[1]), Path(argv[2]), int(argv[3])
    result = STAGES[stage](raw_dir, work, size)
    result["peak_rss_mb"] = max(peak_rss_mb(), result.pop("child_peak_rss_mb", 0.0))
    print("BENCH " + json.dumps(result), flush=True)


# -- orchestration ------------------------------------------------------------------------------------
def run_stage(stage: str, raw_dir: Path, work: Path, size: int) -> dict:
    """Run one stage in a fresh interpreter; returns its measures (``error`` on failure)."""
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    done = subprocess.run([sys.executable, "-m", "sro_analysis.bench", stage, str(raw_dir), str(work), str(size)],
                          capture_output=True, text=True, env=env)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail)[-300:]}


def _stages_for(size: int, stages: Sequence[str]) -> list[str]:
    if size > IN_MEMORY_LIMIT:
        return [s for s in stages if s in ("generate", "parse_floor", "stream_clean")]
    return [s for s in stages if s != "demo"]


def _row(size, stage, result, floors: dict) -> dict:
    rows, seconds = result.get("rows"), result.get("seconds")
    floor_name = FLOORS.get(stage)
    floor_s = result.get("floor_seconds") if stage == "rates_scale" else floors.get(floor_name)
    if stage == "rates_scale":
        floor_name = "groupby (same frame)"
    ratio = (seconds / floor_s) if seconds is not None and floor_s else None
    return {
        "size": size, "stage": stage, "rows": rows,
        "seconds": None if seconds is None else round(seconds, 3),
        "rows_per_second": None if not seconds or rows is None else round(rows / seconds),
        "peak_rss_mb": None if result.get("peak_rss_mb") is None else round(result["peak_rss_mb"], 1),
        "floor": floor_name or "", "floor_seconds": None if floor_s is None else round(floor_s, 3),
        "ratio_to_floor": None if ratio is None else round(ratio, 2),
        "note": result.get("error") or result.get("note", ""),
    }


def format_table(rows: list[dict]) -> str:
    """Plain-text table of result rows (also what ``run`` returns)."""
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.2f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    shown = [c for c in COLUMNS]
    cells = [[cell(r.get(c)) for c in shown] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(shown)]
    widths[-1] = len(shown[-1])  # the note is left unpadded
    line = "  ".join(c.ljust(w) for c, w in zip(shown, widths))
    out = [line, "-" * len(line)]
    for row in cells:
        out.append("  ".join(v.rjust(w) if i not in (1, 6, len(shown) - 1) else v.ljust(w)
                             for i, (v, w) in enumerate(zip(row, widths))))
    return "\n".join(out)


def _write_csv(rows: list[dict], out_csv: Path) -> None:
    import csv

    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})


def run(sizes: Sequence[int] = DEFAULT_SIZES, out_csv: Path = Path("benchmarks/results.csv"),
        work_dir: Path | None = None, *, stages: Sequence[str] = ALL_STAGES, demo: bool = True,
        log=None) -> str:
    """Benchmark every stage at each size; write ``out_csv`` and return the table as text.

    Args:
        sizes: raw data rows of the synthetic release (all files), e.g. ``[10_000, 1_000_000]``.
        out_csv: results CSV (one row per size and stage).
        work_dir: scratch folder (kept); default a temporary folder removed afterwards.
        stages: subset of :data:`ALL_STAGES` to run.
        demo: also time the demo (clean + report + publish) once.
        log: callable receiving a line per finished stage (default: print to stderr).

    Returns:
        The results table as plain text.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    out_csv = Path(out_csv)
    scratch = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="sro-bench-"))
    rows: list[dict] = []
    try:
        for size in sizes:
            work = scratch / f"size_{size}"
            raw = work / "raw"
            if work.exists():
                shutil.rmtree(work)
            work.mkdir(parents=True)
            floors: dict[str, float] = {}
            chosen = _stages_for(size, stages)
            if "rates_scale" in chosen and size != max(s for s in sizes if s <= IN_MEMORY_LIMIT):
                chosen.remove("rates_scale")  # once, on the largest in-memory size
            results: dict[str, dict] = {}
            for stage in chosen:
                results[stage] = result = run_stage(stage, raw, work, size)
                if stage in ("parse_floor", "groupby_floor") and "seconds" in result:
                    floors[stage] = result["seconds"]
                log(f"[bench] size {size:,} {stage}: " + json.dumps(_row(size, stage, result, floors)))
                _write_csv(rows + [_row(size, s, r, floors) for s, r in results.items()], out_csv)
            # Ratios once every floor of this size is known (groupby_floor runs after metrics).
            rows += [_row(size, s, r, floors) for s, r in results.items()]
            for name in ("clean.pkl", "link.pkl"):
                (work / name).unlink(missing_ok=True)
        if demo and "demo" in stages:
            work = scratch / "demo_run"
            work.mkdir(parents=True, exist_ok=True)
            rows.append(_row("demo", "demo", run_stage("demo", work, work, 0), {}))
            log("[bench] demo: " + json.dumps(rows[-1]))
            _write_csv(rows, out_csv)
    finally:
        if not work_dir:
            shutil.rmtree(scratch, ignore_errors=True)
    return format_table(rows) + f"\n\nresults written to {out_csv}"


if __name__ == "__main__":
    _stage_main(sys.argv[1:])
