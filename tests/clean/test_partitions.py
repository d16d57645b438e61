"""Staging files as Dask tasks gives byte-identical Datasets to staging them in this process."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cleaning import raw_folder
from sro_analysis.clean import clean
from sro_analysis.sources.chicago_crimes import SOURCE

FILES = ("Crimes_2014-02-28_to_2014-03-15__school_locations.csv", "ChicagoCrimeData_IBM_sample.csv")


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_local_cluster_with_two_workers_gives_the_same_bytes(shared_data, tmp_path):
    distributed = pytest.importorskip("distributed")
    raw = raw_folder(tmp_path / "raw", {name: shared_data / "chicago-crimes" / name for name in FILES})
    clean("chicago", raw, sources=[SOURCE], progress=False).save(tmp_path / "in_process")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        ds = clean("chicago", raw, sources=[SOURCE], progress=False, scheduler=cluster.scheduler_address,
                   work_dir=tmp_path / "work")
    ds.save(tmp_path / "on_dask")
    assert len(ds.incidents) == 307 + 533
    assert digests(tmp_path / "in_process") == digests(tmp_path / "on_dask")
    # Each file was staged as its own task: one Parquet part per file.
    parts = sorted(p.name for p in (tmp_path / "work" / "staged").rglob("*.parquet"))
    assert len(parts) == len(FILES)
