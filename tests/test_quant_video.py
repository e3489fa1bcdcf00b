"""Int8 on the video scenario: its report carries test-metric deltas measured through the
interpreter, and the float .tflite reproduces the training loop's metrics."""

from __future__ import annotations

import json

import pytest

from edgerank.pipeline import run
from test_video_end_to_end import SMALL_DATA, TASKS


def test_int8_video_artifact_reports_metric_deltas(make_cfg, tmp_path):
    cfg = make_cfg(
        "+experiment=video_rerank", *SMALL_DATA, "trainer.max_epochs=2",
        "export.quantize=int8", "export.quantization.max_abs_err=0.2",
    )
    metrics = run(cfg, tmp_path)
    report = json.loads((tmp_path / "quant_report.json").read_text())
    keys = {f"test/{t}/{m}" for t in TASKS for m in ("auc", "gauc")}
    assert set(report["metric_deltas"]) == keys
    for key in keys:  # the float .tflite, one request at a time, equals the training loop's test metrics
        assert report["metrics_float"][key] == pytest.approx(metrics[key], abs=1e-4)
        assert abs(report["metric_deltas"][key]) < 0.01
    assert report["passed"] and report["size_ratio"] < 0.7
    manifest = json.loads((tmp_path / "artifact_int8" / "manifest.json").read_text())
    assert manifest["quantization"]["mode"] == "int8" and manifest["parity"]["passed"]


def test_int8_quantizes_an_id_embedding_table_per_table_not_per_row(tmp_path):
    """A 65,536-bucket id table (data=video_log's hashed ids): per-row scales and zero points would
    be 12 bytes beside each row's 8 int8 weights (0.62x the float file, over the 0.6 gate); one
    scale per table keeps int8 near 1/4 of the float size, lookups within a quantization step."""
    import litert_torch
    import numpy as np
    import torch
    from ai_edge_litert.interpreter import Interpreter

    from edgerank.export.quantize import MODES, quantize_tflite

    class Lookup(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Embedding(65536, 8)
            self.head = torch.nn.Linear(8, 1)

        def forward(self, ids):
            return {"score": self.head(self.table(ids)).sum(-1)}

    torch.manual_seed(0)
    graph = Lookup().eval()
    ids = torch.randint(0, 65536, (1, 50), dtype=torch.int32)
    float_path = tmp_path / "model.tflite"
    litert_torch.convert(graph, (), sample_kwargs={"ids": ids}).export(str(float_path))
    want = graph(ids)["score"].detach().numpy()
    step = float(graph.table.weight.abs().max()) / 127 * float(graph.head.weight.abs().sum())
    for mode in [m for m in MODES if m.startswith("int8")]:  # fp16 keeps 2 bytes a weight (0.5x)
        path = quantize_tflite(float_path, tmp_path / f"{mode}.tflite", mode, calibration=[{"ids": ids.numpy()}])
        ratio = path.stat().st_size / float_path.stat().st_size
        got = Interpreter(model_path=str(path)).get_signature_runner()(ids=ids.numpy())["score"]
        assert ratio < 0.3, (mode, ratio)
        assert np.abs(got - want).max() < step, mode
