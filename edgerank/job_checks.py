"""Checks of the main job's config that must pass before any training starts.

Hydra composes values as the user typed them (``seed=abc`` is the string ``'abc'``) and
Lightning or torch reject some of them only once training runs, or never (``max_epochs=-1``
trains until killed). Each check here names the key the user wrote, so a mistake costs one
command, not a training run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from edgerank.config_values import boolean, is_int, positive_int, positive_number
from edgerank.errors import ConfigError

SEED_MAX = 2**32 - 1  # numpy's and Lightning's seed range


def check_job(cfg: DictConfig) -> None:
    """The top-level keys, the trainer's length and the optimizer, as the user set them."""
    seed = cfg.get("seed")
    if not is_int(seed) or not 0 <= seed <= SEED_MAX:
        raise ConfigError("seed", f"must be an integer in 0..{SEED_MAX}, got {seed!r}")
    boolean("train", cfg.get("train", True))
    check_trainer_length(cfg.get("trainer") or {})
    check_optimizer(cfg.get("optimizer"))


def check_trainer_length(trainer: Mapping[str, Any]) -> None:
    """A finite, non-empty training: Lightning reads ``max_epochs=-1`` as "forever" and
    ``max_epochs=0`` as "train nothing" (then exports an untrained model)."""
    steps = trainer.get("max_steps", -1)
    if steps is not None and steps != -1:
        if not is_int(steps) or steps < 1:
            raise ConfigError("trainer.max_steps", f"must be a positive integer or -1 (no limit), got {steps!r}")
    epochs = trainer.get("max_epochs")
    if epochs is None and is_int(steps) and steps > 0:
        return  # bounded by max_steps
    hint = {-1: " (-1 would train until killed)", 0: " (0 trains nothing; to export a checkpoint as is use "
            "train=false ckpt_path=PATH)"}.get(epochs, "") if is_int(epochs) else ""
    positive_int("trainer.max_epochs", epochs, hint)
    min_epochs = trainer.get("min_epochs")
    if min_epochs is not None and (not is_int(min_epochs) or not 0 <= min_epochs <= epochs):
        raise ConfigError("trainer.min_epochs", f"must be an integer in 0..trainer.max_epochs ({epochs}), got {min_epochs!r}")


def check_optimizer(optimizer: Any) -> None:
    """The optimizer is built on a dummy parameter, so torch's own checks run now, not mid-fit."""
    if optimizer is None:
        raise ConfigError("optimizer", "missing: choose one (optimizer=rmsprop | optimizer=adam)")
    if "lr" in optimizer:
        positive_number("optimizer.lr", optimizer.lr)
    try:
        instantiate(optimizer)([nn.Parameter(torch.zeros(1))])
    except Exception as exc:  # noqa: BLE001 - any failure to build it is a config mistake
        cause = exc.__cause__ or exc
        raise ConfigError("optimizer", f"cannot be built: {type(cause).__name__}: {cause}") from None


def check_checkpoint(path: str, module: nn.Module) -> None:
    """``ckpt_path`` must be a Lightning checkpoint of this very model (same keys, same shapes)."""
    try:
        # weights_only=False: Lightning checkpoints hold hyper-parameters; the file is the user's own
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise ConfigError("ckpt_path", f"{path} is not a readable Lightning checkpoint ({type(exc).__name__}: {exc})") from None
    state = checkpoint.get("state_dict") if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise ConfigError("ckpt_path", f"{path} is not a readable Lightning checkpoint (it has no 'state_dict')")
    expected = module.state_dict()
    for key, tensor in expected.items():
        if key in state and hasattr(state[key], "shape") and tuple(state[key].shape) != tuple(tensor.shape):
            raise ConfigError("ckpt_path", f"{path} is a checkpoint of another model: parameter '{key}' has shape "
                              f"{list(state[key].shape)} there, {list(tensor.shape)} here")
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"it lacks '{missing[0]}'" if missing else f"it has '{unexpected[0]}', which this model does not"
        raise ConfigError("ckpt_path", f"{path} is a checkpoint of another model: {what} "
                          f"({len(missing)} missing, {len(unexpected)} unexpected parameters)")


def checkpoint_path(cfg: DictConfig) -> str | None:
    """``ckpt_path``: resume training from it, or with ``train=false`` test and export it as is."""
    path = cfg.get("ckpt_path")
    if path is None:
        if not cfg.get("train", True):
            raise ConfigError("ckpt_path", "train=false needs a checkpoint to test and export")
        return None
    if not Path(str(path)).is_file():
        raise ConfigError("ckpt_path", f"no checkpoint file at {path}")
    return str(path)
