"""One tiny trained + exported product run, shared by the app-side and cloud-side tests.

Training is the slow part (seconds even when tiny), so every ``test_runtime_*``,
``test_modelstore_*``, ``test_quant_*`` and ``test_bench_*`` module reuses the run made here.
Each module declares a session fixture calling :func:`tiny_run`; the module-level cache makes
sure the pipeline runs once per pytest process however many modules ask.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import compose_config, debug

OVERRIDES = [
    "+experiment=product_topk",
    "data.num_users=2000",
    "trainer.max_epochs=2",
    "export.quantize=int8",
    # the run must produce an int8 artifact; the tolerance gate itself is tested with tight values
    "export.quantization.max_metric_drop=0.05",
]


@dataclass(frozen=True)
class TinyRun:
    run_dir: Path
    cfg: Any
    metrics: dict[str, float]

    @property
    def artifact(self) -> Path:
        return self.run_dir / "artifact"

    @property
    def int8(self) -> Path:
        return self.run_dir / "artifact_int8"

    def copy_artifact(self, destination: Path, int8: bool = False) -> Path:
        """A writable copy to tamper with, leaving the shared one intact."""
        return Path(shutil.copytree(self.int8 if int8 else self.artifact, destination))

    def datamodule(self) -> Any:
        """The run's datamodule, rebuilt from its config (seeded: same split, same encoder)."""
        from edgerank.pipeline import plain
        from edgerank.registry import build

        datamodule = build("data", plain(self.cfg, "data"))
        datamodule.setup()
        return datamodule


_CACHE: dict[str, TinyRun] = {}


def tiny_run(tmp_path_factory: Any) -> TinyRun:
    if "run" not in _CACHE:
        from edgerank.pipeline import run

        run_dir = tmp_path_factory.mktemp("tiny_product_run")
        cfg = compose_config(debug(*OVERRIDES), run_dir)
        metrics = run(cfg, run_dir)
        _CACHE["run"] = TinyRun(run_dir, cfg, metrics)
    return _CACHE["run"]
