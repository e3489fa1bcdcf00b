"""``python -m edgerank.registry publish|list``: immutable, checksummed versions; bad artifacts refused."""

from __future__ import annotations

import json
import os
import stat

import pytest

from appside_fixtures import tiny_run
from conftest import run_cli
from edgerank.modelstore import ModelStore, PublishError, StoreError


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def registry(args, tmp_path, **env):
    return run_cli(["--store", str(tmp_path / "store"), *args], cwd=tmp_path, timeout=120, module="edgerank.registry")


def test_publish_and_list_through_the_cli(run, tmp_path):
    done = registry(["publish", str(run.artifact)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "published product_topk v1" in done.stdout
    done = registry(["publish", str(run.int8)], tmp_path)
    assert done.returncode == 0 and "published product_topk v2 (int8" in done.stdout, done.stderr
    again = registry(["publish", str(run.artifact)], tmp_path)
    assert again.returncode == 0 and "already published" in again.stdout and "v1" in again.stdout

    listing = registry(["list", "--json"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    versions = json.loads(listing.stdout)
    assert [(v["version"], v["label"], v["variant"]) for v in versions] == [(1, "v1", "float32"), (2, "v2", "int8")]
    assert versions[0]["metrics"]["test/top5"] == pytest.approx(run.metrics["test/top5"])
    assert versions[0]["parity"]["passed"] is True and versions[0]["parity"]["max_abs_err"] <= 1e-5
    assert versions[1]["parity"]["size_ratio"] < 0.6
    table = registry(["list"], tmp_path).stdout
    assert "test/top5=" in table and "passed=True" in table


def test_published_versions_are_read_only_and_verified(run, tmp_path):
    store = ModelStore(tmp_path / "store")
    record, created = store.publish(run.artifact)
    assert created and record.version == 1
    for name in ("model.tflite", "manifest.json"):
        assert not os.stat(record.path / name).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert store.verify("product_topk", 1).sha256 == record.sha256
    (record.path / "model.tflite").chmod(0o644)  # someone forces a write
    (record.path / "model.tflite").write_bytes(b"tampered")
    with pytest.raises(StoreError, match="tampered"):
        store.verify("product_topk", 1)
    with pytest.raises(StoreError, match="has no version 7"):
        store.get("product_topk", 7)
    with pytest.raises(StoreError, match="no model named 'nope'.*product_topk"):
        store.get("nope")


def test_publish_refuses_an_artifact_whose_parity_failed(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["parity"].update(passed=False, max_abs_err=0.3, divergent=4)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    done = registry(["publish", str(copy)], tmp_path)
    assert done.returncode == 3
    assert "parity.passed is not true" in done.stderr and "max_abs_err=0.3" in done.stderr
    assert "Traceback" not in done.stderr
    assert ModelStore(tmp_path / "store").versions() == []


def test_publish_refuses_a_tampered_model_file(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    data = bytearray((copy / "model.tflite").read_bytes())
    data[100] ^= 0x01
    (copy / "model.tflite").write_bytes(bytes(data))
    done = registry(["publish", str(copy)], tmp_path)
    assert done.returncode == 3
    assert "model.tflite: sha256" in done.stderr and "does not match manifest sha256" in done.stderr
    assert ModelStore(tmp_path / "store").versions() == []


def test_publish_refuses_garbage_even_with_a_matching_checksum(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    (copy / "model.tflite").write_bytes(b"not a flatbuffer" * 10)
    manifest = json.loads((copy / "manifest.json").read_text())
    from edgerank.core.manifest import sha256

    manifest.update(sha256=sha256(copy / "model.tflite"), size_bytes=160)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match="does not load in the LiteRT interpreter"):
        ModelStore(tmp_path / "store").publish(copy)


def test_publish_refuses_missing_files_and_fields_naming_them(run, tmp_path):
    store = ModelStore(tmp_path / "store")
    with pytest.raises(PublishError, match="not a directory"):
        store.publish(tmp_path / "nowhere")
    copy = run.copy_artifact(tmp_path / "artifact")
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match="missing field.*sha256"):
        store.publish(copy)


def test_store_location_comes_from_the_environment(run, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGERANK_STORE", str(tmp_path / "env_store"))
    from edgerank.modelstore.cli import main

    assert main(["publish", str(run.artifact)]) == 0
    assert (tmp_path / "env_store" / "index.sqlite").is_file()
    assert (tmp_path / "env_store" / "models" / "product_topk" / "v1" / "model.tflite").is_file()
