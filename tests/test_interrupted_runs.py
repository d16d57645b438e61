"""A run killed while writing leaves the previous output untouched; the next run cleans up.

Each test starts a run in a separate process with its output pointing at an existing one, waits
until the process is writing its ``.tmp-<name>-*`` folder, kills it with SIGKILL (no cleanup
code can run) and checks the old output byte for byte. Writing a small Dataset takes
milliseconds, so the child process is started through a two-line wrapper that sleeps after each
Parquet file it writes: the kill then lands mid-write every time instead of by luck. ``publish``
runs through the unmodified console script; ``clean`` through the engine's API
(:func:`sro_analysis.clean.clean` + ``Dataset.save``, what the command line runs).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

CORPUS = ROOT / "tests" / "corpus"
MAPPING = CORPUS / "mapping.yaml"

#: Every Parquet write slowed down (the kill window), nothing else changed.
SLOW = """
import sys, time
import sro_analysis.dataset as dataset
import sro_analysis.publish as publish
real = dataset.write_parquet
def slow(frame, path):
    real(frame, path)
    time.sleep(0.4)
dataset.write_parquet = publish.write_parquet = slow
"""
#: Run the command line (argv: its arguments).
CLI = """
from sro_analysis.cli import main
main(args=sys.argv[1:], prog_name="sro-analysis")
"""
#: Clean a raw folder with a mapping into a Dataset folder (argv: mapping, raw, out).
CLEAN = """
import sys
from sro_analysis.clean import clean
from sro_analysis.sources.mapped import sources_from_mapping
mapping, raw, out = sys.argv[1:4]
clean("mapped", raw, sources=sources_from_mapping(mapping), progress=False).save(out)
"""


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("sro-analysis")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sro_analysis.cli"]


def _run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(_cli() + args, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.iterdir() if p.name.startswith((f".tmp-{dest.name}-", f".old-{dest.name}-")))


def _clean(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", CLEAN, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _kill_while_writing(program: str, args: list[str], dest: Path, env: dict | None = None) -> None:
    """Start the slowed program, wait for a Parquet file in its temporary folder, SIGKILL it."""
    child = subprocess.Popen([sys.executable, "-c", SLOW + program, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            writing = [p for p in dest.parent.glob(f".tmp-{dest.name}-*") if any(p.rglob("*.parquet"))]
            if writing:
                break
            if child.poll() is not None:
                pytest.fail(f"the run ended (exit {child.returncode}) before it was seen writing: "
                            f"{child.stderr.read().decode()[-2000:]}")
            time.sleep(0.02)
        else:
            pytest.fail("the run was never seen writing its temporary folder")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=60)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert _leftovers(dest), "the killed run should have left its temporary folder behind"


def _good_raw_copy(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for f in (CORPUS / "good").iterdir():
        shutil.copy(f, raw / f.name)
    return raw


def test_killed_clean_leaves_the_previous_dataset_untouched_and_a_rerun_succeeds(tmp_path):
    raw = _good_raw_copy(tmp_path)
    out = tmp_path / "interim" / "corpus"
    args = [str(MAPPING), str(raw), str(out)]
    _clean(args)
    before = _snapshot(out)
    assert "tables/incidents.parquet" in before and "ledger.parquet" in before

    # New data arrives: the interrupted run would have written a different Dataset.
    with open(raw / "uof.csv", "a", encoding="utf-8") as fh:
        fh.write("G-4,12/01/2021,09:00,ESM,5120,Ortiz,Luis,Suspect,14,H,M,Arrested\n")
    _kill_while_writing(CLEAN, args, out)
    assert _snapshot(out) == before  # same files, same bytes

    _clean(args)
    assert _leftovers(out) == []  # the crash's temporary folder is swept
    after = _snapshot(out)
    assert after != before
    import pandas as pd

    assert sorted(pd.read_parquet(out / "tables" / "incidents.parquet")["source_record_id"]) == ["G-1", "G-2", "G-3", "G-4"]


def test_killed_publish_leaves_the_previous_release_untouched_and_a_rerun_succeeds(tmp_path):
    raw = _good_raw_copy(tmp_path)
    dataset = tmp_path / "interim" / "corpus"
    _clean([str(MAPPING), str(raw), str(dataset)])
    env = {**os.environ, "SRO_ANALYSIS_SALT": secrets.token_hex(32)}
    env.pop("SRO_ANALYSIS_SALT_FILE", None)
    release = tmp_path / "processed" / "corpus"
    args = ["publish", "--dataset", str(dataset), "--out", str(release)]
    _run(args, env=env)
    before = _snapshot(release)
    assert "datapackage.json" in before

    # Publish again with other options (a different release), killed mid-write.
    args_restricted = [*args, "--tier", "restricted"]
    _kill_while_writing(CLI, args_restricted, release, env=env)
    assert _snapshot(release) == before

    _run(args_restricted, env=env)
    assert _leftovers(release) == []
    assert _snapshot(release) != before
