"""Rollout configs: which user gets which model version.

A rollout is an ordered list of groups, each a version and a weight (``stable: v3 90%``,
``canary: v4 10%``), plus optional pins (``user id -> version``, e.g. internal testers). A user
falls in the bucket ``sha256(salt + user id)`` mapped onto [0, 1): deterministic on every device
and in every process (never Python's salted ``hash()``), independent between models because
the salt defaults to the model name, and stable when a canary grows, as long as the canary stays
the *last* group: growing it from 10% to 20% only adds users, none switch back.

Weights are finite positive numbers; each group's share is its weight over their sum (``90 10``
and ``9 1`` are the same split; the CLI says so when the weights do not sum to 100), and
:meth:`Rollout.resolve` cuts [0, 1) at exactly those shares, so what ``rollout`` displays is what
users get.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from edgerank.errors import ConfigError


def bucket(user_id: str | int, salt: str) -> float:
    """The user's position in [0, 1), uniform over user ids, the same everywhere."""
    digest = hashlib.sha256(f"{salt}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class RolloutGroup:
    name: str
    version: int
    weight: float


@dataclass(frozen=True)
class Assignment:
    """Where a user landed: the version to run and the group (recorded by monitoring)."""

    version: int
    group: str


@dataclass
class Rollout:
    groups: list[RolloutGroup]
    salt: str
    pins: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.groups:
            raise ConfigError("rollout.groups", "give at least one group (version and weight)")
        for g in self.groups:
            if not (math.isfinite(g.weight) and g.weight > 0):
                raise ConfigError(f"rollout.groups.{g.name}.weight", f"must be a finite positive number, got {g.weight}")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ConfigError("rollout.groups", f"group names must be unique, got {names}")
        if not math.isfinite(self.total_weight):
            raise ConfigError("rollout.groups", f"weights {[g.weight for g in self.groups]} overflow when summed; use smaller finite weights")

    @property
    def versions(self) -> set[int]:
        return {g.version for g in self.groups} | set(self.pins.values())

    @property
    def total_weight(self) -> float:
        try:
            return math.fsum(g.weight for g in self.groups)
        except OverflowError:
            return math.inf

    @property
    def normalised(self) -> bool:
        """Whether the weights had to be rescaled: they do not sum to 100."""
        return not math.isclose(self.total_weight, 100.0, rel_tol=1e-9)

    def shares(self) -> dict[str, float]:
        """Each group's fraction of (non-pinned) users: the cuts :meth:`resolve` applies."""
        total = self.total_weight
        return {g.name: g.weight / total for g in self.groups}

    def resolve(self, user_id: str | int) -> Assignment:
        if str(user_id) in self.pins:
            return Assignment(self.pins[str(user_id)], "pinned")
        point = bucket(user_id, self.salt)
        upper = 0.0
        for group, share in zip(self.groups, self.shares().values()):
            upper += share
            if point < upper:
                return Assignment(group.version, group.name)
        return Assignment(self.groups[-1].version, self.groups[-1].name)  # float rounding at 1.0

    # -- (de)serialisation: what the cloud distributes to apps ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"salt": self.salt, "groups": [asdict(g) for g in self.groups], "pins": dict(self.pins)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Rollout":
        try:
            groups = [RolloutGroup(str(g["name"]), int(g["version"]), float(g["weight"])) for g in data["groups"]]
            return cls(groups, str(data["salt"]), {str(k): int(v) for k, v in dict(data.get("pins") or {}).items()})
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError("rollout", f"malformed rollout config ({type(exc).__name__}: {exc}): {dict(data)}") from None

    @classmethod
    def parse(cls, splits: Sequence[str], salt: str, pins: Sequence[str] = ()) -> "Rollout":
        """From CLI words: ``3=90 4=10`` or ``stable:3=90 canary:4=10``; pins ``USER=VERSION``."""
        groups = []
        for word in splits:
            head, sep, weight = word.partition("=")
            name, _, version = head.rpartition(":")
            version = version.lstrip("v")
            if not sep or not version.isdigit():
                raise ConfigError("rollout", f"'{word}': expected VERSION=WEIGHT or NAME:VERSION=WEIGHT, e.g. 3=90 or canary:4=10")
            try:
                share = float(weight)
            except ValueError:
                raise ConfigError("rollout", f"'{word}': weight '{weight}' is not a number") from None
            groups.append(RolloutGroup(name or f"v{version}", int(version), share))
        pinned = {}
        for word in pins:
            user, sep, version = word.rpartition("=")
            if not sep or not version.lstrip("v").isdigit():
                raise ConfigError("rollout.pin", f"'{word}': expected USER_ID=VERSION")
            pinned[user] = int(version.lstrip("v"))
        return cls(groups, salt, pinned)


def assign(rollout: Rollout | None, versions: Sequence[int], user_id: str | int | None) -> Assignment:
    """The version a user runs: the latest without a rollout; the first rollout group (the stable
    one by convention) for an anonymous user (None); else the user's bucket. One function, so the
    CLI's ``resolve``, the device and the cloud assign every user alike."""
    if rollout is None:
        return Assignment(max(versions), "latest")
    if user_id is None:
        return Assignment(rollout.groups[0].version, rollout.groups[0].name)
    return rollout.resolve(user_id)
