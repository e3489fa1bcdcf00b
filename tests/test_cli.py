"""The documented commands, run as a user runs them: in a subprocess, from another directory."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from conftest import run_cli
from plugin_fixtures import WIDE_TOPK, WIDE_TOPK_CONFIG, write_distribution

QUICK = [
    "+experiment=product_topk",
    "+debug=product",
    "data.num_users=1500",
    "trainer.max_epochs=2",
    "export.parity_samples=16",
]


def test_main_command_from_another_directory(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli([*QUICK, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) >= {"test/top1", "test/top5", "popularity/top1", "popularity/top5"}
    assert "test/top5" in result.stdout and "parity/max_abs_err" in result.stdout
    manifest = json.loads((run_dir / "artifact" / "manifest.json").read_text())
    assert manifest["name"] == "product_topk" and manifest["parity"]["passed"]


def test_unknown_plugin_fails_before_any_work_with_the_known_names(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli([*QUICK, "model.name=dense_topkk", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 2
    assert "edgerank: error: unknown model plugin 'dense_topkk'. Did you mean: dense_topk?" in result.stderr
    assert "Known model plugins: dense_topk" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "checkpoints").exists()


def test_parity_failure_exits_non_zero_and_publishes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    # float32 conversion differs from PyTorch by ~1e-7: a 1e-12 tolerance must fail
    result = run_cli([*QUICK, "export.tolerance=1e-12", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "FAILED; no artifact was published" in result.stderr
    assert not (run_dir / "artifact").exists()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".artifact")]
    report = json.loads((run_dir / "parity_report.json").read_text())
    assert report["passed"] is False and report["max_abs_err"] > 1e-12


def test_sweep_continues_past_a_failing_job(tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(["-m", *QUICK, "model.hidden=[16],[0]", f"hydra.sweep.dir={sweep_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((sweep_dir / "0" / "metrics.json").read_text())["test/top5"] > 0
    assert (sweep_dir / "0" / "artifact" / "model.tflite").exists()
    assert not (sweep_dir / "1" / "metrics.json").exists()
    assert "job 1 failed: model.hidden: must be a non-empty list of positive integers" in result.stderr + result.stdout
    # every multirun is summarised: its results, a table, the optimised metric against the swept key
    with (sweep_dir / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model.hidden"], r["status"]) for r in rows] == [("[16]", "ok"), ("[0]", "failed")]
    summary = (sweep_dir / "summary.md").read_text()
    assert summary.startswith("| model.hidden | runs | test/top5 |") and "1 of 2 jobs failed" in summary
    assert (sweep_dir / "test_top5_by_model.hidden.png").stat().st_size > 1000


def test_plugins_listing(tmp_path):
    result = run_cli([], cwd=tmp_path, module="edgerank.plugins")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "data:" in lines and "model:" in lines
    dense = next(line for line in lines if line.split()[:1] == ["dense_topk"])
    assert dense.split()[1] == "edgerank" and "top-K" in dense


def test_third_party_plugin_and_its_configs_without_touching_edgerank(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_distribution(site, "edgerank-wide", "edgerank_wide", WIDE_TOPK, WIDE_TOPK_CONFIG)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    listing = run_cli([], cwd=tmp_path, module="edgerank.plugins")
    assert any(line.split()[:2] == ["wide_topk", "edgerank-wide"] for line in listing.stdout.splitlines()), listing.stdout
    run_dir = tmp_path / "run"
    result = run_cli([*QUICK, "model=wide_topk", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run_dir / "artifact" / "manifest.json").read_text())
    assert {o["name"]: o["shape"] for o in manifest["outputs"]}["sku_ids"] == [1, 3]  # top_k from its own yaml
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "name: wide_topk" in config and "width: 24" in config


def test_two_process_ddp_on_cpu_with_gloo(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli([*QUICK, "trainer=ddp_cpu", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in (run_dir / "run.log").read_text()
    assert [line.split()[0] for line in result.stderr.splitlines()].count("publish") == 1  # rank 0 only
    assert json.loads((run_dir / "artifact" / "manifest.json").read_text())["parity"]["passed"]
