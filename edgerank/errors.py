"""Errors a user can act on.

Every failure caused by input (config, data, plugins, parity) is an ``EdgeRankError``: the CLI
prints its message and exits non-zero without a traceback, because the message already names
the offending field, file or plugin. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Callable, Iterable


class EdgeRankError(Exception):
    """Base class for errors caused by the user's input rather than by edgerank itself."""

    exit_code = 2


def reports_errors(program: str) -> Callable[[Callable[..., int | None]], Callable[..., int]]:
    """A command's ``main`` that fails the way every edgerank command does: an
    :class:`EdgeRankError` becomes ``<program>: error: <message>`` on stderr and its exit code,
    without a traceback; a ``main`` that returns nothing succeeded (0)."""

    def wrap(main: Callable[..., int | None]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(*args: object, **kwargs: object) -> int:
            try:
                code = main(*args, **kwargs)
            except EdgeRankError as exc:
                print(f"{program}: error: {exc}", file=sys.stderr, flush=True)
                return exc.exit_code
            return 0 if code is None else code

        return run

    return wrap


class ConfigError(EdgeRankError):
    """A config value is missing, of the wrong type or out of range.

    ``field`` is the dotted config key, so that a plugin can raise about ``hidden`` and the
    registry can report it as ``model.hidden``, the key the user actually typed.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def under(self, prefix: str) -> "ConfigError":
        """The same error, with ``prefix`` (a config group such as ``model``) prepended to the key."""
        return ConfigError(f"{prefix}.{self.field}", self.message)


class PluginError(EdgeRankError):
    """A plugin is unknown, registered twice, or failed to load."""


class DataError(EdgeRankError):
    """Input data is missing, empty, malformed or inconsistent with the config."""


class ParityError(EdgeRankError):
    """The exported model does not compute what the PyTorch model computes."""

    exit_code = 3


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean: a, b?`` for the names of ``known`` close to ``name``, else an empty string."""
    close = difflib.get_close_matches(str(name), sorted(known), n=3, cutoff=0.6)
    return f" Did you mean: {', '.join(close)}?" if close else ""
