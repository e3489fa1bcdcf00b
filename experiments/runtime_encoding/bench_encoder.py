"""Per-request cost of the product encoder against the ``.tflite`` call it feeds.

``python experiments/runtime_encoding/bench_encoder.py [--cities 8640] [--requests 2000]``

Builds a group one-hot encoder with a city block of ``--cities`` values (plus device, gender
and age blocks), exports an untrained ``dense_topk`` graph of that input width, and times, per
request and on one thread: the encoder as the runtime runs it (lookups built once, at load),
the same encoding with the lookups rebuilt per request (how it was done before, the reference),
and the LiteRT call. Prints one JSON object; the median of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def encoder_with(cities: int):
    from edgerank.core.encoder import FeatureGroup, GroupOneHotEncoder

    return GroupOneHotEncoder([
        FeatureGroup("city", vocabulary=[f"city_{i:05d}" for i in range(cities)]),
        FeatureGroup("device", vocabulary=[f"device_{i:03d}" for i in range(200)]),
        FeatureGroup("gender", vocabulary=["f", "m", "x"]),
        FeatureGroup("age", bins=[18.0, 25.0, 35.0, 50.0], vocabulary=["<18", "[18,25)", "[25,35)", "[35,50)", ">=50"]),
    ])


def rebuilt_per_request(encoder, attributes) -> np.ndarray:
    """The reference: the same vector, building every block's lookup for this one request."""
    vector = np.zeros((1, encoder.dim), dtype=np.float32)
    for group, start in zip(encoder.groups, encoder.offsets()):
        lookup = {v: i for i, v in enumerate(group.vocabulary)}
        slot = lookup.get(group.group_value(attributes.get(group.column)))
        vector[0, start + (len(group.vocabulary) if slot is None else slot)] = 1.0
    return vector


def median_ms(call, requests: list[dict], warmup: int = 50) -> float:
    for attributes in requests[:warmup]:
        call(attributes)
    times = []
    for attributes in requests:
        start = time.perf_counter()
        call(attributes)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=8640)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    import torch
    from ai_edge_litert.interpreter import Interpreter

    from edgerank.data.choice import ChoiceSpec
    from edgerank.export.convert import to_tflite
    from edgerank.models.dense_topk import DenseTopK

    encoder = encoder_with(args.cities)
    rng = np.random.default_rng(0)
    requests = [{"city": f"city_{rng.integers(args.cities * 1.1):05d}", "device": f"device_{rng.integers(220):03d}",
                 "gender": "fmx"[rng.integers(3)], "age": float(rng.integers(10, 80))} for _ in range(args.requests)]
    for attributes in requests[:100]:  # both encodings give the same vector
        assert np.array_equal(encoder.encode_one(attributes)[None], rebuilt_per_request(encoder, attributes))

    spec = ChoiceSpec(encoder, np.arange(args.products, dtype=np.int32), [str(i) for i in range(args.products)],
                      np.full(args.products, 1.0 / args.products, np.float32))
    torch.manual_seed(0)
    graph = DenseTopK(spec).on_device().eval()
    eligible = np.ones((1, args.products), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = to_tflite(graph, {"features": encoder.encode_one(requests[0])[None], "eligible": eligible}, Path(tmp) / "model.tflite")
        run = Interpreter(model_content=path.read_bytes(), num_threads=1).get_signature_runner()
    vectors = {id(a): encoder.encode_one(a)[None] for a in requests}

    once = median_ms(encoder.encode_one, requests)
    per_request = median_ms(lambda a: rebuilt_per_request(encoder, a), requests)
    tflite = median_ms(lambda a: run(features=vectors[id(a)], eligible=eligible), requests)
    print(json.dumps({
        "input_dim": encoder.dim, "cities": args.cities, "requests": args.requests,
        "encode_ms_lookups_once": round(once, 4), "encode_ms_lookups_per_request": round(per_request, 4),
        "tflite_call_ms": round(tflite, 4), "speedup": round(per_request / once, 1),
        "encode_over_tflite": round(once / tflite, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
