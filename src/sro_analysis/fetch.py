"""Download the public originals of the real records into a local cache.

``sro-analysis fetch FAMILY`` calls :func:`fetch`. Every file the package knows is listed in
the packaged catalogue ``fetch_catalog.csv`` (one row per file of the shared mirror folder):
its family (:data:`FAMILIES`: ``chicago``, ``chicago-full-city``, ``nyc``, ``louisiana``),
its path in the mirror (``relpath``), the raw GitHub URL of its public original at a fixed
commit, the SHA-256 and size of the mirror copy, its licence and how it was confirmed.
``"all"`` is every family.

Two ways to fill the cache:

* **network** (default): each original is streamed in chunks to ``<file>.part``; an interrupted
  download resumes with an HTTP ``Range`` request (a server that ignores ``Range`` makes us
  start again), transient errors are retried with a bounded exponential backoff, the SHA-256
  is checked when the catalogue row *is* the original, and the file is renamed into place
  only when complete.  Rows marked ``derived`` (the school-location subsets, the CSV of the
  juvenile workbook) are made from a whole-file original: the original is downloaded (kept in
  the cache, at the catalogue row that is that original or under ``.originals/``), then the
  subset is derived into place at the row's ``relpath`` by the rule the ``derived`` column
  states (see "derived subsets" below); the manifest records both checksums.  When the
  catalogue also lists the original itself (``all``: the whole-city TRR tables of releases
  p046360 and p583646, family ``chicago-full-city``), it is stored at that row's ``relpath``
  and checked against that row's checksum before the subsets are derived from it.
* **mirror** (``mirror=DIR``, offline): each file is copied from ``DIR/relpath`` and checked
  against the catalogue checksum.  A file missing from the mirror is reported, not fatal.

Either way the cache ends with ``MANIFEST.sha256`` and ``manifest.json`` listing what it holds,
sorted and without timestamps, so the same content always gives the same bytes.

Example (needs the mirror folder, so not run as a doctest; tests/test_fetch.py runs it)::

    from sro_analysis.fetch import fetch
    report = fetch(mirror="../shared/data", progress=False)
    print(report.summary())
    # chicago: 46 files in /home/me/.cache/sro-analysis/chicago (from mirror ../shared/data)
    #   copied_from_mirror: 46
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sro_analysis import __version__
from sro_analysis.atomic import write_text_atomic
from sro_analysis.progress import Transfers, transfer_progress

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = [
    "ALL_FAMILIES",
    "CATALOG_COLUMNS",
    "FAMILIES",
    "ORIGINALS_FOLDER",
    "STATUSES",
    "CatalogEntry",
    "DerivationRule",
    "FetchError",
    "FetchReport",
    "FetchedFile",
    "contains_word",
    "default_cache_dir",
    "derivation_rule",
    "family_summaries",
    "fetch",
    "filter_csv_rows",
    "load_catalog",
    "network_path",
    "sha256_file",
    "trr_release",
    "xlsm_sheet1_to_csv_gz",
]

#: Columns of a fetch catalogue CSV, in file order.
CATALOG_COLUMNS = ("family", "relpath", "url", "url_confirmed", "derived", "sha256", "bytes", "licence", "notes")

#: The packaged catalogue's families and what each holds (``sro-analysis fetch --help`` shows this).
#: The whole-city TRR tables are a family of their own because they are large (a download of
#: their own); ``clean --source chicago`` reads them beside the school subsets, whose rows it
#: merges into the whole-city records of the same release (``same_trr_in_larger_file``).
FAMILIES = {
    "chicago": (
        "Chicago Police use-of-force reports (TRR) at school locations, 4 FOIA releases, the CPD "
        "roster, the republisher's data dictionary and location labels; Data Portal crimes (two "
        "weeks of 2014, its school subset, a sample); juvenile arrests and dispositions by police "
        "district; CPS school profiles, progress reports and id crosswalks"
    ),
    "chicago-full-city": (
        "Chicago TRR tables for the whole city, releases 2004-2016 and 2017-2020 (8 tables each, "
        "the originals the school subsets are cut from): the baseline for officer rates; keep "
        "them in their own folder, apart from chicago's"
    ),
    "nyc": (
        "NYPD Student Safety Act reports 2019-2021 by school campus (12 quarters) and by precinct "
        "(10 quarters, with age, sex, race); NYC DOE School Safety Reports 2010-2017 (one row per "
        "school per year: the school directory for linking campuses)"
    ),
    "louisiana": (
        "FBI NIBRS (Crime Data Explorer) state tables for Louisiana, 2012-2014 (legacy schema) and "
        "2016-2018: arrestee, offense, incident, agencies, the code tables and the CDE README"
    ),
}
#: Catalogue name meaning every family at once.
ALL_FAMILIES = "all"

DOWNLOADED = "downloaded"
RESUMED = "resumed"
COPIED_FROM_MIRROR = "copied_from_mirror"
ALREADY_CACHED = "already_cached"
FAILED = "failed"
#: Every status a fetched file can end with, in the order summaries list them.
STATUSES = (DOWNLOADED, RESUMED, COPIED_FROM_MIRROR, ALREADY_CACHED, FAILED)

MANIFEST_SHA256 = "MANIFEST.sha256"
#: Folder, beside a derived file, holding its downloaded original when the catalogue lists none.
ORIGINALS_FOLDER = ".originals"
MANIFEST_JSON = "manifest.json"
CACHE_ENV_VAR = "SRO_ANALYSIS_CACHE"

_CHUNK_BYTES = 64 * 1024
# HTTP statuses worth asking again for; any other 4xx is the file's final answer.
_RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PACKAGED_CATALOG = "fetch_catalog.csv"


class FetchError(RuntimeError):
    """A fetch problem worth stopping for (bad checksum, unreachable host, bad catalogue).

    The message names the file or URL and the cause, so the CLI can print it and exit.
    """


@dataclass(frozen=True)
class CatalogEntry:
    """One file of a fetch catalogue.

    Attributes:
        relpath: path of the file in the mirror folder (and in the cache), POSIX style.
        url: URL of the public original at a fixed commit.
        url_confirmed: whether the original's path was found in that repository.
        derived: empty when the mirror copy *is* the original; otherwise how the mirror
            copy was derived from the original (e.g. a school-location subset).
        sha256: SHA-256 of the mirror copy.
        bytes: size in bytes of the mirror copy.
        licence: licence or terms of the original.
        notes: how the origin was confirmed, renames, caveats.
        family: the catalogue family (a key of :data:`FAMILIES`; empty for custom catalogues).

    Example:
        >>> e = CatalogEntry("a/b.csv", "https://example.org/b.csv", True, "", "0" * 64, 3)
        >>> e.is_derived, e.original_name
        (False, 'b.csv')
    """

    relpath: str
    url: str
    url_confirmed: bool
    derived: str
    sha256: str
    bytes: int
    licence: str = ""
    notes: str = ""
    family: str = ""

    @property
    def is_derived(self) -> bool:
        """True when the mirror copy is a filtered derivative of the original at ``url``."""
        return bool(self.derived)

    @property
    def original_name(self) -> str:
        """File name of the original at ``url``."""
        return PurePosixPath(urlsplit(self.url).path).name


@dataclass(frozen=True)
class FetchedFile:
    """What happened to one catalogue file in a fetch.

    Attributes:
        relpath: catalogue path of the file (as in the mirror).
        path: where the file now is, relative to the cache folder (always ``relpath``: a
            derived row fetched from the network is derived from its original into place).
        url: the public original's URL.
        source: ``"network"`` or ``"mirror"``.
        status: one of :data:`STATUSES`.
        bytes: size of the cached file (``None`` when failed).
        sha256: SHA-256 of the cached file (``None`` when failed).
        reason: why it failed, or a note on what was done (e.g. a restart, a derivation).
        original_path: for a derived row fetched from the network, where the downloaded
            whole-file original is kept in the cache (empty otherwise).
        original_sha256: SHA-256 of that original (``None`` when not applicable).
        original_bytes: size of that original (``None`` when not applicable).
    """

    relpath: str
    path: str
    url: str
    source: str
    status: str
    bytes: int | None = None
    sha256: str | None = None
    reason: str = ""
    original_path: str = ""
    original_sha256: str | None = None
    original_bytes: int | None = None


@dataclass
class FetchReport:
    """Outcome of :func:`fetch`: one :class:`FetchedFile` per catalogue row, sorted by relpath.

    Example:
        >>> r = FetchReport("chicago", Path("/tmp/c"), None, [
        ...     FetchedFile("a.csv", "a.csv", "u", "network", "downloaded", 3, "0" * 64)])
        >>> r.ok, r.counts()["downloaded"]
        (True, 1)
    """

    catalog: str
    cache_dir: Path
    mirror: Path | None
    files: list[FetchedFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    @property
    def failed(self) -> list[FetchedFile]:
        """The files that could not be fetched."""
        return [f for f in self.files if f.status == FAILED]

    def counts(self) -> dict[str, int]:
        """Number of files per status (every status present, zero included)."""
        counter = Counter(f.status for f in self.files)
        return {status: counter.get(status, 0) for status in STATUSES}

    def summary(self) -> str:
        """Human-readable summary: counts per status, then each failure with its reason."""
        where = f"{len(self.files)} files in {self.cache_dir}"
        if self.mirror is not None:
            where += f" (from mirror {self.mirror})"
        lines = [f"{self.catalog}: {where}"]
        total_bytes = sum(f.bytes or 0 for f in self.files)
        lines += [f"  {status}: {n}" for status, n in self.counts().items() if n]
        lines.append(f"  bytes in cache for these files: {total_bytes:,}")
        if self.failed:
            lines.append(f"{len(self.failed)} failed:")
            lines += [f"  {f.relpath}: {f.reason}" for f in self.failed]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per file with the :class:`FetchedFile` fields as columns."""
        import pandas as pd  # local: keep `import sro_analysis.fetch` light for the CLI

        columns = list(FetchedFile.__dataclass_fields__)
        frame = pd.DataFrame([asdict(f) for f in self.files], columns=columns)
        return frame.astype({"bytes": "Int64", "original_bytes": "Int64"})

    def raise_for_failures(self) -> None:
        """Raise :class:`FetchError` with the summary when any file failed."""
        if not self.ok:
            raise FetchError(self.summary())


# --------------------------------------------------------------------------- catalogue


def load_catalog(catalog: str | os.PathLike[str] | Iterable[CatalogEntry] = "chicago") -> list[CatalogEntry]:
    """Read a fetch catalogue.

    Args:
        catalog: a family of the packaged catalogue (a key of :data:`FAMILIES`), ``"all"``
            for every family, a path to a catalogue CSV with :data:`CATALOG_COLUMNS`, or
            already-built :class:`CatalogEntry` objects.

    Returns:
        The entries sorted by ``relpath``.

    Raises:
        FetchError: unknown name, missing column, bad value (naming file, row and column),
            or a duplicated ``relpath``.

    Example:
        >>> entries = load_catalog("chicago")
        >>> entries[0].relpath
        'chicago-crimes/ChicagoCrimeData_IBM_sample.csv'
        >>> sorted({e.family for e in load_catalog("all")}) == sorted(FAMILIES)
        True
    """
    if isinstance(catalog, str) and _is_packaged(catalog):
        source = resources.files("sro_analysis").joinpath(_PACKAGED_CATALOG)
        entries = _parse_catalog(source.read_text(encoding="utf-8"), "packaged catalogue")
        unknown = sorted({e.family for e in entries} - set(FAMILIES))
        if unknown:
            raise FetchError(f"packaged catalogue: unknown family {', '.join(unknown)}")
        if catalog != ALL_FAMILIES:
            entries = [e for e in entries if e.family == catalog]
    elif isinstance(catalog, (str, os.PathLike)):
        path = Path(catalog)
        if not path.is_file():
            known = ", ".join([*FAMILIES, ALL_FAMILIES])
            raise FetchError(f"unknown catalogue {str(catalog)!r}: not a packaged family ({known}) nor a CSV file")
        entries = _parse_catalog(path.read_text(encoding="utf-8"), str(path))
    else:
        entries = list(catalog)
    seen = Counter(e.relpath for e in entries)
    duplicated = sorted(p for p, n in seen.items() if n > 1)
    if duplicated:
        raise FetchError(f"catalogue lists these relpaths more than once: {', '.join(duplicated)}")
    return sorted(entries, key=lambda e: e.relpath)


def _is_packaged(name: str) -> bool:
    return name in FAMILIES or name == ALL_FAMILIES


def family_summaries() -> list[tuple[str, str]]:
    """(name, what it holds, with the count and size of its catalogued copies) per family, then ``all``.

    Example:
        >>> [name for name, _ in family_summaries()]
        ['chicago', 'chicago-full-city', 'nyc', 'louisiana', 'all']
    """
    everything = load_catalog(ALL_FAMILIES)

    def size(entries: Sequence[CatalogEntry]) -> str:
        return f"{len(entries)} files, {sum(e.bytes for e in entries) / 1e6:.1f} MB"

    rows = []
    for name, holds in FAMILIES.items():
        rows.append((name, f"{holds} [{size([e for e in everything if e.family == name])}]."))
    rows.append((ALL_FAMILIES, f"every family above, into one folder: a full mirror [{size(everything)}]."))
    return rows


def _parse_catalog(text: str, origin: str) -> list[CatalogEntry]:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in CATALOG_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FetchError(f"{origin}: missing column(s) {', '.join(missing)}")
    entries = []
    for line_no, row in enumerate(reader, start=2):  # line 1 is the header
        entries.append(_entry_from_row(row, f"{origin}, line {line_no}"))
    return entries


def _entry_from_row(row: dict[str, str], where: str) -> CatalogEntry:
    relpath = row["relpath"].strip()
    if not relpath or relpath.startswith("/") or ".." in PurePosixPath(relpath).parts:
        raise FetchError(f"{where}, column relpath: {relpath!r} is not a relative path inside the cache")
    if not urlsplit(row["url"]).scheme:
        raise FetchError(f"{where}, column url: {row['url']!r} is not a URL")
    confirmed = row["url_confirmed"].strip().lower()
    if confirmed not in {"true", "false"}:
        raise FetchError(f"{where}, column url_confirmed: {row['url_confirmed']!r} is not true/false")
    sha = row["sha256"].strip().lower()
    if not _SHA256_RE.match(sha):
        raise FetchError(f"{where}, column sha256: {row['sha256']!r} is not a SHA-256 hex digest")
    try:
        size = int(row["bytes"])
    except ValueError:
        raise FetchError(f"{where}, column bytes: {row['bytes']!r} is not an integer") from None
    return CatalogEntry(
        family=row["family"].strip(),
        relpath=relpath,
        url=row["url"].strip(),
        url_confirmed=confirmed == "true",
        derived=row["derived"].strip(),
        sha256=sha,
        bytes=size,
        licence=row["licence"].strip(),
        notes=row["notes"].strip(),
    )


def _catalog_name(catalog: object) -> str:
    if isinstance(catalog, str) and _is_packaged(catalog):
        return catalog
    if isinstance(catalog, (str, os.PathLike)):
        return Path(catalog).stem
    return "custom"


def default_cache_dir(family: str = "chicago") -> Path:
    """Cache folder of a catalogue when none is given: ``<root>/<family>``.

    ``<root>`` is ``$SRO_ANALYSIS_CACHE`` when set, else ``~/.cache/sro-analysis``; one
    folder per family, because each cache holds one manifest and ``sro-analysis clean``
    reads a whole folder.

    Example:
        >>> default_cache_dir("nyc").name
        'nyc'
    """
    configured = os.environ.get(CACHE_ENV_VAR)
    root = Path(configured).expanduser() if configured else Path.home() / ".cache" / "sro-analysis"
    return root / family


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in chunks.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
        ...     _ = fh.write(b"abc")
        >>> sha256_file(fh.name)[:12]
        'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- fetch


def fetch(
    catalog: str | os.PathLike[str] | Iterable[CatalogEntry] = "chicago",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    mirror: str | os.PathLike[str] | None = None,
    progress: bool = True,
    force: bool = False,
    base_url: str | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> FetchReport:
    """Fill the cache with every file of a catalogue, from the network or a local mirror.

    Args:
        catalog: packaged catalogue name, catalogue CSV path, or entries (see :func:`load_catalog`).
        cache_dir: where files go; default :func:`default_cache_dir` of the catalogue's name.
        mirror: a local folder holding the files at their ``relpath`` (e.g. ``../shared/data``);
            when given, nothing is downloaded.
        progress: show a ``rich`` progress bar (bytes and rate) on stderr.
        force: ignore cached copies and partial downloads; fetch everything again.
        base_url: replace scheme and host of every URL (``http://127.0.0.1:8000``), keeping
            the path; for tests and for self-hosted copies.
        retries: further attempts after a transient error (timeouts, dropped connections,
            HTTP 5xx/429), each resuming where the last stopped.
        backoff: seconds before the first retry; doubles each time.
        timeout: socket timeout in seconds for each request.

    Returns:
        A :class:`FetchReport`; files that could not be fetched have status ``failed`` and a reason.

    Raises:
        FetchError: a checksum mismatch (naming the file and URL), a host that cannot be
            reached at all (suggesting ``--mirror DIR``), a missing mirror folder or a bad catalogue.

    Example (tests/test_fetch.py runs this against a local server and the mirror)::

        report = fetch(mirror="../shared/data", cache_dir="/tmp/sro-cache", progress=False)
        report.ok  # True
    """
    entries = load_catalog(catalog)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(_catalog_name(catalog))
    cache.mkdir(parents=True, exist_ok=True)
    mirror_dir = Path(mirror).expanduser() if mirror is not None else None
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise FetchError(f"mirror folder not found: {mirror_dir}")
    options = _NetworkOptions(base_url=base_url, retries=max(0, retries), backoff=backoff, timeout=timeout)

    results: list[FetchedFile] = []
    with transfer_progress(progress) as bar:
        if mirror_dir is not None:
            for entry in entries:
                results.append(_copy_from_mirror(entry, mirror_dir, cache, force=force, bar=bar))
        else:
            session = _Session(options)
            downloads = {
                entry.relpath: _fetch_from_network(entry, entries, cache, session, force=force, bar=bar)
                for entry in _originals_first(entries)
            }
            results.extend(_derive_all(entries, downloads, cache))
    results.sort(key=lambda f: f.relpath)
    _write_manifests(cache, _catalog_name(catalog), results)
    return FetchReport(_catalog_name(catalog), cache, mirror_dir, results)


def _originals_first(entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    # A derived row shares its URL with the row of the original when there is one; fetching
    # the originals first lets the derived row find the file already cached.
    return sorted(entries, key=lambda e: (e.is_derived, e.relpath))


def network_path(entry: CatalogEntry, entries: Sequence[CatalogEntry]) -> str:
    """Cache path, relative to the cache folder, of the file the network fetch stores for ``entry``.

    The original of a derived row is stored at the ``relpath`` of the catalogue row that is
    that original when there is one, otherwise in ``.originals/`` beside the subset: a hidden
    folder, which ``sro-analysis clean`` skips: an original is the file the subset was derived
    from, not a record of its own.

    Example:
        >>> sub = CatalogEntry("trr/x__school.csv", "https://h/o/r/c/p/X.csv.gz", True, "subset", "0" * 64, 1)
        >>> network_path(sub, [sub])
        'trr/.originals/X.csv.gz'
    """
    if not entry.is_derived:
        return entry.relpath
    for other in entries:
        if not other.is_derived and other.url == entry.url:
            return other.relpath
    return str(PurePosixPath(entry.relpath).parent / ORIGINALS_FOLDER / entry.original_name)


@dataclass(frozen=True)
class _NetworkOptions:
    base_url: str | None
    retries: int
    backoff: float
    timeout: float


class _Transient(Exception):
    """A failure worth retrying; ``unreachable`` when no connection was made at all."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _FileFailed(Exception):
    """A failure final for this file (HTTP 404, retries exhausted); the fetch goes on."""


class _Session:
    """Network state across one fetch: options, and the hosts that have answered."""

    def __init__(self, options: _NetworkOptions) -> None:
        self.options = options
        self.reached_hosts: set[str] = set()
        self.fetched: dict[str, FetchedFile] = {}

    def resolve(self, url: str) -> str:
        if not self.options.base_url:
            return url
        return self.options.base_url.rstrip("/") + urlsplit(url).path


def _fetch_from_network(
    entry: CatalogEntry,
    entries: Sequence[CatalogEntry],
    cache: Path,
    session: _Session,
    *,
    force: bool,
    bar: Transfers,
) -> FetchedFile:
    target_rel = network_path(entry, entries)
    url = session.resolve(entry.url)
    # Only a row that is its own original can be checked against the catalogue checksum.
    expected = None if entry.is_derived else entry.sha256

    def result(status: str, size: int | None = None, sha: str | None = None, reason: str = "") -> FetchedFile:
        return FetchedFile(entry.relpath, target_rel, entry.url, "network", status, size, sha, reason)

    if target_rel in session.fetched:  # the same original, fetched earlier in this run
        done = session.fetched[target_rel]
        if done.status == FAILED:
            return result(FAILED, reason=f"same original as {done.relpath}: {done.reason}")
        return result(ALREADY_CACHED, done.bytes, done.sha256, f"same original as {done.relpath}")

    target = cache / target_rel
    part = target.with_name(target.name + ".part")
    note = ""
    if force:
        part.unlink(missing_ok=True)
    elif target.is_file():
        sha = sha256_file(target)
        if expected is None or sha == expected:
            done = result(ALREADY_CACHED, target.stat().st_size, sha)
            session.fetched[target_rel] = done
            return done
        note = f"cached copy had SHA-256 {sha}, not {expected}; downloaded again"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        status, restart_note = _download(url, part, session, bar=bar, label=entry.relpath)
    except _FileFailed as exc:
        done = result(FAILED, reason=str(exc))
        session.fetched[target_rel] = done
        return done
    sha = sha256_file(part)
    if expected is not None and sha != expected:
        part.unlink()
        raise FetchError(
            f"checksum mismatch for {entry.relpath} downloaded from {url}: "
            f"expected SHA-256 {expected}, got {sha}; the partial file was deleted"
        )
    os.replace(part, target)
    done = result(status, target.stat().st_size, sha, "; ".join(n for n in (note, restart_note) if n))
    session.fetched[target_rel] = done
    return done


def _download(url: str, part: Path, session: _Session, *, bar: Transfers, label: str) -> tuple[str, str]:
    """Stream ``url`` into ``part`` until complete; return (status, note).

    Resumes from an existing ``part`` with a Range request; retries transient failures.
    """
    options = session.options
    host = urlsplit(url).netloc
    attempt = 0
    notes: list[str] = []
    while True:
        offset = part.stat().st_size if part.exists() else 0
        try:
            outcome = _stream_once(url, part, offset, options.timeout, bar=bar, label=label)
        except _Transient as exc:
            if not exc.unreachable:
                session.reached_hosts.add(host)
            attempt += 1
            if attempt > options.retries:
                if exc.unreachable and host not in session.reached_hosts:
                    raise FetchError(
                        f"could not reach {host}: {exc} (while fetching {url}). "
                        "Check the network connection, or use --mirror DIR to copy the files "
                        "from a local folder (e.g. ../shared/data)."
                    ) from None
                kept = f"; {part.stat().st_size:,} bytes kept in {part.name} to resume" if part.exists() else ""
                raise _FileFailed(f"{exc} ({attempt} attempt(s)) for {url}{kept}") from None
            time.sleep(options.backoff * 2 ** (attempt - 1))
            continue
        session.reached_hosts.add(host)
        if outcome in {"restart", "restarted"}:
            notes.append(
                "partial download could not be continued (Range ignored or refused); restarted from the beginning"
            )
        if outcome == "restart":  # nothing written yet: ask again, from byte 0
            continue
        # "resumed" when the bytes that completed the file continued an earlier partial download.
        return (RESUMED if outcome == "resumed" else DOWNLOADED), "; ".join(dict.fromkeys(notes))


def _stream_once(url: str, part: Path, offset: int, timeout: float, *, bar: Transfers, label: str) -> str:
    """One HTTP request, appending to (or rewriting) ``part``.

    Returns ``complete`` (whole file in this request), ``resumed`` (continued ``part``),
    ``restarted`` (the server sent the whole file despite our Range) or ``restart`` (nothing
    usable was sent; ``part`` was deleted, ask again).
    """
    headers = {"User-Agent": f"sro-analysis/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        # URLs come from the catalogue (https) or base_url (tests, self-hosted copies).
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            # "Range not satisfiable": either the .part already holds the whole file (the
            # rename was interrupted) or it is longer than the file; only the first is usable.
            if _content_range_total(exc.headers.get("Content-Range", "")) == offset:
                return "resumed"
            part.unlink()
            return "restart"
        if exc.code in _RETRYABLE_HTTP:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise _FileFailed(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise _Transient(f"{exc.reason}", unreachable=True) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        # Raised after the connection was made (urllib wraps connect errors in URLError).
        raise _Transient(f"{type(exc).__name__}: {exc}") from None

    with response:
        length = response.headers.get("Content-Length")
        if offset and response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                part.unlink()
                return "restart"
            mode, expected_total = "ab", (offset + int(length) if length else None)
        elif offset:
            # 200 to a Range request: the server sends the whole file, so start again.
            part.unlink()
            mode, expected_total = "wb", (int(length) if length else None)
            offset = -1  # marks the restart for the caller's note
        else:
            mode, expected_total = "wb", (int(length) if length else None)
        task = bar.start(label, expected_total, completed=max(offset, 0))
        try:
            with part.open(mode) as fh:
                while True:
                    try:
                        chunk = response.read(_CHUNK_BYTES)
                    except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
                        raise _Transient(f"{type(exc).__name__} while reading: {exc}") from None
                    if not chunk:
                        break
                    fh.write(chunk)
                    bar.advance(task, len(chunk))
        finally:
            bar.stop(task)
    received = part.stat().st_size
    if expected_total is not None and received < expected_total:
        raise _Transient(f"connection closed after {received:,} of {expected_total:,} bytes")
    if offset == -1:
        return "restarted"
    return "resumed" if offset > 0 else "complete"


def _content_range_start(header: str) -> int | None:
    match = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", header.strip())
    return int(match.group(1)) if match else None


def _content_range_total(header: str) -> int | None:
    match = re.match(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", header.strip())
    return int(match.group(1)) if match else None


def _copy_from_mirror(entry: CatalogEntry, mirror: Path, cache: Path, *, force: bool, bar: Transfers) -> FetchedFile:
    source = mirror / entry.relpath
    target = cache / entry.relpath

    def result(status: str, size: int | None = None, sha: str | None = None, reason: str = "") -> FetchedFile:
        return FetchedFile(entry.relpath, entry.relpath, entry.url, "mirror", status, size, sha, reason)

    if not source.is_file():
        return result(FAILED, reason=f"missing from mirror: {source}")
    if not force and target.is_file() and sha256_file(target) == entry.sha256:
        return result(ALREADY_CACHED, target.stat().st_size, entry.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    # A copy, not a hard link: editing the cache must never touch the shared mirror.
    task = bar.start(entry.relpath, source.stat().st_size)
    try:
        with source.open("rb") as src, part.open("wb") as dst:
            for chunk in iter(lambda: src.read(_CHUNK_BYTES), b""):
                digest.update(chunk)
                dst.write(chunk)
                bar.advance(task, len(chunk))
    finally:
        bar.stop(task)
    sha = digest.hexdigest()
    if sha != entry.sha256:
        part.unlink()
        raise FetchError(
            f"checksum mismatch for {entry.relpath} in mirror {source}: "
            f"expected SHA-256 {entry.sha256}, got {sha}; the mirror copy differs from the catalogue"
        )
    os.replace(part, target)
    return result(COPIED_FROM_MIRROR, target.stat().st_size, sha)


# --------------------------------------------------------------------------- derived subsets
#
# The mirror's derived files were made from whole-file originals by the rules below, which the
# catalogue column ``derived`` states in words and :func:`derivation_rule` reads back.  The
# mirror shows how they were written: every mirror subset is exactly what Python's ``csv``
# writer gives for its rows (minimal quoting, CRLF line ends, no BOM), while the crimes
# original uses LF; so a subset is rows read with ``csv.reader`` and written back with
# ``csv.writer``.  Field text is never parsed into numbers or dates ("20.0" stays "20.0"),
# only quoting and line ends are the writer's.  Applying the crimes rule to the mirror's
# full-schema file reproduces the mirror's school subset byte for byte (tests/test_fetch.py).

#: ``derived`` text of a TRR table other than the main one (kept by the main table's ids).
_LINKED_TRR_RULE = "rows whose trr_id belongs to a report whose location contains SCHOOL"
_COLUMN_RULE_RE = re.compile(r"rows whose (?P<column>.+?) contains (?P<word>[A-Z]+)$")
_XLSM_RULE_PREFIX = "sheet 1 of the xlsm as CSV from the header row"
_TRR_RELEASE_RE = re.compile(r"/TRR-(?P<table>[a-z-]+)_[^/]*_(?P<release>p\d+)/export/")
#: First cell of the header row of sheet 1 of the juvenile arrests workbook.
_XLSM_HEADER_FIRST_CELL = "ARREST_DATE"


@dataclass(frozen=True)
class DerivationRule:
    """How a derived catalogue row is made from its original.

    Attributes:
        kind: ``"column_contains"`` (keep rows whose ``column`` contains ``word``,
            ignoring case), ``"linked_trr"`` (keep rows whose ``trr_id`` is kept in the
            main table of the same TRR release) or ``"xlsm_sheet1"`` (sheet 1 of a
            workbook as gzip CSV from its header row).
        column: the column tested by ``column_contains``.
        word: the word looked for by ``column_contains``.
    """

    kind: str
    column: str = ""
    word: str = ""


def derivation_rule(entry: CatalogEntry) -> DerivationRule:
    """Read the rule of a derived catalogue row from its ``derived`` text.

    Raises:
        FetchError: the text names no rule this module knows.

    Example:
        >>> e = CatalogEntry("c/s.csv", "https://h/c.csv", True,
        ...     "school-location subset: rows whose Location Description contains SCHOOL", "0" * 64, 1)
        >>> derivation_rule(e)
        DerivationRule(kind='column_contains', column='Location Description', word='SCHOOL')
    """
    text = entry.derived.split(":", 1)[-1].strip()
    if text == _LINKED_TRR_RULE:
        return DerivationRule("linked_trr")
    match = _COLUMN_RULE_RE.match(text)
    if match:
        return DerivationRule("column_contains", match["column"], match["word"])
    if text.startswith(_XLSM_RULE_PREFIX):
        return DerivationRule("xlsm_sheet1")
    raise FetchError(f"{entry.relpath}: no known derivation rule in catalogue column derived: {entry.derived!r}")


def trr_release(entry: CatalogEntry) -> tuple[str, str]:
    """(table, FOIA release) of a TRR file, from the folder of its original's URL.

    The release number is read from the URL because some mirror names drop it.

    Example:
        >>> url = "https://h/individual/TRR-officers_2004-2016_2016-09_p046360/export/output/x.csv.gz"
        >>> trr_release(CatalogEntry("t.csv", url, True, "", "0" * 64, 1))
        ('officers', 'p046360')
    """
    match = _TRR_RELEASE_RE.search(urlsplit(entry.url).path)
    if not match:
        raise FetchError(f"{entry.relpath}: cannot tell the TRR table and release from its URL {entry.url}")
    return match["table"], match["release"]


def contains_word(value: str, word: str) -> bool:
    """The subset test: ``word`` occurs in ``value``, ignoring case.

    Every location of the mirror subsets is upper case ("SCHOOL, PUBLIC, GROUNDS",
    "SCHOOL - PRIVATE BUILDING"), so the mirror cannot tell a case-sensitive rule from this one.

    Example:
        >>> contains_word("SCHOOL, PUBLIC, GROUNDS", "SCHOOL"), contains_word("STREET", "SCHOOL")
        (True, False)
    """
    return word.casefold() in value.casefold()


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: a BOM in an original must not end up in the first column name.
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def filter_csv_rows(
    original: Path, target: Path, column: str, keep: Callable[[str], bool], *, key_column: str | None = None
) -> tuple[int, int, set[str]]:
    """Write to ``target`` the header and the rows of ``original`` whose ``column`` passes ``keep``.

    Args:
        original: CSV (or ``.csv.gz``) file to read.
        target: uncompressed CSV written with ``csv.writer`` (minimal quoting, CRLF).
        column: the column tested.
        keep: ``keep(value)`` is true for the rows to keep.
        key_column: a column whose values in the kept rows are returned (e.g. ``trr_id``).

    Returns:
        (rows read, rows kept, values of ``key_column`` in the kept rows; empty without one).

    Raises:
        FetchError: ``column`` is not in the header, or a row is short (naming file and line).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "a.csv").write_text("id,location\\n1,SCHOOL\\n2,STREET\\n")
        >>> filter_csv_rows(d / "a.csv", d / "b.csv", "location", lambda v: "SCHOOL" in v, key_column="id")
        (2, 1, {'1'})
        >>> (d / "b.csv").read_bytes()
        b'id,location\\r\\n1,SCHOOL\\r\\n'
    """
    read = kept = 0
    keys: set[str] = set()
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _open_text(original) as src, part.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        header = next(reader, None)
        missing = [c for c in (column, key_column) if c is not None and c not in (header or [])]
        if header is None or missing:
            part.unlink()
            raise FetchError(f"{original}: no column {missing or column!r} in the header {header}")
        index = header.index(column)
        key_index = header.index(key_column) if key_column is not None else None
        writer = csv.writer(dst)
        writer.writerow(header)
        for row in reader:
            read += 1
            if len(row) <= index:
                part.unlink()
                raise FetchError(f"{original}, line {reader.line_num}: row has no column {column!r}")
            if keep(row[index]):
                writer.writerow(row)
                kept += 1
                if key_index is not None:
                    keys.add(row[key_index])
    os.replace(part, target)
    return read, kept, keys


def xlsm_sheet1_to_csv_gz(workbook: Path, target: Path) -> tuple[int, int]:
    """Write sheet 1 of ``workbook`` as gzip CSV from its header row, as the mirror copy was made.

    The header row is the first whose first cell is ``ARREST_DATE``; the title rows above it
    are dropped, the columns are those of the header, rows with every cell empty are dropped,
    the CPD footer rows are kept.  Cells are written as the workbook holds them: whole-day
    datetimes as ISO dates, other datetimes as ``YYYY-MM-DD hh:mm:ss``, formulas as their
    text (the total row's ``=SUM(H6:H62287)``), numbers with ``str``.  The CSV text equals
    the mirror copy's uncompressed text; the gzip bytes differ (header time, zlib build).

    Returns:
        (rows written after the header, column count).

    Raises:
        FetchError: no header row in sheet 1.
    """
    import datetime as dt

    import openpyxl  # local: only this derivation needs it

    book = openpyxl.load_workbook(workbook, read_only=True, data_only=False)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = None
        for row in rows:
            if row and row[0] == _XLSM_HEADER_FIRST_CELL:
                header = row
                break
        if header is None:
            raise FetchError(f"{workbook}: no header row starting with {_XLSM_HEADER_FIRST_CELL!r} in sheet 1")
        width = max(i for i, v in enumerate(header) if v is not None) + 1

        def cell(value: object) -> str:
            if value is None:
                return ""
            if isinstance(value, dt.datetime):
                return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
            return str(value)

        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow([cell(v) for v in header[:width]])
        written = 0
        for row in rows:
            values = [cell(v) for v in row[:width]]
            if any(values):
                writer.writerow(values)
                written += 1
    finally:
        book.close()
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 and the target's name in the header: the same workbook always gives the same bytes.
    with part.open("wb") as raw, gzip.GzipFile(
        filename=target.name.removesuffix(".gz"), mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    os.replace(part, target)
    return written, width


def _derive_all(
    entries: Sequence[CatalogEntry], downloads: dict[str, FetchedFile], cache: Path
) -> list[FetchedFile]:
    """Results of a network fetch: originals as downloaded, derived rows derived into place.

    TRR main tables go first: the other tables of a release keep the ``trr_id``s their
    main table kept.
    """
    results = [downloads[e.relpath] for e in entries if not e.is_derived]
    derived = [e for e in entries if e.is_derived]
    rules = {e.relpath: derivation_rule(e) for e in derived}
    kept_ids: dict[str, set[str] | str] = {}  # release -> kept trr_ids, or why they are unknown
    ordered = sorted(derived, key=lambda e: (rules[e.relpath].kind == "linked_trr", e.relpath))
    for entry in ordered:
        results.append(_derive_one(entry, rules[entry.relpath], downloads[entry.relpath], cache, kept_ids))
    return results


def _derive_one(
    entry: CatalogEntry,
    rule: DerivationRule,
    fetched: FetchedFile,
    cache: Path,
    kept_ids: dict[str, set[str] | str],
) -> FetchedFile:
    base = {
        "relpath": entry.relpath, "path": entry.relpath, "url": entry.url, "source": "network",
        "original_path": fetched.path, "original_sha256": fetched.sha256, "original_bytes": fetched.bytes,
    }
    # Only a TRR release's tables are linked by trr_id; its main table's kept ids are recorded.
    match = _TRR_RELEASE_RE.search(urlsplit(entry.url).path)
    release = match["release"] if match else ""
    if rule.kind == "linked_trr":
        release = trr_release(entry)[1]  # raises, naming the row, when the URL names no release
    if fetched.status == FAILED:
        if rule.kind == "column_contains" and release:
            kept_ids[release] = f"its main table {entry.relpath} failed"
        return FetchedFile(**base, status=FAILED, reason=f"original not fetched: {fetched.reason}")
    original = cache / fetched.path
    target = cache / entry.relpath
    if rule.kind == "xlsm_sheet1":
        rows, width = xlsm_sheet1_to_csv_gz(original, target)
        note = f"derived from {fetched.path}: sheet 1 from its header row, {rows:,} rows x {width} columns"
    elif rule.kind == "column_contains":
        read, kept, ids = filter_csv_rows(
            original, target, rule.column, lambda v: contains_word(v, rule.word),
            key_column="trr_id" if release else None,
        )
        if release:
            kept_ids[release] = ids
        note = f"derived from {fetched.path}: {kept:,} of {read:,} rows whose {rule.column} contains {rule.word}"
    else:
        ids_or_why = kept_ids.get(release, "the catalogue has no main table for this release")
        if isinstance(ids_or_why, str):
            return FetchedFile(**base, status=FAILED, reason=f"TRR release {release}: {ids_or_why}")
        read, kept, _ = filter_csv_rows(original, target, "trr_id", ids_or_why.__contains__)
        note = f"derived from {fetched.path}: {kept:,} of {read:,} rows whose trr_id is kept in release {release}"
    sha = sha256_file(target)
    same = "identical to the catalogue's mirror copy" if sha == entry.sha256 else (
        f"SHA-256 differs from the catalogue's mirror copy ({entry.sha256[:12]}...)"
    )
    return FetchedFile(**base, status=fetched.status, bytes=target.stat().st_size, sha256=sha,
                       reason=f"{note}; {same}")


# --------------------------------------------------------------------------- manifests


def _write_manifests(cache: Path, catalog: str, results: Sequence[FetchedFile]) -> None:
    """Write MANIFEST.sha256 and manifest.json for the files present; sorted, no timestamps."""
    present: dict[str, dict[str, object]] = {}
    for f in results:
        if f.original_path and f.original_sha256 is not None:
            # The whole-file original a derived row was made from is in the cache too.
            item = present.setdefault(
                f.original_path,
                {"path": f.original_path, "sha256": f.original_sha256, "bytes": f.original_bytes,
                 "url": f.url, "relpaths": []},
            )
            item["relpaths"].append(f.relpath)  # type: ignore[union-attr]
        if f.status == FAILED or f.sha256 is None:
            continue
        item = present.setdefault(
            f.path, {"path": f.path, "sha256": f.sha256, "bytes": f.bytes, "url": f.url, "relpaths": []}
        )
        item["relpaths"].append(f.relpath)  # type: ignore[union-attr]
        if f.original_path:
            item["derived_from"] = f.original_path
    files = [present[p] for p in sorted(present)]
    for item in files:
        item["relpaths"] = sorted(item["relpaths"])  # type: ignore[arg-type]
    sha_lines = "".join(f"{item['sha256']}  {item['path']}\n" for item in files)
    payload = json.dumps({"catalog": catalog, "files": files}, indent=2, sort_keys=True) + "\n"
    # Readable like the cached files beside them (a plain new file's mode under umask 022).
    write_text_atomic(cache / MANIFEST_SHA256, sha_lines, mode=0o644)
    write_text_atomic(cache / MANIFEST_JSON, payload, mode=0o644)
