"""``python -m edgerank.bench RUN_DIR`` runs and prints its keys (a benchmark, not a timed test)."""

from __future__ import annotations

import json

import pytest

from appside_fixtures import tiny_run
from conftest import run_cli


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def check_latency_and_sizes(result: dict) -> None:
    """What every bench run prints: float, int8 and eager latency on 1 and 2 threads, sizes, headline."""
    assert set(result["latency_ms"]) == {"tflite_float32", "tflite_int8", "torch_eager"}
    for runtime in result["latency_ms"].values():
        assert set(runtime) == {"1", "2"} and all(runtime[t]["p50"] <= runtime[t]["p95"] for t in runtime)
    assert set(result["torch_over_tflite_p50"]) == {"1", "2"}
    assert result["model_bytes"]["int8"] < result["model_bytes"]["float32"] == result["size_bytes"]
    assert 0 < result["model_bytes"]["int8_over_float32"] < 1
    assert result["tflite_p50_us"] > 0 and result["speedup"] == pytest.approx(result["torch_p50_us"] / result["tflite_p50_us"], rel=0.01)
    runners = result["runners"]  # LiteRT's SignatureRunner against FixedShapeRunner, in turns
    assert runners["signature_runner_p50_us"] > 0 and runners["fixed_shape_runner_p50_us"] > 0
    assert runners["signature_runner_over_fixed"] == pytest.approx(
        runners["signature_runner_p50_us"] / runners["fixed_shape_runner_p50_us"], rel=0.02)


def check_floor(result: dict) -> None:
    """The distance to the floor (edgerank.bench.floor): sane, self-consistent numbers."""
    assert result["signatures"], result
    for signature in result["signatures"].values():
        assert signature["ops"] == sum(signature["op_counts"].values()) > 0
        assert isinstance(signature["xnnpack_partitions"], int) and 1 <= signature["xnnpack_partitions"] <= signature["ops"]
        assert signature["macs_per_call"] >= 0  # adaptive step/finish: ListReward bookkeeping, no matmul
    assert max(s["macs_per_call"] for s in result["signatures"].values()) > 0
    peak = result["peak"]
    assert result["peak_gflops"] == peak["gflops"] > 1  # any CPU of this decade, loaded or not
    assert peak["gflops"] == pytest.approx(2 * peak["shape"][0] * peak["layers"] * peak["shape"][1] * peak["shape"][2] / (peak["p50_us"] * 1e3), rel=0.02)
    assert result["floor_us"] == pytest.approx(2 * result["macs_per_request"] / (result["peak_gflops"] * 1e3), rel=1e-3, abs=1e-3)
    assert result["floor_ratio"] == pytest.approx(result["floor_p50_us"] / result["floor_us"], rel=0.02)
    assert result["floor_ratio"] > 1  # nothing runs faster than its arithmetic at peak
    # the matmuls alone (edgerank.bench.reference_graphs), in the same turns: below peak at the graph's small shapes
    assert result["matmul_over_floor"] == pytest.approx(result["matmul_us"] / result["floor_us"], rel=0.02)
    assert result["matmul_share"] == pytest.approx(result["matmul_us"] / result["floor_p50_us"], rel=0.02)
    assert result["matmul_over_floor"] > 1


def test_bench_prints_latency_and_size_json(run, tmp_path):
    done = run_cli([str(run.run_dir), "--requests", "60", "--warmup", "5", "--no-memory"], tmp_path, 300, module="edgerank.bench")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)  # stdout is the JSON alone; the progress bar is on stderr
    assert "bench:" in done.stderr and "it/s" in done.stderr
    noise = ["[START]", "torchao", "triton", "absl", "oneDNN", "XNNPACK delegate"]  # in bench.log, not on the terminal
    assert [word for word in noise if word in done.stderr] == [], done.stderr[-3000:]
    assert "[START] LiteRT-Torch Convert" in (run.run_dir / "bench.log").read_text()  # the floor's reference chain
    check_latency_and_sizes(result)
    assert result["request_source"].startswith("held-out parity requests")
    assert result["peak_memory_mb"] == {}
    check_floor(result)
    from torch import nn

    from edgerank.export.reference import load_graph

    linears = [m for m in load_graph(run.run_dir).modules() if isinstance(m, nn.Linear)]
    d, n = linears[0].in_features, linears[-1].out_features
    assert [(m.in_features, m.out_features) for m in linears] == [(d, 64), (64, 128), (128, n)]
    # the product MLP by hand: softmax, masking and top-k are no multiply-adds on either side
    assert result["macs_per_request"] == result["macs_per_request_tflite"] == d * 64 + 64 * 128 + 128 * n
    assert result["signatures"]["serving_default"]["op_counts"]["FULLY_CONNECTED"] == 3


def test_tflite_peak_memory_probe(run):
    from edgerank.bench.memory import measure

    probe = measure("tflite", run.artifact / "model.tflite", run.run_dir / "reference" / "samples.npz", 1, timeout=60)
    assert "error" not in probe, probe
    assert probe["peak_rss_mb"] >= probe["baseline_rss_mb"] > 0 and probe["load_mb"] >= 0


@pytest.mark.slow
def test_bench_full_with_memory_and_peers_note(run, tmp_path):
    done = run_cli([str(run.run_dir), "--requests", "60", "--warmup", "5", "--peers"], tmp_path, 300, module="edgerank.bench")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    check_latency_and_sizes(result)
    for probe in result["peak_memory_mb"].values():
        assert "error" not in probe and probe["peak_rss_mb"] >= probe["baseline_rss_mb"] > 0
    assert {"onnxruntime", "executorch"} <= set(result["peers"])
    assert result["request_source"].startswith("held-out parity requests")


def test_bench_names_a_directory_without_artifact(tmp_path):
    done = run_cli([str(tmp_path)], tmp_path, 120, module="edgerank.bench")
    assert done.returncode == 2 and "no artifact/manifest.json" in done.stderr


def test_bench_exits_non_zero_when_a_requested_figure_is_not_measured(run, monkeypatch, capsys):
    import edgerank.bench.core as core
    from edgerank.bench.__main__ import main

    monkeypatch.setattr(core, "measure", lambda kind, *args: {"error": f"probe exited 1: no {kind} today"})
    assert main([str(run.run_dir), "--requests", "20", "--warmup", "2", "--threads", "1"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["latency_ms"]["tflite_float32"]["1"]["p50"] > 0  # what was measured is still printed
    assert "edgerank.bench: error: not measured: peak_memory_mb.tflite_float32: probe exited 1: no tflite today" in err
    assert "peak_memory_mb.torch_eager" in err
