"""SIGTERM (``kill``, a scheduler's time limit) as ``SystemExit``, so ``finally`` blocks remove
what a run staged; held back while native code runs that cannot unwind a Python exception.

A Python exception raised inside a C++ extension's module initialisation (jaxlib's MLIR bindings,
imported by the converter) ends in ``std::terminate``: the process aborts before any ``finally``
runs, and the staging folder stays behind. Conversion and quantization therefore run inside
:func:`deferred`, and a termination that arrives meanwhile takes effect as soon as they return.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_depth = 0
_pending: int | None = None


def exit_on_sigterm() -> None:
    """Install the handler, unless a launcher installed its own (submitit's is kept)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _handle)


def _handle(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _depth:
        _pending = signum
        return
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a termination back until the block ends, then exit as it asked (exit code 128+signal)."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending is not None:
            signum, _pending = _pending, None
            raise SystemExit(128 + signum)
