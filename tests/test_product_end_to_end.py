"""A real train -> export -> parity run of the product top-K scenario, on small data."""

from __future__ import annotations

import json

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgerank.console import round_metric
from edgerank.core.encoder import GroupOneHotEncoder
from edgerank.pipeline import run


def test_train_export_parity_on_small_synthetic_data(make_cfg, tmp_path):
    cfg = make_cfg("+experiment=product_topk", "data.num_users=3000", "data.num_products=25", "trainer.max_epochs=6")
    metrics = run(cfg, tmp_path)

    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert metrics["test/top5"] > metrics["popularity/top5"] + 0.05, metrics

    manifest = json.loads((tmp_path / "artifact" / "manifest.json").read_text())
    parity = manifest["parity"]
    assert parity["passed"] and parity["n_samples"] == 32
    assert parity["max_abs_err"] <= 1e-5
    assert parity["lists_identical"] >= 0.97  # anything else must be a near tie
    assert parity["divergent"] == 0
    assert manifest["metrics"] == {k: v for k, v in metrics.items() if not k.startswith(("parity/", "artifact/"))}
    assert metrics["parity/max_abs_err"] == round_metric(parity["max_abs_err"])
    assert {i["name"]: (i["dtype"], i["shape"]) for i in manifest["inputs"]} == {
        "features": ("float32", [1, manifest["encoder"]["dim"]]),
        "eligible": ("float32", [1, 25]),
    }
    assert {o["name"]: (o["dtype"], o["shape"]) for o in manifest["outputs"]} == {
        "scores": ("float32", [1, 5]),
        "sku_ids": ("int32", [1, 5]),
    }
    model = tmp_path / "artifact" / "model.tflite"
    assert manifest["size_bytes"] == model.stat().st_size
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".artifact")], "staging dir left behind"

    # An app rebuilds the input from raw attributes with the manifest alone and gets SKU ids.
    encoder = GroupOneHotEncoder.from_dict(manifest["encoder"])
    features = encoder.encode_one({"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"})
    eligible = np.ones((1, 25), np.float32)
    eligible[0, :10] = 0.0  # the first ten products are not sold here
    runner = Interpreter(model_path=str(model)).get_signature_runner()
    out = runner(features=features[None, :], eligible=eligible)
    sku_ids = out["sku_ids"][0].tolist()
    assert len(set(sku_ids)) == 5
    assert set(sku_ids) <= set(manifest["sku_ids"][10:])
    assert np.all(np.diff(out["scores"][0]) <= 0)


def test_a_trained_checkpoint_is_tested_and_exported_without_training(make_cfg, tmp_path):
    first = run(make_cfg("+experiment=product_topk", "data.num_users=1500", "export.enabled=false"), tmp_path / "a")
    (checkpoint,) = tmp_path.glob("checkpoints/*.ckpt")  # paths.output_dir of make_cfg
    again = run(
        make_cfg("+experiment=product_topk", "data.num_users=1500", "train=false", f"ckpt_path={checkpoint}"),
        tmp_path / "b",
    )
    assert {k: again[k] for k in first} == first  # same weights, same test split (+ parity and size figures)
    assert list(tmp_path.glob("checkpoints/*.ckpt")) == [checkpoint]  # nothing trained
    assert json.loads((tmp_path / "b" / "artifact" / "manifest.json").read_text())["parity"]["passed"]
