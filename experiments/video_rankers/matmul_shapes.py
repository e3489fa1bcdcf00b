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
from pathlib import Path

from edgerank.bench.reference_graphs import invoker, matmul_file, peak_file, signature_matmuls
from edgerank.bench.tflite_ops import dominant_layer
from edgerank.bench.timing import time_interleaved

COPIES = 8  # per graph: the per-op figure is not one call's overhead
CALLS = 400


def main(files: list[Path]) -> str:
    counts = {f: Counter(op for found in signature_matmuls(f).values() for op in found) for f in files}
    shapes = sorted({op for c in counts.values() for op in c})
    with tempfile.TemporaryDirectory() as tmp:
        chain, peak = peak_file(dominant_layer(files), Path(tmp) / "peak.tflite")
        turns = {"peak": invoker(chain)} | {op: invoker(matmul_file([op] * COPIES, Path(tmp) / f"{i}.tflite")) for i, op in enumerate(shapes)}
        p50 = {k: v["p50"] * 1000 for k, v in time_interleaved(turns, [None] * CALLS, warmup=50).items()}
    gflops = 2 * peak["macs"] / (p50["peak"] * 1e3)
    tables = []
    for f, ops in counts.items():
        rows, total, macs = [], 0.0, 0
        for (name, shape), count in ops.items():
            us, work = p50[(name, shape)] / COPIES, shape[0] * shape[1] * shape[2] * shape[3]
            rows.append((us * count, f"| {name} | {' x '.join(map(str, shape))} | {count} | {us:.2f} | {2 * work / us / 1e3:.0f} | {us * count:.1f} |"))
            total, macs = total + us * count, macs + work * count
        floor = 2 * macs / (gflops * 1e3)
        tables.append("\n".join([
            f"### {f}", "", f"peak {gflops:.0f} GFLOP/s ({' x '.join(map(str, peak['shape']))}); matmuls alone {total:.1f} µs "
            f"against a floor of {floor:.1f} µs ({total / floor:.2f}x)", "",
            "| op | batch x rows x inner x cols | count | µs / op | GFLOP/s | µs |", "| --- | --- | --- | --- | --- | --- |",
            *(row for _, row in sorted(rows, reverse=True))]))
    return "\n\n".join(tables)


if __name__ == "__main__":
    print(main([Path(p) for p in sys.argv[1:]]))
