"""What a run shows on the terminal, and where everything else goes.

A default run prints one line describing the experiment, Lightning's progress bar, one line per
phase (train, test, ranker evaluation, conversion, parity, publish) with its duration, and the
final table. Third-party output (converter step logs, native-library notices, warnings) is
written to the run's log file instead: a *quiet* phase points the process's file descriptors 1
and 2 at that file while it runs, which is the only way to catch what C++ libraries (absl,
oneDNN, the LiteRT converter) write straight to the descriptors. ``verbose=true`` (``-v``) or
``hydra.verbose`` leaves the descriptors alone.

Numpy- and torch-free, so any layer may import it.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

LOG_FILE = "run.log"  # the run's log file: Hydra's job log (conf/hydra/default.yaml) and quiet phases
SIGNIFICANT_DIGITS = 6  # float32 carries about 7; metrics keep 6 (0.11924999952316284 -> 0.11925)

log = logging.getLogger("edgerank")
T = TypeVar("T")


class ConsoleFormatter(logging.Formatter):
    """Plain messages; warnings and errors say so."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


@dataclass
class _Session:
    log_file: Path | None = None
    verbose: bool = True
    terminal: TextIO | None = None  # stderr as the session found it, which quiet phases redirect


_session = _Session()  # outside a run (tests, notebooks): nothing is redirected


@contextmanager
def session(log_file: str | Path, verbose: bool = False) -> Iterator[None]:
    """Within it, quiet phases send third-party output to ``log_file`` unless ``verbose``;
    progress bars keep drawing on the terminal."""
    global _session
    terminal, own = _terminal()
    previous, _session = _session, _Session(Path(log_file), verbose, terminal)
    try:
        yield
    finally:
        _session = previous
        if own:
            terminal.close()


def _terminal() -> tuple[TextIO, bool]:
    """Where progress bars go while descriptors 1 and 2 point at the log: a duplicate of
    descriptor 2 when it is stderr (closed with the session), else stderr itself (a notebook's)."""
    sys.stderr.flush()
    try:
        if sys.stderr.fileno() == 2:
            return os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding, errors="replace"), True
    except (AttributeError, OSError, ValueError):  # no descriptor (pytest's capture, notebooks)
        pass
    return sys.stderr, False


_descriptors = threading.RLock()  # two threads redirecting at once would restore each other's targets


@contextmanager
def _pointed_at(target: int) -> Iterator[None]:
    """Descriptors 1 and 2 point at the open descriptor ``target`` for the block."""
    with _descriptors:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(target, 1)
            os.dup2(target, 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextmanager
def _descriptors_to(path: Path) -> Iterator[None]:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    stream = open(path, "a", buffering=1)  # where sys.stdout is not descriptor 1 (pytest, notebooks)
    try:
        with _pointed_at(target), redirect_stdout(stream), redirect_stderr(stream):
            yield
    finally:
        stream.close()
        os.close(target)


@contextmanager
def native_output_logged(level: int = logging.DEBUG) -> Iterator[None]:
    """What C++ libraries write to descriptors 1 and 2 during the block (LiteRT's "Created
    TensorFlow Lite XNNPACK delegate for CPU." when an interpreter is built) goes to edgerank's
    log at ``level`` instead of the terminal, for code that runs outside a run's session: the
    runtime and its command line. Within a session its phases already decide (the log file, or
    the terminal under ``-v``), so the block runs as it is."""
    if _session.log_file is not None:
        yield
        return
    with tempfile.TemporaryFile() as capture:
        with _pointed_at(capture.fileno()):
            yield
        capture.seek(0)
        for line in capture.read().decode(errors="replace").splitlines():
            if line.strip():
                log.log(level, "%s", line)


@contextmanager
def quietly() -> Iterator[None]:
    """Third-party output of the block goes to the session's log file (nothing is printed)."""
    if _session.verbose or _session.log_file is None:
        yield
    else:
        with _descriptors_to(_session.log_file):
            yield


@dataclass
class Phase:
    name: str
    note: str = ""  # shown after the duration, e.g. the phase's headline figure
    seconds: float = 0.0


@contextmanager
def phase(name: str, quiet: bool = True) -> Iterator[Phase]:
    """Time a step of the run and report it in one line when it ends.

    ``quiet``: third-party output during the step goes to the session's log file (keep it False
    for steps that draw their own progress bar).
    """
    step = Phase(name)
    start = time.perf_counter()
    try:
        if quiet:
            with quietly():
                yield step
        else:
            yield step
    except BaseException:
        log.info("%-18s failed after %.1f s", name, time.perf_counter() - start)
        raise
    step.seconds = time.perf_counter() - start
    log.info("%-18s %6.1f s%s", name, step.seconds, f"   {step.note}" if step.note else "")


def progress(items: Iterable[T] | None, description: str, total: int | None = None) -> Any:
    """A progress bar on stderr (tqdm, as Lightning's own bar), erased when done. Without
    ``items`` it is advanced by hand (``.update()``; ``.set_postfix_str()`` says what runs)."""
    from tqdm.auto import tqdm

    terminal = _session.terminal or sys.stderr  # a quiet phase's bar still reaches the terminal
    return tqdm(items, desc=description, total=total, file=terminal, leave=False, mininterval=0.5, dynamic_ncols=True)


def round_metric(value: Any) -> Any:
    """Floats to :data:`SIGNIFICANT_DIGITS` significant digits; anything else unchanged."""
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return round(value, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value))))
    return value


def round_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {key: round_metric(value) for key, value in metrics.items()}


def show_everything() -> None:
    """Verbose mode: every logger (third-party ones too) also prints to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    logging.getLogger().addHandler(handler)
    log.propagate = True
    for own in list(log.handlers):  # the root handler now prints edgerank's lines as well
        log.removeHandler(own)
