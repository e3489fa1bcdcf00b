"""Test metrics of an exported model itself, through a backend's runner, for the two built-in tasks.

A quantized model has no PyTorch twin, so its metrics are measured through the interpreter on
the held-out rows the training loop tested on, with the same keys and definitions; each task
returns its evaluator from :meth:`edgerank.training.task.Task.exported_evaluator`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics.functional.classification import binary_auroc

from edgerank.graph import Evaluator, Runner, as_graph
from edgerank.metrics.gauc import gauc


def choice_evaluator(datamodule: Any, graph: Any) -> Evaluator | None:
    """Product top-K: hit rate at 1 and at K on the test split, every product eligible.

    These equal the training loop's ``test/top1`` / ``test/topK`` accuracies (up to exact ties),
    so the float ``.tflite`` line is also a check of the metrics in the manifest.
    """
    spec = datamodule.spec
    if as_graph(graph).ranked_lists != {"sku_ids": "scores"}:
        return None
    rows, targets = [], []
    for features, target in datamodule.test_dataloader():
        rows.append(features.numpy())
        targets.append(target.numpy())
    x, y = np.concatenate(rows).astype(np.float32), np.concatenate(targets)
    wanted = np.asarray(spec.sku_ids)[y]
    eligible = np.ones((1, spec.num_products), dtype=np.float32)

    def evaluate(runner: Runner) -> dict[str, float]:
        lists = np.stack([np.asarray(runner(features=x[i : i + 1], eligible=eligible)["sku_ids"])[0] for i in range(len(x))])
        k = lists.shape[1]
        return {
            "test/top1": float(np.mean(lists[:, 0] == wanted)),
            f"test/top{k}": float(np.mean(np.any(lists == wanted[:, None], axis=1))),
        }

    return evaluate



def rerank_evaluator(datamodule: Any, graph: Any) -> Evaluator | None:
    """Short-video re-ranking: per-task AUC and GAUC of the exported scores on the test requests.

    Same keys and definitions as the training loop's ``test/<task>/auc|gauc``, measured through
    the interpreter one request at a time, as the app calls it. Ranker graphs (their output is a
    list, not scores) are left to the parity report.
    """
    spec = datamodule.spec
    if as_graph(graph).ranked_lists:
        return None

    batches = list(datamodule.test_dataloader())  # whatever the loader (in memory, streamed shards)
    test = {k: torch.cat([b[k] for b in batches]) for k in batches[0]}
    names, n = list(spec.input_names), len(test["cand_mask"])

    def evaluate(runner: Runner) -> dict[str, float]:
        outputs = [runner(**{k: test[k][i : i + 1].numpy() for k in names}) for i in range(n)]
        mask = test.get("label_mask", test["cand_mask"])  # slots with logged labels, as in training
        metrics = {}
        for t, task in enumerate(spec.tasks):
            scores = torch.from_numpy(np.concatenate([o[task] for o in outputs]))
            labels = test["labels"][..., t]
            real = mask > 0.5
            metrics[f"test/{task}/auc"] = float(binary_auroc(scores[real], labels[real].long()))
            metrics[f"test/{task}/gauc"] = gauc(scores, labels, mask)
        return metrics

    return evaluate
