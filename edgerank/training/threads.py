"""How many intra-op threads a training job gives PyTorch (the ``threads`` config key).

PyTorch starts one intra-op thread per core. Two jobs of a parallel sweep on the same cores then
run 2x as many spinning threads as cores, and each matmul waits for the slowest of them: an
epoch that takes seconds alone can take minutes (see the README's thread figures); the same
happens to a single job on cores that other programs keep busy. ``auto`` therefore gives each
job its share of the cores that are free when it starts: ``min(cores // parallel jobs, cores -
1-minute load average)``, at least 1, where the parallel jobs are those the Hydra launcher runs
at once on this machine (joblib's ``n_jobs``; a Ray launcher's ``cores // num_cpus``; 1 for a
single run, the sequential basic launcher and SLURM, whose job sees only its own CPUs). An
integer sets the count as is (set one where bit-identical reruns matter more than speed: the
thread count can change the order of float sums).

The data loaders run in the training process (``num_workers=0``: the embedded data are
in-memory tensors), so these threads are all the CPU a job uses.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from edgerank.errors import ConfigError

log = logging.getLogger(__name__)


def cores() -> int:
    """CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel_jobs(launcher: Mapping[str, Any] | None, available: int | None = None) -> int:
    """Jobs the Hydra launcher config ``launcher`` runs at once on this machine."""
    available = available or cores()
    target = str((launcher or {}).get("_target_", ""))
    if "Joblib" in target:
        n_jobs = int(launcher.get("n_jobs") or 1)  # joblib: -1 all cores, -2 all but one, ...
        return max(1, n_jobs if n_jobs > 0 else available + 1 + n_jobs)
    if "Ray" in target:
        cpus = int(((launcher.get("ray") or {}).get("remote") or {}).get("num_cpus") or 1)
        return max(1, available // max(1, cpus))
    return 1


def intra_op_threads(setting: Any, jobs: int = 1, available: int | None = None, load: float | None = None) -> int:
    """The thread count ``threads=setting`` means for one of ``jobs`` parallel jobs
    (``load``: the machine's 1-minute load average, read now when None)."""
    if setting is None or str(setting) == "auto":
        available = available or cores()
        load = (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0) if load is None else load
        return max(1, min(available // max(1, jobs), available - round(load)))
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ConfigError("threads", f"must be 'auto' or a positive integer, got {setting!r}")
    return setting


def apply_threads(setting: Any, jobs: int = 1) -> int:
    """Set PyTorch's intra-op threads for this job and return what PyTorch now reports."""
    import torch

    count = intra_op_threads(setting, jobs)
    torch.set_num_threads(count)
    log.info("intra-op threads: %d (threads=%s, %d parallel job(s), %d cores)", torch.get_num_threads(), setting, jobs, cores())
    return torch.get_num_threads()
