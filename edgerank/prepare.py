"""``python -m edgerank.prepare data=video_log data.path=logs/ [stage=... part=...]``: prepare a
feed log into the shard cache, in one process or as independent jobs for Hydra's launchers.

``stage=all`` (default) does everything; across machines run ``stage=partition_log`` once (check
and partition by user), ``stage=partition part=P`` for every partition as a multirun
(``-m 'part=range(0,N)' hydra/launcher=local_parallel`` with joblib, ``hydra/launcher=slurm``
with submitit; the cache folder must be shared), then ``stage=finish`` (split and publish). With
``data.pxtr=estimate`` the sweep runs twice, ``phase=sessions`` then ``phase=encode``, with
``stage=estimate`` (one out-of-core DuckDB pass over every partition's exposures) between them. A
training run with the same ``data.*`` options finds the result in the cache. Prints the folder.
"""

from __future__ import annotations

import json
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from edgerank.errors import ConfigError, EdgeRankError
from hydra_plugins.edgerank_searchpath.edgerank_searchpath import EdgeRankSearchPathPlugin

Plugins.instance().register(EdgeRankSearchPathPlugin)
STAGES = ("all", "partition_log", "partition", "estimate", "finish")


def run(cfg: DictConfig) -> str:
    from edgerank.data import video_log_prepare as prep
    from edgerank.registry import load_plugins

    data = load_plugins().build("data", OmegaConf.to_container(cfg.data, resolve=True))
    options, cache = data.prepare_options, data.cache_dir
    stage = str(cfg.stage)
    if stage not in STAGES:
        raise ConfigError("stage", f"must be one of {', '.join(STAGES)}, got {stage!r}")
    if stage == "all":
        return str(prep.prepare(options, cache))
    staging, final = prep.staging_of(options, cache)
    if (final / prep.PREPARED).is_file():
        return str(final)
    if stage == "partition_log":
        partitions = prep.partition_log(options, prep.check_log(options), staging)
        return json.dumps({"staging": str(staging), "partitions": partitions})
    if not (staging / "meta.json").is_file():
        raise ConfigError("stage", f"no partitioned log at {staging}: run stage=partition_log first")
    if stage == "partition":
        if cfg.part is None:
            raise ConfigError("part", "stage=partition needs part=<index> (a multirun: 'part=range(0,N)')")
        prep.prepare_partition(staging, int(cfg.part), str(cfg.phase))
        return f"{staging} part {int(cfg.part)}"
    if stage == "estimate":
        prep.stale_counts(staging)
        return f"{staging} stale counts"
    return str(prep.publish(staging, final))


@hydra.main(version_base="1.3", config_path="pkg://edgerank.conf", config_name="prepare")
def main(cfg: DictConfig) -> str | None:
    try:
        out = run(cfg)
    except EdgeRankError as exc:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        print(f"edgerank.prepare: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
    print(out, flush=True)
    return out


if __name__ == "__main__":
    main()
