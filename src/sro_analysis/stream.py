"""Bounded-memory clean for releases larger than memory (synthetic release format).

:func:`clean_streaming` gives the same canonical tables and the same ledger as the in-memory
adapter stage (``SyntheticRelease.load`` + the merge of ``clean.clean``), but reads the big
record files (incidents, subjects, officer mentions, force reports) in chunks of
``chunk_rows`` rows with pyarrow's streaming CSV reader, runs the adapter's own loaders on each
chunk, and writes tables and ledger to Parquet as it goes. Linkage is not run: the output
folder holds the *unlinked* tables (``provenance.json`` says ``"linked": false``).

Memory model (n = raw rows, c = chunk_rows):

* one chunk of raw rows and its canonical rows: O(c);
* exact-duplicate rows: a 64-bit hash of every raw row seen (8 bytes/row; one sorted array per
  chunk). Two different rows with equal hashes would be merged: about n^2 / 2^65, 3e-6 at 10^7;
* duplicate keys: a 64-bit hash per kept key (8 bytes/row);
* cross-file lookups: kept incident ids with their date and deciding officer and kept subject
  ids, as exact 64-bit integers (ids are ``prefix-<16 hex>``): 8-24 bytes per incident/subject;
* the small files (school directory, personnel, SRO roster) and the provisional officers
  derived from mentions (one row per distinct officer) stay in memory;
* tables are written into 16 bucket files by the first hex digit of their primary key, then
  each bucket is sorted alone and appended to the final file: the sort holds 1/16 of a table.

So memory is O(c) plus about 40 bytes per raw row: ~0.4 GB of structures at 10^7 rows.

Files that the Arrow reader cannot stream (not UTF-8, title rows, a header spanning lines, a
malformed line in the first block) are read whole by
:func:`~sro_analysis.sources.base.read_raw_csv` and then cut into chunks (memory is then
bounded by that file); a malformed line met mid-stream is a :class:`RawFileError` naming the
file and row (the in-memory ``clean`` reports such lines in the ledger instead).

Example:
    >>> import tempfile, pathlib
    >>> from sro_analysis import synthetic
    >>> raw = pathlib.Path(tempfile.mkdtemp())
    >>> _ = synthetic.write_release(raw, n_incidents=300, seed=4)
    >>> result = clean_streaming(raw, raw.parent / (raw.name + "-out"), chunk_rows=200)
    >>> result.rows == sum(result.rows_by_file.values()), result.linked
    (True, False)
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import platform
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv as arrow_csv
import pyarrow.parquet as parquet

from sro_analysis import __version__
from sro_analysis.atomic import atomic_directory, write_text_atomic
from sro_analysis.ledger import Ledger, LedgerError
from sro_analysis.schema.models import conform, empty_frame
from sro_analysis.schema.registry import CANONICAL_TABLES, table
from sro_analysis.sources.base import RawFileError, _blank_rows, read_head, read_raw_csv, reject_bad_lines

#: Kinds of file read in chunks; the others (directory, personnel, roster) are small by nature.
STREAMED_KINDS = ("incidents", "incident_officers", "subjects", "force_reports")
#: Tables whose rows are independent records: chunks are simply concatenated.
ROW_TABLES = ("incidents", "incident_subjects", "incident_officers", "outcomes", "force_reports")
BUCKETS = 16
_HEX = {f"{i:x}": i for i in range(16)}
DEFAULT_CHUNK_ROWS = 50_000


@dataclass
class StreamResult:
    """What :func:`clean_streaming` wrote."""

    out_dir: Path
    chunk_rows: int
    rows_by_file: dict[str, int]
    table_rows: dict[str, int]
    notes: list[str] = field(default_factory=list)
    linked: bool = False

    @property
    def rows(self) -> int:
        return sum(self.rows_by_file.values())


# -- exact 64-bit keys -----------------------------------------------------------------------------------
def id_keys(ids: pd.Series) -> np.ndarray:
    """``prefix-<16 hex>`` ids -> their exact 64-bit value (uint64); raises on any other form.

    Example:
        >>> id_keys(pd.Series(["inc-00000000000000ff"])).tolist()
        [255]
    """
    values = ids.astype("string").tolist()
    try:
        return np.fromiter((int(v[-16:], 16) if v[-17] == "-" else _bad_id(v) for v in values),
                           dtype=np.uint64, count=len(values))
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"ids must look like 'prefix-<16 hex digits>' for the streaming path: {exc}") from exc


def _bad_id(value):
    raise ValueError(repr(value))


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """64-bit hash of each row's cells (what 'exact duplicate' compares)."""
    if frame.shape[1] == 0:
        return np.zeros(len(frame), dtype=np.uint64)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


class HashSet:
    """A set of uint64 kept as sorted arrays (one per insert): 8 bytes per member."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []

    def contains(self, keys: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(keys), dtype=bool)
        for part in self._parts:
            pos = np.searchsorted(part, keys).clip(max=len(part) - 1)
            hit |= part[pos] == keys
        return hit

    def add(self, keys: np.ndarray) -> None:
        if len(keys):
            self._parts.append(np.unique(keys))
        if len(self._parts) > 8:  # keep lookups cheap: fold the parts together now and then
            self._parts = [np.unique(np.concatenate(self._parts))]


class KeyedValues:
    """uint64 key -> int64 values, sorted once all keys are in (lookups after :meth:`seal`)."""

    def __init__(self, width: int = 1) -> None:
        self._keys: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self.keys = np.zeros(0, dtype=np.uint64)
        self.values = np.zeros((0, width), dtype=np.int64)

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        self._keys.append(keys)
        self._values.append(values.reshape(len(keys), -1))

    def seal(self) -> None:
        if self._keys:
            keys = np.concatenate([self.keys, *self._keys])
            values = np.concatenate([self.values, *self._values])
            order = np.argsort(keys, kind="stable")
            self.keys, self.values = keys[order], values[order]
            self._keys, self._values = [], []

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, value rows) for ``keys``."""
        if not len(self.keys):
            return np.zeros(len(keys), dtype=bool), np.zeros((len(keys), self.values.shape[1]), dtype=np.int64)
        pos = np.searchsorted(self.keys, keys).clip(max=len(self.keys) - 1)
        found = self.keys[pos] == keys
        return found, self.values[pos]


# -- chunked raw reading ---------------------------------------------------------------------------------
@dataclass
class RawChunk:
    """Rows of one file: ``frame`` as :func:`read_raw_csv` gives it (source_row first)."""

    frame: pd.DataFrame
    bad_lines: list[tuple[int, str]]
    first_row: int  # 1-based data row of the chunk's first record
    n_rows: int  # records covered, good and bad


def _header(path: Path) -> list[str] | None:
    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    end = data.find(b"\n", start)
    if end < 0:
        return None
    line = data[start:end].removesuffix(b"\r")
    if b"\r" in line or line.count(b'"') % 2:
        return None
    try:
        header = [c.strip() for c in next(csv.reader([line.decode("utf-8")]))]
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None
    return header if len(header) >= 2 else None


def iter_raw_chunks(path: Path, relpath: str, chunk_rows: int) -> Iterator[RawChunk]:
    """Read a CSV in chunks of about ``chunk_rows`` records, every record accounted for.

    Blank rows inside the data come back as ``bad_lines`` (``blank_line``) as in
    :func:`read_raw_csv`; blank rows at the very end are not data rows.
    """
    header = _header(path) if path.suffix == ".csv" else None
    if header is None:  # not streamable: read whole, then cut (memory bounded by this file)
        raw = read_raw_csv(path, relpath=relpath)
        yield from _cut(raw.frame, raw.bad_lines, raw.n_rows, chunk_rows)
        return
    names = [f"c{i}" for i in range(len(header))]
    block = max(1 << 16, min(1 << 26, chunk_rows * 64))
    try:
        reader = arrow_csv.open_csv(
            path,
            read_options=arrow_csv.ReadOptions(column_names=names, skip_rows=1, block_size=block),
            parse_options=arrow_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(column_types={n: pyarrow.string() for n in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        # The first block is not plain UTF-8 CSV (cp1252, a short row, an empty line): read it
        # whole with read_raw_csv, which accounts for such rows in the ledger.
        raw = read_raw_csv(path, relpath=relpath)
        yield from _cut(raw.frame, raw.bad_lines, raw.n_rows, chunk_rows)
        return
    done = 0  # records already handed out (including carried blank rows)
    carried: list[int] = []  # blank rows at the end of the previous chunk: trailing unless data follows
    batches: list[pyarrow.RecordBatch] = []
    pending = 0

    def emit(batches):
        nonlocal done, carried
        arrow_table = pyarrow.Table.from_batches(batches)
        n = arrow_table.num_rows
        numbers = np.arange(done + 1, done + n + 1)
        blank = _blank_rows(arrow_table)
        filled = np.flatnonzero(~blank)
        # A chunk covers the blank rows carried from the previous one up to its last filled row;
        # its own trailing blank rows are carried on (at the end of the file they are not data).
        first = carried[0] if carried else done + 1
        bad: list[tuple[int, str]] = []
        if len(filled):
            bad = [(r, "blank_line") for r in carried]
            bad += [(int(numbers[i]), "blank_line") for i in np.flatnonzero(blank[: filled[-1]])]
            carried = [int(r) for r in numbers[filled[-1] + 1:]]
            covered = int(numbers[filled[-1]]) - first + 1
        else:
            carried += [int(r) for r in numbers]
            covered = 0
        good = arrow_table.filter(pyarrow.array(~blank)) if blank.any() else arrow_table
        frame = good.to_pandas(types_mapper={pyarrow.string(): pd.StringDtype()}.get)
        frame.columns = header
        frame.insert(0, "source_row", pd.Series(numbers[~blank], dtype="int64"))
        done += n
        if len(frame) + len(bad) != covered:  # pragma: no cover - a bug, not data
            raise AssertionError(f"{relpath}: chunk accounting is off")
        return RawChunk(frame, bad, first, covered)

    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pyarrow.ArrowInvalid as exc:
            raise RawFileError(f"{relpath}: malformed CSV after data row {done + pending}: {exc}; the streaming "
                               "clean needs well-formed CSV (the in-memory clean rejects such lines in the ledger)"
                               ) from exc
        batches.append(batch)
        pending += batch.num_rows
        if pending >= chunk_rows:
            yield emit(batches)
            batches, pending = [], 0
    if batches:
        yield emit(batches)
    # Blank rows left in `carried` are trailing: not data rows (as read_raw_csv).


def _cut(frame: pd.DataFrame, bad_lines, n_rows: int, chunk_rows: int) -> Iterator[RawChunk]:
    bad = sorted(bad_lines)
    for start in range(0, max(n_rows, 1), chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        rows = frame["source_row"]
        part = frame[(rows > start) & (rows <= stop)].reset_index(drop=True)
        part_bad = [(r, why) for r, why in bad if start < r <= stop]
        yield RawChunk(part, part_bad, start + 1, len(part) + len(part_bad))


# -- the adapter's loaders over chunks -----------------------------------------------------------------------
def _stream_batch_class():
    from sro_analysis.sources.synthetic_release import _Batch

    class StreamBatch(_Batch):
        """A chunk of one kind; duplicate checks also look at the chunks before it."""

        seen: dict

        def merge_exact_duplicates(self, table_name, record_ids):
            data = [c for c in self.frame.columns if c not in ("source_row", "_file")]
            hashes = row_hashes(self.frame[data])
            earlier = self.seen.setdefault(("rows", self.kind), HashSet())
            dup = self.frame[data].duplicated(keep="first").to_numpy() | earlier.contains(hashes)
            earlier.add(hashes)
            self.finish(dup, table_name, record_ids, status="merged")

        def reject_duplicate_keys(self, key, what):
            alive_key = key.where(self.alive)
            present = alive_key.notna().to_numpy()
            hashes = row_hashes(alive_key.to_frame())
            earlier = self.seen.setdefault(("key", self.kind, what), HashSet())
            dup = (alive_key.duplicated(keep="first").to_numpy() & present) | (earlier.contains(hashes) & present)
            earlier.add(hashes[present & ~dup])
            self.reject(dup, "duplicate_key", f"another row has the same {what} with different content; "
                        "the first row is kept", column=None, values=key)

    return StreamBatch


class _CrossChunk:
    """What later kinds need from earlier ones, as exact 64-bit keys (see the memory model)."""

    def __init__(self) -> None:
        self.incidents = KeyedValues(width=1)  # incident key -> occurred_at (ns, NaT as min int)
        self.leads: list[pd.DataFrame] = []
        self.decider = KeyedValues(width=1)  # incident key -> officer key
        self.subjects = HashSet()

    def harvest(self, kind: str, tables: dict[str, pd.DataFrame]) -> None:
        if kind == "incidents" and len(tables.get("incidents", [])):
            inc = tables["incidents"]
            when = pd.to_datetime(inc["occurred_at"]).astype("datetime64[ns]").to_numpy().view(np.int64)
            self.incidents.add(id_keys(inc["incident_id"]), when)
        elif kind == "incident_officers" and len(tables.get("incident_officers", [])):
            m = tables["incident_officers"]
            lead = m[m["role"].isin(["arresting", "primary_contact"])]
            self.leads.append(pd.DataFrame({"inc": id_keys(lead["incident_id"]),
                                            "rank": (lead["role"] != "arresting").astype(int).to_numpy(),
                                            "off": id_keys(lead["officer_uid"])}))
        elif kind == "subjects" and len(tables.get("incident_subjects", [])):
            self.subjects.add(id_keys(tables["incident_subjects"]["subject_id"]))

    def seal(self, kind: str) -> None:
        if kind == "incidents":
            self.incidents.seal()
        elif kind == "incident_officers":
            # The decider of an incident: arresting officer first, then primary contact, then smallest id.
            leads = pd.concat(self.leads, ignore_index=True) if self.leads else pd.DataFrame(
                {"inc": np.zeros(0, np.uint64), "rank": np.zeros(0, int), "off": np.zeros(0, np.uint64)})
            leads = leads.sort_values(["inc", "rank", "off"], kind="stable").drop_duplicates("inc")
            self.decider.add(leads["inc"].to_numpy(np.uint64), leads["off"].to_numpy(np.uint64).view(np.int64))
            self.decider.seal()
            self.leads = []

    def project(self, state: dict, chunk: pd.DataFrame) -> None:
        """Put into ``state`` the cross-file facts about this chunk's incidents and subjects only."""
        from sro_analysis.ids import mint_ids
        from sro_analysis.standardize import clean_text

        cols = {c.strip().lower(): c for c in chunk.columns}
        if "incident_number" not in cols:
            return
        number = clean_text(chunk[cols["incident_number"]].astype("string"))
        ids = mint_ids("inc", "synthetic", number).drop_duplicates()
        keys = id_keys(ids)
        found, when = self.incidents.lookup(keys)
        kept = ids[found]
        state["incident_ids"] = set(kept)
        state["occurred_at"] = pd.Series(when[found, 0].astype("datetime64[ns]"), index=pd.Index(kept, dtype="string"))
        has, officer = self.decider.lookup(keys)
        officer_ids = [f"off-{int(v):016x}" for v in officer[has, 0].view(np.uint64)]
        state["decider"] = pd.Series(officer_ids, index=pd.Index(ids[has], dtype="string"), dtype="string")
        if "subject_no" in cols:
            subject_ids = mint_ids("sub", "synthetic", number,
                                   clean_text(chunk[cols["subject_no"]].astype("string"))).drop_duplicates()
            state["subject_ids"] = set(subject_ids[self.subjects.contains(id_keys(subject_ids))])


# -- writing --------------------------------------------------------------------------------------------------
def _arrow_schema(name: str) -> pyarrow.Schema:
    return pyarrow.Table.from_pandas(empty_frame(name), preserve_index=False).schema


class _TableSink:
    """Row tables into bucket files by the first hex digit of the primary key, sorted at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[tuple[str, int], parquet.ParquetWriter] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        first = table(name).primary_key[0]
        ids = frame[first].astype("string")
        start = ids.iloc[0].index("-") + 1
        bucket = ids.str.slice(start, start + 1).map(_HEX).to_numpy()
        if pd.isna(bucket).any():
            raise ValueError(f"{name}.{first}: ids must look like 'prefix-<hex>' for the streaming path")
        bucket = bucket.astype(int)
        schema = _arrow_schema(name)
        for b in np.unique(bucket):
            part = frame[bucket == b]
            key = (name, int(b))
            if key not in self.writers:
                self.writers[key] = parquet.ParquetWriter(self.folder / f"{name}.{int(b):02d}.parquet", schema,
                                                          compression="zstd")
            self.writers[key].write_table(pyarrow.Table.from_pandas(part, schema=schema, preserve_index=False))
        self.rows[name] = self.rows.get(name, 0) + len(frame)

    def finish(self, name: str, dest: Path) -> None:
        for key in [k for k in self.writers if k[0] == name]:
            self.writers.pop(key).close()
        schema = _arrow_schema(name)
        key = list(table(name).primary_key)
        with parquet.ParquetWriter(dest, schema, compression="zstd", write_statistics=False) as out:
            for b in range(BUCKETS):
                path = self.folder / f"{name}.{b:02d}.parquet"
                if not path.exists():
                    continue
                frame = conform(parquet.read_table(path).to_pandas(), name)
                frame = frame.sort_values(key, kind="stable")
                out.write_table(pyarrow.Table.from_pandas(frame, schema=schema, preserve_index=False))
                path.unlink()


def _write_frame(frame: pd.DataFrame, name: str, dest: Path) -> None:
    schema = _arrow_schema(name)
    parquet.write_table(pyarrow.Table.from_pandas(conform(frame, name), schema=schema, preserve_index=False), dest,
                        compression="zstd", write_statistics=False)


class _LedgerSink:
    """Ledger rows per raw file, in row order; checked chunk by chunk, merged by file name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, parquet.ParquetWriter] = {}
        self.covered: dict[str, int] = {}
        self.schema = _arrow_schema("ledger")

    def write(self, relpath: str, ledger: Ledger, first_row: int, n_rows: int) -> None:
        frame = ledger.to_frame(check=False)
        rows = frame["source_row"].to_numpy()
        expected = np.arange(first_row, first_row + n_rows)
        if (frame["source_file"] != relpath).any() or not np.array_equal(rows, expected):
            raise LedgerError(f"{relpath}: rows {first_row}..{first_row + n_rows - 1} are not each accounted for "
                              f"exactly once ({len(rows)} ledger rows)")
        if relpath not in self.writers:
            safe = relpath.replace("/", "__")
            self.writers[relpath] = parquet.ParquetWriter(self.folder / f"ledger.{safe}.parquet", self.schema,
                                                          compression="zstd")
        self.writers[relpath].write_table(pyarrow.Table.from_pandas(frame, schema=self.schema, preserve_index=False))
        self.covered[relpath] = first_row + n_rows - 1

    def finish(self, dest: Path) -> None:
        for w in self.writers.values():
            w.close()
        with parquet.ParquetWriter(dest, self.schema, compression="zstd", write_statistics=False) as out:
            for relpath in sorted(self.writers):
                path = self.folder / f"ledger.{relpath.replace('/', '__')}.parquet"
                source = parquet.ParquetFile(path)
                for i in range(source.num_row_groups):
                    out.write_table(source.read_row_group(i))
                path.unlink()


# -- the clean ----------------------------------------------------------------------------------------------
def _split_ledger(ledger: Ledger) -> dict[str, Ledger]:
    """One Ledger per source file (a chunk's ledger holds one file; the small kinds may hold several)."""
    frame = ledger.to_frame(check=False)
    out = {}
    for relpath, rows in frame.groupby("source_file", sort=True):
        part = Ledger()
        part._parts = [rows.reset_index(drop=True)]
        out[relpath] = part
    return out


def _combine_officers(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Provisional officers of one kind from its chunks: the first row per officer, as one pass would."""
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.sort_values(["officer_uid", "source", "middle_initial"], na_position="last", kind="stable")
    return merged.drop_duplicates(["officer_uid"])


def _combine_identifiers(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Star spans of one kind from its chunks: earliest and latest date written, as one pass would."""
    merged = pd.concat(frames, ignore_index=True)
    keys = ["officer_uid", "id_type", "value", "source"]
    spans = merged.groupby(keys, sort=True, dropna=False).agg(valid_from=("valid_from", "min"),
                                                              valid_to=("valid_to", "max")).reset_index()
    return spans[[c for c in merged.columns if c in spans.columns]]


def clean_streaming(raw_dir: str | os.PathLike, out_dir: str | os.PathLike, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                    parameters: dict | None = None, salt: str | None = None) -> StreamResult:
    """Clean a synthetic release in chunks into ``out_dir`` (tables/*.parquet, ledger.parquet).

    Args:
        raw_dir: folder of the release (files recognised by header, as ``clean`` does).
        out_dir: output folder, written atomically (same layout as a saved Dataset, unlinked).
        chunk_rows: raw rows per chunk; memory grows with it (see the module docstring).
        parameters: recorded in provenance.
        salt: person-key salt (default ``$SRO_ANALYSIS_SALT``, else the synthetic salt).

    Returns:
        :class:`StreamResult`.
    """
    from sro_analysis.pipeline import discover
    from sro_analysis.dataset import file_fingerprint
    from sro_analysis.sources.synthetic_release import _LOADERS, ORDER, SYNTHETIC_SALT, SyntheticRelease, kind_of

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    salt = salt if salt is not None else os.environ.get("SRO_ANALYSIS_SALT")
    adapter = SyntheticRelease()
    found = discover(raw_dir, [adapter])
    files = found.claimed.get(adapter.name, [])
    if not files:
        raise ValueError(f"no file under {raw_dir} is a synthetic release file")
    by_kind: dict[str, list] = {k: [] for k in ORDER}
    for f in files:
        by_kind[kind_of(read_head(f.path, f.relpath).header)].append(f)

    StreamBatch = _stream_batch_class()
    StreamBatch.seen = {}
    state: dict = {"salt": salt or SYNTHETIC_SALT}
    notes = ["SYNTHETIC: the fictional Lakeview release written by sro_analysis.synthetic; not real records."]
    if not salt:
        notes.append("person_key hashed with the built-in synthetic salt (no SRO_ANALYSIS_SALT set).")
    cross = _CrossChunk()
    rows_by_file: dict[str, int] = {}
    in_memory: dict[str, list[pd.DataFrame]] = {}

    with atomic_directory(out_dir) as tmp:
        scratch = tmp / "_scratch"
        scratch.mkdir()
        (tmp / "tables").mkdir()
        sink, ledger_sink = _TableSink(scratch), _LedgerSink(scratch)
        for kind in ORDER:
            kind_parts: dict[str, list[pd.DataFrame]] = {}
            if kind not in STREAMED_KINDS:
                frames, ledger = [], Ledger()
                for f in by_kind[kind]:
                    raw = read_raw_csv(f.path, relpath=f.relpath)
                    reject_bad_lines(raw, ledger)
                    rows_by_file[f.relpath] = raw.n_rows
                    frames.append(raw.frame.assign(_file=f.relpath))
                chunks = [(frames, ledger, None)] if frames else []
            else:
                chunks = _chunks_of(by_kind[kind], chunk_rows, rows_by_file)
            for frames, ledger, span in chunks:
                batch = StreamBatch(frames, ledger, kind)
                if kind in STREAMED_KINDS:
                    cross.project(state, batch.frame)
                out = _LOADERS[kind](batch, state, notes) if len(batch.frame) else {}
                if len(batch.frame) and batch.alive.any():
                    raise AssertionError(f"{kind}: {int(batch.alive.sum())} rows left unaccounted")
                tables = {name: conform(frame, name) for name, frame in out.items()}
                cross.harvest(kind, tables)
                for name, frame in tables.items():
                    if kind in STREAMED_KINDS and name in ROW_TABLES:
                        sink.write(name, frame)
                    else:
                        kind_parts.setdefault(name, []).append(frame)
                if span is None:  # small kind: all its files at once
                    for relpath, part in _split_ledger(ledger).items():
                        ledger_sink.write(relpath, part, 1, rows_by_file[relpath])
                    for f in by_kind[kind]:
                        if rows_by_file[f.relpath] and f.relpath not in ledger_sink.writers:
                            raise LedgerError(f"{f.relpath}: no row accounted for")
                else:
                    ledger_sink.write(span[0], ledger, span[1], span[2])
            cross.seal(kind)
            for name, frames in kind_parts.items():
                if kind in STREAMED_KINDS and name == "officers":
                    frames = [_combine_officers(frames)]
                elif kind in STREAMED_KINDS and name == "officer_identifiers":
                    frames = [_combine_identifiers(frames)]
                elif kind in STREAMED_KINDS:
                    raise NotImplementedError(f"the streaming clean does not know how to combine chunks of {name!r}")
                in_memory.setdefault(name, []).extend(conform(f, name) for f in frames)

        table_rows = {}
        for name in CANONICAL_TABLES:
            dest = tmp / "tables" / f"{name}.parquet"
            if name in sink.rows:
                sink.finish(name, dest)
                table_rows[name] = sink.rows[name]
                continue
            frames = [f for f in in_memory.get(name, []) if len(f)]
            merged = pd.concat(frames, ignore_index=True) if frames else empty_frame(name)
            if name == "officers":  # a provisional person can be mentioned in several files
                merged = merged.drop_duplicates("officer_uid")
            merged = merged.sort_values(list(table(name).primary_key), kind="stable").reset_index(drop=True)
            _write_frame(merged, name, dest)
            table_rows[name] = len(merged)
        ledger_sink.finish(tmp / "ledger.parquet")
        shutil.rmtree(scratch)
        provenance = {
            "source": "synthetic", "package_version": __version__, "python": platform.python_version(),
            "pandas": pd.__version__, "parameters": dict(parameters or {}), "raw_dir": raw_dir.name,
            "inputs": [file_fingerprint(f.path, raw_dir) for f in sorted(files, key=lambda f: f.relpath)],
            "ignored_files": [{"path": p, "reason": r} for p, r in found.ignored],
            "adapters": {adapter.name: sorted(f.relpath for f in files)},
            "streaming": {"chunk_rows": chunk_rows}, "linked": False,
            "notes": list(dict.fromkeys(notes)),
        }
        write_text_atomic(tmp / "provenance.json", json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n")
    return StreamResult(out_dir=out_dir, chunk_rows=chunk_rows, rows_by_file=rows_by_file, table_rows=table_rows,
                        notes=provenance["notes"])


def _chunks_of(files, chunk_rows: int, rows_by_file: dict[str, int]):
    """(frames, ledger, (relpath, first_row, n_rows)) per chunk of each file, bad lines in the ledger."""
    for f in files:
        total = 0
        for chunk in iter_raw_chunks(f.path, f.relpath, chunk_rows):
            ledger = Ledger()
            for row, why in chunk.bad_lines:
                reason = "blank_line" if why == "blank_line" else "malformed_line"
                msg = "blank line inside the data" if why == "blank_line" else f"malformed CSV line: {why}"
                ledger.reject(f.relpath, [row], reason, msg)
            total += chunk.n_rows
            yield [chunk.frame.assign(_file=f.relpath)], ledger, (f.relpath, chunk.first_row, chunk.n_rows)
        rows_by_file[f.relpath] = total


def load_tables(out_dir: str | os.PathLike) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read back what :func:`clean_streaming` wrote: (conformed tables, ledger)."""
    out_dir = Path(out_dir)
    tables = {name: conform(pd.read_parquet(out_dir / "tables" / f"{name}.parquet"), name) for name in CANONICAL_TABLES}
    return tables, conform(pd.read_parquet(out_dir / "ledger.parquet"), "ledger")


def main(argv: list[str] | None = None) -> None:
    """``python -m sro_analysis.stream RAW_DIR OUT_DIR [--chunk-rows N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sro_analysis.stream", description=main.__doc__)
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    args = parser.parse_args(argv)
    result = clean_streaming(args.raw_dir, args.out_dir, chunk_rows=args.chunk_rows)
    print(f"{result.rows:,} raw rows cleaned in chunks of {result.chunk_rows:,} into {result.out_dir} (unlinked)")
    for name, n in result.table_rows.items():
        print(f"  {name:<20} {n:>12,} rows")


if __name__ == "__main__":  # pragma: no cover
    main()
