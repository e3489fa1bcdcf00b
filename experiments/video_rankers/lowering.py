"""Which LiteRT ops each PyTorch construct of a beam step lowers to (litert-torch 0.10).

Converts one tiny graph per construct, at the beam step's shapes (K x M = 4 x 50 options, a
16-wide context), and prints the op list of its ``.tflite``: the table of
``experiments/video_rankers/search_graph.md``.

    python experiments/video_rankers/lowering.py
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import torch
from ai_edge_litert.tools.flatbuffer_utils import opcode_to_name, read_model
from torch.nn import functional as F

from edgerank.export.convert import to_tflite

ROWS, INDEX = torch.randn(200, 16), torch.tensor([3, 7, 150, 2])
VALUES = torch.randn(200)
CONSTRUCTS = {
    "x[idx] (advanced indexing)": (lambda x, i: x[i], ROWS, INDEX),
    "torch.index_select(x, 0, idx)": (lambda x, i: torch.index_select(x, 0, i), ROWS, INDEX),
    "torch.take / torch.gather (1-d)": (lambda v, i: torch.take(v, i), VALUES, INDEX),
    "F.embedding(idx, x)": (lambda x, i: F.embedding(i, x), ROWS, INDEX),
    "idx // 50 (int)": (lambda i: i // 50, INDEX),
    "idx % 50 (int)": (lambda i: i % 50, INDEX),
    "(arange(M) == idx[:, None]).float()": (lambda i: (torch.arange(50).unsqueeze(0) == i.unsqueeze(1)).float(), INDEX),
    "torch.where(c, x, -1e9)": (lambda v: torch.where(v > 0, v, -1.0e9), VALUES),
    "topk of [1, 200]": (lambda v: torch.topk(v.reshape(1, -1), 5, dim=1), VALUES),
    "topk of [200]": (lambda v: torch.topk(v, 5), VALUES),
    "matmul [1, N, W] @ [T, W, H]": (lambda a, b: torch.matmul(a, b), torch.randn(1, 200, 32), torch.randn(3, 32, 16)),
    "matmul [M, 1, K, W] @ [T, W, H]": (lambda a, b: torch.matmul(a, b), torch.randn(50, 1, 4, 32), torch.randn(3, 32, 16)),
    "x.expand(4, 50)": (lambda a: a.expand(4, 50) + 0, torch.randn(1, 50)),
    "torch.stack([a, b], 1)": (lambda a, b: torch.stack([a, b], 1), torch.randn(4), torch.randn(4)),
    "torch.arange(4).clamp_max(2)": (lambda v: v[:4] + torch.arange(4).clamp_max(2), VALUES),
}


class _Call(torch.nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, **inputs: torch.Tensor):
        return self.fn(*inputs.values())


def lowering(fn, *args: torch.Tensor) -> list[str]:
    sample = {f"x{i}": a.numpy() for i, a in enumerate(args)}
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()):
        model = read_model(str(to_tflite(_Call(fn).eval(), sample, Path(tmp) / "m.tflite")))
    names = [opcode_to_name(model, i) for i in range(len(model.operatorCodes))]
    return [names[op.opcodeIndex] for op in model.subgraphs[0].operators]


if __name__ == "__main__":
    print("| construct | LiteRT ops |\n| --- | --- |")
    for name, (fn, *args) in CONSTRUCTS.items():
        try:
            ops = ", ".join(lowering(fn, *args))
        except Exception as exc:  # a construct LiteRT cannot run is a result too
            ops = f"fails: {type(exc).__name__}"
        print(f"| `{name}` | {ops} |")
