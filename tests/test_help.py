"""``python -m edgerank --help`` is edgerank's own: every experiment, study and plugin kind, with an example."""

from __future__ import annotations

from pathlib import Path

import edgerank.conf
from conftest import run_cli
from edgerank.registry import load_plugins

CONF = Path(edgerank.conf.__file__).parent


def test_help_lists_every_experiment_study_and_plugin_kind_with_an_example(tmp_path):
    result = run_cli(["--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "powered by Hydra" not in text and "+experiment=NAME" in text
    for experiment in sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")):
        assert f"python -m edgerank +experiment={experiment}" in text, experiment
    studies = sorted(p.stem for p in (CONF / "study").glob("*.yaml"))
    listed = text.split("== Studies", 1)[1].split("==", 2)[1]
    for study in studies:
        assert f"\n  {study} " in listed, study  # described in the studies block
    rankers = next(line for line in listed.splitlines() if line.startswith("  video_rankers "))
    assert "Seq2Slate" in rankers and "PRM" in rankers and "NDCG@10" in rankers  # its published baselines
    assert "python -m edgerank -m +study=" in text
    for kind in load_plugins().kinds():
        assert f"\n  {kind} " in text and f" {kind}=" in text, kind
    assert f"study: {', '.join(studies)}" in text  # Hydra's own list of the config groups
    assert "-v, --verbose" in text
