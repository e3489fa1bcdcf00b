"""The group one-hot encoder (vivo's "binary code").

Each attribute is a *group*: a raw value (``Nanjing``) is first mapped to its group value
(``cluster_east``) by an optional mapping or by numeric bins, then one-hot encoded in a block
that ends with an explicit ``unknown`` slot. Blocks are concatenated in a fixed order.

The encoder is plain data + numpy so that it serialises into the artifact manifest
(:meth:`to_dict`) and an app can rebuild the exact input vector from raw attributes without
Python or torch. Values never seen in training, or missing, light the ``unknown`` bit of their
block: never an error, never a wrong bit.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgerank.errors import ConfigError

UNKNOWN = "<unknown>"


@dataclass
class FeatureGroup:
    """One attribute block. ``vocabulary`` is learned by :meth:`GroupOneHotEncoder.fit`."""

    column: str
    mapping: dict[str, str] | None = None
    bins: list[float] | None = None
    vocabulary: list[str] = field(default_factory=list)

    def group_value(self, raw: Any) -> str | None:
        """The group a raw value belongs to, or None when it cannot be placed."""
        text = "" if raw is None else str(raw).strip()
        if not text:
            return None
        if self.bins is not None:
            try:
                number = float(text)
            except ValueError:
                return None
            if number != number:  # NaN
                return None
            return _bin_label(self.bins, bisect.bisect_right(self.bins, number))
        if self.mapping is not None:
            return self.mapping.get(text)
        return text

    @property
    def width(self) -> int:
        return len(self.vocabulary) + 1  # + unknown slot

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "vocabulary": list(self.vocabulary)}
        if self.mapping is not None:
            out["mapping"] = dict(self.mapping)
        if self.bins is not None:
            out["bins"] = list(self.bins)
        return out


def _bin_label(bins: Sequence[float], index: int) -> str:
    if index == 0:
        return f"<{bins[0]:g}"
    if index == len(bins):
        return f">={bins[-1]:g}"
    return f"[{bins[index - 1]:g},{bins[index]:g})"


def feature_group(column: str, spec: Mapping[str, Any] | None) -> FeatureGroup:
    """Build a group from its config: ``{mapping: {raw: group}}`` or ``{bins: [edges]}``."""
    spec = dict(spec or {})
    mapping, bins = spec.pop("mapping", None), spec.pop("bins", None)
    if spec:
        raise ConfigError(f"groups.{column}", f"unknown keys {sorted(spec)} (use 'mapping' or 'bins')")
    if mapping is not None and bins is not None:
        raise ConfigError(f"groups.{column}", "give either 'mapping' or 'bins', not both")
    if bins is not None:
        edges = [float(b) for b in bins]
        if not edges or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"groups.{column}.bins", f"must be a non-empty increasing list, got {list(bins)}")
        return FeatureGroup(column, bins=edges)
    if mapping is not None:
        return FeatureGroup(column, mapping={str(k): str(v) for k, v in dict(mapping).items()})
    return FeatureGroup(column)


class GroupOneHotEncoder:
    """Concatenated one-hot blocks, one per feature group, each with an ``unknown`` slot.

    The value -> position lookups are built once, when the vocabularies are set (``fit``, or
    ``from_dict`` when an app loads an artifact), not per encoded row: an app encodes one user
    per request, and a block can have thousands of values.
    """

    def __init__(self, groups: Sequence[FeatureGroup]) -> None:
        if not groups:
            raise ConfigError("features", "at least one feature column is needed")
        self.groups = list(groups)
        self._index()

    def _index(self) -> None:
        """(Re)build each block's lookup and start offset from the current vocabularies."""
        self._lookups = [{v: i for i, v in enumerate(g.vocabulary)} for g in self.groups]
        self._offsets = self.offsets()

    @property
    def columns(self) -> list[str]:
        return [g.column for g in self.groups]

    @property
    def dim(self) -> int:
        return sum(g.width for g in self.groups)

    def offsets(self) -> list[int]:
        """Start index of each block in the encoded vector."""
        starts, position = [], 0
        for group in self.groups:
            starts.append(position)
            position += group.width
        return starts

    def fit(self, columns: Mapping[str, Sequence[Any]]) -> "GroupOneHotEncoder":
        """Learn each block's vocabulary (sorted, for a reproducible layout) from training rows."""
        for group in self.groups:
            values = {group.group_value(v) for v in columns[group.column]} - {None}
            if group.bins is not None:  # buckets in numeric order
                order = [_bin_label(group.bins, i) for i in range(len(group.bins) + 1)]
                group.vocabulary = [label for label in order if label in values]
            else:
                group.vocabulary = sorted(values)  # type: ignore[arg-type]
        self._index()
        return self

    def indices(self, columns: Mapping[str, Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Per row and group, the hot index into the encoded vector, and whether it is unknown."""
        n = len(columns[self.groups[0].column])
        hot = np.empty((n, len(self.groups)), dtype=np.int64)
        unknown = np.zeros((n, len(self.groups)), dtype=bool)
        for j, (group, start, lookup) in enumerate(zip(self.groups, self._offsets, self._lookups)):
            for i, raw in enumerate(columns[group.column]):
                slot = lookup.get(group.group_value(raw))  # type: ignore[arg-type]
                if slot is None:
                    slot, unknown[i, j] = len(lookup), True
                hot[i, j] = start + slot
        return hot, unknown

    def transform(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Encode rows (column -> values) into a float32 matrix of 0/1 bits."""
        hot, _ = self.indices(columns)
        out = np.zeros((hot.shape[0], self.dim), dtype=np.float32)
        np.put_along_axis(out, hot, 1.0, axis=1)
        return out

    def encode_one(self, attributes: Mapping[str, Any]) -> np.ndarray:
        """Encode a single user given as ``{column: raw value}``; missing columns are unknown."""
        return self.transform({c: [attributes.get(c)] for c in self.columns})[0]

    def describe(self, vector: np.ndarray) -> dict[str, str]:
        """Inverse of :meth:`encode_one` up to grouping: the group value lit in each block."""
        out = {}
        for group, start in zip(self.groups, self.offsets()):
            slot = int(np.argmax(vector[start : start + group.width]))
            out[group.column] = group.vocabulary[slot] if slot < len(group.vocabulary) else UNKNOWN
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "group_one_hot",
            "dim": self.dim,
            "unknown_slot": "last",
            "groups": [g.to_dict() for g in self.groups],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GroupOneHotEncoder":
        groups = [
            FeatureGroup(
                column=g["column"],
                mapping=g.get("mapping"),
                bins=g.get("bins"),
                vocabulary=list(g["vocabulary"]),
            )
            for g in data["groups"]
        ]
        return cls(groups)
