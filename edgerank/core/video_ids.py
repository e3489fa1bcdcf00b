"""Raw ids (any type) to the model's int32 ids, by a declared function the app runtime applies too.

Two maps, named in the manifest (``ids.video_id`` / ``ids.category``) so the phone computes the
very same ids:

- ``identity`` (``size`` N): the id is already an integer in ``0..N-1`` (the simulator's); any
  other id is unknown and the runtime falls back to the server order;
- ``hash`` (``size`` N buckets): integers -> ``splitmix64(id mod 2^64) mod N``; anything else ->
  its UTF-8 text -> first 8 bytes of BLAKE2b (little-endian) -> ``splitmix64 mod N``. Every id
  has a bucket, so an id never seen in training is not a fallback (it shares a bucket, as any
  hashed id may), and the embedding table stays ``N`` rows whatever the number of distinct ids.

Integer ids and their decimal text hash differently: the manifest's ``dtype`` (``int`` or
``str``) says which the log had, and the runtime converts an event's id to it first.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgerank.errors import ConfigError

KINDS = ("identity", "hash")
_M1, _M2, _GAMMA = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (Steele et al.), vectorised on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + _GAMMA
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def text_hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class IdMap:
    kind: str
    size: int
    dtype: str = "int"  # "int" or "str": the raw ids' type in the log

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError("data.ids", f"must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if int(self.size) < 1 or int(self.size) > 2**31 - 1:
            raise ConfigError("data.id_buckets", f"must be in 1..2^31-1, got {self.size}")

    def apply(self, values: Any) -> np.ndarray:
        """int64 model ids of raw ``values`` (identity ids are passed through, range-checked by the caller)."""
        values = np.asarray(values)
        if self.kind == "identity":
            return values.astype(np.int64)
        if values.dtype.kind in "iub":
            return (splitmix64(values.astype(np.int64).view(np.uint64)) % np.uint64(self.size)).astype(np.int64)
        if values.dtype == object:  # an app's mix: integers hash as integers, anything else as text
            is_int = np.array([isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values.ravel()])
            out = np.zeros(values.size, np.int64)
            if is_int.any():
                out[is_int] = self.apply(values.ravel()[is_int].astype(np.int64))
            if (~is_int).any():
                out[~is_int] = self.apply(values.ravel()[~is_int].astype(str))
            return out.reshape(values.shape)
        unique, inverse = np.unique(values.astype(str), return_inverse=True)
        hashed = np.array([text_hash64(u) for u in unique], dtype=np.uint64)
        return (splitmix64(hashed) % np.uint64(self.size)).astype(np.int64)[inverse.reshape(values.shape)]

    def known(self, ids: np.ndarray) -> np.ndarray:
        """Which mapped ids the model has a row for (always all of them for ``hash``)."""
        return (ids >= 0) & (ids < self.size)

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_manifest(cls, entry: Any, size: int) -> "IdMap":
        """From the manifest's ``ids.<name>``; artifacts without one used ``identity`` ids."""
        if not entry:
            return cls("identity", int(size))
        return cls(str(entry["kind"]), int(entry["size"]), str(entry.get("dtype", "int")))

    def event_id(self, value: Any) -> Any:
        """An event's raw id in the log's type, so ``17`` and ``"17"`` get one bucket."""
        if self.kind == "hash" and self.dtype == "str":
            return str(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return value  # hashed as text (the log had none such: an unseen id, still a bucket)
        return value
