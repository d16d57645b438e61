"""Expensive test inputs built once per test session, shared by every pytest-xdist worker.

A Dataset of the real Chicago records, the synthetic demo, a rendered report set: each is built
the first time a test asks for it, under a file lock in the session's shared temporary folder,
and then only read. Workers that ask at the same time wait for the one building it.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> out = shared_build(root, "demo", lambda tmp: (tmp / "x.txt").write_text("built"))
    >>> (out / "x.txt").read_text()
    'built'
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

_DONE = ".complete"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created when missing), released on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_build(root: Path, name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``root/name``, built by ``build(folder)`` unless an earlier call built it."""
    out = root / name
    with locked(root / f".{name}.lock"):
        if not (out / _DONE).exists():
            tmp = root / f".{name}.building"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            tmp.mkdir(parents=True)
            build(tmp)
            (tmp / _DONE).touch()
            tmp.rename(out)
    return out
