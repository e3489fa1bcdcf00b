"""A plugin's options dataclass as the defaults its YAML files extend (Hydra's ConfigStore).

``store_defaults("ranker", BeamOptions)`` stores the dataclass's defaults as the config
``ranker/options/BeamOptions``; ``conf/ranker/beam.yaml`` then starts with ``defaults:
[options/BeamOptions@_here_, _self_]`` and holds only ``name`` and what it changes (a subgroup,
so ``ranker=`` lists the plugins, not their option sets), while the composed config
(``--cfg job``, the manifest) still lists every option. The node is stored as plain values, not
as a typed schema: the registry checks the types itself and names the key (``ranker.beam_size:
must be an integer``), before any work, like every other config error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hydra.core.config_store import ConfigStore


def defaults_of(options: type) -> dict[str, Any]:
    """Field name -> default of an options dataclass (every field must have one)."""
    return dataclasses.asdict(options())


def store_defaults(kind: str, options: type) -> None:
    """Make ``options``'s defaults selectable as ``<kind>/options/<ClassName>`` in a defaults list."""
    ConfigStore.instance().store(group=f"{kind}/options", name=options.__name__, node=defaults_of(options))
