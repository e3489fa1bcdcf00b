"""``export.quantize=int8``: a smaller model with its own parity report, published only within tolerance."""

from __future__ import annotations

import json

import pytest

from appside_fixtures import tiny_run
from edgerank.errors import ConfigError, ParityError
from edgerank.training.exported_metrics import choice_evaluator
from edgerank.export.quantized_artifact import export_quantized
from edgerank.export.quantize import check_tolerances, quantize_tflite
from edgerank.export.reference import load_graph, load_samples
from edgerank.modelstore import ModelStore, PublishError


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def test_int8_artifact_and_its_report(run):
    float_manifest = json.loads((run.artifact / "manifest.json").read_text())
    manifest = json.loads((run.int8 / "manifest.json").read_text())
    report, quant = manifest["parity"], manifest["quantization"]
    assert quant["mode"] == "int8" and quant["passed"] and quant["float_sha256"] == float_manifest["sha256"]
    assert manifest["size_bytes"] == (run.int8 / "model.tflite").stat().st_size
    assert report["size_ratio"] == pytest.approx(manifest["size_bytes"] / float_manifest["size_bytes"]) and report["size_ratio"] < 0.5
    assert 0 < report["max_abs_err"] <= report["tolerances"]["max_abs_err"]
    assert report["overlap_at_k"] >= 0.9 and 0.0 <= report["lists_identical"] <= 1.0
    # the float .tflite reproduces the training loop's test metrics; deltas are int8 - float
    assert report["metrics_float"]["test/top5"] == pytest.approx(run.metrics["test/top5"], abs=0.006)
    assert set(report["metric_deltas"]) == {"test/top1", "test/top5"}
    assert manifest["metrics"]["test/top5"] == report["metrics_quantized"]["test/top5"]  # its own metrics
    assert manifest["encoder"] == float_manifest["encoder"] and manifest["inputs"] == float_manifest["inputs"]
    assert json.loads((run.run_dir / "quant_report.json").read_text())["passed"] is True


def test_out_of_tolerance_int8_is_not_published(run, tmp_path):
    graph, samples = load_graph(run.run_dir), load_samples(run.run_dir)
    float_manifest = json.loads((run.artifact / "manifest.json").read_text())
    strict = {"max_abs_err": 1e-7, "min_overlap_at_k": 1.0, "max_metric_drop": 0.0, "max_size_ratio": 0.6}
    destination = tmp_path / "artifact_int8"
    with pytest.raises(ParityError, match="max_abs_err .* > 1e-07.*no int8 artifact was published"):
        export_quantized(graph, samples, run.artifact, destination, float_manifest, mode="int8",
                         tolerances=strict, evaluator=choice_evaluator(run.datamodule(), graph))
    assert not destination.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".artifact")]
    report = json.loads((tmp_path / "quant_report.json").read_text())
    assert report["passed"] is False and report["violations"]


def test_registry_refuses_an_int8_artifact_outside_tolerance(run, tmp_path):
    copy = run.copy_artifact(tmp_path / "artifact_int8", int8=True)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["quantization"].update(passed=False, violations=["test/top5 drops by 0.04 > 0.01"])
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match="quantization.passed is not true.*drops by 0.04"):
        ModelStore(tmp_path / "store").publish(copy)


def test_weight_only_mode_and_config_errors(run, tmp_path):
    out = quantize_tflite(run.artifact / "model.tflite", tmp_path / "wo.tflite", "int8_weight_only")
    assert out.stat().st_size < 0.6 * (run.artifact / "model.tflite").stat().st_size
    with pytest.raises(ConfigError, match="export.quantize: unknown mode 'int4'"):
        quantize_tflite(run.artifact / "model.tflite", tmp_path / "x.tflite", "int4")
    with pytest.raises(ConfigError, match="export.quantization.max_error"):
        check_tolerances({"max_error": 1})
    with pytest.raises(ConfigError, match="export.quantization.min_overlap_at_k"):
        check_tolerances({"max_abs_err": 0.1, "max_metric_drop": 0.1, "max_size_ratio": 0.6})
