"""A failing inference never raises into the app: it is recorded and the fallback order returned."""

from __future__ import annotations

import json

import pytest

from appside_fixtures import tiny_run
from edgerank.modelstore import ModelStore, Rollout
from edgerank.monitor import EventLog, summarize
from edgerank.runtime import FixedArtifact, ProductRuntime, StoreSource

USER = {"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"}
STATIC = [100007, 100003, 100011, 100001, 100020, 100030, 100002]


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def test_corrupt_model_file_is_a_recorded_failure_with_the_static_fallback(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    data = bytearray((copy / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.tflite").write_bytes(bytes(data))
    log = EventLog(tmp_path / "events.sqlite")
    runtime = ProductRuntime(FixedArtifact(copy), fallback_skus=STATIC, monitor=log)

    first = runtime.rank("u1", USER)
    assert not first.ok and first.source == "fallback"
    assert first.items == STATIC[:5]  # the configured order, cut to the model's K
    assert "sha256" in first.error and first.scores is None
    eligible_only = runtime.rank("u2", USER, eligible=[100001, 100002, 100003])
    assert eligible_only.items == [100003, 100001, 100002]  # configured order, eligible SKUs only
    log.flush()
    (summary,) = summarize(log.events())
    assert (summary.requests, summary.success_rate, summary.failures) == (2, 0.0, 2)
    assert summary.version == json.loads((copy / "manifest.json").read_text())["version"]  # its content identity
    assert "ArtifactError" in summary.top_error


def test_missing_model_without_static_list_falls_back_to_the_catalogue(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    (copy / "model.tflite").unlink()
    ranking = ProductRuntime(FixedArtifact(copy)).rank("u", USER)
    catalogue = json.loads((copy / "manifest.json").read_text())["sku_ids"]
    assert not ranking.ok and ranking.items == catalogue[:5] and "cannot read" in ranking.error


def test_missing_artifact_directory_and_bad_inputs_never_raise(run, tmp_path):
    log = EventLog(tmp_path / "events.sqlite")
    gone = ProductRuntime(FixedArtifact(tmp_path / "nowhere"), fallback_skus=STATIC, monitor=log)
    assert gone.rank("u", USER).items == STATIC  # K unknown without a manifest: the whole list
    runtime = ProductRuntime(FixedArtifact(run.artifact), fallback_skus=STATIC, monitor=log)
    for bad_attributes, bad_eligible in ((["not", "a", "mapping"], None), (USER, "100001"), (USER, [object()])):
        ranking = runtime.rank("u", bad_attributes, bad_eligible)
        assert not ranking.ok and ranking.items and ranking.error
    assert runtime.rank("u", USER).ok  # the model itself is fine
    log.flush()
    by_version = {s.version: s for s in summarize(log.events())}
    assert by_version["unavailable"].failures == 1
    served = runtime.source.resolve().version
    assert by_version[served].requests == 4 and by_version[served].failures == 3


def test_store_file_replaced_with_its_manifest_is_caught_by_the_registry_checksum(run, tmp_path):
    store = ModelStore(tmp_path / "store")
    record, _ = store.publish(run.artifact)
    other, _ = store.publish(run.int8)  # a valid model with a manifest of its own
    for name in ("model.tflite", "manifest.json"):  # swap v1's files for v2's, manifest included
        target = record.path / name
        target.parent.chmod(0o755)
        target.chmod(0o644)
        target.write_bytes((other.path / name).read_bytes())
    ranking = ProductRuntime(StoreSource(store, "product_topk"), fallback_skus=STATIC).rank("u", USER)
    assert ranking.version == "v2"  # latest version: untouched, serves
    assert ranking.ok
    source = StoreSource(store, "product_topk")
    store.set_rollout("product_topk", Rollout.parse(["1=100"], "s"))
    source.refresh()
    tampered = ProductRuntime(source, fallback_skus=STATIC).rank("u", USER)
    assert not tampered.ok and "registry published" in tampered.error
