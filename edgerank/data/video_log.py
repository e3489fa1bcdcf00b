"""``video_log``: the short-video re-ranking datamodule over your own feed logs.

``python -m edgerank +experiment=video_rerank data=video_log data.path=logs/`` reads a file or
a folder of .csv/.tsv/.parquet shards in the feed-log format
(:mod:`edgerank.data.video_log_schema`), prepares it once into cached memory-mapped shards
(:mod:`edgerank.data.video_log_prepare`) and streams batches from them
(:mod:`edgerank.data.video_stream`). Batches are the very dicts ``video_synthetic`` gives: the
same contract encodes both, and the app runtime too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from edgerank.data.ranking import RankingRequest
from edgerank.data.splits import SplitDataModule
from edgerank.data.video import VideoSpec
from edgerank.core.video_features import check_groups
from edgerank.data.video_log_options import PrepareOptions, VideoLogOptions
from edgerank.data.video_log_prepare import check_log, prepare
from edgerank.data.video_stream import Shards, StreamingRequests
from edgerank.errors import ConfigError
from edgerank.registry import register_data
from edgerank.registry.given_options import given_options

log = logging.getLogger(__name__)


@register_data("video_log", description="Your feed logs (.csv/.tsv/.parquet, one row per candidate), prepared out of core")
class VideoLogData(SplitDataModule):
    """Feed logs prepared into shards and streamed; options: :class:`VideoLogOptions`."""

    Options = VideoLogOptions
    renames = True  # whether data.columns may rename (a preset of a fixed layout says no)

    def __init__(self, options: VideoLogOptions | None = None, **values: Any) -> None:
        """``options``, or the option ``values`` as keywords (``VideoLogData(path="logs/")``)."""
        super().__init__()
        self.options = o = given_options(self.Options, options, values, type(self).__name__)
        if o.columns and not self.renames:
            raise ConfigError("columns", f"{type(self).__name__} reads a fixed published layout; use data=video_log to rename columns")
        self.groups = self.source_groups(check_groups(o.features))
        self.prepare_options = PrepareOptions(path=str(self.log_path(o.path, o.cache_dir)), groups=dict(self.groups), **o.shard_options())
        self.cache_dir, self.batch_size, self.num_workers = o.cache_dir, o.batch_size, o.num_workers
        self.rank_eval_requests, self.seed = o.rank_eval_requests, o.seed
        check_log(self.prepare_options)  # names, renames, feature groups: before any preparation
        self.spec: VideoSpec | None = None

    # a preset reshapes a public layout into the feed-log format (see kuairand)
    def source_groups(self, groups: dict[str, bool]) -> dict[str, bool]:
        return groups

    def log_path(self, path: str, cache_dir: str) -> Path:
        return Path(path).expanduser()

    def setup(self, stage: str | None = None) -> None:
        if self.spec is not None:
            return
        self.shards = Shards(prepare(self.prepare_options, self.cache_dir))
        meta = self.shards.meta
        o = self.prepare_options
        ids = {name: o.id_map(name, meta["id_dtypes"].get(name, "int")).to_manifest() for name in ("video_id", "category")}
        self.spec = VideoSpec(
            num_videos=o.id_buckets,
            num_categories=o.category_buckets,
            max_candidates=o.max_candidates,
            seq_len=o.seq_len,
            groups=dict(self.groups),
            ids=ids,
            source={"data": "video_log", "path": o.path, "prepared": str(self.shards.folder.name), "rows": meta["rows"],
                    "sessions": meta["sessions"], "requests": meta["requests"], "split": o.split,
                    "pxtr": "stale estimate (data.pxtr=estimate)" if o.pxtr == "estimate" else "log"},
        )
        log.info("video_log: %s rows, %s sessions, requests %s (prepared in %s)", meta["rows"], meta["sessions"],
                 meta["requests"], self.shards.folder)

    def _split(self, split: str) -> str:
        return "test" if split == "val" and self.shards.count("val") == 0 else split

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        data = StreamingRequests(self.shards, self._split(split), self.batch_size, shuffle=shuffle, seed=self.seed)
        # persistent workers keep their copy of the dataset, whose epoch (the shuffle) moves on
        return DataLoader(data, batch_size=None, num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def split_arrays(self, split: str, limit: int | None = None) -> dict[str, np.ndarray]:
        """The encoded requests of ``split`` in prepared order (for tests, parity and rankers)."""
        return self.shards.gather(self._split(split), limit)

    def parity_samples(self, n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
        assert self.spec is not None, "call setup() first"
        test = self.split_arrays("test", limit=max(4 * n, 256))
        rows = np.random.default_rng(seed).choice(len(test["cand_mask"]), size=n, replace=n > len(test["cand_mask"]))
        return [{k: test[k][r : r + 1] for k in self.spec.input_names} for r in rows]

    def ranking_requests(self) -> Iterator[RankingRequest]:
        """The first ``rank_eval_requests`` test requests with their logged labels (a log has no
        ground truth): the labelled slots are the shown ones, and sent ones where the log has labels."""
        assert self.spec is not None, "call setup() first"
        test = self.split_arrays("test", limit=self.rank_eval_requests)
        for i in range(len(test["cand_mask"])):
            m = int(test["cand_mask"][i].sum())
            yield RankingRequest(inputs={k: torch.from_numpy(test[k][i : i + 1]) for k in self.spec.input_names},
                                 true_list_reward=None, server_order=np.arange(m), labels=test["labels"][i, :m],
                                 labelled=test["label_mask"][i, :m] > 0.5)


__all__ = ["VideoLogData"]
