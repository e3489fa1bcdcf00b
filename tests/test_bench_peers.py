"""``python -m edgerank.bench RUN_DIR --peers``: ONNX Runtime and ExecuTorch beside the ``.tflite``.

The default tests export to ONNX only (seconds); ExecuTorch's lowering takes tens of seconds, so
the run with every peer, and the app-loop (multi-signature) ranker, are marked slow. Where a
peer is not installed the JSON must say so with a reason rather than fail.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from appside_fixtures import tiny_run
from conftest import run_cli
from edgerank.graph import SINGLE, OnDeviceGraph

PEERS = ("onnxruntime", "executorch")
HAS_ORT = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime", "onnxscript"))


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def _bench(run, tmp_path, *peers: str) -> dict:
    args = [str(run.run_dir), "--requests", "60", "--warmup", "5", "--threads", "1", "--no-memory", "--no-floor", "--peers", *peers]
    done = run_cli(args, tmp_path, 300, module="edgerank.bench")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # exporter progress and native logs must not reach stdout


def _assert_result_or_reason(block: dict) -> None:
    for name in PEERS:
        peer = block[name]
        if not peer["available"] or not peer.get("converted", False):
            assert peer["reason"], peer
            continue
        assert peer["size_bytes"] > 0 and peer["size_over_tflite"] > 0
        assert peer["latency_ms"]["1"]["p50"] <= peer["latency_ms"]["1"]["p95"]
        assert peer["p50_over_tflite"] > 0
        assert "max_abs_err" in peer["accuracy"]


def test_peers_onnxruntime_matches_pytorch(run, tmp_path):
    result = _bench(run, tmp_path, "onnxruntime")
    assert not {"signatures", "peak_gflops", "floor_ratio"} & set(result)  # --no-floor
    block = result["peers"]
    _assert_result_or_reason(block)
    assert block["executorch"] == {"available": False, "reason": "not selected (--peers onnxruntime)"}
    assert {"tflite_float32", "torch_eager"} <= set(block["latency_ms"])
    ort = block["onnxruntime"]
    if not HAS_ORT:
        assert ort["available"] is False and "not installed" in ort["reason"]
        return
    assert ort["converted"], ort
    accuracy = ort["accuracy"]
    from edgerank.export.reference import load_samples

    held_out = len(load_samples(run.run_dir))  # the 60 timed requests cycle these; each is checked once
    assert accuracy["max_abs_err"] < 1e-5 and accuracy["requests"] == block["checked_requests"] == held_out
    assert accuracy["lists_identical"] == 1.0 and accuracy["divergent"] == 0  # same SKU lists
    assert accuracy["passed"]
    assert set(block["latency_ms"]) == {"tflite_float32", "torch_eager", "onnxruntime"}


def test_missing_peer_is_reported_not_raised(monkeypatch):
    from edgerank.bench.peers import executorch as executorch_peer
    from edgerank.bench.peers import onnx as onnx_peer

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("onnxruntime", "executorch") else real(name, *a))
    onnx_reason, executorch_reason = onnx_peer.unavailable(), executorch_peer.unavailable()
    assert onnx_reason.startswith("not installed: ") and "onnxruntime" in onnx_reason  # whatever else is missing
    assert executorch_reason.startswith("not installed: ") and "executorch" in executorch_reason


def test_no_reference_graph_gives_a_reason_per_peer(tmp_path):
    from edgerank.bench.peers import run_peers

    block = run_peers(None, [], tmp_path / "model.tflite", lambda t: None)
    assert set(block) == set(PEERS)
    assert all(not p["available"] and "graph.pt" in p["reason"] for p in block.values())


def _installed(name: str) -> bool:
    from edgerank.bench.peers import PEERS as MODULES

    return MODULES[name].unavailable() is None


@pytest.mark.slow
def test_every_peer_on_the_product_run(run, tmp_path):
    block = _bench(run, tmp_path)["peers"]
    _assert_result_or_reason(block)
    for name in PEERS:
        assert block[name]["available"] is _installed(name), block[name]
        if _installed(name):  # an installed peer must convert the product graph and match PyTorch
            assert block[name]["converted"], block[name]
            assert block[name]["accuracy"]["max_abs_err"] < 1e-5 and block[name]["accuracy"]["lists_identical"] == 1.0


@pytest.mark.slow
def test_app_loop_ranker_runs_on_every_peer():
    """Adaptive beam search (three signatures driven by a numpy loop) runs the same loop on each peer."""
    import torch

    from edgerank.bench.peers import compare_peers
    from edgerank.rankers.adaptive_beam import AdaptiveBeamRanker
    from ranker_fixtures import ToyScorer, request

    torch.manual_seed(0)
    graph = AdaptiveBeamRanker(ToyScorer().eval(), list_size=5, beam_size=3, threshold=0.7).eval().on_device()
    requests = [request(i) for i in range(30)]
    block = compare_peers(graph, requests, {"torch_eager": graph.reference}, tflite_size=1, warmup=2, rounds=1)
    assert "tflite_float32" not in block["latency_ms"]  # no .tflite given: no ratio to report
    _assert_result_or_reason({k: {**v, "p50_over_tflite": 1} if v.get("converted") else v for k, v in block.items() if k in PEERS})
    for name in PEERS:
        if _installed(name):
            assert block[name]["converted"], block[name]
            assert block[name]["export"]["signatures"] == ["prepare", "step", "finish"]
            assert block[name]["accuracy"]["passed"], block[name]["accuracy"]


def _ranking(order, gains, margin):
    return {"ranked": np.array([order], np.int32), "gains": np.array([gains], np.float32), "margin": np.array([margin], np.float32)}


class Answers(OnDeviceGraph):
    """A one-signature ranker graph whose backends answer each request from a list."""

    ranked_lists = {"ranked": "gains"}
    tie_margin_output = "margin"


def _backend(answers):
    return {SINGLE: lambda i: answers[int(i[0])]}


@pytest.mark.parametrize("margin, verdict", [(1e-7, "near_ties"), (0.1, "divergent")])
def test_peer_lists_are_judged_by_the_parity_tie_margin_rule(margin, verdict):
    """A list that differs where PyTorch's own top-k margin was below float error is a near tie,
    as in export parity (its later gains differ legitimately); with a clear margin it diverges.
    The peer's accuracy block is export parity's own report of the same pair of backends."""
    from edgerank.bench.peers.accuracy import accuracy
    from edgerank.export.parity import compare

    expected = _ranking([0, 1, 2], [1.0, 0.5, 0.2], margin)
    other = _ranking([0, 2, 1], [1.0, 0.3, 0.2], margin)
    same = _ranking([3, 4, 5], [0.9, 0.4, 0.1], margin)
    requests = [{"i": np.array([0])}, {"i": np.array([1])}]
    torch_side, peer_side = _backend([expected, same]), _backend([other, same])
    report = accuracy(Answers(), torch_side, peer_side, requests)
    assert report[verdict] == 1 and report["near_ties"] + report["divergent"] == 1
    assert report["lists_identical"] == 0.5
    assert report["passed"] is (verdict == "near_ties")  # a near tie's gains are not float errors
    assert report["max_abs_err"] == (0.0 if verdict == "near_ties" else pytest.approx(0.2))
    parity = compare(Answers(), torch_side, peer_side, requests).report  # what export parity would say
    assert (parity.near_ties, parity.divergent, parity.lists_identical, parity.passed, parity.max_abs_err) == (
        report["near_ties"], report["divergent"], report["lists_identical"], report["passed"], report["max_abs_err"])
