"""Prepared shards read as a stream: memory-mapped ``.npy`` tensors, split across DDP ranks and
dataloader workers, so no process holds more than the batches it is working on.

Each rank takes an equal share of a split's requests (the same count on every rank, so DDP
steps stay in lockstep), each dataloader worker every ``num_workers``-th batch of its rank's
share. Training order is reshuffled per epoch (seeded by ``seed`` and the epoch): shards in a
random order, requests in random order within a shard, so a batch reads one shard's pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from edgerank.data.video_log_prepare import PREPARED, SPLITS


class Shards:
    """The prepared folder's shards: per-tensor memory maps and each request's split."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / PREPARED).read_text())
        self.dirs = [self.folder / "shards" / name for name in self.meta["shards"]]
        self.names = sorted(p.stem for p in self.dirs[0].glob("*.npy") if p.stem != "split")
        self.splits = [np.load(d / "split.npy") for d in self.dirs]

    def tensors(self, shard: int) -> dict[str, np.ndarray]:
        return {n: np.load(self.dirs[shard] / f"{n}.npy", mmap_mode="r") for n in self.names}

    def indices(self, split: str) -> list[np.ndarray]:
        code = SPLITS.index(split)
        return [np.flatnonzero(s == code) for s in self.splits]

    def count(self, split: str) -> int:
        return int(sum(len(i) for i in self.indices(split)))

    def gather(self, split: str, limit: int | None = None) -> dict[str, np.ndarray]:
        """The first ``limit`` requests of ``split`` (all by default) as in-memory arrays, in shard order."""
        parts: dict[str, list[np.ndarray]] = {n: [] for n in self.names}
        left = limit
        for shard, rows in enumerate(self.indices(split)):
            rows = rows if left is None else rows[:left]
            if len(rows):
                for name, values in self.tensors(shard).items():
                    parts[name].append(np.asarray(values[rows]))
            if left is not None:
                left -= len(rows)
                if left <= 0:
                    break
        return {n: np.concatenate(v) for n, v in parts.items() if v}


class StreamingRequests(IterableDataset):
    """Batches (dicts of tensors) of one split of :class:`Shards`."""

    def __init__(self, shards: Shards, split: str, batch_size: int, shuffle: bool = False, seed: int = 0,
                 names: list[str] | None = None) -> None:
        self.shards, self.split, self.batch_size = shards, split, int(batch_size)
        self.shuffle, self.seed, self.epoch = shuffle, int(seed), 0
        self.names = names or shards.names

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _plan(self, rank: int, world: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """This rank's batches as (shard, row) arrays; ``ceil(share / batch_size)`` on every rank."""
        rng = np.random.default_rng([self.seed, self.epoch])
        indices = self.shards.indices(self.split)
        order = rng.permutation(len(indices)) if self.shuffle else np.arange(len(indices))
        shard = np.concatenate([np.full(len(indices[s]), s) for s in order] or [np.zeros(0, np.int64)])
        row = np.concatenate([rng.permutation(indices[s]) if self.shuffle else indices[s] for s in order] or [np.zeros(0, np.int64)])
        share = len(row) // world
        mine = slice(rank * share, (rank + 1) * share)
        shard, row = shard[mine], row[mine]
        return [(shard[i : i + self.batch_size], row[i : i + self.batch_size]) for i in range(0, len(row), self.batch_size)]

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        worker = get_worker_info()
        wid, workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        opened: dict[int, dict[str, np.ndarray]] = {}
        for b, (shard, rows) in enumerate(self._plan(rank, world)):
            if b % workers != wid:
                continue
            parts = []
            for s in np.unique(shard):  # a batch may span two shards
                tensors = opened.setdefault(int(s), self.shards.tensors(int(s)))
                picked = np.sort(rows[shard == s])
                parts.append({n: tensors[n][picked] for n in self.names})
            yield {n: torch.from_numpy(np.concatenate([p[n] for p in parts])) for n in self.names}
        if self.shuffle:
            self.epoch += 1
