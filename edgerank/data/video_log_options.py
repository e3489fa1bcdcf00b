"""The options of the ``video_log`` data plugin and its ``kuairand`` preset, declared once.

:class:`ShardOptions` is everything beside the files that shapes the prepared shards (and so
the cache key); :class:`PrepareOptions` adds the files and the enabled feature groups (what
:mod:`edgerank.data.video_log_prepare` takes) and :class:`VideoLogOptions` the config keys of
loading (the log's path as given, the cache, the batches). ``VideoLogData`` names it
(``Options = VideoLogOptions``), so the registry accepts, type-checks and builds exactly these
fields; ``conf/data/video_log.yaml`` extends the defaults stored here with Hydra's ConfigStore
and only overrides what a job changes (the feature groups, the seed), so ``--cfg job`` still
shows every option (``path`` as ``???``). Torch- and Polars-free: Hydra imports it before
composing a config (``edgerank/conf/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from edgerank.config_values import is_int, positive_int
from edgerank.core.video_features import check_groups
from edgerank.core.video_ids import IdMap
from edgerank.errors import ConfigError
from edgerank.registry.defaults import store_defaults

DEFAULT_CACHE = "~/.cache/edgerank/video_log"


@dataclass(frozen=True, kw_only=True)
class ShardOptions:
    """How a feed log becomes prepared shards; every field is part of the cache key."""

    columns: Mapping[str, str] = field(default_factory=dict)  # <fixed name>: <column in your files>, e.g. {effective_view: long_view}
    ts_unit: str = "s"  # s | ms
    session_gap_s: float = 1800.0  # without session_id: a gap longer than this starts a new session
    request_size: int = 10  # without request_id: consecutive rows of a session per request
    effective_view_ratio: float = 0.5  # without effective_view: watch_seconds >= ratio * duration
    pxtr: str = "log"  # log: the pxtr_* columns | estimate: leak-free stale estimate
    stale_seconds: float = 300.0  # the estimate only sees exposures older than this before the request
    pxtr_smoothing: float = 20.0  # pseudo-exposures at the global rate in the estimate
    ids: str = "hash"  # hash: any id into id_buckets (unseen ids are no fallback) | identity: ints 0..N-1
    id_buckets: int = 65536  # video id buckets (the embedding table: 65536 x 8 floats = 2 MiB)
    category_buckets: int = 1024
    max_candidates: int = 50  # fixed M of the exported graph; a larger request is an error
    seq_len: int = 20  # fixed L: the most recent L watched items
    split: str = "time"  # time: later sessions are the test set | session: random sessions
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    partitions: int = 0  # user partitions (0: one per rows_per_partition rows)
    rows_per_partition: int = 1_000_000
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):  # 1800 and 1800.0 are one option (and one cache key)
            if f.type in ("int", "float"):
                object.__setattr__(self, f.name, (int if f.type == "int" else float)(getattr(self, f.name)))
        object.__setattr__(self, "columns", dict(self.columns or {}))
        if self.pxtr not in ("log", "estimate"):
            raise ConfigError("pxtr", f"must be 'log' (the pxtr_* columns) or 'estimate', got {self.pxtr!r}")
        if self.split not in ("time", "session"):
            raise ConfigError("split", f"must be 'time' or 'session', got {self.split!r}")
        for name in ("request_size", "id_buckets", "category_buckets", "max_candidates", "seq_len", "rows_per_partition"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(name, f"must be a positive integer, got {getattr(self, name)}")
        if int(self.request_size) > int(self.max_candidates):
            raise ConfigError("request_size", f"{self.request_size} exceeds data.max_candidates={self.max_candidates}")
        if self.session_gap_s <= 0 or self.stale_seconds <= 0:
            raise ConfigError("session_gap_s" if self.session_gap_s <= 0 else "stale_seconds", "must be positive")
        if not 0.0 < self.test_fraction < 1.0 or not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError("test_fraction", "test_fraction must be in (0, 1) and val_fraction in [0, 1)")

    def shard_options(self) -> dict[str, Any]:
        """The :class:`ShardOptions` part, as keywords."""
        return {f.name: getattr(self, f.name) for f in fields(ShardOptions)}


@dataclass(frozen=True, kw_only=True)
class PrepareOptions(ShardOptions):
    """Everything that changes the prepared shards: the files and the shard options."""

    path: str  # the log (a file or a folder), as prepared
    groups: dict[str, bool] = field(default_factory=dict)  # the enabled feature groups (which columns are needed)

    def id_map(self, name: str, dtype: str) -> IdMap:
        return IdMap(self.ids, self.id_buckets if name == "video_id" else self.category_buckets, dtype)


@dataclass(frozen=True, kw_only=True)
class VideoLogOptions(ShardOptions):
    """``video_log``: the shard options plus the log, its feature groups, the cache and the batches."""

    path: str  # a .csv/.tsv/.parquet file, or a folder of them (read recursively)
    features: Mapping[str, Any] | None = None  # the feature groups; None: every group on
    cache_dir: str = DEFAULT_CACHE  # prepared shards, keyed by content hash + options
    batch_size: int = 128
    num_workers: int = 0  # dataloader workers reading the shards
    rank_eval_requests: int = 500  # test requests on which rankers are scored (logged-label metrics)

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("path", "set data.path to your log file or folder")
        check_groups(self.features)
        super().__post_init__()
        for name in ("batch_size", "rank_eval_requests"):
            positive_int(name, getattr(self, name))
        if not is_int(self.num_workers) or self.num_workers < 0:
            raise ConfigError("num_workers", f"must be an integer >= 0, got {self.num_workers!r}")
        object.__setattr__(self, "cache_dir", str(self.cache_dir))


@dataclass(frozen=True, kw_only=True)
class KuaiRandOptions(VideoLogOptions):
    """``kuairand``: KuaiRand logs no server scores, so the stale estimate stands in for them."""

    pxtr: str = "estimate"


store_defaults("data", VideoLogOptions)
store_defaults("data", KuaiRandOptions)
