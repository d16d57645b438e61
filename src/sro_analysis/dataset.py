"""The cleaned Dataset: canonical tables + ledger + provenance, saved as Parquet.

Layout of a saved Dataset folder::

    DIR/tables/<table>.parquet   one file per canonical table (all registry tables, maybe empty)
    DIR/ledger.parquet           row accounting (one row per raw data row)
    DIR/provenance.json          inputs (path, bytes, sha256), package version, parameters
    DIR/audits/<name>.parquet    audit tables: link quality, unlinked records, review queues

Example:
    >>> import sro_analysis as sro
    >>> ds = sro.Dataset.empty(source="example")
    >>> ds.incidents.shape[0]
    0
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet as parquet

from sro_analysis import __version__
from sro_analysis.atomic import atomic_directory, write_text_atomic
from sro_analysis.ledger import summarise, summarise_file, unmapped_labels
from sro_analysis.schema.models import conform, empty_frame, validate
from sro_analysis.schema.registry import CANONICAL_TABLES, table


def file_fingerprint(path: str | os.PathLike, relative_to: str | os.PathLike | None = None) -> dict:
    """``{"path", "bytes", "sha256"}`` of one input file (path relative to ``relative_to``)."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    rel = path.relative_to(relative_to).as_posix() if relative_to else path.name
    return {"path": rel, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame to Parquet with no wall-clock metadata, so equal frames give equal bytes."""
    arrow_table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    parquet.write_table(arrow_table, path, compression="zstd", write_statistics=False)


def write_query_parquet(con, query: str, path: Path, name: str, parameters: list | None = None,
                        batch_rows: int = 500_000) -> int:
    """Write the rows of a DuckDB query to Parquet in the registry types of table ``name``.

    The rows go batch by batch (never all in memory), in the query's order, as row groups of
    ``batch_rows`` rows with no wall-clock metadata: the same rows give the same bytes. Returns
    the number of rows written.

    Example:
        >>> import duckdb, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "ledger.parquet"
        >>> con = duckdb.connect()
        >>> write_query_parquet(con, "SELECT 'a.csv' AS source_file, 1 AS source_row, 'kept' AS status", path, "ledger")
        1
        >>> conform(pd.read_parquet(path), "ledger")["status"].tolist()
        ['kept']
    """
    schema = pyarrow.Schema.from_pandas(empty_frame(name), preserve_index=False).remove_metadata()
    relation = con.sql(query, params=parameters) if parameters else con.sql(query)
    pending: list[pyarrow.Table] = []
    written = 0
    with parquet.ParquetWriter(path, schema, compression="zstd", write_statistics=False) as writer:
        # DuckDB's batch sizes are its own; row groups of exactly batch_rows keep the bytes stable.
        for batch in relation.to_arrow_reader(batch_rows):
            pending.append(_in_schema(pyarrow.Table.from_batches([batch]), schema))
            while sum(t.num_rows for t in pending) >= batch_rows:
                block = pyarrow.concat_tables(pending)
                writer.write_table(block.slice(0, batch_rows), row_group_size=batch_rows)
                pending = [block.slice(batch_rows)]
                written += batch_rows
        rest = pyarrow.concat_tables(pending) if pending else None
        if rest is not None and rest.num_rows:
            writer.write_table(rest, row_group_size=batch_rows)
            written += rest.num_rows
    return written


def _in_schema(got: pyarrow.Table, schema: pyarrow.Schema) -> pyarrow.Table:
    columns = [got.column(f.name).cast(f.type) if f.name in got.column_names else pyarrow.nulls(got.num_rows, f.type)
               for f in schema]
    return pyarrow.Table.from_arrays(columns, schema=schema)


class TableStore(MutableMapping):
    """Tables by name, each a frame in memory or a Parquet file read (and conformed) on first use.

    A loaded Dataset reads only the tables a caller asks for, so a notebook that needs the
    incidents of a ten-million-row Dataset does not pay for its ledger or its officers.

    Example:
        >>> store = TableStore({"incidents": empty_frame("incidents")})
        >>> sorted(store), store.path("incidents") is None
        (['incidents'], True)
    """

    def __init__(self, frames: dict[str, pd.DataFrame] | None = None, paths: dict[str, Path] | None = None,
                 conform_as: dict[str, str] | None = None) -> None:
        self._frames: dict[str, pd.DataFrame] = dict(frames or {})
        self._paths: dict[str, Path] = dict(paths or {})
        self._conform_as = dict(conform_as or {})

    def path(self, name: str) -> Path | None:
        """The Parquet file behind a table not yet read (None once in memory or when never saved)."""
        return None if name in self._frames else self._paths.get(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            if name not in self._paths:
                raise KeyError(name)
            frame = pd.read_parquet(self._paths[name])
            registered = self._conform_as.get(name)
            self._frames[name] = conform(frame, registered) if registered else frame
        return self._frames[name]

    def __setitem__(self, name: str, frame: pd.DataFrame) -> None:
        self._frames[name] = frame

    def __delitem__(self, name: str) -> None:
        self._frames.pop(name, None)
        self._paths.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set(self._frames) | set(self._paths), key=self._order))

    def __len__(self) -> int:
        return len(set(self._frames) | set(self._paths))

    @staticmethod
    def _order(name: str):
        return (CANONICAL_TABLES.index(name), name) if name in CANONICAL_TABLES else (len(CANONICAL_TABLES), name)

    def rows(self, name: str) -> int:
        """Row count without reading the table (Parquet metadata) when it is not in memory."""
        path = self.path(name)
        return parquet.ParquetFile(path).metadata.num_rows if path is not None else len(self[name])


class Dataset:
    """Canonical tables, their ledger and provenance: what every later stage reads.

    Tables are reachable as ``ds.tables["incidents"]`` or ``ds.incidents``; a loaded Dataset
    reads each table (and the ledger) from its Parquet file the first time it is used.
    """

    def __init__(self, tables, ledger, provenance: dict | None = None, audits=None) -> None:
        self.tables = tables if isinstance(tables, TableStore) else TableStore(tables)
        self._ledger = ledger  # a frame, or the Parquet file it is read from (kept: save copies it)
        self._ledger_frame: pd.DataFrame | None = None
        self.provenance = provenance if provenance is not None else {}
        self.audits = audits if audits is not None else {}

    @property
    def ledger(self) -> pd.DataFrame:
        """The row ledger (read from its Parquet file on first use).

        A ledger read from its file is saved by copying that file; to save a changed ledger,
        assign it (``ds.ledger = frame``).
        """
        if not isinstance(self._ledger, Path):
            return self._ledger
        if self._ledger_frame is None:
            self._ledger_frame = conform(pd.read_parquet(self._ledger), "ledger")
        return self._ledger_frame

    @ledger.setter
    def ledger(self, frame: pd.DataFrame) -> None:
        self._ledger, self._ledger_frame = frame, None

    def ledger_path(self) -> Path | None:
        """The Parquet file behind the ledger (None when the ledger is only a frame in memory)."""
        return self._ledger if isinstance(self._ledger, Path) else None

    @classmethod
    def empty(cls, **provenance) -> "Dataset":
        """A Dataset with every canonical table present and empty."""
        return cls({name: empty_frame(name) for name in CANONICAL_TABLES}, empty_frame("ledger"),
                   {"package_version": __version__, **provenance})

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"Dataset has no table or attribute {name!r}; tables: {', '.join(tables)}")

    def table_rows(self, name: str) -> int:
        """Rows of a table, without reading it when it is still on disk."""
        return self.tables.rows(name)

    # -- checks --------------------------------------------------------------------------------
    def validate(self) -> "Dataset":
        """Validate every table against the registry and the cross-table rules; returns self."""
        from sro_analysis.schema.rules import check_dataset

        for name in CANONICAL_TABLES:
            validate(self.tables[name], name)
        validate(self.ledger, "ledger")
        check_dataset(self)
        return self

    def ledger_summary(self) -> pd.DataFrame:
        """Per raw file: rows, kept, merged, rejected (with reasons)."""
        path = self.ledger_path()
        return summarise_file(path) if path is not None and self._ledger_frame is None else summarise(self.ledger)

    def unmapped_labels(self) -> pd.DataFrame:
        """Labels no mapping knew: file, column, value, rows."""
        return unmapped_labels(self.ledger)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write the Dataset to ``out_dir`` atomically (all or nothing)."""
        out_dir = Path(out_dir)
        with atomic_directory(out_dir) as tmp:
            (tmp / "tables").mkdir()
            for name in CANONICAL_TABLES:
                target = tmp / "tables" / f"{name}.parquet"
                if name in self.tables and self.tables.path(name) is not None:
                    shutil.copyfile(self.tables.path(name), target)  # never read: same bytes
                    continue
                write_parquet(conform(self.tables.get(name, empty_frame(name)), name), target)
            if isinstance(self._ledger, Path):
                shutil.copyfile(self._ledger, tmp / "ledger.parquet")
            else:
                write_parquet(conform(self.ledger, "ledger"), tmp / "ledger.parquet")
            if self.audits:
                (tmp / "audits").mkdir()
                for name, frame in sorted(self.audits.items()):
                    write_parquet(frame.reset_index(drop=True), tmp / "audits" / f"{name}.parquet")
            write_text_atomic(tmp / "provenance.json",
                              json.dumps(self.provenance, indent=2, sort_keys=True, default=str) + "\n")
        return out_dir

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Dataset":
        """Load a Dataset saved by :meth:`save` (or ``sro-analysis clean --out``)."""
        path = Path(path)
        if not (path / "provenance.json").exists():
            raise FileNotFoundError(
                f"{path} is not a saved Dataset (no provenance.json); create one with "
                f"`sro-analysis clean --source synthetic --out {path}`")
        paths, frames = {}, {}
        for name in CANONICAL_TABLES:
            file = path / "tables" / f"{name}.parquet"
            if file.exists():
                paths[name] = file
            else:
                frames[name] = empty_frame(name)  # a Dataset saved before the table existed
        tables = TableStore(frames, paths, {name: name for name in CANONICAL_TABLES})
        ledger = path / "ledger.parquet"
        provenance = json.loads((path / "provenance.json").read_text(encoding="utf-8"))
        audits = {f.stem: pd.read_parquet(f) for f in sorted((path / "audits").glob("*.parquet"))}
        return cls(tables, ledger, provenance, audits)

    # -- display -------------------------------------------------------------------------------
    def _counts(self) -> list[tuple[str, int]]:
        return [(name, self.tables.rows(name)) for name in CANONICAL_TABLES if name in self.tables]

    def __repr__(self) -> str:
        lines = [f"Dataset(source={self.provenance.get('source', '?')!r}, "
                 f"version={self.provenance.get('package_version', '?')})"]
        lines += [f"  {name:<20} {n:>9,} rows" for name, n in self._counts()]
        status = self.ledger["status"].value_counts()
        lines.append(f"  ledger: {len(self.ledger):,} raw rows = " + " + ".join(
            f"{int(status.get(s, 0)):,} {s}" for s in ("kept", "merged", "rejected")))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{name}</td><td style='text-align:right'>{n:,}</td></tr>"
                       for name, n in self._counts())
        status = self.ledger["status"].value_counts()
        led = ", ".join(f"{int(status.get(s, 0)):,} {s}" for s in ("kept", "merged", "rejected"))
        return (f"<b>Dataset</b> source={self.provenance.get('source', '?')}, "
                f"sro-analysis {self.provenance.get('package_version', '?')}<br>"
                f"<table><tr><th>table</th><th>rows</th></tr>{rows}</table>"
                f"ledger: {len(self.ledger):,} raw rows ({led})")


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Load a saved Dataset in one call: ``sro.load_dataset("data/interim/demo")``."""
    return Dataset.load(path)


def describe_table(name: str) -> str:
    """One line per field of a registered table, for quick orientation in a notebook."""
    t = table(name)
    return "\n".join(f"{f.name:<28} {f.dtype:<10} {f.sensitivity:<10} {f.description}" for f in t.fields)
