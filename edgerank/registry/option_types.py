"""A plugin's options checked against its signature's type hints, before it is built.

Hydra passes values as typed on the command line (``data.num_users=abc`` is the string
``'abc'``); a plugin that calls ``int(num_users)`` would raise a bare ``ValueError``. The
registry checks the scalar hints (``int``, ``float``, ``bool``, ``str``, optionally ``| None``)
that every plugin already declares, so the user gets ``data.num_users: must be an integer``.
Other hints (lists, mappings, ``Any``) are left to the plugin's own checks.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from edgerank.errors import ConfigError

SCALARS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def check_option_types(kind: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Raise a ConfigError (``kind.option``) for the first option whose value has the wrong type.

    ``factory`` is the plugin's factory, or its options dataclass when it declares one."""
    hints = _scalar_hints(factory)
    for name, value in options.items():
        allowed = hints.get(name)
        if allowed is None or (value is None and type(None) in allowed) or any(_is(value, t) for t in allowed):
            continue
        wanted = " or ".join(SCALARS[t] for t in allowed if t in SCALARS) + (" or null" if type(None) in allowed else "")
        raise ConfigError(f"{kind}.{name}", f"must be {wanted}, got {value!r}")


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _scalar_hints(factory: Callable[..., Any]) -> dict[str, tuple[type, ...]]:
    """Option name -> the scalar types its hint allows, for options hinted only with scalars."""
    if dataclasses.is_dataclass(factory):  # an options dataclass: its fields' hints (base classes' included)
        functions: list[Any] = [factory]
    elif inspect.isclass(factory):
        functions = [c.__init__ for c in inspect.getmro(factory) if "__init__" in vars(c)]
    else:
        functions = [factory]
    out: dict[str, tuple[type, ...]] = {}
    for function in reversed(functions):  # a subclass's hint wins over its base's
        try:
            hints = typing.get_type_hints(function)
        except Exception:  # noqa: BLE001 - unresolvable hints: nothing to check
            continue
        for name, hint in hints.items():
            allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
            if allowed and all(t in SCALARS or t is type(None) for t in allowed):
                out[name] = tuple(allowed)
            else:
                out.pop(name, None)
    return out
