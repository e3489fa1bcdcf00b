"""Building blocks shared by the short-video re-rankers (``ta_mmoe``, ``dnn``, ``edgerec``).

All three read the same inputs (those of the enabled feature groups, see
:mod:`edgerank.core.video_features`) through :class:`VideoEncoder`, so a comparison between them
is about the architecture only. Written for litert-torch: int32 ids go straight into
``nn.Embedding``; masks are multiplications (no boolean indexing, no data-dependent branches);
recurrences are unrolled over the fixed lengths with separate ``nn.Linear`` per gate (no weight
slicing inside ``forward``); size-1 dims are summed away instead of squeezed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from edgerank.data.video import VideoSpec
from edgerank.core.video_features import TASKS
from edgerank.graph import OnDeviceGraph
from edgerank.models.layers import mlp
from edgerank.registry.given_options import given_options


class VideoEncoder(nn.Module):
    """Turns the enabled inputs into per-candidate, per-watched-item and per-pair vectors.

    - candidate ``[B, M, cand_dim]``: a constant 1 (so the vector is never empty), pXTR, id and
      category embeddings + duration, network speed + preload time;
    - watched item ``[B, L, seq_dim]`` (None without rts and fe): id/category embeddings (shared
      with the candidates), duration, feedback; time gap and position gap;
    - pair (fe only): candidate pXTR minus watched pXTR per task, as its two sides (see :meth:`pairs`).
    """

    def __init__(self, spec: VideoSpec, embed_dim: int = 8) -> None:
        super().__init__()
        self.groups = dict(spec.groups)
        g, t = self.groups, len(TASKS)
        uses_ids = g["static"] or g["rts"]
        self.video_embedding = nn.Embedding(spec.num_videos, embed_dim) if uses_ids else None
        self.category_embedding = nn.Embedding(spec.num_categories, embed_dim) if uses_ids else None
        self.cand_dim = 1 + t * g["pxtr"] + (2 * embed_dim + 1) * g["static"] + 2 * g["csf"]
        self.seq_dim = (2 * embed_dim + 1 + t) * g["rts"] + 2 * g["fe"]
        self.pair_dim = t if g["fe"] else 0
        self.has_sequence = self.seq_dim > 0

    def candidates(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = x["cand_mask"]
        parts = [mask.unsqueeze(-1)]
        if self.groups["pxtr"]:
            parts.append(x["cand_pxtr"])
        if self.groups["static"]:
            parts += [
                self.video_embedding(x["cand_id"]),
                self.category_embedding(x["cand_cat"]),
                x["cand_duration"].unsqueeze(-1),
            ]
        if self.groups["csf"]:
            parts += [x["network_speed"].unsqueeze(-1), x["preload_time"].unsqueeze(-1)]
        return torch.cat(parts, dim=-1)

    def sequence(self, x: dict[str, torch.Tensor]) -> torch.Tensor | None:
        parts = []
        if self.groups["rts"]:
            parts += [
                self.video_embedding(x["seq_id"]),
                self.category_embedding(x["seq_cat"]),
                x["seq_duration"].unsqueeze(-1),
                x["seq_feedback"],
            ]
        if self.groups["fe"]:
            parts += [x["seq_time_gap"].unsqueeze(-1), x["seq_pos_gap"].unsqueeze(-1)]
        return torch.cat(parts, dim=-1) if parts else None

    def pairs(self, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The two sides of the pair feature ``cand_pxtr_i - seq_pxtr_j``: ``([B, M, T], [B, L, T])``.

        Layers take the difference after their (bias-free, linear) projection, which equals
        projecting the ``[B, M, L, T]`` difference but never builds it: the same feature at a
        fraction of the cost.
        """
        if not self.groups["fe"]:
            return None
        return x["cand_pxtr"], x["seq_pxtr"]


class TargetAttention(nn.Module):
    """Each candidate attends over the watched items (DIN-style: additive + product terms).

    ``h_ij = relu(Wq q_i + Wk k_j + (Pq q_i) * (Pk k_j) + Wp p_ij)`` with the pair feature
    ``p_ij = cand_pxtr_i - seq_pxtr_j``, ``Wp p_ij = Wp cand_pxtr_i - Wp seq_pxtr_j``;, ``w_ij = sigmoid(s(h_ij)) *
    seq_mask_j`` and the output is ``sum_j w_ij (Vk k_j + Vp p_ij)``. The product term lets the
    score test *matches* (same category as a liked item), which a purely additive score cannot
    express. Weights are not softmax-normalised, so the output can count matching feedback (an
    empty sequence gives exactly 0, not NaN) and padded positions contribute exactly nothing.
    """

    def __init__(self, query_dim: int, key_dim: int, pair_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_dim, hidden)
        self.key = nn.Linear(key_dim, hidden, bias=False)
        self.query_match = nn.Linear(query_dim, hidden, bias=False)
        self.key_match = nn.Linear(key_dim, hidden, bias=False)
        self.pair_key = nn.Linear(pair_dim, hidden, bias=False) if pair_dim else None
        self.score = nn.Linear(hidden, 1)
        self.value = nn.Linear(key_dim, out_dim)
        self.pair_value = nn.Linear(pair_dim, out_dim, bias=False) if pair_dim else None

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        seq_mask: torch.Tensor,
        pairs: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        q, k = self.query(query), self.key(keys)  # [B, M, H], [B, L, H]
        if self.pair_key is not None and pairs is not None:
            q, k = q + self.pair_key(pairs[0]), k - self.pair_key(pairs[1])
        match = self.query_match(query).unsqueeze(2) * self.key_match(keys).unsqueeze(1)  # [B, M, L, H]
        hidden = q.unsqueeze(2) + k.unsqueeze(1) + match
        values = self.value(keys).unsqueeze(1)  # [B, 1, L, O]
        if self.pair_value is not None and pairs is not None:
            values = values + self.pair_value(pairs[0]).unsqueeze(2) - self.pair_value(pairs[1]).unsqueeze(1)
        weights = torch.sigmoid(self.score(torch.relu(hidden))) * seq_mask.unsqueeze(1).unsqueeze(-1)
        return (weights * values).sum(dim=2)


def watched_attention(encoder: VideoEncoder, hidden: int, out_dim: int) -> TargetAttention | None:
    """The target attention of each candidate over the watched sequence (None without one)."""
    if not encoder.has_sequence:
        return None
    return TargetAttention(encoder.cand_dim, encoder.seq_dim, encoder.pair_dim, hidden, out_dim)


def personalised_dim(encoder: VideoEncoder, attention: TargetAttention | None) -> int:
    """The width ``D`` of :func:`personalised_candidates`' vectors, for the layer that reads them."""
    return encoder.cand_dim + (attention.value.out_features if attention is not None else 0)


def personalised_candidates(encoder: VideoEncoder, attention: TargetAttention | None, x: dict[str, torch.Tensor]) -> torch.Tensor:
    """Candidate vectors with their target attention over the watched sequence: ``[B, M, D]``
    (``D = encoder.cand_dim + attention out_dim``, or ``cand_dim`` alone without a sequence)."""
    cand = encoder.candidates(x)
    if attention is None:
        return cand
    return torch.cat([cand, attention(cand, encoder.sequence(x), x["seq_mask"], encoder.pairs(x))], dim=-1)


class GRUCell(nn.Module):
    """A GRU cell unrolled over a fixed length, written with ``nn.Linear`` (converts cleanly).

    The three gates share one ``nn.Linear`` per input and the activations are cut with
    ``torch.split`` (split on activations lowers fine; slicing *weights* in forward does not).
    """

    def __init__(self, input_dim: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.x_gates = nn.Linear(input_dim, 3 * hidden)
        self.h_gates = nn.Linear(hidden, 3 * hidden)

    def run(self, xs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """All hidden states ``[B, T, H]`` over ``xs`` ``[B, T, D]``, unrolled over the fixed T.

        A masked step keeps the previous state, so padding (anywhere) changes nothing.
        """
        gates_x = self.x_gates(xs)  # [B, T, 3H], computed for all steps at once
        h = xs.new_zeros((xs.shape[0], self.hidden))
        states = []
        for t in range(xs.shape[1]):
            h = h + mask[:, t : t + 1] * self.update(gates_x[:, t], h)  # a masked step keeps h
            states.append(h)
        return torch.stack(states, dim=1)

    def update(self, gates_x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step's change of the state, ``h' - h = (1 - z) (n - h)``, from ``x_gates(x)``."""
        xr, xz, xn = torch.split(gates_x, self.hidden, dim=-1)
        hr, hz, hn = torch.split(self.h_gates(h), self.hidden, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1.0 - z) * (n - h)


class Tower(nn.Module):
    """One task's MLP ``in_dim -> *hidden -> 1 logit``, as its ``first`` layer and the ``rest``.

    The first layer is linear, so a model can push it through a linear mixture of inputs
    (``ta_mmoe_ctx`` projects every expert once per request) and run ``rest`` on the result.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        sizes = [in_dim, *hidden, 1]
        self.first = nn.Linear(sizes[0], sizes[1])
        after = [nn.ReLU(), *([nn.Dropout(dropout)] if dropout > 0 else [])] if len(sizes) > 2 else []
        self.rest = nn.Sequential(*after, *mlp(sizes[1:], dropout))

    @property
    def width(self) -> int:
        """Output width of :attr:`first` (1 when the tower has no hidden layer)."""
        return self.first.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rest(self.first(x))


class TaskHeads(nn.Module):
    """One :class:`Tower` per task: ``[B, M, D]`` (or ``{task: [B, M, D]}``) ``-> {task: logits [B, M]}``."""

    def __init__(self, in_dim: int, hidden: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        self.towers = nn.ModuleDict({t: Tower(in_dim, hidden, dropout) for t in TASKS})

    def forward(self, features: dict[str, torch.Tensor] | torch.Tensor) -> dict[str, torch.Tensor]:
        pick = (lambda t: features[t]) if isinstance(features, dict) else (lambda t: features)
        return {t: self.towers[t](pick(t)).sum(dim=-1) for t in TASKS}


class MMoE(nn.Module):
    """Multi-gate Mixture-of-Experts: shared ``experts``, one softmax gate per task in ``gates``.

    ``forward`` maps ``[..., in_dim]`` to ``{task: [..., expert_dim]}``.
    """

    def __init__(self, in_dim: int, num_experts: int, expert_hidden: Sequence[int], expert_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_dim, self.num_experts, self.expert_dim = in_dim, num_experts, expert_dim
        self.experts = nn.ModuleList(
            mlp([in_dim, *expert_hidden, expert_dim], dropout, last_activation=True) for _ in range(num_experts)
        )
        self.gates = nn.ModuleDict({t: nn.Linear(in_dim, num_experts) for t in TASKS})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        experts = torch.stack([e(x) for e in self.experts], dim=-1)  # [B, M, D, E]
        return {t: (experts * torch.softmax(self.gates[t](x), dim=-1).unsqueeze(-2)).sum(-1) for t in TASKS}


class VideoRerankNet(nn.Module):
    """Base of the re-rankers: ``forward(**inputs) -> {task: logits [B, M]}``.

    A subclass that declares its options (``Options = MyOptions``, a dataclass) gets them as
    :attr:`options`, from the registry's ``options=`` or from keywords (``Net(spec, hidden=[32])``).
    """

    Options: ClassVar[type | None] = None

    def __init__(self, spec: VideoSpec, options: Any = None, **values: Any) -> None:
        super().__init__()
        self.input_names = list(spec.input_names)
        if self.Options is not None:
            self.options = given_options(self.Options, options, values, type(self).__name__)
        elif options is not None or values:
            raise TypeError(f"{type(self).__name__} declares no Options")

    def on_device(self) -> "RerankGraph":
        return RerankGraph(self)


class RerankGraph(nn.Module, OnDeviceGraph):
    """What the app calls: the enabled inputs (by name) -> ``{task: probability [1, M]}``.

    Every possible input is a keyword with default None; the export passes only those of the
    enabled groups, so the ``.tflite`` signature has exactly those names. Padded slots output 0.
    """

    def __init__(self, net: VideoRerankNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self,
        cand_mask: torch.Tensor,
        cand_pxtr: torch.Tensor | None = None,
        cand_id: torch.Tensor | None = None,
        cand_cat: torch.Tensor | None = None,
        cand_duration: torch.Tensor | None = None,
        network_speed: torch.Tensor | None = None,
        preload_time: torch.Tensor | None = None,
        seq_mask: torch.Tensor | None = None,
        seq_id: torch.Tensor | None = None,
        seq_cat: torch.Tensor | None = None,
        seq_duration: torch.Tensor | None = None,
        seq_feedback: torch.Tensor | None = None,
        seq_pxtr: torch.Tensor | None = None,
        seq_time_gap: torch.Tensor | None = None,
        seq_pos_gap: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        given = {k: v for k, v in locals().items() if k not in ("self", "__class__") and v is not None}
        logits = self.net(**given)
        return {t: torch.sigmoid(logits[t]) * cand_mask for t in TASKS}
