"""The one rule for model names, shared by the store, the server and the device."""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
"""A model name is one path component: lower case (two names never share a folder on a
case-insensitive disk), no separators, never ``.``/``..`` or hidden, at most 100 characters."""


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a model name, or None when it can."""
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        return None
    return f"{name!r} is not a valid model name (pattern [a-z0-9][a-z0-9._-]{{0,99}}: one lower-case path component)"


def url_name_problem(name: object) -> str | None:
    """:func:`name_problem`, and no ``..`` anywhere: the name also goes into URLs and cache paths."""
    return name_problem(name) or (f"{name!r} contains '..'" if ".." in str(name) else None)
