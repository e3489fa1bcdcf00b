"""A Lightning callback that writes each training epoch's wall and CPU seconds to a JSON file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning as L
import torch


class EpochTimer(L.Callback):
    def __init__(self, path: str) -> None:
        self.path, self.epochs = Path(path), []

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        wall, cpu = time.perf_counter() - self._start[0], time.process_time() - self._start[1]
        self.epochs.append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "torch_threads": torch.get_num_threads()})
        self.path.write_text(json.dumps(self.epochs))
