"""Tests for sro_analysis.fetch against a real local HTTP server (no mocks).

The server (``http.server.ThreadingHTTPServer`` on 127.0.0.1, port 0, in a thread) serves a
temporary folder laid out like raw.githubusercontent.com (``/owner/repo/commit/path``) and
can honour Range requests, ignore them, or drop the connection part-way through a body.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sro_analysis.fetch import (
    ALL_FAMILIES,
    ALREADY_CACHED,
    COPIED_FROM_MIRROR,
    DOWNLOADED,
    FAILED,
    FAMILIES,
    MANIFEST_JSON,
    MANIFEST_SHA256,
    RESUMED,
    CatalogEntry,
    FetchError,
    FetchReport,
    contains_word,
    default_cache_dir,
    derivation_rule,
    family_summaries,
    fetch,
    filter_csv_rows,
    load_catalog,
    network_path,
    sha256_file,
    trr_release,
    xlsm_sheet1_to_csv_gz,
)

ORIGIN = "https://raw.githubusercontent.com"
FAST = {"progress": False, "backoff": 0.0, "timeout": 10.0}


# --------------------------------------------------------------------------- local server


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.root``; Range support, plus the server's fault-injection switches."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        range_header = self.headers.get("Range")
        server.requests.append((self.path, range_header))
        file = server.root / self.path.lstrip("/")
        if not file.is_file():
            self._send_body(404, b"not found", {})
            return
        body = file.read_bytes()
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and not server.ignore_range:
            start = int(match.group(1))
            if start >= len(body):
                self._send_body(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
        status = 206 if start else 200
        headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"} if start else {}
        payload = body[start:]
        if server.drops_left > 0:
            # Promise the whole payload, send part of it, then hang up: an interrupted download.
            server.drops_left -= 1
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload[: server.drop_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send_body(status, payload, headers)

    def _send_body(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(payload))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False
        self.drops_left = 0
        self.drop_after = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = _Server(root)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _publish(
    server: _Server, relpath: str, data: bytes, *, derived: str = "", sha256: str | None = None
) -> CatalogEntry:
    """Put ``data`` on the server as a repository file and return its catalogue entry."""
    repo_path = f"owner/repo/abc1234/data/{Path(relpath).name}"
    target = server.root / repo_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return CatalogEntry(relpath, f"{ORIGIN}/{repo_path}", True, derived, digest, len(data), "test", "")


def _payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# --------------------------------------------------------------------------- network mode


def test_full_download_verifies_checksum_and_writes_manifest(server: _Server, tmp_path: Path) -> None:
    small = _publish(server, "crimes/a.csv", b"ID,Arrest\n1,true\n2,false\n")
    large = _publish(server, "trr/b.csv.gz", _payload(200_000, seed=1))
    cache = tmp_path / "cache"

    report = fetch([large, small], cache_dir=cache, base_url=server.base_url, **FAST)

    assert report.ok
    assert [(f.relpath, f.status) for f in report.files] == [
        ("crimes/a.csv", DOWNLOADED),
        ("trr/b.csv.gz", DOWNLOADED),
    ]
    assert (cache / "trr/b.csv.gz").read_bytes() == _payload(200_000, seed=1)
    assert sha256_file(cache / "crimes/a.csv") == small.sha256
    assert not list(cache.rglob("*.part"))
    assert (cache / MANIFEST_SHA256).read_text() == (
        f"{small.sha256}  crimes/a.csv\n{large.sha256}  trr/b.csv.gz\n"
    )
    manifest = json.loads((cache / MANIFEST_JSON).read_text())
    assert [f["path"] for f in manifest["files"]] == ["crimes/a.csv", "trr/b.csv.gz"]
    assert manifest["files"][1]["bytes"] == 200_000


def test_resume_after_interrupted_download(server: _Server, tmp_path: Path) -> None:
    data = _payload(300_000, seed=2)
    entry = _publish(server, "trr/main.csv.gz", data)
    cache = tmp_path / "cache"
    part = cache / "trr/main.csv.gz.part"
    server.drops_left, server.drop_after = 1, 100_000

    first = fetch([entry], cache_dir=cache, base_url=server.base_url, retries=0, **FAST)

    assert first.files[0].status == FAILED
    assert "connection closed after 100,000 of 300,000 bytes" in first.files[0].reason
    assert part.stat().st_size == 100_000
    assert not (cache / "trr/main.csv.gz").exists()

    second = fetch([entry], cache_dir=cache, base_url=server.base_url, retries=0, **FAST)

    assert second.files[0].status == RESUMED
    assert server.requests[-1][1] == "bytes=100000-"
    assert (cache / "trr/main.csv.gz").read_bytes() == data
    assert not part.exists()


def test_resume_within_one_fetch_through_retries(server: _Server, tmp_path: Path) -> None:
    data = _payload(250_000, seed=3)
    entry = _publish(server, "trr/officers.csv.gz", data)
    server.drops_left, server.drop_after = 2, 60_000  # two drops: 60,000 then 60,000 more bytes

    report = fetch([entry], cache_dir=tmp_path / "cache", base_url=server.base_url, retries=3, **FAST)

    assert report.files[0].status == RESUMED
    assert [r for _, r in server.requests] == [None, "bytes=60000-", "bytes=120000-"]
    assert (tmp_path / "cache/trr/officers.csv.gz").read_bytes() == data


def test_server_ignoring_range_restarts_from_scratch(server: _Server, tmp_path: Path) -> None:
    data = _payload(120_000, seed=4)
    entry = _publish(server, "roster/roster.csv.gz", data)
    cache = tmp_path / "cache"
    (cache / "roster").mkdir(parents=True)
    # A stale partial file that is NOT a prefix of the data: appending to it would corrupt the file.
    (cache / "roster/roster.csv.gz.part").write_bytes(b"x" * 5_000)
    server.ignore_range = True

    report = fetch([entry], cache_dir=cache, base_url=server.base_url, retries=0, **FAST)

    assert report.files[0].status == DOWNLOADED
    assert "Range ignored or refused); restarted from the beginning" in report.files[0].reason
    assert server.requests == [("/" + entry.url.removeprefix(ORIGIN + "/"), "bytes=5000-")]
    assert (cache / "roster/roster.csv.gz").read_bytes() == data


def test_complete_part_left_by_an_interrupted_rename_is_used(server: _Server, tmp_path: Path) -> None:
    data = _payload(90_000, seed=8)
    entry = _publish(server, "trr/statuses.csv.gz", data)
    cache = tmp_path / "cache"
    (cache / "trr").mkdir(parents=True)
    (cache / "trr/statuses.csv.gz.part").write_bytes(data)

    report = fetch([entry], cache_dir=cache, base_url=server.base_url, retries=0, **FAST)

    assert report.files[0].status == RESUMED
    assert server.requests[0][1] == "bytes=90000-"  # answered 416 with the full length
    assert (cache / "trr/statuses.csv.gz").read_bytes() == data


def test_part_longer_than_the_file_is_discarded(server: _Server, tmp_path: Path) -> None:
    data = _payload(20_000, seed=9)
    entry = _publish(server, "trr/charges.csv.gz", data)
    cache = tmp_path / "cache"
    (cache / "trr").mkdir(parents=True)
    (cache / "trr/charges.csv.gz.part").write_bytes(data + b"junk")

    report = fetch([entry], cache_dir=cache, base_url=server.base_url, retries=0, **FAST)

    assert report.files[0].status == DOWNLOADED
    assert [r for _, r in server.requests] == ["bytes=20004-", None]
    assert (cache / "trr/charges.csv.gz").read_bytes() == data


def test_checksum_mismatch_raises_naming_the_file(server: _Server, tmp_path: Path) -> None:
    entry = _publish(server, "juvenile/disp.csv", b"district,count\n1,3\n", sha256="0" * 64)
    cache = tmp_path / "cache"

    expected = r"checksum mismatch for juvenile/disp\.csv downloaded from http://127\.0\.0\.1"
    with pytest.raises(FetchError, match=expected):
        fetch([entry], cache_dir=cache, base_url=server.base_url, **FAST)

    assert not (cache / "juvenile/disp.csv").exists()
    assert not (cache / "juvenile/disp.csv.part").exists()


def test_404_is_a_failed_entry_with_reason_and_others_still_fetched(server: _Server, tmp_path: Path) -> None:
    good = _publish(server, "cps/profiles.csv", b"School_ID\n609819\n")
    missing = CatalogEntry("cps/gone.csv", f"{ORIGIN}/owner/repo/abc1234/gone.csv", False, "", "1" * 64, 10)
    cache = tmp_path / "cache"

    report = fetch([good, missing], cache_dir=cache, base_url=server.base_url, **FAST)

    status = {f.relpath: f for f in report.files}
    assert status["cps/profiles.csv"].status == DOWNLOADED
    assert status["cps/gone.csv"].status == FAILED
    assert status["cps/gone.csv"].reason.startswith("HTTP 404 Not Found for http://127.0.0.1")
    assert not report.ok
    assert "1 failed:\n  cps/gone.csv: HTTP 404" in report.summary()
    # A 404 is final: asked once, not retried.
    assert sum(path.endswith("gone.csv") for path, _ in server.requests) == 1
    assert (cache / MANIFEST_SHA256).read_text() == f"{good.sha256}  cps/profiles.csv\n"
    with pytest.raises(FetchError, match="cps/gone.csv: HTTP 404"):
        report.raise_for_failures()


def test_already_cached_files_are_not_downloaded_again(server: _Server, tmp_path: Path) -> None:
    entry = _publish(server, "crimes/a.csv", _payload(50_000, seed=5))
    cache = tmp_path / "cache"
    fetch([entry], cache_dir=cache, base_url=server.base_url, **FAST)
    requests_after_first = len(server.requests)

    again = fetch([entry], cache_dir=cache, base_url=server.base_url, **FAST)

    assert again.files[0].status == ALREADY_CACHED
    assert again.files[0].sha256 == entry.sha256
    assert len(server.requests) == requests_after_first

    forced = fetch([entry], cache_dir=cache, base_url=server.base_url, force=True, **FAST)
    assert forced.files[0].status == DOWNLOADED
    assert len(server.requests) == requests_after_first + 1


def test_corrupted_cached_copy_is_downloaded_again(server: _Server, tmp_path: Path) -> None:
    entry = _publish(server, "crimes/a.csv", b"ID\n1\n")
    cache = tmp_path / "cache"
    (cache / "crimes").mkdir(parents=True)
    (cache / "crimes/a.csv").write_bytes(b"ID\n9\n")

    report = fetch([entry], cache_dir=cache, base_url=server.base_url, **FAST)

    assert report.files[0].status == DOWNLOADED
    assert "cached copy had SHA-256" in report.files[0].reason
    assert (cache / "crimes/a.csv").read_bytes() == b"ID\n1\n"


def test_derived_subset_is_derived_into_place_beside_the_kept_original(server: _Server, tmp_path: Path) -> None:
    whole_city = b"trr_id,location\n1,SCHOOL - PUBLIC BUILDING\n2,STREET\n"
    subset_bytes = b"trr_id,location\r\n1,SCHOOL - PUBLIC BUILDING\r\n"
    subset = _publish(
        server, "trr/school-subset/TRR-main__school_locations.csv", whole_city,
        derived="school-location subset: rows whose location contains SCHOOL",
        sha256=hashlib.sha256(subset_bytes).hexdigest(),
    )
    cache = tmp_path / "cache"

    report = fetch([subset], cache_dir=cache, base_url=server.base_url, **FAST)

    fetched = report.files[0]
    assert fetched.status == DOWNLOADED
    assert fetched.path == "trr/school-subset/TRR-main__school_locations.csv"
    assert (cache / fetched.path).read_bytes() == subset_bytes
    assert fetched.sha256 == hashlib.sha256(subset_bytes).hexdigest()
    assert fetched.original_path == "trr/school-subset/.originals/TRR-main__school_locations.csv"
    assert fetched.original_sha256 == hashlib.sha256(whole_city).hexdigest()
    assert (cache / fetched.original_path).read_bytes() == whole_city
    assert fetched.reason == (
        "derived from trr/school-subset/.originals/TRR-main__school_locations.csv: "
        "1 of 2 rows whose location contains SCHOOL; identical to the catalogue's mirror copy"
    )


def test_derived_row_sharing_an_original_reuses_the_download(server: _Server, tmp_path: Path) -> None:
    full = _publish(server, "crimes/full.csv", b'ID,Location Description\n1,"SCHOOL, PUBLIC, GROUNDS"\n2,STREET\n')
    rule = "school-location subset: rows whose Location Description contains SCHOOL"
    subset = CatalogEntry("crimes/school.csv", full.url, True, rule, "2" * 64, 5)
    cache = tmp_path / "cache"

    report = fetch([subset, full], cache_dir=cache, base_url=server.base_url, **FAST)

    status = {f.relpath: (f.status, f.path, f.original_path) for f in report.files}
    assert status["crimes/full.csv"] == (DOWNLOADED, "crimes/full.csv", "")
    assert status["crimes/school.csv"] == (ALREADY_CACHED, "crimes/school.csv", "crimes/full.csv")
    assert "SHA-256 differs from the catalogue's mirror copy (222222222222...)" in report.files[1].reason
    assert len(server.requests) == 1
    assert (cache / "crimes/school.csv").read_bytes() == b'ID,Location Description\r\n1,"SCHOOL, PUBLIC, GROUNDS"\r\n'
    manifest = json.loads((cache / MANIFEST_JSON).read_text())
    assert [(f["path"], f["relpaths"], f.get("derived_from")) for f in manifest["files"]] == [
        ("crimes/full.csv", ["crimes/full.csv", "crimes/school.csv"], None),
        ("crimes/school.csv", ["crimes/school.csv"], "crimes/full.csv"),
    ]


def test_manifest_is_deterministic(server: _Server, tmp_path: Path) -> None:
    a = _publish(server, "z/last.csv", b"z\n")
    b = _publish(server, "a/first.csv", _payload(70_000, seed=6))
    c = _publish(server, "m/middle.csv", b"m\n")

    fetch([a, b, c], cache_dir=tmp_path / "one", base_url=server.base_url, **FAST)
    fetch([c, a, b], cache_dir=tmp_path / "two", base_url=server.base_url, **FAST)
    first = {name: (tmp_path / "one" / name).read_bytes() for name in (MANIFEST_SHA256, MANIFEST_JSON)}
    fetch([b, c, a], cache_dir=tmp_path / "one", base_url=server.base_url, **FAST)  # all already cached

    for name, content in first.items():
        assert (tmp_path / "two" / name).read_bytes() == content
        assert (tmp_path / "one" / name).read_bytes() == content
    assert first[MANIFEST_SHA256].decode().splitlines()[0].endswith("  a/first.csv")


def test_unreachable_host_is_a_clear_fetch_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    entry = CatalogEntry("a.csv", f"{ORIGIN}/o/r/c/a.csv", True, "", "3" * 64, 1)

    with pytest.raises(FetchError, match=rf"could not reach 127\.0\.0\.1:{port}: .*use --mirror DIR"):
        fetch([entry], cache_dir=tmp_path / "cache", base_url=f"http://127.0.0.1:{port}", retries=1, **FAST)


def test_progress_bar_runs_with_rich(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = _publish(server, "a.csv", _payload(100_000, seed=7))

    report = fetch([entry], cache_dir=tmp_path / "cache", base_url=server.base_url, progress=True, backoff=0.0)

    assert report.files[0].status == DOWNLOADED
    assert capsys.readouterr().out == ""  # progress goes to stderr, never stdout


def test_report_frame_and_summary(server: _Server, tmp_path: Path) -> None:
    entry = _publish(server, "crimes/a.csv", b"ID\n1\n")
    report = fetch([entry], cache_dir=tmp_path / "cache", base_url=server.base_url, **FAST)

    frame = report.to_frame()
    assert list(frame.columns) == [
        "relpath", "path", "url", "source", "status", "bytes", "sha256", "reason",
        "original_path", "original_sha256", "original_bytes",
    ]
    assert frame.loc[0, "bytes"] == 5
    assert frame.loc[0, "source"] == "network"
    assert report.summary().splitlines()[1:] == ["  downloaded: 1", "  bytes in cache for these files: 5"]


# --------------------------------------------------------------------------- mirror mode


def test_mirror_missing_file_is_reported_not_fatal(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "cps").mkdir(parents=True)
    (mirror / "cps/present.csv").write_bytes(b"School_ID\n1\n")
    digest = hashlib.sha256(b"School_ID\n1\n").hexdigest()
    present = CatalogEntry("cps/present.csv", f"{ORIGIN}/o/r/c/p.csv", True, "", digest, 12)
    absent = CatalogEntry("cps/absent.csv", f"{ORIGIN}/o/r/c/a.csv", True, "", "4" * 64, 1)

    report = fetch([present, absent], cache_dir=tmp_path / "cache", mirror=mirror, progress=False)

    status = {f.relpath: f for f in report.files}
    assert status["cps/present.csv"].status == COPIED_FROM_MIRROR
    assert status["cps/absent.csv"].status == FAILED
    assert status["cps/absent.csv"].reason == f"missing from mirror: {mirror / 'cps/absent.csv'}"
    assert "  copied_from_mirror: 1\n  failed: 1" in report.summary()


def test_mirror_checksum_mismatch_raises_naming_the_file(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.csv").write_bytes(b"changed\n")
    entry = CatalogEntry("a.csv", f"{ORIGIN}/o/r/c/a.csv", True, "", "5" * 64, 8)

    with pytest.raises(FetchError, match=r"checksum mismatch for a\.csv in mirror"):
        fetch([entry], cache_dir=tmp_path / "cache", mirror=mirror, progress=False)


def test_missing_mirror_folder_is_a_fetch_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="mirror folder not found"):
        fetch("chicago", cache_dir=tmp_path / "cache", mirror=tmp_path / "nowhere", progress=False)


#: Files per family of the packaged catalogue (counted by hand in ../shared/data).
FAMILY_FILES = {"chicago": 46, "chicago-full-city": 16, "nyc": 24, "louisiana": 72}
#: Which family each folder of the mirror belongs to (the longest matching folder decides).
FAMILY_OF_FOLDER = {
    "chicago-crimes": "chicago", "chicago-juvenile": "chicago", "chicago-trr": "chicago", "cps-schools": "chicago",
    "chicago-trr/full-city": "chicago-full-city", "nyc-schools": "nyc", "nyc-ssa": "nyc",
    "nibrs-louisiana": "louisiana",
}


def _family_of(relpath: str) -> str | None:
    folders = [f for f in FAMILY_OF_FOLDER if relpath.startswith(f + "/")]
    return FAMILY_OF_FOLDER[max(folders, key=len)] if folders else None


def _mirror_files(shared_data: Path) -> list[str]:
    """Every file of the mirror but its own top-level README.md (written for the mirror, no public origin).

    README.md files inside the folders are kept: those of nibrs-louisiana are the CDE downloads' own.
    """
    return sorted(
        p.relative_to(shared_data).as_posix()
        for p in shared_data.rglob("*")
        if p.is_file() and p != shared_data / "README.md"
    )


@pytest.mark.real
@pytest.mark.parametrize("family", [*sorted(FAMILY_FILES), ALL_FAMILIES])
def test_mirror_copies_every_catalogue_file_with_matching_checksums(
    family: str, shared_data: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    n = FAMILY_FILES.get(family, 158)

    report = fetch(family, cache_dir=cache, mirror=shared_data, progress=False)

    assert report.ok, report.summary()
    assert report.counts()[COPIED_FROM_MIRROR] == n
    for fetched in report.files:
        assert sha256_file(cache / fetched.relpath) == sha256_file(shared_data / fetched.relpath)
    assert len((cache / MANIFEST_SHA256).read_text().splitlines()) == n
    assert json.loads((cache / MANIFEST_JSON).read_text())["catalog"] == family
    again = fetch(family, cache_dir=cache, mirror=shared_data, progress=False)
    assert again.counts()[ALREADY_CACHED] == n


@pytest.mark.real
def test_catalogue_lists_exactly_the_mirror_files(shared_data: Path) -> None:
    """The union of the families is every file on disk, each with the size on disk."""
    entries = load_catalog(ALL_FAMILIES)
    on_disk = _mirror_files(shared_data)
    assert [e.relpath for e in entries] == on_disk
    assert len(on_disk) == sum(FAMILY_FILES.values()) == 158
    for entry in entries:
        assert (shared_data / entry.relpath).stat().st_size == entry.bytes


@pytest.mark.real
@pytest.mark.parametrize("family", sorted(FAMILY_FILES))
def test_each_family_lists_exactly_its_folders(family: str, shared_data: Path) -> None:
    top_folders = sorted(p.name for p in shared_data.iterdir() if p.is_dir())
    assert top_folders == sorted(f for f in FAMILY_OF_FOLDER if "/" not in f)  # a new folder needs a family
    mine = [rel for rel in _mirror_files(shared_data) if _family_of(rel) == family]
    entries = load_catalog(family)
    assert [e.relpath for e in entries] == mine
    assert len(mine) == FAMILY_FILES[family]
    assert {e.family for e in entries} == {family}


# --------------------------------------------------------------------------- catalogue


def test_packaged_catalogue_is_complete_and_consistent() -> None:
    entries = load_catalog("chicago")

    assert len(entries) == 46
    assert sum(e.is_derived for e in entries) == 30  # 28 TRR school subsets, 1 crimes subset, 1 xlsm sheet
    assert sum(e.url_confirmed for e in entries) == 43
    assert {e.relpath for e in entries if not e.url_confirmed} == {
        "chicago-trr/trr_locations_upstream.yaml",
        "cps-schools/Chicago_Public_Schools_-_School_Profile_Information_SY1617.csv",
        "cps-schools/Chicago_Public_Schools_-_School_Profile_Information_SY1718.csv",
    }
    subsets = [e for e in entries if "/school-subset/" in e.relpath]
    assert len(subsets) == 28
    assert all(e.url.endswith(".csv.gz") and "/export/output/" in e.url for e in subsets)
    # The whole-city tables are the originals of the 2004-2016 and 2017-2020 subsets, at the same URLs,
    # in a family of their own: `clean --source chicago` must not find them beside the subsets.
    assert not any("/full-city/" in e.relpath for e in entries)
    full_city = load_catalog("chicago-full-city")
    assert len(full_city) == 16 and not any(e.is_derived for e in full_city)
    assert all(e.url_confirmed for e in full_city)
    assert sorted(e.url for e in full_city) == sorted(
        e.url for e in subsets if trr_release(e)[1] in {"p046360", "p583646"}
    )
    assert {e.relpath.rsplit("/", 1)[1] for e in full_city} == {e.original_name for e in full_city}

    everything = load_catalog(ALL_FAMILIES)
    assert len(everything) == 158
    assert {f: sum(e.family == f for e in everything) for f in FAMILIES} == FAMILY_FILES
    assert {f: sum(e.url_confirmed for e in everything if e.family == f) for f in FAMILIES} == {
        "chicago": 43, "chicago-full-city": 16, "nyc": 24,
        "louisiana": 0,  # the search index holds no file of LA-2012..2018
    }
    assert not any(e.is_derived for e in everything if e.family != "chicago")
    assert all(e.url.startswith(ORIGIN + "/") for e in everything)
    assert all(e.licence and e.notes for e in everything)
    # No two rows would be stored at the same cache path by a network fetch unless they share a URL.
    paths = {}
    for e in everything:
        paths.setdefault(network_path(e, everything), set()).add(e.url)
    assert all(len(urls) == 1 for urls in paths.values())


def test_family_summaries_say_what_each_family_holds() -> None:
    summaries = dict(family_summaries())

    assert list(summaries) == [*FAMILIES, ALL_FAMILIES]
    assert summaries["nyc"].endswith("linking campuses) [24 files, 5.6 MB].")
    assert summaries["louisiana"].endswith("the CDE README [72 files, 39.2 MB].")
    assert summaries["all"] == "every family above, into one folder: a full mirror [158 files, 70.4 MB]."
    assert summaries["chicago-full-city"].startswith("Chicago TRR tables for the whole city, releases 2004-2016")
    assert summaries["chicago-full-city"].endswith("[16 files, 14.1 MB].")


def test_catalogue_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "family,relpath,url,url_confirmed,derived,sha256,bytes,licence,notes\n"
        f"x,a.csv,{ORIGIN}/o/r/c/a.csv,true,,{'a' * 64},1,MIT,\n"
        f"x,b.csv,{ORIGIN}/o/r/c/b.csv,maybe,,{'b' * 64},1,MIT,\n"
    )
    with pytest.raises(FetchError, match=r"bad\.csv, line 3, column url_confirmed: 'maybe'"):
        load_catalog(bad)
    known = r"\(chicago, chicago-full-city, nyc, louisiana, all\)"
    with pytest.raises(FetchError, match=rf"unknown catalogue 'newyork': not a packaged family {known}"):
        load_catalog("newyork")
    old_style = tmp_path / "old.csv"  # a catalogue without the family column
    old_style.write_text("relpath,url,url_confirmed,derived,sha256,bytes,licence,notes\n")
    with pytest.raises(FetchError, match=r"old\.csv: missing column\(s\) family"):
        load_catalog(old_style)


def test_default_cache_dir_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SRO_ANALYSIS_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere" / "chicago"
    assert default_cache_dir("nyc") == tmp_path / "elsewhere" / "nyc"
    monkeypatch.delenv("SRO_ANALYSIS_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "sro-analysis" / "chicago"
    assert default_cache_dir("louisiana") == Path.home() / ".cache" / "sro-analysis" / "louisiana"


@pytest.mark.real
def test_fetch_without_cache_uses_the_family_folder(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("SRO_ANALYSIS_CACHE", str(tmp_path))

    report = fetch("nyc", mirror=shared_data, progress=False)

    assert report.cache_dir == tmp_path / "nyc"
    assert report.counts()[COPIED_FROM_MIRROR] == 24
    assert sorted(p.name for p in (tmp_path / "nyc").iterdir()) == [
        MANIFEST_SHA256, MANIFEST_JSON, "nyc-schools", "nyc-ssa",
    ]
    for name in (MANIFEST_SHA256, MANIFEST_JSON):  # written atomically, readable like the files
        assert (tmp_path / "nyc" / name).stat().st_mode & 0o777 == 0o644


def test_empty_report_is_ok() -> None:
    assert FetchReport("chicago", Path("/tmp/c"), None).ok


# --------------------------------------------------------------------------- derived subsets (network)

TRR_FOLDER = "invinst/chicago-police-data/1a552953/individual"
LINKED_RULE = "school-location subset: rows whose trr_id belongs to a report whose location contains SCHOOL"

# A hand-made 'whole-city' TRR release: two school reports (one in lower case), two elsewhere.
WHOLE_CITY_TRR = {
    "main": (
        "trr_id,location,street,number_of_weapons_discharged\n"
        '10,"SCHOOL, PUBLIC, BUILDING",ADAMS ST,20.0\n'
        "11,STREET,STATE ST,\n"
        "12,school - private grounds,\"LAKE SHORE DR, N\",1.0\n"
        "13,RESIDENCE,\"\"\"Q\"\" ST\",\n"
    ),
    "officers": "row_id,trr_id,rank\n1,11,SERGEANT\n2,10,POLICE OFFICER\n3,13,POLICE OFFICER\n4,12,LIEUTENANT\n",
    "actions-responses": (
        "row_id,trr_id,action\n1,10,MEMBER PRESENCE\n2,10,VERBAL COMMANDS\n3,11,TASER\n"
        "4,12,\"ESCORT HOLDS, WRISTLOCK\"\n5,99,MEMBER PRESENCE\n"
    ),
}
DERIVED_TRR = {
    "main": (
        b"trr_id,location,street,number_of_weapons_discharged\r\n"
        b'10,"SCHOOL, PUBLIC, BUILDING",ADAMS ST,20.0\r\n'
        b'12,school - private grounds,"LAKE SHORE DR, N",1.0\r\n'
    ),
    "officers": b"row_id,trr_id,rank\r\n2,10,POLICE OFFICER\r\n4,12,LIEUTENANT\r\n",
    "actions-responses": (
        b'row_id,trr_id,action\r\n1,10,MEMBER PRESENCE\r\n2,10,VERBAL COMMANDS\r\n4,12,"ESCORT HOLDS, WRISTLOCK"\r\n'
    ),
}


def _publish_trr_release(server: _Server, release: str = "p000001") -> list[CatalogEntry]:
    """Serve WHOLE_CITY_TRR as gzip originals at invinst-style URLs; one derived row per table."""
    import gzip

    entries = []
    for table, text in WHOLE_CITY_TRR.items():
        stem = f"TRR-{table}_2099-2099_2099-01_{release}"
        url_path = f"{TRR_FOLDER}/{stem}/export/output/{stem}.csv.gz"
        (server.root / url_path).parent.mkdir(parents=True, exist_ok=True)
        (server.root / url_path).write_bytes(gzip.compress(text.encode(), mtime=0))
        rule = "school-location subset: rows whose location contains SCHOOL" if table == "main" else LINKED_RULE
        digest = hashlib.sha256(DERIVED_TRR[table]).hexdigest()
        relpath = f"chicago-trr/school-subset/{stem}__school_locations.csv"
        entries.append(CatalogEntry(relpath, f"{ORIGIN}/{url_path}", True, rule, digest, len(DERIVED_TRR[table])))
    return entries


def _publish_at_catalogue_url(server: _Server, entry: CatalogEntry, data: bytes) -> None:
    target = server.root / entry.url.removeprefix(ORIGIN + "/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


@pytest.mark.real
def test_network_fetch_derives_the_mirror_subsets(server: _Server, shared_data: Path, tmp_path: Path) -> None:
    crimes = [e for e in load_catalog("chicago") if e.relpath.startswith("chicago-crimes/Crimes_2014")]
    full = next(e for e in crimes if not e.is_derived)
    school = next(e for e in crimes if e.is_derived)
    _publish_at_catalogue_url(server, full, (shared_data / full.relpath).read_bytes())
    trr = _publish_trr_release(server)
    cache = tmp_path / "cache"

    report = fetch([*crimes, *trr], cache_dir=cache, base_url=server.base_url, **FAST)

    assert report.ok, report.summary()
    assert len(server.requests) == 4  # the crimes export once for both rows, three TRR originals
    # Crimes: the subset derived from the served whole export is the mirror's subset, byte for byte.
    assert (cache / school.relpath).read_bytes() == (shared_data / school.relpath).read_bytes()
    assert (cache / full.relpath).read_bytes() == (shared_data / full.relpath).read_bytes()
    by_relpath = {f.relpath: f for f in report.files}
    assert by_relpath[school.relpath].reason == (
        f"derived from {full.relpath}: 307 of 6,957 rows whose Location Description contains SCHOOL; "
        "identical to the catalogue's mirror copy"
    )
    # TRR: main keeps school locations (any case); the other tables keep the main table's trr_ids.
    for entry in trr:
        table = entry.relpath.split("/")[-1].split("_")[0].removeprefix("TRR-")
        assert (cache / entry.relpath).read_bytes() == DERIVED_TRR[table], table
        fetched = by_relpath[entry.relpath]
        assert fetched.original_path == f"chicago-trr/school-subset/.originals/{entry.original_name}"
        assert (cache / fetched.original_path).is_file()  # the original is kept for the next run
    assert "3 of 5 rows whose trr_id is kept in release p000001" in by_relpath[trr[2].relpath].reason
    # The manifest records the original's checksum and the derived file's checksum.
    manifest = {f["path"]: f for f in json.loads((cache / MANIFEST_JSON).read_text())["files"]}
    sha_lines = (cache / MANIFEST_SHA256).read_text().splitlines()
    for fetched in report.files:
        assert manifest[fetched.path]["sha256"] == sha256_file(cache / fetched.path) == fetched.sha256
        assert f"{fetched.sha256}  {fetched.path}" in sha_lines
        if fetched.original_path:
            assert manifest[fetched.path]["derived_from"] == fetched.original_path
            assert manifest[fetched.original_path]["sha256"] == fetched.original_sha256
            assert f"{fetched.original_sha256}  {fetched.original_path}" in sha_lines
    assert manifest[full.relpath]["relpaths"] == sorted([full.relpath, school.relpath])
    assert len(sha_lines) == 2 + 3 + 3  # crimes export and subset; three TRR originals, three subsets
    first_manifest = (cache / MANIFEST_JSON).read_bytes()

    again = fetch([*crimes, *trr], cache_dir=cache, base_url=server.base_url, **FAST)

    assert len(server.requests) == 4  # every original re-used from the cache
    assert again.counts()[ALREADY_CACHED] == 5
    assert (cache / MANIFEST_JSON).read_bytes() == first_manifest
    assert (cache / school.relpath).read_bytes() == (shared_data / school.relpath).read_bytes()


def test_linked_trr_table_fails_when_its_main_table_failed(server: _Server, tmp_path: Path) -> None:
    trr = _publish_trr_release(server, release="p000002")
    main_original = server.root / trr[0].url.removeprefix(ORIGIN + "/")
    main_original.unlink()

    report = fetch(trr, cache_dir=tmp_path / "cache", base_url=server.base_url, retries=0, **FAST)

    status = {f.relpath.split("/")[-1].split("_")[0]: f for f in report.files}
    assert status["TRR-main"].status == FAILED
    assert status["TRR-main"].reason.startswith("original not fetched: HTTP 404")
    assert status["TRR-officers"].status == FAILED
    assert status["TRR-officers"].reason.startswith(f"TRR release p000002: its main table {trr[0].relpath} failed")
    assert not (tmp_path / "cache" / trr[1].relpath).exists()


def test_unknown_derivation_text_is_a_fetch_error(server: _Server, tmp_path: Path) -> None:
    entry = _publish(server, "a/sub.csv", b"x\n1\n", derived="hand-picked rows", sha256="6" * 64)

    with pytest.raises(FetchError, match="a/sub.csv: no known derivation rule in catalogue column derived"):
        fetch([entry], cache_dir=tmp_path / "cache", base_url=server.base_url, **FAST)


@pytest.mark.real
def test_derivation_rules_reproduce_the_mirror(shared_data: Path, tmp_path: Path) -> None:
    """Crimes: the rule applied to the full export gives the school file; TRR: identity on the subsets."""
    entries = load_catalog("chicago")
    crimes = {e.relpath: e for e in entries if e.relpath.startswith("chicago-crimes/Crimes_2014")}
    school = next(e for e in crimes.values() if e.is_derived)
    rule = derivation_rule(school)
    full = shared_data / "chicago-crimes/Crimes_2014-02-28_to_2014-03-15_full_schema.csv"

    counts = filter_csv_rows(full, tmp_path / "school.csv", rule.column, lambda v: contains_word(v, rule.word))

    assert counts[:2] == (6957, 307)
    assert sha256_file(tmp_path / "school.csv") == school.sha256

    releases: dict[str, dict[str, CatalogEntry]] = {}
    for entry in entries:
        if "/school-subset/" in entry.relpath:
            table, release = trr_release(entry)
            releases.setdefault(release, {})[table] = entry
    assert sorted(releases) == ["p046360", "p456008", "p583646", "p660692"]
    kept_reports = {}
    for release, tables in releases.items():
        main, main_rule = tables["main"], derivation_rule(tables["main"])
        read, kept, ids = filter_csv_rows(
            shared_data / main.relpath, tmp_path / "main.csv", main_rule.column,
            lambda v, word=main_rule.word: contains_word(v, word), key_column="trr_id",
        )
        assert read == kept  # every mirror report is at a school location
        assert sha256_file(tmp_path / "main.csv") == main.sha256
        kept_reports[release] = kept
        for table, entry in tables.items():
            if table != "main":
                assert derivation_rule(entry).kind == "linked_trr"
                read, kept, _ = filter_csv_rows(
                    shared_data / entry.relpath, tmp_path / "t.csv", "trr_id", ids.__contains__
                )
                assert read == kept, entry.relpath
                assert sha256_file(tmp_path / "t.csv") == entry.sha256, entry.relpath
    assert kept_reports == {"p046360": 399, "p456008": 427, "p583646": 26, "p660692": 166}


@pytest.mark.real
def test_network_fetch_derives_the_school_subsets_from_the_full_city_tables(
    server: _Server, shared_data: Path, tmp_path: Path
) -> None:
    """Served the mirror's whole-city tables at their URLs, a network fetch checks them against
    the catalogue and derives from them the mirror's school subsets, byte for byte."""
    full_city = load_catalog("chicago-full-city")
    subsets = [
        e for e in load_catalog("chicago")
        if "/school-subset/" in e.relpath and trr_release(e)[1] in {"p046360", "p583646"}
    ]
    for entry in full_city:
        _publish_at_catalogue_url(server, entry, (shared_data / entry.relpath).read_bytes())
    cache = tmp_path / "cache"

    report = fetch([*full_city, *subsets], cache_dir=cache, base_url=server.base_url, **FAST)

    assert report.ok, report.summary()
    assert len(server.requests) == 16  # each whole-city table once, for its own row and its subset
    by_relpath = {f.relpath: f for f in report.files}
    original_of = {e.url: e.relpath for e in full_city}
    for entry in full_city:
        assert by_relpath[entry.relpath].status == DOWNLOADED
        assert by_relpath[entry.relpath].sha256 == entry.sha256  # checked against the catalogue
    for entry in subsets:
        fetched = by_relpath[entry.relpath]
        assert fetched.original_path == original_of[entry.url]
        assert fetched.original_sha256 == sha256_file(shared_data / original_of[entry.url])
        assert (cache / entry.relpath).read_bytes() == (shared_data / entry.relpath).read_bytes(), entry.relpath
        assert fetched.reason.endswith("; identical to the catalogue's mirror copy"), fetched.reason
    main_2004 = "chicago-trr/school-subset/TRR-main_2004-2016_2016-09__school_locations.csv"
    assert by_relpath[main_2004].reason.startswith(
        "derived from chicago-trr/full-city/TRR-main_2004-2016_2016-09.csv.gz: "
        "399 of 67,019 rows whose location contains SCHOOL"
    )
    actions_2017 = "chicago-trr/school-subset/TRR-actions-responses_2017-2020_2020-06_p583646__school_locations.csv"
    assert "155 of 56,519 rows whose trr_id is kept in release p583646" in by_relpath[actions_2017].reason
    assert not (cache / "chicago-trr/school-subset/.originals").exists()  # no second copy of the originals
    assert len((cache / MANIFEST_SHA256).read_text().splitlines()) == 32


@pytest.mark.real
def test_juvenile_workbook_sheet_gives_the_mirror_csv_text(shared_data: Path, tmp_path: Path) -> None:
    import gzip

    entry = next(e for e in load_catalog("chicago") if e.relpath.endswith("__sheet1_rows5plus.csv.gz"))
    assert derivation_rule(entry).kind == "xlsm_sheet1"

    workbook = shared_data / "chicago-juvenile/juvenile-arrests-2013-2017.xlsm"
    rows, width = xlsm_sheet1_to_csv_gz(workbook, tmp_path / "j.csv.gz")

    assert (rows, width) == (62291, 8)
    text = gzip.decompress((tmp_path / "j.csv.gz").read_bytes())
    assert text == gzip.decompress((shared_data / entry.relpath).read_bytes())
    assert hashlib.sha256(text).hexdigest() == "108292fea1a97ef38b6f1f8d8faec8f6d3bf3949cd1ab987da359a0488c393b6"


# --------------------------------------------------------------------------- command line


def test_cli_fetch_offers_every_family_and_says_what_each_holds() -> None:
    from click.testing import CliRunner

    from sro_analysis.cli import FETCH_CATALOGS, main

    assert FETCH_CATALOGS == (*FAMILIES, ALL_FAMILIES)
    result = CliRunner().invoke(main, ["fetch", "--help"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "[OPTIONS] [chicago|chicago-full-city|nyc|louisiana|all]" in result.output
    text = " ".join(result.output.split())  # help text is wrapped
    for name, holds in family_summaries():
        assert f"{name} {holds}" in text
    for option in ("--mirror", "--cache", "--force", "--quiet"):
        assert option in result.output


@pytest.mark.real
def test_cli_fetch_family_from_mirror(shared_data: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sro_analysis.cli import main

    cache = tmp_path / "louisiana"
    args = ["fetch", "louisiana", "--mirror", str(shared_data), "--cache", str(cache), "--quiet"]
    result = CliRunner().invoke(main, args)

    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"louisiana: 72 files in {cache} (from mirror {shared_data})\n  copied_from_mirror: 72\n"
    )
    assert (cache / "nibrs-louisiana/LA-2016/NIBRS_ARRESTEE.csv").read_bytes() == (
        shared_data / "nibrs-louisiana/LA-2016/NIBRS_ARRESTEE.csv"
    ).read_bytes()
    bad = CliRunner().invoke(main, ["fetch", "texas"])
    assert bad.exit_code == 2
    assert "'texas' is not one of 'chicago', 'chicago-full-city', 'nyc', 'louisiana', 'all'" in bad.output
