"""Stage, check, move into place: how every published file and folder is written.

A reader of ``destination`` sees the old version or the complete new one, never half of one:
the writer fills a staging path beside it (same file system, so the move is a rename), checks
what it wrote, and only then calls :meth:`Staged.commit`; leaving the block without committing
(an exception, a failed check) removes the staging path and leaves ``destination`` as it was::

    with staged_folder(run_dir / "artifact") as stage:
        write_files(stage.path)
        check(stage.path)        # raises: nothing is published
        stage.commit()

A staging name carries the writer's process id (``.artifact.<pid>.<random>``), so a later run
can tell the leftovers of a killed run (its process is gone) from the work of one still
running, and remove only the former (:func:`remove_stale_staging`, run before every write).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edgerank.termination import deferred

RETIRED = "old"  # ``.<name>.old``: the previous version, between the two renames of a publish


def staging_prefix(destination: Path) -> str:
    """The ``prefix`` for ``tempfile.mkdtemp``/``mkstemp`` next to ``destination``."""
    return f".{destination.name}.{os.getpid()}."


def retired(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.{RETIRED}")


@dataclass
class Staged:
    """A staging ``path`` (write there) that :meth:`commit` moves to ``destination``."""

    path: Path
    destination: Path

    def commit(self) -> None:
        """Move the staged file or folder into place, replacing an older version."""
        if not self.path.is_dir():
            os.chmod(self.path, 0o644)  # mkstemp creates it private
            os.replace(self.path, self.destination)
            return
        self.path.chmod(0o755)  # mkdtemp creates it private
        if self.destination.exists():  # a folder cannot replace a folder in one rename
            old = retired(self.destination)
            shutil.rmtree(old, ignore_errors=True)
            with deferred():  # a termination between the renames would leave no current version
                self.destination.rename(old)
                self.path.rename(self.destination)
            shutil.rmtree(old, ignore_errors=True)
        else:
            self.path.rename(self.destination)


@contextmanager
def staged_folder(destination: str | Path) -> Iterator[Staged]:
    """An empty staging folder beside ``destination``; removed unless committed."""
    with _staged(destination, lambda d: tempfile.mkdtemp(prefix=staging_prefix(d), dir=d.parent),
                 lambda path: shutil.rmtree(path, ignore_errors=True)) as stage:
        yield stage


@contextmanager
def staged_file(destination: str | Path) -> Iterator[Staged]:
    """An empty staging file beside ``destination``; removed unless committed."""

    def make(d: Path) -> str:
        fd, name = tempfile.mkstemp(prefix=staging_prefix(d), dir=d.parent)
        os.close(fd)
        return name

    with _staged(destination, make, lambda path: path.unlink(missing_ok=True)) as stage:
        yield stage


@contextmanager
def _staged(destination: str | Path, make: Callable[[Path], str], remove: Callable[[Path], None]) -> Iterator[Staged]:
    """The staging path ``make`` creates, removed on the way out unless committed. It is created
    with terminations held back, so a SIGTERM cannot land between its creation and the
    ``finally`` that removes it."""
    destination = _prepare(destination)
    path: Path | None = None
    try:
        with deferred():
            path = Path(make(destination))
        yield Staged(path, destination)
    finally:
        if path is not None:
            remove(path)


def _prepare(destination: str | Path) -> Path:
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(destination)
    return destination


def remove_stale_staging(destination: Path) -> list[Path]:
    """Remove what killed writers left next to ``destination``; returns what was removed.

    A retired previous version whose replacement never arrived (the writer died between the
    two renames) is moved back to ``destination`` rather than deleted.
    """
    destination = Path(destination)
    if not destination.parent.is_dir():
        return []
    old = retired(destination)
    if old.exists() and not destination.exists():
        old.rename(destination)
    removed = []
    for path in destination.parent.glob(f".{destination.name}.*"):
        if _writer_alive(path.name[len(destination.name) + 2 :]):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _writer_alive(suffix: str) -> bool:
    """Whether the process named in a staging suffix (``<pid>.<random>``) still runs.

    Names without a process id (``old``, or any other name) have no live writer."""
    pid, _, _ = suffix.partition(".")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's live process
        return True
    return True
