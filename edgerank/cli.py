"""``python -m edgerank``: the Hydra application.

Configs are found through the installed package (``pkg://edgerank.conf``), so the command works
from any directory. Third-party config groups join the search path through the
``edgerank.configs`` entry points (see ``hydra_plugins/edgerank_searchpath``).
"""

from __future__ import annotations

import logging
import math
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.types import RunMode
from omegaconf import DictConfig

from edgerank.errors import EdgeRankError
from hydra_plugins.edgerank_searchpath.edgerank_searchpath import EdgeRankSearchPathPlugin

log = logging.getLogger("edgerank")

# Hydra finds plugins by scanning the ``hydra_plugins`` namespace package, which an editable
# install cannot list; registering explicitly works for every kind of install (idempotent).
Plugins.instance().register(EdgeRankSearchPathPlugin)


@hydra.main(version_base="1.3", config_path="pkg://edgerank.conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Run one job; returns ``cfg.optimized_metric`` for sweepers (NaN when the job failed).

    A user error ends a single run with a message and a non-zero exit; inside a multirun it
    fails only its own job, so one bad point does not kill the sweep.
    """
    from edgerank.pipeline import run  # after Hydra parsed the command line: keeps --help fast

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # print once, via Hydra's handlers
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    hydra_cfg = HydraConfig.get()
    try:
        metrics = run(cfg, hydra_cfg.runtime.output_dir)
    except EdgeRankError as exc:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            log.error("job %s failed: %s", hydra_cfg.job.num, exc)
            return math.nan
        print(f"edgerank: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
    metric = cfg.get("optimized_metric")
    if metric and metric not in metrics:
        log.warning("optimized_metric '%s' is not among the metrics %s", metric, sorted(metrics))
    return metrics.get(metric) if metric else None
