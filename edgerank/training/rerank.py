"""LightningModule for short-video re-ranking: multi-task BCE, per-task AUC and GAUC.

The server-score reference (``pxtr``: each candidate scored by its own pXTR for the task) is
evaluated in the same test loop with the same metrics, on the same requests, whatever feature
groups the model sees, so ``test/<task>/gauc`` and ``pxtr/<task>/gauc`` compare like for like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torchmetrics.classification import BinaryAUROC

from edgerank.data.video import VideoSpec
from edgerank.core.video_features import TASKS
from edgerank.errors import ConfigError
from edgerank.graph import Evaluator
from edgerank.training.exported_metrics import rerank_evaluator
from edgerank.metrics.gauc import GroupAUC
from edgerank.training.task import Task

Batch = dict[str, torch.Tensor]


def _metrics() -> nn.ModuleDict:
    return nn.ModuleDict({t: nn.ModuleDict({"auc": BinaryAUROC(), "gauc": GroupAUC()}) for t in TASKS})


class RerankModule(Task):
    """``task_weights`` weighs each task's BCE in the loss (default 1 each)."""

    def __init__(
        self,
        net: nn.Module,
        spec: VideoSpec,
        optimizer: Callable[..., torch.optim.Optimizer],
        task_weights: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "spec", "optimizer"])
        self.net = net
        # model inputs, plus what a model reads only in training (the exposed head for ta_mmoe_ctx)
        self.input_names = [*spec.input_names, *getattr(net, "training_inputs", ())]
        self.optimizer_factory = optimizer
        weights = {t: 1.0 for t in TASKS} | dict(task_weights or {})
        unknown = sorted(set(weights) - set(TASKS))
        if unknown:
            raise ConfigError(f"task.task_weights.{unknown[0]}", f"is not a task ({', '.join(TASKS)})")
        self.task_weights = {t: float(weights[t]) for t in TASKS}
        self.val_metrics = _metrics()
        self.test_metrics = _metrics()
        self.pxtr_metrics = _metrics()

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self.net(**{k: batch[k] for k in self.input_names})

    def exported_evaluator(self, datamodule: Any, graph: Any) -> Evaluator | None:
        return rerank_evaluator(datamodule, graph)

    def _loss(self, logits: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        mask = batch.get("label_mask", batch["cand_mask"])  # slots with logged labels
        total = mask.new_zeros(())
        for i, t in enumerate(TASKS):
            bce = nn.functional.binary_cross_entropy_with_logits(logits[t], batch["labels"][..., i], reduction="none")
            total = total + self.task_weights[t] * (bce * mask).sum() / mask.sum().clamp(min=1.0)
        return total

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self._loss(self(batch), batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["cand_mask"]))
        return loss

    def _update(self, metrics: nn.ModuleDict, prefix: str, scores: dict[str, torch.Tensor], batch: Batch) -> None:
        mask = batch.get("label_mask", batch["cand_mask"])
        real = mask > 0.5
        for i, t in enumerate(TASKS):
            labels = batch["labels"][..., i]
            metrics[t]["auc"].update(scores[t][real], labels[real].long())
            metrics[t]["gauc"].update(scores[t], labels, mask)
            for name in ("auc", "gauc"):
                self.log(f"{prefix}/{t}/{name}", metrics[t][name], on_step=False, on_epoch=True)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        logits = self(batch)
        self.log("val/loss", self._loss(logits, batch), prog_bar=True, batch_size=len(batch["cand_mask"]))
        self._update(self.val_metrics, "val", logits, batch)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._update(self.test_metrics, "test", self(batch), batch)
        server = {t: batch["cand_pxtr"][..., i] for i, t in enumerate(TASKS)}
        self._update(self.pxtr_metrics, "pxtr", server, batch)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(params=self.parameters())
