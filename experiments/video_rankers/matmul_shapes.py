"""Each matmul shape of a ``.tflite``, alone in LiteRT: µs per op and GFLOP/s against the peak.

    python experiments/video_rankers/matmul_shapes.py RUN_DIR/artifact/model.tflite [more.tflite ...]

Per distinct (op, batch x rows x inner x cols) of the files: a graph of ``COPIES`` copies of it
and nothing else (:func:`edgerank.bench.reference_graphs.matmul_file`), timed in turns with the
bench's peak chain (:func:`edgerank.bench.reference_graphs.peak_file`), its ``invoke`` p50 divided
by the copies. Prints a markdown table per file, costliest shape first; a file's sum is its
matmuls for one call of each signature (the bench weighs signatures by their calls).
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from edgerank.bench.floor import floor_us_of, gflops_of
from edgerank.bench.reference_graphs import invoker, matmul_file, peak_file, signature_matmuls
from edgerank.bench.tflite_ops import MatmulOp, dominant_layer
from edgerank.bench.timing import time_interleaved

COPIES = 8  # per graph: the per-op figure is not one call's overhead
CALLS = 400


def kind(op: MatmulOp) -> tuple:
    """What decides an op's cost: its name, shape, operand shapes and which operand is stored."""
    return op.name, op.shape, tuple((o.shape, o.constant) for o in op.operands), op.adjoint


def copies(op: MatmulOp) -> list[MatmulOp]:
    """``COPIES`` of ``op``, each with operands of its own (shared ones would be merged)."""
    return [replace(op, operands=tuple(replace(o, tensor=2 * c + i) for i, o in enumerate(op.operands))) for c in range(COPIES)]


def main(files: list[Path]) -> str:
    found = {f: [op for ops in signature_matmuls(f).values() for op in ops] for f in files}
    counts = {f: Counter(kind(op) for op in ops) for f, ops in found.items()}
    examples = {kind(op): op for ops in found.values() for op in ops}
    with tempfile.TemporaryDirectory() as tmp:
        chain, peak = peak_file(dominant_layer(files), Path(tmp) / "peak.tflite")
        turns = {"peak": invoker(chain)} | {k: invoker(matmul_file(copies(op), Path(tmp) / f"{i}.tflite")) for i, (k, op) in enumerate(examples.items())}
        p50 = {k: v["p50"] * 1000 for k, v in time_interleaved(turns, [None] * CALLS, warmup=50).items()}
    gflops = gflops_of(peak["macs"], p50["peak"])
    tables = []
    for f, ops in counts.items():
        rows, total, macs = [], 0.0, 0
        for k, count in ops.items():
            (name, shape, operands, _), us = k, p50[k] / COPIES
            work, stored = shape[0] * shape[1] * shape[2] * shape[3], " (constant)" if operands[1][1] else ""
            rows.append((us * count, f"| {name}{stored} | {' x '.join(map(str, shape))} | {count} | {us:.2f} | {gflops_of(work, us):.0f} | {us * count:.1f} |"))
            total, macs = total + us * count, macs + work * count
        floor = floor_us_of(macs, gflops)
        tables.append("\n".join([
            f"### {f}", "", f"peak {gflops:.0f} GFLOP/s ({' x '.join(map(str, peak['shape']))}); matmuls alone {total:.1f} µs "
            f"against a floor of {floor:.1f} µs ({total / floor:.2f}x)", "",
            "| op (right operand) | batch x rows x inner x cols | count | µs / op | GFLOP/s | µs |", "| --- | --- | --- | --- | --- | --- |",
            *(row for _, row in sorted(rows, reverse=True))]))
    return "\n\n".join(tables)


if __name__ == "__main__":
    print(main([Path(p) for p in sys.argv[1:]]))
