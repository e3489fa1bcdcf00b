"""A plugin built from its options dataclass, or from the option values as keywords."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def given_options(declared: type[T], options: T | None, values: Mapping[str, Any], owner: str) -> T:
    """``options`` if given, else ``declared(**values)`` (which checks them); never both.

    The registry passes ``options=``; Python callers may write ``Model(spec, hidden=[32])``.
    """
    if options is None:
        return declared(**values)
    if values or not isinstance(options, declared):
        raise TypeError(f"{owner} takes a {declared.__name__} or option keywords, not both")
    return options
