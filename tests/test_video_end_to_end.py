"""A real train -> test -> export -> parity run of the short-video re-ranker, on small data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from edgerank.pipeline import run

from conftest import run_cli

TASKS = ("has_next", "effective_view", "like")  # fixed names: metric keys and output names
SMALL_DATA = [
    "data.num_users=60",
    "data.num_videos=300",
    "data.sessions_per_user=2",
    "data.candidates=[10,30]",
    "data.max_candidates=30",
    "data.seq_len=10",
    "data.batch_size=32",
]


def test_ta_mmoe_train_export_parity_on_small_simulated_data(make_cfg, tmp_path):
    cfg = make_cfg("+experiment=video_rerank", *SMALL_DATA, "trainer.max_epochs=3")
    metrics = run(cfg, tmp_path)

    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    expected = {f"{who}/{t}/{m}" for who in ("test", "pxtr") for t in TASKS for m in ("auc", "gauc")}
    assert expected <= set(metrics), sorted(expected - set(metrics))
    assert all(0.0 <= metrics[k] <= 1.0 for k in expected)
    assert metrics["test/like/auc"] > 0.6 and metrics["pxtr/like/auc"] > 0.6  # both actually rank

    manifest = json.loads((tmp_path / "artifact" / "manifest.json").read_text())
    assert manifest["parity"]["passed"] and manifest["parity"]["max_abs_err"] <= 1e-5
    assert manifest["metrics"] == {k: v for k, v in metrics.items() if not k.startswith(("parity/", "artifact/"))}
    assert manifest["fixed_shapes"] == {"candidates": 30, "seq_len": 10}
    assert manifest["feature_groups"] == {g: True for g in ("pxtr", "static", "csf", "rts", "fe")}
    inputs = {i["name"]: (i["dtype"], i["shape"]) for i in manifest["inputs"]}
    assert inputs["cand_id"] == ("int32", [1, 30]) and inputs["seq_cat"] == ("int32", [1, 10])
    assert inputs["cand_pxtr"] == ("float32", [1, 30, 3]) and inputs["preload_time"] == ("float32", [1, 30])
    assert {o["name"]: o["shape"] for o in manifest["outputs"]} == {t: [1, 30] for t in TASKS}
    model = tmp_path / "artifact" / "model.tflite"
    assert manifest["size_bytes"] == model.stat().st_size < 1_000_000

    # an app feeds a request with 3 candidates and an empty history: padded slots come back 0
    zeros = {i["name"]: np.zeros(i["shape"], dtype=i["dtype"]) for i in manifest["inputs"]}
    zeros["cand_mask"][0, :3] = 1.0
    out = Interpreter(model_path=str(model)).get_signature_runner()(**zeros)
    for t in TASKS:
        assert np.all(out[t][0, 3:] == 0) and np.all(out[t][0, :3] > 0)


def test_feature_group_off_removes_its_inputs_from_the_artifact(make_cfg, tmp_path):
    cfg = make_cfg("+experiment=video_rerank", *SMALL_DATA, "features.csf=false", "trainer.max_epochs=1", "model=dnn")
    run(cfg, tmp_path)
    manifest = json.loads((tmp_path / "artifact" / "manifest.json").read_text())
    names = {i["name"] for i in manifest["inputs"]}
    assert "preload_time" not in names and "network_speed" not in names and "cand_pxtr" in names
    assert manifest["feature_groups"]["csf"] is False


@pytest.mark.slow
def test_documented_command(tmp_path):
    """``python -m edgerank +experiment=video_rerank`` exactly as the README says (minutes)."""
    result = run_cli(["+experiment=video_rerank", f"hydra.run.dir={tmp_path}"], cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "test/like/gauc" in metrics and "pxtr/like/gauc" in metrics
    assert "test/like/gauc" in result.stdout
