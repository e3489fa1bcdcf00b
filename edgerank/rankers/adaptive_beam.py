"""``adaptive_beam``: beam search that stops widening once its beams agree.

After each expansion, ``stability = min(beam rewards) / max(beam rewards)``. Once it exceeds
``threshold`` the k beams are about equally good, so more width buys little: the search keeps
only the best beam and completes the list from it with width 1 (each remaining position takes
the candidate with the largest ListReward gain under that beam's context). That saves
``(k - 1) * m`` candidate scorings per remaining position.

``torch.cond``/``while_loop`` have no lowering in litert-torch 0.10, so one unrolled graph would
always pay for the full search. On the device the saving is made real by exporting three
signatures in one ``.tflite`` - ``prepare`` (per-request work and the first expansion),
``step`` (one expansion of k beams) and ``finish`` (the rest of the list from the best beam, width
1, in one call) - and driving them with :func:`edgerank.core.app_loop.drive`, a small numpy loop
that the app runs; :class:`AdaptiveBeamGraph` (an :class:`edgerank.graph.OnDeviceGraph`) runs
that loop over any backend's runners - eager PyTorch, LiteRT, ONNX Runtime, ExecuTorch - so
every side executes the same control flow.
``finish`` always runs ``list_size - 1`` width-1 expansions (static shapes) and the loop keeps the
ones it needs: at one fixed call cost per request, that is cheaper than a call per position once
a step costs tens of microseconds. ``step`` carries the same completion of its best new beam, so a
request that narrows after a step is done without a ``finish`` call.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from edgerank.graph import OnDeviceGraph, Runners, eager, eager_runners
from edgerank.rankers.base import SearchResult
from edgerank.rankers.beam import BeamSearchRanker
from edgerank.core.app_loop import BEAM_FIELDS, REST_PREFIX, RankedSlots, drive
from edgerank.rankers.options import AdaptiveBeamOptions
from edgerank.rankers.search import Beams, Expansion, SearchContext, expand, tie_margin, unrolled
from edgerank.registry import register_ranker


@register_ranker("adaptive_beam", description="Beam search that narrows to the best beam once min/max beam reward > threshold")
class AdaptiveBeamRanker(BeamSearchRanker):
    Options = AdaptiveBeamOptions

    @torch.no_grad()
    def rank(self, inputs: dict[str, torch.Tensor]) -> RankedSlots:
        return drive(eager_runners(self.on_device()), {k: v.numpy() for k, v in inputs.items()}, self.list_size, self.threshold)

    def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
        ranking = self.rank(inputs)
        return SearchResult(torch.from_numpy(ranking.slots), torch.from_numpy(ranking.gains), margin=torch.tensor([ranking.margin]))

    def on_device(self) -> "AdaptiveBeamGraph":
        return AdaptiveBeamGraph(self)


class AdaptiveBeamGraph(nn.Module, OnDeviceGraph):
    """The exported form: three signatures in one file, driven by the app loop
    :func:`edgerank.core.app_loop.drive` over any backend's runners."""

    ranked_lists = {"ranked": "gains"}
    tie_margin_output = "margin"

    def __init__(self, ranker: AdaptiveBeamRanker) -> None:
        super().__init__()
        self.ranker = ranker

    def signature_modules(self) -> dict[str, nn.Module]:
        """The three graphs exported into one ``.tflite`` file, in call order (``loop.SIGNATURES``)."""
        r = self.ranker
        return {"prepare": PrepareSignature(r), "step": StepSignature(r), "finish": FinishSignature(r)}

    @torch.no_grad()
    def signature_samples(self, sample: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        prepared = eager(PrepareSignature(self.ranker))(**sample)
        shared = {k: v for k, v in prepared.items() if k.startswith("state_") or k == "valid"}
        beams = {f"beam_{f}": prepared[f"beam_{f}"] for f in BEAM_FIELDS}
        return {
            "prepare": dict(sample),
            "step": {**shared, **beams},
            "finish": {**shared, **{k: v[:1] for k, v in beams.items()}},
        }

    def drive(self, runners: Runners, request: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        ranking = drive(runners, request, self.ranker.list_size, self.ranker.threshold)
        return {
            "ranked": ranking.slots.astype(np.int32)[None, :],
            "gains": ranking.gains.astype(np.float32)[None, :],
            "evaluations": np.array([ranking.evaluations], dtype=np.int32),
            "margin": np.array([ranking.margin], dtype=np.float32),
        }


def _beam_outputs(step: Expansion) -> dict[str, torch.Tensor]:
    out = {f"beam_{f}": getattr(step.beams, f) for f in BEAM_FIELDS}
    out.update(parent=step.parent.to(torch.int32), item=step.item.to(torch.int32), gain=step.gain, margin=tie_margin(step.ranked))
    out["stability"] = step.beams.stability().reshape(1)
    return out


class _SignatureModule(nn.Module):
    """The module of one signature of the adaptive-beam file, built from the ranker's scorer and options."""

    def __init__(self, ranker: AdaptiveBeamRanker) -> None:
        super().__init__()
        self.ranker = ranker


class PrepareSignature(_SignatureModule):
    """Request inputs -> per-request state (``state_*``, ``valid``) and the first expansion."""

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        r = self.ranker
        ctx = r.context(inputs)
        expanded = expand(ctx, ctx.empty_list(), r.beam_size)
        out = {f"state_{k}": v for k, v in ctx.state.items()}
        out["valid"] = ctx.valid
        return {**out, **_beam_outputs(expanded)}


class StepSignature(_SignatureModule):
    """One expansion of the k beams, from the prepared state, and the rest of the list from the
    best new beam (``rest_items``, ``rest_gains``, ``rest_margins``: what ``finish`` would return
    for it). Most requests that step narrow after one step; they then need no ``finish`` call,
    which takes ~12 µs off the median request's ~330 (experiments/video_rankers/
    search_graph.md), and the few that step again throw a completion away."""

    def forward(self, **tensors: torch.Tensor) -> dict[str, torch.Tensor]:
        ctx, beams = _unpack(self.ranker, tensors)
        step = expand(ctx, beams, self.ranker.beam_size)
        best = Beams(*(getattr(step.beams, f)[:1] for f in BEAM_FIELDS))
        rest = _completion(ctx, best, self.ranker.list_size - 2)
        return {**_beam_outputs(step), **{f"{REST_PREFIX}{k}": v for k, v in rest.items()}}


class FinishSignature(_SignatureModule):
    """The rest of the list from one beam with width 1: ``list_size - 1`` expansions unrolled
    (``items``, ``gains`` and each expansion's tie ``margins``; the loop keeps those it needs)."""

    def forward(self, **tensors: torch.Tensor) -> dict[str, torch.Tensor]:
        ctx, beam = _unpack(self.ranker, tensors)
        return _completion(ctx, beam, self.ranker.list_size - 1)


def _completion(ctx: SearchContext, beam: Beams, positions: int) -> dict[str, torch.Tensor]:
    """``positions`` width-1 expansions from ``beam``: ``items``, ``gains`` and each expansion's tie
    ``margins`` (at least one expansion: a list that never needs it still gets a graph)."""
    slots, gains, margins = unrolled(ctx, beam, 1, max(positions, 1))
    return {"items": slots[0].to(torch.int32), "gains": gains[0], "margins": margins}


def _unpack(ranker: AdaptiveBeamRanker, tensors: Mapping[str, torch.Tensor]) -> tuple[SearchContext, Beams]:
    """The search context and beams a ``step``/``finish`` signature receives as inputs."""
    state = {k[len("state_"):]: v for k, v in tensors.items() if k.startswith("state_")}
    ctx = SearchContext(ranker.scorer, state, ranker.scorer.item_context(state), tensors["valid"], ranker.alpha, ranker.beta)
    return ctx, Beams(*(tensors[f"beam_{f}"] for f in BEAM_FIELDS))
