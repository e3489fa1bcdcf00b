"""The base of every task (``conf/task``): a LightningModule that also says how to measure its
test metrics on an exported model, so int8 and float ``.tflite`` files are compared by the very
metrics the training loop reports.

A task of a new scenario overrides :meth:`Task.exported_evaluator`; the default (None) publishes
a quantized model on its output and list errors alone.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from edgerank.graph import Evaluator


class Task(L.LightningModule):
    def exported_evaluator(self, datamodule: Any, graph: Any) -> Evaluator | None:
        """``runner -> {metric: value}`` over the test split, or None where the graph's outputs
        are not this task's (e.g. a ranker's lists, which the parity report covers)."""
        return None
