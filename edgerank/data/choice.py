"""Choice data (one row per user: attributes and the item they picked) as a LightningDataModule.

Sources (the synthetic population, CSV/TSV files, third-party loaders) only produce a
:class:`ChoiceTable` of raw strings; everything else - validation, the seeded split, fitting
the group one-hot encoder on the training rows, the SKU catalogue, parity samples - is shared
here, so every source gets the same checks and the same manifest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from edgerank.core.encoder import GroupOneHotEncoder, feature_group
from edgerank.data.choice_options import ChoiceOptions
from edgerank.data.splits import SplitDataModule
from edgerank.errors import ConfigError, DataError
from edgerank.registry.given_options import given_options

INT32_MAX = np.iinfo(np.int32).max
MISSING = {"", "nan", "NaN", "NA", "null", "None"}


@dataclass
class ChoiceTable:
    """Raw rows: feature columns and the chosen item, all as strings, as a loader read them."""

    columns: dict[str, np.ndarray]
    labels: np.ndarray
    source: str
    label_column: str = "label"  # where the labels came from, for error messages

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: np.ndarray) -> "ChoiceTable":
        return ChoiceTable({c: v[rows] for c, v in self.columns.items()}, self.labels[rows], self.source, self.label_column)


@dataclass
class ChoiceSpec:
    """What a model, a task and the manifest need to know about the data, fixed after setup."""

    encoder: GroupOneHotEncoder
    sku_ids: np.ndarray  # int32, class index -> SKU id
    sku_labels: list[str]  # class index -> label as it appears in the data
    class_prior: np.ndarray  # float32 training frequency of each class (popularity baseline)

    @property
    def input_dim(self) -> int:
        return self.encoder.dim

    @property
    def num_products(self) -> int:
        return len(self.sku_ids)

    def manifest_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"encoder": self.encoder.to_dict(), "sku_ids": self.sku_ids.tolist()}
        if self.sku_labels != [str(s) for s in self.sku_ids.tolist()]:
            fields["sku_labels"] = list(self.sku_labels)
        return fields


def catalogue(labels: Sequence[str], products: Sequence[Any] | None) -> tuple[np.ndarray, list[str]]:
    """SKU ids (int32) and labels for the classes, in class-index order.

    Integer labels are the SKU ids themselves; other labels get ids 0..N-1 and keep their text
    in ``sku_labels`` so the app can still show them.
    """
    names = [str(p) for p in products] if products is not None else sorted(set(labels), key=_sort_key)
    if len(set(names)) != len(names):
        raise ConfigError("data.products", "contains duplicates")
    integer = [_is_int(n) for n in names]
    if any(integer) and not all(integer):  # one stray text label would turn every SKU id into an index
        text = names[integer.index(False)]
        raise ConfigError("data.products", f"mixes integer SKU ids with text ('{text}'): use one kind")
    if all(integer):
        ids = [int(n) for n in names]
        too_big = [i for i in ids if not 0 <= i <= INT32_MAX]
        if too_big:
            raise DataError(f"SKU id {too_big[0]} does not fit the exported int32 SKU ids (0..{INT32_MAX})")
        return np.asarray(ids, dtype=np.int32), names
    return np.arange(len(names), dtype=np.int32), names


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _sort_key(text: str) -> tuple[int, Any]:
    return (0, int(text)) if _is_int(text) else (1, text)


class ChoiceDataModule(SplitDataModule):
    """Seeded train/val/test split of a :class:`ChoiceTable`; subclasses implement :meth:`load_table`
    and name their options (``Options``, a :class:`ChoiceOptions`)."""

    Options: type[ChoiceOptions] = ChoiceOptions

    def __init__(self, options: ChoiceOptions | None = None, **values: Any) -> None:
        """``options``, or the option ``values`` as keywords (``CsvChoiceData(path=..., label=..., features=[...])``)."""
        super().__init__()
        self.options = o = given_options(self.Options, options, values, type(self).__name__)
        groups = self.group_specs()
        self.features = list(o.features)
        self.feature_groups = {c: feature_group(c, groups.get(c)) for c in self.features}
        self.products: list[Any] | None = None  # the catalogue, where a source has one; None: every label in the data
        self.test_fraction, self.val_fraction, self.batch_size, self.seed = o.test_fraction, o.val_fraction, o.batch_size, o.seed
        self.spec: ChoiceSpec | None = None

    def group_specs(self) -> Mapping[str, Any]:
        """Column -> group config (``{mapping: ...}`` or ``{bins: ...}``); a source may supply its own."""
        return dict(self.options.groups or {})

    # -- to implement ---------------------------------------------------------------------------
    def load_table(self) -> ChoiceTable:
        raise NotImplementedError

    # -- LightningDataModule --------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self.spec is not None:
            return
        table = self.load_table()
        self._validate(table)
        order = np.random.default_rng(self.seed).permutation(len(table))
        n_test = max(1, round(len(table) * self.test_fraction))
        n_val = round((len(table) - n_test) * self.val_fraction)
        if len(table) - n_test - n_val < 1:
            raise DataError(f"{table.source}: {len(table)} rows are too few to split (test {n_test}, val {n_val})")
        test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
        encoder = GroupOneHotEncoder([self.feature_groups[c] for c in self.features]).fit(table.take(train).columns)
        # Without a configured catalogue the classes are every label in the data, so a product
        # seen only in the test split is still a class (with zero training frequency).
        sku_ids, sku_labels = catalogue(table.labels.tolist(), self.products)
        class_of = {label: i for i, label in enumerate(sku_labels)}
        classes = np.asarray([class_of[str(label)] for label in table.labels], dtype=np.int64)
        x = encoder.transform(table.columns)
        prior = np.bincount(classes[train], minlength=len(sku_ids)).astype(np.float32)
        self.spec = ChoiceSpec(encoder, sku_ids, sku_labels, prior / prior.sum())
        self._splits = {
            name: TensorDataset(torch.from_numpy(x[rows]), torch.from_numpy(classes[rows]))
            for name, rows in (("train", train), ("val", val if len(val) else test), ("test", test))
        }

    def _validate(self, table: ChoiceTable) -> None:
        if len(table) == 0:
            raise DataError(f"{table.source}: no data rows")
        for column in self.features:
            if column not in table.columns:
                raise DataError(f"{table.source}: no column '{column}' (columns: {', '.join(table.columns)})")
            _reject_missing(table.source, column, table.columns[column])
        _reject_missing(table.source, table.label_column, table.labels)
        labels = [str(label) for label in table.labels]
        kinds = {_is_int(label) for label in labels}
        if self.products is None and len(kinds) > 1:  # one stray text label would turn every SKU id into an index
            row = next(i for i, label in enumerate(labels) if not _is_int(label))
            raise DataError(f"{table.source}: the label column '{table.label_column}' mixes integer SKU ids with text "
                            f"('{labels[row]}', data row {row + 1}); fix the row or give every product a text label")
        distinct = set(labels) if self.products is None else {str(p) for p in self.products}
        if len(distinct) < 2:
            raise DataError(f"{table.source}: the label column '{table.label_column}' has a single value "
                            f"({', '.join(repr(d) for d in sorted(distinct)) or 'none'}); ranking needs at least 2 products")
        if self.products is not None:
            known = {str(p) for p in self.products}
            outside = [i for i, label in enumerate(table.labels) if str(label) not in known]
            if outside:
                raise DataError(
                    f"{table.source}: label '{table.labels[outside[0]]}' (row {outside[0] + 1}) is not in "
                    f"data.products; {len(outside)} rows have labels outside the product list"
                )

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        return DataLoader(self._splits[split], batch_size=self.batch_size, shuffle=shuffle)

    # -- export -----------------------------------------------------------------------------
    def parity_samples(self, n: int, seed: int = 0, eligible_fraction: float = 0.7) -> list[dict[str, np.ndarray]]:
        """Held-out inputs for the parity check, one request each, with random eligibility masks."""
        assert self.spec is not None, "call setup() first"
        features = self._splits["test"].tensors[0].numpy()
        rng = np.random.default_rng(seed)
        rows = rng.choice(len(features), size=n, replace=n > len(features))
        masks = (rng.random((n, self.spec.num_products)) < eligible_fraction).astype(np.float32)
        return [{"features": features[r : r + 1], "eligible": masks[i : i + 1]} for i, r in enumerate(rows)]


def _reject_missing(source: str, column: str, values: np.ndarray) -> None:
    missing = [i for i, v in enumerate(values) if v is None or str(v).strip() in MISSING]
    if missing:
        raise DataError(
            f"{source}: column '{column}' has {len(missing)} missing/NaN values (first at data row {missing[0] + 1})"
        )
