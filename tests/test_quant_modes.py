"""``export.quantize=fp16`` and ``int8_static``: what each recipe really puts in the file, and the
gate judging it on its real numbers (the tiny product run of ``appside_fixtures``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from appside_fixtures import tiny_run
from edgerank.errors import ParityError
from edgerank.export.quantize import quantize_tflite
from edgerank.export.quantized_artifact import export_quantized
from edgerank.export.reference import load_graph, load_samples
from edgerank.training.exported_metrics import choice_evaluator

@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def _publish(run, destination, mode, tolerances):
    graph, samples = load_graph(run.run_dir), load_samples(run.run_dir)
    float_manifest = json.loads((run.artifact / "manifest.json").read_text())
    return export_quantized(graph, samples, run.artifact, destination, float_manifest, mode=mode,
                            tolerances=tolerances, evaluator=choice_evaluator(run.datamodule(), graph))


def _ops(path):
    """``(op, input dtypes, output dtypes)`` of every op of the file, as the interpreter loads it."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    dtype = {t["index"]: np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    return [(op["op_name"], [dtype[i] for i in op["inputs"] if i >= 0], [dtype[i] for i in op["outputs"]])
            for op in interpreter._get_ops_details()]


def test_fp16_is_near_float_parity_and_passes_the_default_gate(run, tmp_path):
    int8 = json.loads((run.int8 / "manifest.json").read_text())["parity"]
    tolerances = int8["tolerances"]  # the run's own (default) int8 tolerances
    report = _publish(run, tmp_path / "artifact_fp16", "fp16", tolerances)
    assert report["passed"] and report["recipe"] == "weight_only_wf16_afp32"
    # float16 weights round at 2^-11 relative: far below int8's 2^-7 steps on the same model
    assert report["max_abs_err"] < int8["max_abs_err"] / 10 and report["max_abs_err"] < 1e-3
    assert report["lists_identical"] >= int8["lists_identical"] and report["overlap_at_k"] >= 0.99
    assert 0.45 < report["size_ratio"] < 0.6  # half the weights' bytes, plus the graph
    assert all(abs(d) < 0.002 for d in report["metric_deltas"].values())
    fully_connected = [op for op in _ops(tmp_path / "artifact_fp16" / "model.tflite") if op[0] == "FULLY_CONNECTED"]
    assert fully_connected and all(ins[0] == "float32" for _, ins, _ in fully_connected)  # float compute
    manifest = json.loads((tmp_path / "artifact_fp16" / "manifest.json").read_text())
    assert manifest["quantization"]["mode"] == "fp16" and manifest["inputs"] == json.loads((run.artifact / "manifest.json").read_text())["inputs"]


def test_int8_static_runs_integer_matmuls_with_float_io_within_the_default_gate(run, tmp_path):
    samples = load_samples(run.run_dir)
    static = quantize_tflite(run.artifact / "model.tflite", tmp_path / "static.tflite", "int8_static", calibration=samples)
    dynamic = run.int8 / "model.tflite"
    for path, activations in ((static, "int8"), (dynamic, "float32")):
        fully_connected = [op for op in _ops(path) if op[0] == "FULLY_CONNECTED"]
        assert fully_connected and all(ins[:2] == [activations, "int8"] and outs == [activations] for _, ins, outs in fully_connected), path
    ops = _ops(static)
    assert ops[0][0] == "QUANTIZE" and ops[0][1] == ["float32"]  # the app still feeds float32 features
    # ranges are min/max over the calibration requests: their moving average (the library's
    # default over a list) saturates scores, max abs err 0.060 on this model (0.0046 by min/max)
    tolerances = json.loads((run.int8 / "manifest.json").read_text())["parity"]["tolerances"]
    report = _publish(run, tmp_path / "artifact_int8_static", "int8_static", tolerances)
    assert report["passed"] and report["recipe"] == "static_wi8_ai8" and report["size_ratio"] < 0.5
    assert 1e-3 < report["max_abs_err"] <= 0.02 and report["overlap_at_k"] >= 0.9
    manifest = json.loads((tmp_path / "artifact_int8_static" / "manifest.json").read_text())
    assert manifest["quantization"]["mode"] == "int8_static" and manifest["metrics"]["test/top5"] == report["metrics_quantized"]["test/top5"]


def test_int8_static_is_refused_where_fp16_passes(run, tmp_path):
    """At fp16's error level (test above: < 1e-3) the gate refuses int8 activations, on their real error."""
    tolerances = {**json.loads((run.int8 / "manifest.json").read_text())["parity"]["tolerances"], "max_abs_err": 1e-3}
    destination = tmp_path / "artifact_int8_static"
    with pytest.raises(ParityError, match=r"int8_static: .*max_abs_err \S+ > 0\.001.*no int8_static artifact was published"):
        _publish(run, destination, "int8_static", tolerances)
    assert not destination.exists()
    report = json.loads((tmp_path / "quant_report.json").read_text())
    assert report["mode"] == "int8_static" and not report["passed"] and report["max_abs_err"] > 1e-3


def test_int8_static_without_calibration_or_with_several_signatures_is_refused(run, tmp_path):
    import litert_torch
    import torch

    with pytest.raises(ParityError, match="int8_static needs calibration requests"):
        quantize_tflite(run.artifact / "model.tflite", tmp_path / "x.tflite", "int8_static")
    sample = {"input": torch.ones(1, 4)}
    converted = litert_torch.signature("first", torch.nn.Linear(4, 2).eval(), (), sample_kwargs=sample)
    two = tmp_path / "two.tflite"
    converted.signature("second", torch.nn.Linear(4, 3).eval(), (), sample_kwargs=sample).convert().export(str(two))
    with pytest.raises(ParityError, match=r"int8_static calibrates one signature; two\.tflite has 2 \(first, second\)"):
        quantize_tflite(two, tmp_path / "y.tflite", "int8_static", calibration=[{"input": np.ones((1, 4), np.float32)}])
    assert not (tmp_path / "y.tflite").exists()
    fp16 = quantize_tflite(two, tmp_path / "z.tflite", "fp16")  # a weight-only recipe needs no calibration
    assert ["float16"] in [ins for op, ins, _ in _ops(fp16) if op == "DEQUANTIZE"]  # float16 weights, cast up to compute
