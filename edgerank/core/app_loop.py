"""The adaptive-beam app loop, in numpy only: what the phone runs around the ``.tflite``.

``prepare`` once, then ``step`` (k beams) while the beams are unstable, then the rest of the list
from the best beam in one go: ``finish`` after ``prepare``, or the completion the last ``step``
returned with its beams. Torch-free so that the app-side runtime can
import it; PyTorch eager evaluation drives the very same loop over eager modules, so both sides
execute identical control flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from edgerank.core.runners import Runners

BLOCKED = -1.0e9  # ListReward of an impossible extension (placed twice, padded slot)
NO_TIE = 3.0e38  # tie margin of a search that never had to choose between close values
BEAM_FIELDS = ("reward", "survive", "open", "context")
SIGNATURES = ("prepare", "step", "finish")  # of an adaptive-beam .tflite, in call order
REST_PREFIX = "rest_"  # a step's outputs that complete its best beam, named as finish's outputs after it


@dataclass
class RankedSlots:
    """One request's result: candidate slots in display order (-1 where none is left)."""

    slots: np.ndarray  # [n] int
    gains: np.ndarray  # [n] ListReward gained at each position, as the model believes
    evaluations: int  # candidate scorings spent
    margin: float = NO_TIE  # smallest top-k margin met on the way (parity: near ties)


def drive(runners: Runners, inputs: Mapping[str, np.ndarray], list_size: int, threshold: float) -> RankedSlots:
    """Run ``prepare``, then ``step`` while the beams are unstable, then ``finish`` once (unless the
    last step already returned the completion of its best beam).

    ``runners`` are a backend's (:mod:`edgerank.graph`), named like the exported signatures:
    ``.tflite`` signature runners on the device, eager PyTorch modules for evaluation, ONNX
    Runtime or ExecuTorch in the benchmark. Narrowing to the best beam happens once
    ``stability > threshold``; ``finish`` then fills every remaining position from that beam in
    one call. Each expansion's (parent, item, gain) rows are kept and only the best list is
    walked back at the end, so the loop's own Python stays small next to the calls.
    """
    out = runners["prepare"](**inputs)
    state_names, beam_names = _passed_on(tuple(out))
    shared = {k: out[k] for k in state_names}
    num_valid = int(np.count_nonzero(out["valid"] > 0.5))
    needed = min(list_size, num_valid)  # past num_valid positions stay empty (-1)
    evaluations = num_valid  # the first expansion scores every candidate once
    trail: list[tuple[list[int] | None, list[int], list[float]]] = [(None, out["item"].tolist(), out["gain"].tolist())]
    margin = float(out["margin"][0])
    rest_items: list[int] = []
    rest_gains: list[float] = []
    while len(trail) < needed:
        if float(out["stability"][0]) > threshold:  # beams are sorted: row 0 is the best
            rest = needed - len(trail)
            if f"{REST_PREFIX}items" in out:  # a step carries its best beam's completion (prepare, and older files, do not)
                done = {k.removeprefix(REST_PREFIX): v for k, v in out.items() if k.startswith(REST_PREFIX)}
            else:
                done = runners["finish"](**shared, **{k: out[k][:1] for k in beam_names})
            evaluations += num_valid * rest
            rest_items, rest_gains = done["items"][:rest].tolist(), done["gains"][:rest].tolist()
            margin = min(margin, *done["margins"][:rest].tolist())
            break
        evaluations += num_valid * len(out["beam_reward"])
        out = runners["step"](**shared, **{k: out[k] for k in beam_names})
        trail.append((out["parent"].tolist(), out["item"].tolist(), out["gain"].tolist()))
        margin = min(margin, float(out["margin"][0]))
    items, gains = _best_list(trail)
    placed = [(s, g) if g > BLOCKED / 2 else (-1, 0.0) for s, g in zip(items + rest_items, gains + rest_gains)]
    placed += [(-1, 0.0)] * (list_size - len(placed))  # past the valid candidates
    return RankedSlots(slots=np.array([s for s, _ in placed], dtype=np.int64), gains=np.array([g for _, g in placed], dtype=np.float32),
                       evaluations=evaluations, margin=margin)


@lru_cache(maxsize=16)
def _passed_on(prepared: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which of ``prepare``'s outputs every later call takes (the per-request state; files
    exported before the scorer's state carried it also pass ``item_context``) and which are the
    beams, passed through under the file's own names."""
    state = tuple(k for k in prepared if k.startswith("state_") or k in ("item_context", "valid"))
    return state, tuple(k for k in prepared if k.startswith("beam_"))


def _best_list(trail: list[tuple[list[int] | None, list[int], list[float]]]) -> tuple[list[int], list[float]]:
    """Slots and gains of the best final beam (row 0), walked back through each step's parents."""
    beam, items, gains = 0, [], []
    for parent, item, gain in reversed(trail):
        items.append(item[beam])
        gains.append(gain[beam])
        if parent is not None:
            beam = parent[beam]
    return items[::-1], gains[::-1]
