"""The runners every LiteRT caller gets (runtime, export parity, benchmark) compute what LiteRT's
own ``SignatureRunner`` computes, on every call, for one signature and for several."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch
from torch import nn

from edgerank.core.runners import SINGLE, FixedShapeRunner, signature_runners
from edgerank.export.convert import to_tflite
from edgerank.graph import OnDeviceGraph


class Affine(nn.Module):
    """A layer XNNPACK packs at load, and a table LiteRT reads from the model's bytes on each call."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 3)
        self.register_buffer("table", torch.randn(128, 64))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        rows = nn.functional.embedding((mask * 100.0).to(torch.int64).reshape(-1), self.table)
        return {"score": torch.sigmoid(self.linear(x)) * mask, "total": self.linear(x).sum(-1), "rows": rows}


class TwoSignatures(nn.Module, OnDeviceGraph):
    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = Affine(), nn.Linear(3, 2)

    def signature_modules(self) -> dict[str, nn.Module]:
        return {"first": self.first, "second": Second(self.second)}

    def signature_samples(self, sample):
        return {"first": dict(sample), "second": {"h": np.zeros((1, 3), np.float32)}}


class Second(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": self.layer(h)}


def _requests(n: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [{"x": rng.normal(size=(1, 6)).astype(np.float32), "mask": (rng.random((1, 3)) > 0.3).astype(np.float32)} for _ in range(n)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    torch.manual_seed(0)
    where = tmp_path_factory.mktemp("runners")
    sample = _requests(1)[0]
    return to_tflite(Affine().eval(), sample, where / "one.tflite"), to_tflite(TwoSignatures().eval(), sample, where / "two.tflite")


def _litert(path, **kwargs):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path), num_threads=1, **kwargs)


def test_every_call_gives_what_the_signature_runner_gives(files):
    one, _ = files
    reference = signature_runners(_litert(one), fixed_shape=False)[SINGLE]  # LiteRT's own, as the benchmark's reference
    runner = signature_runners(_litert(one))[SINGLE]
    assert isinstance(runner, FixedShapeRunner) and not isinstance(reference, FixedShapeRunner)
    kept = []
    for request in _requests(12):
        got, expected = runner(**request), reference(**request)
        assert got.keys() == expected.keys() == {"score", "total", "rows"}
        for name in got:
            np.testing.assert_array_equal(got[name], expected[name])
        kept.append((got, expected))
    for got, expected in kept:  # outputs are copies: a later call does not overwrite them
        np.testing.assert_array_equal(got["score"], expected["score"])


def test_a_runner_keeps_the_model_bytes_alive(files):
    """An interpreter built from bytes owns them; a runner must outlive the ``Interpreter`` object
    the caller dropped (the runtime keeps only its runners)."""
    from ai_edge_litert.interpreter import Interpreter

    one, _ = files
    reference = _litert(one).get_signature_runner()
    runner = signature_runners(Interpreter(model_content=one.read_bytes(), num_threads=1))[SINGLE]
    gc.collect()
    _ = [b"\xff" * one.stat().st_size for _ in range(50)]  # NaN bytes into the freed memory, were it freed
    for request in _requests(5):
        got, expected = runner(**request), reference(**request)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name])


def test_several_signatures_each_run_their_own_graph(files):
    _, two = files
    interpreter = _litert(two)
    runners = signature_runners(interpreter)
    assert set(runners) == {"first", "second"}
    h = np.array([[0.5, -1.0, 2.0]], np.float32)
    np.testing.assert_allclose(runners["second"](h=h)["out"], interpreter.get_signature_runner("second")(h=h)["out"], rtol=0, atol=0)
    assert set(signature_runners(interpreter, ["second"])) == {"second"}


def test_wrong_inputs_fail_with_the_names_or_the_dimension(files):
    one, _ = files
    runner = signature_runners(_litert(one))[SINGLE]
    request = _requests(1)[0]
    with pytest.raises(ValueError, match=r"signature inputs are \['mask', 'x'\], got \['x'\]"):
        runner(x=request["x"])
    with pytest.raises(ValueError, match="[Dd]imension mismatch"):
        runner(x=np.zeros((1, 7), np.float32), mask=request["mask"])


def test_a_litert_laid_out_otherwise_gets_its_own_signature_runner():
    class Plain:
        def __call__(self, **inputs):
            return {"y": inputs["x"] * 2}

    class Interpreter:
        def get_signature_list(self):
            return {"serving_default": {}}

        def get_signature_runner(self, key=None):
            return Plain()

    runner = signature_runners(Interpreter())[SINGLE]
    assert isinstance(runner, Plain) and runner(x=np.ones(2))["y"].tolist() == [2.0, 2.0]
