"""A plugin's options dataclass as the defaults its YAML files extend (Hydra's ConfigStore).

``store_defaults("ranker", BeamOptions)`` stores the dataclass's defaults as the config
``ranker/options/BeamOptions``; ``conf/ranker/beam.yaml`` then starts with ``defaults:
[options/BeamOptions@_here_, _self_]`` and holds only ``name`` and what it changes (a subgroup,
so ``ranker=`` lists the plugins, not their option sets), while the composed config
(``--cfg job``, the manifest) still lists every option. The node is stored as plain values, not
as a typed schema: the registry checks the types itself and names the key (``ranker.beam_size:
must be an integer``), before any work, like every other config error. A field without a default (``data.path`` of
``csv``) is stored as ``???`` (omegaconf's MISSING), first, where a reader of ``--cfg job`` looks:
a job that leaves it unset fails naming the key (``data.path: is required``).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


def defaults_of(options: type) -> dict[str, Any]:
    """Field name -> default of an options dataclass; ``???`` for a required field.

    Required fields come first, the class's own before its bases' (``csv``: ``path``, ``label``,
    then ``features``), then the others in declaration order."""
    fields = dataclasses.fields(options)
    required = sorted((f for f in fields if _required(f)), key=lambda f: _declared_at(options, f.name))
    return {f.name: MISSING for f in required} | {f.name: _default(f) for f in fields if not _required(f)}


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _declared_at(options: type, name: str) -> int:
    """How far up ``options``'s bases the field ``name`` is (re)declared: 0 for its own fields."""
    return next(i for i, c in enumerate(options.__mro__) if name in vars(c).get("__annotations__", {}))


def _default(f: dataclasses.Field) -> Any:
    return copy.deepcopy(f.default) if f.default is not dataclasses.MISSING else f.default_factory()


def store_defaults(kind: str, options: type) -> None:
    """Make ``options``'s defaults selectable as ``<kind>/options/<ClassName>`` in a defaults list."""
    ConfigStore.instance().store(group=f"{kind}/options", name=options.__name__, node=defaults_of(options))
