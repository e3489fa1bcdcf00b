"""``python -m edgerank.runtime replay|rank``: traffic from a shell, visible in ``edgerank.monitor``."""

from __future__ import annotations

import csv
import json

import pytest

from appside_fixtures import tiny_run
from conftest import run_cli


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def test_replay_through_a_canary_then_summarize(run, tmp_path):
    store = ["--store", str(tmp_path / "store")]
    for artifact in (run.artifact, run.int8):
        assert run_cli([*store, "publish", str(artifact)], tmp_path, 60, module="edgerank.registry").returncode == 0
    assert run_cli([*store, "rollout", "product_topk", "1=50", "2=50"], tmp_path, 60, module="edgerank.registry").returncode == 0
    users = tmp_path / "users.csv"
    with users.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "city", "device", "gender", "age"])
        for i in range(200):
            writer.writerow([f"u{i}", "Nanjing" if i % 4 else "Atlantis", "vivo X200", "male", str(20 + i % 40)])
    db = ["--db", str(tmp_path / "events.sqlite")]
    done = run_cli(["replay", *store, "--model", "product_topk", *db, str(users)], tmp_path, 120, module="edgerank.runtime")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"requests": 200, "model": 200, "fallback": 0}
    summary = json.loads(run_cli([*db, "summary", "--json"], tmp_path, 60, module="edgerank.monitor").stdout)
    assert [row["version"] for row in summary] == ["v1", "v2"]
    assert sum(row["requests"] for row in summary) == 200 and all(0.3 < row["traffic_share"] < 0.7 for row in summary)
    unknown = sum(row["unknown_rate"] * row["requests"] * 4 for row in summary) / (200 * 4)
    assert unknown == pytest.approx(50 / 800)  # one city in four is unknown

    one = run_cli(["rank", "--artifact", str(run.artifact), "--no-monitor", "--user", "x", "city=Nanjing", "gender=male"],
                  tmp_path, 60, module="edgerank.runtime")
    assert one.returncode == 0 and json.loads(one.stdout)["source"] == "model"
    assert one.stderr == ""  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" notice goes to the debug log
    bad = run_cli(["rank", "--artifact", str(run.artifact), "--no-monitor", "Nanjing"], tmp_path, 60, module="edgerank.runtime")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_default_registry_location_serves_rank_model_without_store(run, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGERANK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EDGERANK_STORE", raising=False)
    published = run_cli(["publish", str(run.artifact)], tmp_path, 60, module="edgerank.registry")
    assert published.returncode == 0, published.stderr
    assert "published product_topk v1" in published.stdout
    assert (tmp_path / "home" / "registry" / "models" / "product_topk" / "v1" / "model.tflite").is_file()  # not models/models
    db = ["--db", str(tmp_path / "events.sqlite")]
    done = run_cli(["rank", "--model", "product_topk", *db, "--user", "x", "city=Nanjing"], tmp_path, 60, module="edgerank.runtime")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["version"] == "v1" and json.loads(done.stdout)["source"] == "model"
    neither = run_cli(["rank", "--no-monitor", "city=Nanjing"], tmp_path, 60, module="edgerank.runtime")
    assert neither.returncode == 2 and "--artifact DIR, or --model NAME" in neither.stderr


def test_an_artifact_is_identified_by_its_content(run, tmp_path):
    manifest = json.loads((run.artifact / "manifest.json").read_text())
    assert manifest["version"] == manifest["sha256"][:12]  # export.version: null, the default
    db = ["--db", str(tmp_path / "events.sqlite")]
    for artifact in (run.artifact, run.int8):
        done = run_cli(["rank", "--artifact", str(artifact), *db, "--user", "x", "city=Nanjing"], tmp_path, 60, module="edgerank.runtime")
        assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(run_cli([*db, "summary", "--json"], tmp_path, 60, module="edgerank.monitor").stdout)
    assert sorted(row["version"] for row in summary) == [manifest["version"], manifest["version"] + "-int8"]
