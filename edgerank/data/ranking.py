"""What a data plugin offers for scoring rankers against ground truth, not the model's belief."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class RankingRequest:
    """One held-out request: its model inputs and the truth about any order of its candidates."""

    inputs: dict[str, torch.Tensor]  # batch-1 model inputs
    true_list_reward: Callable[[np.ndarray, float, float], float]  # (slots in display order, alpha, beta)
    server_order: np.ndarray  # candidate slots in the server's order
