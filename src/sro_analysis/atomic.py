"""Write a folder all at once: build it beside its destination, then move it into place.

An interrupted run leaves the previous folder (or nothing) at the destination, never a
half-written Dataset or release; leftovers of a crash are removed by the next run.

Example:
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_directory(dest) as tmp:
    ...     _ = (tmp / "a.txt").write_text("hello")
    >>> (dest / "a.txt").read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_TMP_PREFIX = ".tmp-"
_OLD_PREFIX = ".old-"


def _sweep_leftovers(dest: Path) -> None:
    for pattern in (f"{_TMP_PREFIX}{dest.name}-*", f"{_OLD_PREFIX}{dest.name}-*"):
        for stale in dest.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``dest``, on error it is deleted."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{dest.name}-", dir=dest.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{_OLD_PREFIX}{dest.name}-", dir=dest.parent))
        os.rmdir(old)
        os.replace(dest, old)
    os.replace(tmp, dest)
    os.chmod(dest, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename, with '\\n' line ends.

    The file keeps the temporary file's permissions (0600) unless ``mode`` is given, e.g.
    ``0o644`` for a manifest other users may read.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)
