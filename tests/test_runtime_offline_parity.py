"""The app-side runtime gives what the offline PyTorch pipeline gives, from the same raw inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from appside_fixtures import tiny_run
from edgerank.data.product_synthetic import generate_population
from edgerank.export.reference import load_graph
from edgerank.runtime import FixedArtifact, ProductModel, ProductRuntime, open_artifact


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def raw_users(n: int, seed: int) -> list[dict]:
    """Fresh raw users, some with values never seen in training or missing."""
    columns, _ = generate_population(n, 40, seed=seed)
    users = [{c: columns[c][i] for c in columns} for i in range(n)]
    users[0]["city"] = "Paris"  # unknown city
    users[1]["device"] = None  # missing
    users[2]["age"] = ""  # blank
    users[3] = {"gender": "female"}  # most attributes absent
    users[4]["age"] = "not a number"
    return users


def test_runtime_equals_offline_pipeline_on_raw_inputs(run):
    datamodule = run.datamodule()
    encoder, sku_ids = datamodule.spec.encoder, datamodule.spec.sku_ids
    graph = load_graph(run.run_dir)
    runtime = ProductRuntime(FixedArtifact(run.artifact), num_threads=1)
    model = runtime.model(runtime.source.resolve("x"))
    rng = np.random.default_rng(7)
    users = raw_users(300, seed=99)
    identical = 0
    for i, user in enumerate(users):
        eligible = None if i % 3 == 0 else [int(s) for s in sku_ids if rng.random() < 0.6]
        # offline: the training-time encoder and the PyTorch on-device graph
        features = encoder.transform({c: [user.get(c)] for c in encoder.columns})
        mask = np.ones((1, len(sku_ids)), np.float32) if eligible is None else np.isin(sku_ids, eligible).astype(np.float32)[None]
        with torch.no_grad():
            out = graph(features=torch.from_numpy(features), eligible=torch.from_numpy(mask))
        scores, skus = out["scores"][0].numpy(), out["sku_ids"][0].numpy()
        expected = [int(s) for s in skus[scores >= 0]]
        # runtime: raw attributes in, SKU ids out
        np.testing.assert_array_equal(model.encode(user)[0], features)
        ranking = runtime.rank(f"user-{i}", user, eligible)
        assert ranking.ok, ranking.error
        if ranking.items == expected:
            identical += 1
        else:  # allowed only where two candidates' scores tie within float error
            differ = [j for j, (a, b) in enumerate(zip(ranking.items, expected)) if a != b]
            assert len(ranking.items) == len(expected)
            assert all(abs(ranking.scores[j] - float(scores[j])) <= 1e-5 for j in differ), (i, ranking, expected)
        np.testing.assert_allclose(ranking.scores, scores[scores >= 0], atol=1e-5)
    assert identical >= 0.97 * len(users)
    unknown = runtime.rank("u", users[0])
    assert unknown.ok and unknown.unknown == ["city"]
    assert set(runtime.rank("u", users[3]).unknown) == {"city", "device", "age"}


def test_no_eligible_product_gives_an_empty_model_list(run):
    runtime = ProductRuntime(FixedArtifact(run.artifact))
    ranking = runtime.rank("u", {"city": "Nanjing"}, eligible=[])
    assert ranking.ok and ranking.items == []


def test_labels_are_returned_when_the_manifest_has_them(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sku_labels"] = [f"product-{s}" for s in manifest["sku_ids"]]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    ranking = ProductRuntime(FixedArtifact(copy)).rank("u", {"city": "Nanjing", "gender": "male"})
    assert ranking.ok and ranking.labels == [f"product-{s}" for s in ranking.items]


def test_int8_artifact_runs_in_the_same_runtime(run):
    model = ProductModel(open_artifact(run.int8))
    items, scores, unknown = model.rank({"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"})
    assert len(items) == 5 and scores == sorted(scores, reverse=True) and unknown == []
