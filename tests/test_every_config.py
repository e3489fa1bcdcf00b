"""Every shipped experiment and study runs end to end on a tiny world (slow: ``pytest -m slow``).

The study's own sweep is cut to its first point (every swept key at its first value), so each
study config is composed, trained, exported and summarised as its command would, in seconds.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from conftest import run_cli

CONF = Path(__file__).resolve().parents[1] / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
# video_log needs a simulated log: tests/test_video_log_runtime.py runs that study on one
STUDIES = sorted(p.stem for p in (CONF / "study").glob("*.yaml") if p.stem != "video_log")
VIDEO_TINY = ["+debug=video", "data.rank_eval_requests=10", "data.truth_rollouts=2", "export.parity_samples=8"]


def tiny(name: str) -> list[str]:
    return ["+debug=product"] if name.startswith("product") else VIDEO_TINY


def first_point(study: str) -> list[str]:
    """Every key the study sweeps, at its first value."""
    params = yaml.safe_load((CONF / "study" / f"{study}.yaml").read_text())["hydra"]["sweeper"]["params"]
    overrides = OverridesParser.create().parse_overrides([f"{key}={value}" for key, value in params.items()])
    return [f"{o.get_key_element()}={next(o.sweep_string_iterator())}" for o in overrides]


def test_the_lists_cover_the_shipped_configs():
    assert EXPERIMENTS == ["product_topk", "video_rerank"]
    assert {"product_topk", "video_models", "video_rankers"} <= set(STUDIES)
    assert first_point("video_rankers_by_m") == ["data.candidates=[10,10]", "ranker=greedy"]


@pytest.mark.slow
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs_tiny(tmp_path, experiment):
    run_dir = tmp_path / "run"
    result = run_cli([f"+experiment={experiment}", *tiny(experiment), f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "artifact" / "manifest.json").read_text())["parity"]["passed"]


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_every_study_runs_tiny(tmp_path, study):
    out = tmp_path / "sweep"
    result = run_cli(["-m", f"+study={study}", *tiny(study), *first_point(study), f"hydra.sweep.dir={out}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["ok"], rows
    assert (out / "summary.md").read_text().count("\n| ") == 2  # the header and the one configuration
