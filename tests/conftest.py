"""Shared fixtures: compose the real configs, shrunk to run in seconds.

Like lightning-hydra-template's tests: compose with Hydra's compose API (the same configs the
CLI uses, found through the installed package), write to ``tmp_path``, no logger, tiny data.
"""

from __future__ import annotations

import copy
import functools
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict


def debug(*overrides: str) -> list[str]:
    """``overrides`` with the ``debug`` config group (conf/debug: one epoch, no logger, no progress
    bar, 32 parity requests) selected after them, so it wins over ``+experiment``; two epochs
    unless a test says otherwise, because the baseline comparisons need a model that learnt.
    A test may pick a tiny world itself with ``+debug=product`` or ``+debug=video``."""
    if any(o.startswith("+debug=") for o in overrides):
        return list(overrides)
    return ["trainer.max_epochs=2", *overrides, "+debug=default"]


def compose_config(overrides: Sequence[str], output_dir: Path) -> DictConfig:
    """A fresh copy of the config ``overrides`` compose to, writing under ``output_dir``; each set of
    overrides is composed once per session (many tests of a module share theirs)."""
    cfg = copy.deepcopy(_composed(tuple(overrides)))
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


@functools.cache
def _composed(overrides: tuple[str, ...]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="edgerank.conf", version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides), return_hydra_config=False)


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_cfg(*overrides)``: the composed, shrunk config writing under ``tmp_path``."""

    def make(*overrides: str, small: bool = True) -> DictConfig:
        return compose_config(debug(*overrides) if small else list(overrides), tmp_path)

    return make


def run_cli(args: Sequence[str], cwd: Path, timeout: int = 300, module: str = "edgerank") -> subprocess.CompletedProcess:
    """Run ``python -m edgerank ARGS`` in a subprocess, from ``cwd``, as a user would."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
