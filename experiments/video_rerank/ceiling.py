"""GAUC of the simulator's ground-truth probabilities on the default test split (the ceiling).

Not a model run: it rebuilds the default datamodule (same seed, same split as
``python -m edgerank +experiment=video_rerank``) and scores the kept true probabilities.
"""

from __future__ import annotations

from edgerank.data.video import VideoSyntheticData
from edgerank.core.video_features import TASKS
from edgerank.metrics.gauc import gauc


def main() -> None:
    data = VideoSyntheticData()  # the configured defaults (VideoSyntheticOptions), seed 0
    data.setup()
    test = data._splits["test"].tensors
    for i, task in enumerate(TASKS):
        labels, mask = test["labels"][..., i], test["cand_mask"]
        print(f"{task}: truth GAUC {gauc(test['true_prob'][..., i], labels, mask):.4f}, "
              f"pxtr GAUC {gauc(test['cand_pxtr'][..., i], labels, mask):.4f}")


if __name__ == "__main__":
    main()
