"""The options of the choice data plugins (``product_synthetic``, ``csv``), declared once.

:class:`ChoiceOptions` is what every choice source shares: the feature columns and their
groups, the seeded split and the batches; each source's dataclass extends it. A datamodule
names its dataclass (``Options = ProductSyntheticOptions``), so the registry accepts,
type-checks and builds exactly these fields; ``conf/data/<name>.yaml`` extends the defaults
stored here with Hydra's ConfigStore and only overrides what a job changes (the seed), so
``--cfg job`` still shows every option; a field without a default (``csv``'s ``path``, ``label``,
``features``) shows as ``???`` and a job that leaves it unset fails naming it. Torch-free: Hydra imports it before composing a config
(``edgerank/conf/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgerank.config_values import in_range, is_int, is_number, positive_int
from edgerank.core.encoder import feature_group
from edgerank.errors import ConfigError
from edgerank.registry.defaults import store_defaults


@dataclass(frozen=True, kw_only=True)
class ChoiceOptions:
    """Feature columns and their groups, the split (``test_fraction`` held out for test metrics and
    parity samples, ``val_fraction`` of the rest to select the checkpoint) and the batches."""

    features: tuple[str, ...]  # user attribute columns, one one-hot block each
    groups: Mapping[str, Any] | None = field(default_factory=dict)  # per column: {mapping: {raw: group}} or {bins: [edges]}
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.features, (str, bytes)) or not self.features:
            raise ConfigError("features", "list at least one feature column")
        features = tuple(str(f) for f in self.features)
        groups = dict(self.groups or {})
        strays = sorted(set(groups) - set(features))
        if strays:
            raise ConfigError(f"groups.{strays[0]}", f"is not one of the feature columns {list(features)}")
        for column, spec in groups.items():
            feature_group(column, spec)  # a bad group names groups.<column>
        checked: dict[str, Any] = {
            "features": features,
            "test_fraction": in_range("test_fraction", self.test_fraction, 0.0, 1.0, low_open=True),
            "val_fraction": in_range("val_fraction", self.val_fraction, 0.0, 1.0),
            "batch_size": positive_int("batch_size", self.batch_size),
            "seed": int(self.seed),
        }
        for name, value in checked.items():  # frozen: the checked, normalised values replace the given ones
            object.__setattr__(self, name, value)


@dataclass(frozen=True, kw_only=True)
class ProductSyntheticOptions(ChoiceOptions):
    """``product_synthetic``: the generated population's size and how strongly segments drive choice."""

    num_users: int = 20000
    num_products: int = 40
    segment_strength: float = 1.5  # how strongly segments (cluster, series, gender, age) drive choice
    features: tuple[str, ...] = ("city", "device", "gender", "age")
    groups: Mapping[str, Any] | None = None  # None: the generator's own maps (city->cluster, device->series, age bins)

    def __post_init__(self) -> None:
        for name, least in (("num_users", 10), ("num_products", 2)):
            value = getattr(self, name)
            if not is_int(value) or value < least:
                raise ConfigError(name, f"must be at least {least}, got {value}")
        if not is_number(self.segment_strength):
            raise ConfigError("segment_strength", f"must be a number, got {self.segment_strength!r}")
        object.__setattr__(self, "segment_strength", float(self.segment_strength))
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class CsvOptions(ChoiceOptions):
    """``csv``: the file, the column holding the chosen item, and an optional catalogue."""

    path: str  # .csv (comma) or .tsv (tab), with a header row
    label: str  # column holding the chosen item (integer SKU ids, or any text)
    products: tuple[Any, ...] | None = None  # optional catalogue; labels outside it are an error

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("path", "set data.path to your CSV/TSV file")
        if not self.label:
            raise ConfigError("label", "set data.label to the column holding the chosen item")
        if not isinstance(self.features, (str, bytes)) and self.label in (self.features or []):
            raise ConfigError("label", f"'{self.label}' is also listed in data.features")
        super().__post_init__()
        object.__setattr__(self, "path", str(self.path))
        object.__setattr__(self, "label", str(self.label))
        if self.products is not None:
            object.__setattr__(self, "products", tuple(self.products))


store_defaults("data", ProductSyntheticOptions)
store_defaults("data", CsvOptions)
