"""The adaptive-beam app loop, in numpy only: what the phone runs around the ``.tflite``.

``prepare`` once, then ``step`` (k beams) while the beams are unstable, then ``finish`` (the
rest of the list from the best beam, in one call). Torch-free so that the app-side runtime can
import it; PyTorch eager evaluation drives the very same loop over eager modules, so both sides
execute identical control flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from edgerank.core.runners import Runners

BLOCKED = -1.0e9  # ListReward of an impossible extension (placed twice, padded slot)
NO_TIE = 3.0e38  # tie margin of a search that never had to choose between close values
BEAM_FIELDS = ("reward", "survive", "open", "context")
SIGNATURES = ("prepare", "step", "finish")  # of an adaptive-beam .tflite, in call order


@dataclass
class RankedSlots:
    """One request's result: candidate slots in display order (-1 where none is left)."""

    slots: np.ndarray  # [n] int
    gains: np.ndarray  # [n] ListReward gained at each position, as the model believes
    evaluations: int  # candidate scorings spent
    margin: float = NO_TIE  # smallest top-k margin met on the way (parity: near ties)


def drive(runners: Runners, inputs: Mapping[str, np.ndarray], list_size: int, threshold: float) -> RankedSlots:
    """Run ``prepare``, then ``step`` while the beams are unstable, then ``finish`` once.

    ``runners`` are a backend's (:mod:`edgerank.graph`), named like the exported signatures:
    ``.tflite`` signature runners on the device, eager PyTorch modules for evaluation, ONNX
    Runtime or ExecuTorch in the benchmark. Narrowing to the best beam happens once ``stability > threshold``; ``finish`` then fills every remaining
    position from that beam in one call.
    """
    out = runners["prepare"](**inputs)
    shared = {k: v for k, v in out.items() if k.startswith("state_") or k in ("item_context", "valid")}
    num_valid = int(np.sum(out["valid"] > 0.5))
    needed = min(list_size, num_valid)  # past num_valid positions stay empty (-1)
    evaluations = num_valid  # the first expansion scores every candidate once
    slots, gains = out["item"][:, None].astype(np.int64), out["gain"][:, None]
    margin = float(out["margin"][0])
    while slots.shape[1] < needed:
        beams = {k: v for k, v in out.items() if k.startswith("beam_")}  # passed through as the file names them
        if float(out["stability"][0]) > threshold:  # beams are sorted: row 0 is the best
            rest = needed - slots.shape[1]
            done = runners["finish"](**shared, **{k: v[:1] for k, v in beams.items()})
            evaluations += num_valid * rest
            slots = np.concatenate([slots[:1], done["items"][None, :rest].astype(np.int64)], axis=1)
            gains = np.concatenate([gains[:1], done["gains"][None, :rest]], axis=1)
            margin = min(margin, float(np.min(done["margins"][:rest])))
            break
        evaluations += num_valid * len(beams["beam_reward"])
        out = runners["step"](**shared, **beams)
        parent = out["parent"].astype(np.int64)
        slots = np.concatenate([slots[parent], out["item"][:, None]], axis=1)
        gains = np.concatenate([gains[parent], out["gain"][:, None]], axis=1)
        margin = min(margin, float(out["margin"][0]))
    best, gained = np.full(list_size, -1, dtype=np.int64), np.zeros(list_size, dtype=np.float32)
    possible = gains[0] > BLOCKED / 2  # np.pad would cost more than the loop itself
    best[: slots.shape[1]] = np.where(possible, slots[0], -1)
    gained[: slots.shape[1]] = np.where(possible, gains[0], 0.0)
    return RankedSlots(slots=best, gains=gained, evaluations=evaluations, margin=margin)

