"""What a data plugin offers for scoring rankers: each held-out request's logged labels, and the
ground truth about any order of its candidates where the source has one (a simulator)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class RankingRequest:
    """One held-out request. Slots index its candidates as the model inputs hold them.

    ``labels`` are the logged labels ``[m, 3]`` (has_next, effective_view, like) of its ``m``
    candidate slots and ``labelled`` marks the slots that carry them (``None``: all of them; a log's
    rows that were sent but not shown carry none). ``true_list_reward`` is None on a source
    without ground truth (a real log): rankers are then scored on the logged labels only.
    """

    inputs: dict[str, torch.Tensor]  # batch-1 model inputs
    true_list_reward: Callable[[np.ndarray, float, float], float] | None  # (slots in display order, alpha, beta)
    server_order: np.ndarray  # candidate slots in the server's order
    labels: np.ndarray | None = None  # [m, 3] logged labels per slot
    labelled: np.ndarray | None = None  # [m] bool, slots with logged labels (None: every slot)

    def labelled_slots(self) -> np.ndarray:
        """``[m]`` bool: which slots carry logged labels."""
        assert self.labels is not None, "request has no logged labels"
        m = len(self.labels)
        return np.ones(m, dtype=bool) if self.labelled is None else np.asarray(self.labelled, dtype=bool)
