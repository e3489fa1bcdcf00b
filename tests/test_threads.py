"""``threads``: intra-op threads per job, so that parallel jobs do not oversubscribe shared cores."""

from __future__ import annotations

import pytest

from edgerank.errors import ConfigError
from edgerank.training.threads import apply_threads, cores, intra_op_threads, parallel_jobs

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@pytest.mark.parametrize(
    "launcher, jobs",
    [
        (None, 1),  # a single run
        ({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, 1),  # sequential sweep
        ({"_target_": JOBLIB, "n_jobs": 2}, 2),  # conf/hydra/launcher/local_parallel.yaml
        ({"_target_": JOBLIB, "n_jobs": -1}, 8),  # joblib: -1 = every core
        ({"_target_": JOBLIB, "n_jobs": -2}, 7),
        ({"_target_": "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLocalLauncher", "ray": {"remote": {"num_cpus": 2}}}, 4),
        ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 4}, 1),
    ],
)
def test_parallel_jobs_of_each_launcher(launcher, jobs):
    assert parallel_jobs(launcher, available=8) == jobs


def test_auto_shares_the_free_cores_and_an_integer_is_kept():
    assert intra_op_threads("auto", jobs=1, available=8, load=0.0) == 8
    assert intra_op_threads("auto", jobs=2, available=8, load=0.0) == 4
    assert intra_op_threads("auto", jobs=2, available=2, load=0.0) == 1  # the CI machine under local_parallel
    assert intra_op_threads("auto", jobs=3, available=2, load=0.0) == 1  # never 0
    assert intra_op_threads("auto", jobs=1, available=8, load=2.6) == 5  # 3 cores busy elsewhere
    assert intra_op_threads("auto", jobs=1, available=2, load=9.0) == 1  # a shared machine
    assert intra_op_threads(3, jobs=2, available=2, load=9.0) == 3


@pytest.mark.parametrize("bad", [0, -1, "four", 1.5, True])
def test_bad_threads_name_the_key(bad):
    with pytest.raises(ConfigError, match=r"^threads: must be 'auto' or a positive integer"):
        intra_op_threads(bad)


def test_the_setting_reaches_torch():
    import torch

    before = torch.get_num_threads()
    try:
        assert apply_threads(1) == torch.get_num_threads() == 1
        assert apply_threads(2) == torch.get_num_threads() == 2
        assert 1 <= apply_threads("auto", jobs=1) == torch.get_num_threads() <= cores()
    finally:
        torch.set_num_threads(before)
