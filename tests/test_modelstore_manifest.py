"""``publish`` accepts only artifacts the runtime can use: the manifest matches its scenario's
schema (else exit 2 naming the field), and the model reproduces the outputs the export recorded
on its reference requests (else exit 3), even when whoever changed it re-signed the checksums."""

from __future__ import annotations

import json

import numpy as np
import pytest

from appside_fixtures import tiny_run
from conftest import run_cli
from edgerank.core.manifest import sha256
from edgerank.modelstore import ModelStore, PublishError
from edgerank.modelstore.checks import ManifestError
from video_runtime_fixtures import ranker_artifact, tiny_video_run


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def registry(args, tmp_path):
    return run_cli(["--store", str(tmp_path / "store"), *args], cwd=tmp_path, timeout=120, module="edgerank.registry")


def edited(run, tmp_path, edit, int8=False):
    copy = run.copy_artifact(tmp_path / "artifact", int8=int8)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def resign(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.update(sha256=sha256(copy / "model.tflite"), size_bytes=(copy / "model.tflite").stat().st_size)
    (copy / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda m: m.pop("encoder"), "'encoder' is a required property"),
        (lambda m: m.update(quantization="yes"), "field 'quantization': 'yes' is not of type 'object'"),
        (lambda m: m.update(model_file="../../elsewhere/model.tflite"), "field 'model_file'"),
        (lambda m: m.update(sku_ids=["a", "b"]), "field 'sku_ids.0'"),
        (lambda m: m["encoder"].update(dim=7), "do not fit the encoder dim"),
        (lambda m: m.update(scenario="weather"), "'weather' has no manifest schema"),
        (lambda m: m.pop("reference_requests"), "'reference_requests' is a required property"),
        (lambda m: m["parity"].update(passed="yes"), "field 'parity.passed'"),
        # the replay's tolerance is not the manifest's to widen: 1e9 would accept any float output
        (lambda m: m["reference_requests"].update(float_atol=1e9), "field 'reference_requests.float_atol'"),
    ],
)
def test_a_manifest_outside_its_schema_is_exit_2_naming_the_field(run, tmp_path, edit, field):
    copy = edited(run, tmp_path, edit)
    done = registry(["publish", str(copy)], tmp_path)
    assert done.returncode == 2, done.stderr
    assert field in done.stderr and "manifest.json" in done.stderr and "Traceback" not in done.stderr
    assert ModelStore(tmp_path / "store").versions() == []


def test_a_manifest_that_misdeclares_the_model_signature_is_refused(run, tmp_path):
    def shrink(manifest):
        manifest["outputs"][0]["shape"] = [1, 3]

    with pytest.raises(ManifestError, match="field 'outputs' says"):
        ModelStore(tmp_path / "store").publish(edited(run, tmp_path, shrink))


def corrupt_weights(path):
    """Negate the largest weight tensor in place: the file still loads, and computes garbage."""
    from ai_edge_litert.interpreter import Interpreter

    data = path.read_bytes()
    interpreter = Interpreter(model_path=str(path))
    weights = []
    for detail in interpreter.get_tensor_details():
        try:
            tensor = interpreter.get_tensor(detail["index"])
        except ValueError:  # activations have no data before a call
            continue
        if tensor.nbytes > 256 and data.find(tensor.tobytes()) >= 0:
            weights.append(tensor)
    largest = max(weights, key=lambda t: t.nbytes)
    changed = (-largest.astype(np.float64) * 3).clip(np.iinfo(largest.dtype).min, np.iinfo(largest.dtype).max) \
        if np.issubdtype(largest.dtype, np.integer) else -3 * largest
    at = data.find(largest.tobytes())
    path.write_bytes(data[:at] + changed.astype(largest.dtype).tobytes() + data[at + largest.nbytes :])


@pytest.mark.parametrize("int8", [False, True])
def test_corrupted_and_re_signed_weights_are_refused(run, tmp_path, int8):
    copy = run.copy_artifact(tmp_path / "artifact", int8=int8)
    corrupt_weights(copy / "model.tflite")
    resign(copy)
    done = registry(["publish", str(copy)], tmp_path)
    assert done.returncode == 3, done.stderr
    assert "does not reproduce the outputs recorded at export" in done.stderr and "Traceback" not in done.stderr
    assert ModelStore(tmp_path / "store").versions() == []


def test_a_changed_reference_file_is_refused(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact")
    with np.load(copy / "reference_requests.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["output/scores"] = arrays["output/scores"] * 0.5
    np.savez(copy / "reference_requests.npz", **arrays)
    with pytest.raises(PublishError, match="reference_requests.sha256"):
        ModelStore(tmp_path / "store").publish(copy)


def test_the_export_keeps_reference_requests_and_the_store_keeps_them_too(run, tmp_path):
    manifest = json.loads((run.artifact / "manifest.json").read_text())
    reference = manifest["reference_requests"]
    assert reference["requests"] == 16 and reference["signature"]
    with np.load(run.artifact / reference["file"]) as data:
        assert sorted(data.files) == ["input/eligible", "input/features", "output/scores", "output/sku_ids"]
        assert data["input/features"].shape[:2] == (16, 1)
    record, _ = ModelStore(tmp_path / "store").publish(run.artifact)
    assert sha256(record.path / reference["file"]) == reference["sha256"]


def test_video_artifacts_plain_and_adaptive_beam_pass_their_schema(tmp_path_factory, tmp_path):
    store = ModelStore(tmp_path / "store")
    plain = tiny_video_run(tmp_path_factory)
    record, created = store.publish(plain.artifact)
    assert created and record.name == "video_rerank"
    adaptive, _ = ranker_artifact(plain, tmp_path_factory, "adaptive_beam")
    manifest = json.loads((adaptive / "manifest.json").read_text())
    assert manifest["reference_requests"]["signature"] == "prepare"
    record, created = store.publish(adaptive)
    assert created and record.name == "video_adaptive_beam"
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(plain.artifact, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["fixed_shapes"] = {"candidates": 0, "seq_len": 4}
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match="field 'fixed_shapes.candidates'"):
        store.publish(broken)
