"""LightningModule for choice data: cross-entropy over products, top-1/top-5 accuracy.

The popularity baseline (rank by training frequency) is scored in the same test loop with the
same torchmetrics, so ``test/top5`` and ``popularity/top5`` are comparable by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from edgerank.data.choice import ChoiceSpec
from edgerank.graph import Evaluator
from edgerank.training.exported_metrics import choice_evaluator
from edgerank.training.task import Task

TOP_K = (1, 5)


def _accuracies(num_classes: int) -> MetricCollection:
    return MetricCollection(
        {f"top{k}": MulticlassAccuracy(num_classes, top_k=min(k, num_classes), average="micro") for k in TOP_K}
    )


class ChoiceModule(Task):
    def __init__(self, net: nn.Module, spec: ChoiceSpec, optimizer: Callable[..., torch.optim.Optimizer]) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "spec", "optimizer"])
        self.net = net
        self.optimizer_factory = optimizer
        self.register_buffer("popularity", torch.log(torch.as_tensor(spec.class_prior) + 1e-12))
        n = spec.num_products
        self.val_metrics = _accuracies(n).clone(prefix="val/")
        self.test_metrics = _accuracies(n).clone(prefix="test/")
        self.popularity_metrics = _accuracies(n).clone(prefix="popularity/")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)

    def exported_evaluator(self, datamodule: Any, graph: Any) -> Evaluator | None:
        return choice_evaluator(datamodule, graph)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        features, target = batch
        loss = nn.functional.cross_entropy(self(features), target)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        features, target = batch
        logits = self(features)
        self.log("val/loss", nn.functional.cross_entropy(logits, target), prog_bar=True)
        self.val_metrics.update(logits, target)
        self.log_dict(self.val_metrics, prog_bar=True)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        features, target = batch
        self.test_metrics.update(self(features), target)
        self.popularity_metrics.update(self.popularity.expand(len(target), -1), target)
        self.log_dict(self.test_metrics)
        self.log_dict(self.popularity_metrics)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(params=self.parameters())
