"""Is greedy's NDCG@10 lead over beam search real? Paired per-request differences on the study's
500 test requests (the default data, seed 0), with their standard errors.

    python experiments/video_rankers/paired_ndcg.py <run>/checkpoints/epoch_007.ckpt   # a trained ta_mmoe_ctx
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from edgerank.data.video import VideoSyntheticData
from edgerank.models.ta_mmoe_context import ContextualTAMMoE
from edgerank.rankers.beam import BeamSearchRanker
from edgerank.rankers.greedy import GreedyRanker
from edgerank.metrics.list_metrics import gains, ndcg_at_k


def main(checkpoint: str) -> None:
    data = VideoSyntheticData()
    data.setup()
    net = ContextualTAMMoE(data.spec)
    state = torch.load(checkpoint, weights_only=False)["state_dict"]
    net.load_state_dict({k[len("net."):]: v for k, v in state.items() if k.startswith("net.")})
    rankers = {"greedy": GreedyRanker(net.scorer()).eval(), "beam": BeamSearchRanker(net.scorer()).eval()}
    values: dict[str, list[float]] = {"greedy": [], "beam": [], "server": []}
    for request in data.ranking_requests():
        gain, labelled = gains(request.labels, 1.0, 1.0), request.labelled_slots()
        for name, ranker in rankers.items():
            values[name].append(ndcg_at_k(ranker.rank(request.inputs).slots, gain, labelled, 10))
        values["server"].append(ndcg_at_k(request.server_order[:10], gain, labelled, 10))
    v = {k: np.asarray(x) for k, x in values.items()}
    for a, b in (("greedy", "beam"), ("greedy", "server"), ("beam", "server")):
        diff = v[a] - v[b]
        print(f"NDCG@10 {a} - {b}: {diff.mean():+.4f} (paired s.e. {diff.std(ddof=1) / np.sqrt(len(diff)):.4f}, {len(diff)} requests)")


if __name__ == "__main__":
    main(sys.argv[1])
