"""Studies: each study command runs end to end on a tiny setting; the summary numbers are right."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from edgerank.console import LOG_FILE
from edgerank.sweep_summary import markdown, plot, summarize, swept_keys


def test_summary_groups_by_swept_factors_and_averages_over_seeds():
    rows = [
        {"job": 0, "model.hidden": "[8]", "seed": "0", "status": "ok", "test/top5": 0.5},
        {"job": 1, "model.hidden": "[8]", "seed": "1", "status": "ok", "test/top5": 0.7},
        {"job": 2, "model.hidden": "[16]", "seed": "0", "status": "ok", "test/top5": 0.9},
        {"job": 3, "model.hidden": "[16]", "seed": "1", "status": "failed"},
    ]
    factors = swept_keys(rows, ignore=["seed"])
    assert factors == ["model.hidden"]
    summary = summarize(rows, factors, ["test/top5"])
    assert summary[0]["runs"] == 2 and summary[0]["test/top5"] == pytest.approx(0.6)
    assert summary[0]["test/top5 std"] == pytest.approx(0.1414, abs=1e-4)  # sample std
    assert summary[1]["runs"] == 1 and summary[1]["test/top5 std"] == 0.0
    assert "| [8] | 2 | 0.6 ± 0.14 |" in markdown(summary, factors, ["test/top5"])


def _tree(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


def test_product_study_command_on_a_tiny_setting_writes_to_its_sweep_dir_only(tmp_path):
    """Shrunk as the study README says (the swept keys on the command line replace the study's)."""
    experiments = Path(__file__).resolve().parents[1] / "experiments"
    before = _tree(experiments)
    tiny = ["data.num_users=600", "trainer.max_epochs=1", "model.hidden=[8],[16]", "seed=0,1", "export.parity_samples=8"]
    result = run_cli(["-m", "+study=product_topk", *tiny], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "outputs" / "product_topk" / "multiruns").iterdir()  # the default sweep dir
    assert not (tmp_path / "experiments").exists() and _tree(experiments) == before
    with (sweep / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model.hidden"] for r in rows] == ["[8]", "[8]", "[16]", "[16]"]
    assert all(r["status"] == "ok" for r in rows)
    first = json.loads((sweep / "0" / "metrics.json").read_text())
    assert float(rows[0]["test/top5"]) == pytest.approx(first["test/top5"])
    summary = (sweep / "summary.md").read_text()
    assert summary.count("\n| [") == 2 and "popularity/top5" in summary
    assert (sweep / "top5_by_hidden.png").stat().st_size > 1000


def test_plots_take_every_number_from_the_data(tmp_path):
    rows = [
        {"job": i, "model.hidden": h, "seed": str(i % 2), "status": "ok", "test/top5": t, "popularity/top5": 0.367}
        for i, (h, t) in enumerate([("[8]", 0.5), ("[8]", 0.6), ("[16]", 0.7), ("[16]", 0.8)])
    ]
    summary = summarize(rows, ["model.hidden"], ["test/top5", "popularity/top5"])
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    saved = []
    real_close = pyplot.close
    pyplot.close = lambda figure=None: saved.append(figure)  # keep the figure to read its labels
    try:
        plot(summary, ["model.hidden"], {"x": "model.hidden", "y": "test/top5", "reference": "popularity/top5"}, tmp_path / "p.png")
    finally:
        pyplot.close = real_close
    axes = saved[0].axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["[8]", "[16]"]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["popularity/top5 = 0.367"]
    assert axes.get_title() == "test/top5 by model.hidden"
    real_close(saved[0])


def test_optuna_search_with_parallel_local_launcher(tmp_path):
    sweep = tmp_path / "optuna"
    args = [
        "+experiment=product_topk",
        "hparams_search=product_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "hydra/launcher=local_parallel",
        "data.num_users=600",
        "trainer.max_epochs=1",
        "export.parity_samples=8",
        f"hydra.sweep.dir={sweep}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    trials = [json.loads((sweep / str(i) / "metrics.json").read_text())["test/top5"] for i in range(2)]
    assert best["best_value"] == pytest.approx(max(trials))
    assert set(best["best_params"]) == {"optimizer.lr", "model.hidden", "data.batch_size"}
    assert "Joblib.Parallel(n_jobs=2" in result.stderr + result.stdout
    from edgerank.training.threads import cores

    for i in range(2):  # threads=auto: each of the 2 parallel jobs got at most its share of the cores, in torch
        found = re.search(r"intra-op threads: (\d+) \(threads=auto, 2 parallel job\(s\)", (sweep / str(i) / LOG_FILE).read_text())
        assert found and 1 <= int(found.group(1)) <= max(1, cores() // 2)


VIDEO_TINY = [
    "data.num_users=30",
    "data.num_videos=200",
    "data.sessions_per_user=2",
    "data.candidates=[8,20]",
    "data.max_candidates=20",
    "data.seq_len=8",
    "trainer.max_epochs=1",
    "export.parity_samples=8",
]


@pytest.mark.parametrize(
    "study, sweep, factor",
    [
        ("video_models", ["model=dnn,ta_mmoe", "seed=0"], "model"),
        ("video_ablation", ["ablation=all,no_rts", "seed=0"], "ablation"),
        ("video_rankers", ["arm=greedy,prm", "ranker.list_size=4", "data.rank_eval_requests=10", "data.truth_rollouts=2"], "arm"),
    ],
)
def test_video_study_commands_on_a_tiny_setting(tmp_path, study, sweep, factor):
    out = tmp_path / study
    result = run_cli(["-m", f"+study={study}", *VIDEO_TINY, *sweep, f"hydra.sweep.dir={out}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows), rows
    summary = (out / "summary.md").read_text()
    assert summary.count("\n| ") == 3 and factor in summary.splitlines()[2]  # header + 2 configurations
    assert list(out.glob("*.png"))
    if study == "video_rankers":  # the ranker evaluation shows its progress
        assert "ranker evaluation:" in result.stderr and re.search(r"ranker evaluation +\d+\.\d s", result.stderr)


def test_rankers_by_m_study_exports_each_m_at_its_own_size(tmp_path):
    """The by-m study sweeps the candidates per request; each job's graph has M = m."""
    out = tmp_path / "by_m"
    tiny = [o for o in VIDEO_TINY if not o.startswith(("data.candidates=", "data.max_candidates="))]
    sweep = ["data.candidates=[8,8],[12,12]", "ranker=greedy", "ranker.list_size=4", "data.rank_eval_requests=10", "data.truth_rollouts=2"]
    result = run_cli(["-m", "+study=video_rankers_by_m", *tiny, *sweep, f"hydra.sweep.dir={out}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["ok", "ok"] and {r["data.candidates"] for r in rows} == {"[8,8]", "[12,12]"}
    for row in rows:
        m = yaml.safe_load(row["data.candidates"])[1]
        manifest = json.loads((out / row["job"] / "artifact" / "manifest.json").read_text())
        assert {i["name"]: i["shape"] for i in manifest["inputs"]}["cand_mask"] == [1, m]
        assert float(row["rerank/evals_per_request"]) == m  # greedy scores each candidate once
