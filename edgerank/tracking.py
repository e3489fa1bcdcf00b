"""What a run tells its experiment trackers beyond Lightning's own metric logging.

Lightning's loggers (``conf/logger/``: csv, tensorboard, mlflow, many) record training and test
metrics as they happen. A run also has a resolved configuration, figures computed after
``trainer.test`` (ranker evaluation, parity, sizes) and an exported artifact; this puts them in
the same tracker run, so MLflow or TensorBoard show what ``metrics.json`` holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, MLFlowLogger
from omegaconf import DictConfig, OmegaConf

CONFIG_SECTIONS = ("task_name", "seed", "data", "model", "ranker", "task", "optimizer", "trainer", "export")


def log_config(loggers: Sequence[Logger], cfg: DictConfig) -> None:
    """The resolved config (:data:`CONFIG_SECTIONS`) as parameters; each logger flattens nested
    keys (``model/hidden``)."""
    if not loggers:
        return
    sections = {key: cfg[key] for key in CONFIG_SECTIONS if cfg.get(key) is not None}
    params = {key: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v for key, v in sections.items()}
    for logger in loggers:
        logger.log_hyperparams(params)


def log_outcome(loggers: Sequence[Logger], metrics: Mapping[str, Any], artifact_dir: Path | None, step: int) -> None:
    """The run's final figures, and (MLflow) the published artifact directory as run artifacts."""
    numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for logger in loggers:
        logger.log_metrics(numbers, step=step)
        if isinstance(logger, MLFlowLogger) and artifact_dir is not None and artifact_dir.is_dir():
            logger.experiment.log_artifacts(logger.run_id, str(artifact_dir), artifact_path=artifact_dir.name)
        logger.finalize("success")
