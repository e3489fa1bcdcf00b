"""``video_synthetic``: the short-video re-ranking datamodule over the session simulator.

Requests are split by *session* (seeded), so a test request's real-time sequence never comes
from a training session. Batches are dicts of fixed-shape tensors (see
:mod:`edgerank.core.video_features`); the model reads only the inputs of the enabled feature
groups, the task also reads ``labels`` and the server scores ``cand_pxtr`` for the reference.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from edgerank.core.video_contract import encode_rows
from edgerank.core.video_features import BY_NAME, TASKS, check_groups, input_names
from edgerank.core.video_ids import IdMap
from edgerank.data.video_log_schema import rows_from_columns
from edgerank.data.ranking import RankingRequest
from edgerank.data.video_sim_log import log_columns
from edgerank.data.video_simulator import simulate
from edgerank.data.video_synthetic_options import VideoSyntheticOptions
from edgerank.data.video_truth import expected_list_reward
from edgerank.data.splits import SplitDataModule
from edgerank.registry import register_data
from edgerank.registry.given_options import given_options


@dataclass
class VideoSpec:
    """What models, the task and the manifest need to know; fixed after ``setup()``."""

    num_videos: int
    num_categories: int
    max_candidates: int
    seq_len: int
    groups: dict[str, bool]
    tasks: tuple[str, ...] = TASKS
    simulator: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)  # manifest entries of the id maps (video_id, category)
    source: dict[str, Any] = field(default_factory=dict)  # where the data came from (a log's path, hash, options)

    @property
    def input_names(self) -> list[str]:
        return input_names(self.groups)

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "scenario": "short_video_rerank",
            "tasks": list(self.tasks),
            "outputs_are": "probability per task and candidate slot; 0 at padded slots",
            "fixed_shapes": {"candidates": self.max_candidates, "seq_len": self.seq_len},
            "padding": (
                "candidates padded at the end (cand_mask=0); more than `candidates` is an error. "
                "watched sequence oldest first, truncated to its most recent `seq_len` items, "
                "padded at the end (seq_mask=0)"
            ),
            "feature_groups": dict(self.groups),
            "vocab": {"num_videos": self.num_videos, "num_categories": self.num_categories},
            "ids": self.ids or {"video_id": IdMap("identity", self.num_videos).to_manifest(),
                                "category": IdMap("identity", self.num_categories).to_manifest()},
            "input_transforms": {n: BY_NAME[n].transform for n in self.input_names},
            "simulator": dict(self.simulator),
            **({"data_source": dict(self.source)} if self.source else {}),
        }


def split_by_session(sessions: np.ndarray, test_fraction: float, val_fraction: float, seed: int) -> np.ndarray:
    """Per request: 0 train, 1 val, 2 test; whole sessions (ids ``0..S-1``) drawn at random (seeded)."""
    order = np.random.default_rng(seed).permutation(int(sessions.max()) + 1)
    n_test = max(1, round(len(order) * test_fraction))
    n_val = max(1, round((len(order) - n_test) * val_fraction)) if val_fraction > 0 else 0
    split_of = np.zeros(len(order), dtype=np.int64)
    split_of[order[:n_test]], split_of[order[n_test : n_test + n_val]] = 2, 1
    return split_of[sessions]


def tensor_splits(arrays: Mapping[str, np.ndarray], which: np.ndarray) -> dict[str, "RequestDataset"]:
    """train/val/test datasets of the encoded requests (val falls back to test when empty)."""
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    has_val = bool((which == 1).any())
    return {
        name: RequestDataset({k: v[torch.from_numpy(np.flatnonzero(which == code))] for k, v in tensors.items()})
        for name, code in (("train", 0), ("val", 1 if has_val else 2), ("test", 2))
    }


class RequestDataset(Dataset):
    """Indexed by a *list* of request indices, so one ``__getitem__`` returns a whole batch."""

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self.tensors = dict(tensors)
        self.n = len(next(iter(self.tensors.values())))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rows: Sequence[int]) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(rows)
        return {k: v[index] for k, v in self.tensors.items()}


@register_data("video_synthetic", description="Simulated short-video sessions with stale pXTR, drift and network effects (offline default)")
class VideoSyntheticData(SplitDataModule):
    """The simulator's sessions as fixed-shape request tensors; options: :class:`VideoSyntheticOptions`."""

    Options = VideoSyntheticOptions

    def __init__(self, options: VideoSyntheticOptions | None = None, **values: Any) -> None:
        """``options``, or the option ``values`` as keywords (``VideoSyntheticData(num_users=30)``)."""
        super().__init__()
        self.options = options = given_options(VideoSyntheticOptions, options, values, type(self).__name__)
        self.sim = options.simulator()
        self.groups = check_groups(options.features)
        self.max_candidates, self.seq_len, self.batch_size, self.seed = options.max_candidates, options.seq_len, options.batch_size, options.seed
        self.spec: VideoSpec | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.spec is not None:
            return
        requests, self._world = simulate(self.sim)
        columns = log_columns(requests)  # the sessions as a feed log, encoded as video_log encodes one
        rows = rows_from_columns({**columns, "session": columns["session_id"], "request": columns["request_id"]})
        arrays = encode_rows(rows, self.max_candidates, self.seq_len)
        del arrays["request_row"]
        which = split_by_session(np.array([r.session for r in requests]), self.options.test_fraction, self.options.val_fraction, self.seed)
        self._test_requests = [r for r, code in zip(requests, which) if code == 2]
        self._splits = tensor_splits(arrays, which)
        self.spec = VideoSpec(
            num_videos=self.sim.num_videos,
            num_categories=self.sim.num_categories,
            max_candidates=self.max_candidates,
            seq_len=self.seq_len,
            groups=dict(self.groups),
            simulator=self.sim.to_dict(),
        )

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        data = self._splits[split]
        generator = torch.Generator().manual_seed(self.seed)
        sampler = RandomSampler(data, generator=generator) if shuffle else SequentialSampler(data)
        return DataLoader(data, sampler=BatchSampler(sampler, self.batch_size, drop_last=False), batch_size=None)

    def parity_samples(self, n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
        """Held-out test requests (batch 1), only the inputs of the enabled feature groups."""
        assert self.spec is not None, "call setup() first"
        test = self._splits["test"].tensors
        rows = np.random.default_rng(seed).choice(len(self._splits["test"]), size=n, replace=n > len(self._splits["test"]))
        names = self.spec.input_names
        return [{k: test[k][r : r + 1].numpy() for k in names} for r in rows]

    def ranking_requests(self) -> Iterator[RankingRequest]:
        """The first ``rank_eval_requests`` test requests, each with the simulator's ground truth:
        the true expected ListReward of any order (:func:`expected_list_reward`), estimated with
        ``truth_rollouts`` feedback draws that every order of the request shares."""
        assert self.spec is not None, "call setup() first"
        test = self._splits["test"].tensors
        for index, request in enumerate(self._test_requests[: self.options.rank_eval_requests]):
            truth = partial(expected_list_reward, self.sim, self._world, request, rollouts=self.options.truth_rollouts, seed=index)
            yield RankingRequest(
                inputs={k: test[k][index : index + 1] for k in self.spec.input_names},
                true_list_reward=lambda slots, alpha, beta, truth=truth: truth(slots, alpha, beta),
                server_order=np.arange(len(request.cand_id)),  # candidates are kept in server order
                labels=np.asarray(request.labels),  # the simulator labels every candidate
            )


__all__ = ["VideoSpec", "VideoSyntheticData", "VideoSyntheticOptions"]
