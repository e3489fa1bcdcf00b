"""The train/val/test loader trio every datamodule exposes, over one ``_loader`` per datamodule."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader


class SplitDataModule(L.LightningDataModule):
    """Subclasses build ``self._splits`` in ``setup()`` and say how one split is batched."""

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
