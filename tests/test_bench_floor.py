"""``python -m edgerank.bench RUN_DIR`` on re-ranker runs: ops, XNNPACK partitions and the floor.

The product run's figures are checked in :mod:`test_bench_cli` (with the hand count of its MLP);
here the beam graph (hundreds of ops, the scorer unrolled per position) and, slow, the adaptive
graph's three signatures and its unrolled twin.
"""

from __future__ import annotations

import json

import pytest

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


def test_the_matmul_graph_holds_the_files_matmuls_and_nothing_else(tmp_path_factory, tmp_path):
    from collections import Counter

    from edgerank.bench.reference_graphs import matmul_file, signature_matmuls
    from edgerank.bench.tflite_ops import describe

    beam = tiny_video_run(tmp_path_factory, "beam").artifact / "model.tflite"
    ops = signature_matmuls(beam)["serving_default"]
    in_file = describe(beam)["serving_default"]["op_counts"]
    assert Counter(name for name, _ in ops) == {k: in_file[k] for k in ("FULLY_CONNECTED", "BATCH_MATMUL") if k in in_file}
    mix = [("BATCH_MATMUL", (3, 4, 4, 850)), ("BATCH_MATMUL", (3, 4, 4, 850))]  # ta_mmoe_ctx's gate mix, twice
    for name, wanted in {"beam": ops, "mix": ops[:2] + mix}.items():
        rebuilt = matmul_file(wanted, tmp_path / f"{name}.tflite")
        assert Counter(signature_matmuls(rebuilt)["serving_default"]) == Counter(wanted)  # same kinds and shapes, none merged
        assert set(describe(rebuilt)["serving_default"]["op_counts"]) == {n for n, _ in wanted}  # and nothing else


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
