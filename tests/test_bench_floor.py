"""``python -m edgerank.bench RUN_DIR`` on re-ranker runs: ops, XNNPACK partitions and the floor.

The product run's figures are checked in :mod:`test_bench_cli` (with the hand count of its MLP);
here the beam graph (hundreds of ops, the scorer unrolled per position) and, slow, the adaptive
graph's three signatures and its unrolled twin.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import run_cli
from test_bench_cli import check_floor
from video_runtime_fixtures import tiny_video_run


def _bench(run_dir, tmp_path) -> dict:
    done = run_cli([str(run_dir), "--requests", "40", "--warmup", "5", "--threads", "1", "--no-memory"], tmp_path, 600, module="edgerank.bench")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_beam_floor(tmp_path_factory, tmp_path):
    result = _bench(tiny_video_run(tmp_path_factory, "beam").run_dir, tmp_path)
    check_floor(result)
    beam = result["signatures"]["serving_default"]
    assert beam["ops"] > 100 and beam["op_counts"]["FULLY_CONNECTED"] > 3  # towers, attention and MMoE
    # FlopCounterMode on eager and the shapes of the .tflite count the same multiply-adds
    assert result["macs_per_request"] == result["macs_per_request_tflite"] == beam["macs_per_call"]


class _Mixes(torch.nn.Module):
    """The matmuls of a ta_mmoe_ctx beam step: a fully-connected layer on a 3-d input, two gate
    mixes sharing their per-request operand, and a matmul broadcast over a constant."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(16, 12)
        self.register_buffer("towers", torch.randn(3, 32, 16))

    def forward(self, context, mixture, interaction):
        gates = self.layer(context).reshape(3, 4, 4)
        return torch.bmm(gates, mixture), torch.bmm(gates * 2.0, mixture), torch.matmul(interaction, self.towers)


def _same_matmuls(rebuilt, original) -> None:
    """The same kinds, shapes, constants and sharing of operands, and nothing but matmuls."""
    from edgerank.bench.reference_graphs import signature_matmuls
    from edgerank.bench.tflite_ops import describe

    def layout(path):
        ops = signature_matmuls(path)["serving_default"]
        ids = {}
        return [(op.name, op.shape, tuple((o.shape, o.constant, ids.setdefault(o.tensor, len(ids))) for o in op.operands)) for op in ops]

    assert layout(rebuilt) == layout(original)
    assert set(describe(rebuilt)["serving_default"]["op_counts"]) == {name for name, _, _ in layout(original)}


def test_the_matmul_graph_holds_the_files_matmuls_and_nothing_else(tmp_path_factory, tmp_path):
    from edgerank.bench.reference_graphs import matmul_file, signature_matmuls
    from edgerank.export.convert import to_tflite

    sample = {"context": np.random.rand(4, 16), "mixture": np.random.rand(3, 4, 800), "interaction": np.random.rand(1, 200, 32)}
    mixes = to_tflite(_Mixes().eval(), {k: v.astype(np.float32) for k, v in sample.items()}, tmp_path / "mixes.tflite")
    beam = tiny_video_run(tmp_path_factory, "beam").artifact / "model.tflite"
    for name, original in {"mixes": mixes, "beam": beam}.items():
        ops = signature_matmuls(original)["serving_default"]
        _same_matmuls(matmul_file(ops, tmp_path / f"{name}_matmuls.tflite"), original)
    assert {op.name for op in signature_matmuls(mixes)["serving_default"]} == {"FULLY_CONNECTED", "BATCH_MATMUL"}


def test_the_peak_chain_is_converted_once_per_layer(tmp_path, monkeypatch):
    """An adaptive-beam benchmark prices its file and its unrolled twin on the same chain: the
    second asks for it at the same widths and gets the first conversion's bytes."""
    from edgerank.bench import reference_graphs

    conversions = []
    convert = reference_graphs._convert
    monkeypatch.setattr(reference_graphs, "_convert", lambda *args: conversions.append(args[2]) or convert(*args))
    reference_graphs._peak_model.cache_clear()
    first, first_info = reference_graphs.peak_file((200, 128, 256), tmp_path / "first.tflite")
    second, second_info = reference_graphs.peak_file((200, 128, 256), tmp_path / "second.tflite")
    other, _ = reference_graphs.peak_file((200, 128, 192), tmp_path / "other.tflite")
    assert len(conversions) == 2 and first_info == second_info
    assert first.read_bytes() == second.read_bytes() != other.read_bytes()
    assert first_info["shape"] == [256, 128, 256] and first_info["layers"] == 2 and first_info["macs"] == 256 * 128 * 256 * 2


@pytest.mark.slow
def test_adaptive_floor_and_its_unrolled_twin(tmp_path_factory, tmp_path):
    result = _bench(tiny_video_run(tmp_path_factory, "adaptive_beam").run_dir, tmp_path)
    check_floor(result)
    assert set(result["signatures"]) == {"prepare", "step", "finish"}
    calls = result["calls_per_request"]
    assert calls["prepare"] == 1 and calls["finish"] <= 1 and 0 <= calls.get("step", 0) <= 9  # list_size 10
    expected = sum(result["signatures"][name]["macs_per_call"] * n for name, n in calls.items())
    assert result["macs_per_request"] == pytest.approx(expected, rel=1e-6) == result["macs_per_request_tflite"]
    twin = result["adaptive_vs_beam"]["beam_floor"]
    check_floor(twin)  # its own turns with the peak chain and its matmuls
    assert twin["signatures"]["serving_default"]["ops"] > max(s["ops"] for s in result["signatures"].values())
