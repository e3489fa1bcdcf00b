"""``python -m edgerank``: the Hydra application.

Configs are found through the installed package (``pkg://edgerank.conf``), so the command works
from any directory. Third-party config groups join the search path through the
``edgerank.configs`` entry points (see ``hydra_plugins/edgerank_searchpath``).
"""

from __future__ import annotations

import logging
import math
import os
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from edgerank.console import show_everything
from edgerank.errors import ConfigError, EdgeRankError, did_you_mean
from edgerank.termination import exit_on_sigterm
from hydra_plugins.edgerank_searchpath.edgerank_searchpath import EdgeRankSearchPathPlugin

log = logging.getLogger("edgerank")

# Hydra finds plugins by scanning the ``hydra_plugins`` namespace package, which an editable
# install cannot list; registering explicitly works for every kind of install (idempotent).
Plugins.instance().register(EdgeRankSearchPathPlugin)


VERBOSE_FLAGS = ("-v", "--verbose")  # = verbose=true: third-party output on the terminal too


def main() -> None:
    """``python -m edgerank [-v] [Hydra arguments]``: Hydra's application, with Hydra's own
    composition errors (an unknown config option, a key that is not in a group, an unparsable
    override) reported like every other user error: one ``edgerank: error:`` line with a
    did-you-mean, exit 2, before any work."""
    if any(flag in sys.argv[1:] for flag in VERBOSE_FLAGS):
        sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a not in VERBOSE_FLAGS), "verbose=true"]
    # Hydra prints these itself and exits 1 unless HYDRA_FULL_ERROR is set, which makes it raise
    # them to us; the job's own errors are handled inside ``job`` either way.
    full_error = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        job()
    except HydraException as exc:
        if full_error == "1":
            raise
        print(f"edgerank: error: {hydra_error(exc)}", file=sys.stderr, flush=True)
        sys.exit(ConfigError.exit_code)


def hydra_error(exc: HydraException) -> str:
    """The user's mistake behind a Hydra composition error, in edgerank's words."""
    if isinstance(exc, MissingConfigException) and exc.options is not None and exc.missing_cfg_file:
        group, _, option = str(exc.missing_cfg_file).rpartition("/")
        known = sorted(exc.options)
        return str(ConfigError(group or "defaults", f"no config option '{option}'.{did_you_mean(option, known)} "
                               f"Options: {', '.join(known)}"))
    cause = exc.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key and cause.parent_node is not None:
        key = str(cause.key)
        parent = str(cause.full_key).rpartition(".")[0]
        known = sorted(str(k) for k in cause.parent_node.keys() if k != "hydra")
        where = f"'{parent}'" if parent else "the config"
        return str(ConfigError(str(cause.full_key), f"not a key of {where}.{did_you_mean(key, known)} Keys: {', '.join(known)} "
                               f"(to add a new key write +{cause.full_key}=...)"))
    return " ".join(str(exc).split("\n")[:2])


@hydra.main(version_base="1.3", config_path="pkg://edgerank.conf", config_name="train")
def job(cfg: DictConfig) -> float | None:
    """Run one job; returns ``cfg.optimized_metric`` for sweepers (NaN when the job failed).

    A user error ends a single run with a message and a non-zero exit; inside a multirun it
    fails only its own job, so one bad point does not kill the sweep.
    """
    from edgerank.pipeline import run  # after Hydra parsed the command line: keeps --help fast

    exit_on_sigterm()  # a terminated run removes its staging folders too

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # print once, via Hydra's handlers
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    hydra_cfg = HydraConfig.get()
    from edgerank.training.threads import parallel_jobs

    jobs = parallel_jobs(OmegaConf.to_container(hydra_cfg.launcher, resolve=True)) if hydra_cfg.mode == RunMode.MULTIRUN else 1
    logging.captureWarnings(True)  # Python warnings join the log file, not the terminal
    if cfg.get("verbose") or hydra_cfg.verbose:
        with open_dict(cfg):
            cfg.verbose = True
        show_everything()
    try:
        metrics = run(cfg, hydra_cfg.runtime.output_dir, parallel_jobs=jobs)
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

