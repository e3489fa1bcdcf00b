"""Staging names for files and folders that are written aside, then moved into place.

A staging name carries the writer's process id (``.artifact.<pid>.<random>``), so a later run
can tell the leftovers of a killed run (its process is gone) from the work of one still
running, and remove only the former.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

RETIRED = "old"  # ``.<name>.old``: the previous version, between the two renames of a publish


def staging_prefix(destination: Path) -> str:
    """The ``prefix`` for ``tempfile.mkdtemp``/``mkstemp`` next to ``destination``."""
    return f".{destination.name}.{os.getpid()}."


def retired(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.{RETIRED}")


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

    Names without a process id (``old``, or those of earlier versions) have no live writer."""
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
