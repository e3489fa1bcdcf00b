"""``ta_mmoe_ctx``: ``ta_mmoe`` that also sees the partial list, for generative re-ranking.

The ranking context of the item at position i is the watched sequence *plus the items already
placed at positions 1..i-1* (Kuaishou, CIKM 2022). Here the placed items enter as a context
vector c - the sum of each placed item's ``item_context`` (a small MLP of its features, with a
constant column that counts them) - after the experts, in two places:

- every task's gate: which experts to trust depends on what was already shown;
- a context layer ``relu(A x_m + B c)`` of width ``context_width``, where the candidate x_m
  meets the context (e.g. "a video of this category was just placed"), added to every tower's
  first layer.

The experts never see the context, so they run once per request (:meth:`ContextScorerOf.prepare`,
with the target attention before them). The towers' first layer is linear and the gate weights
sum to one, so it is pushed through the mixture once per request too:
``W (sum_e g_e x_e) + b = sum_e g_e (W x_e + b)``. A beam step then costs a ``K x M x E x H``
mix plus the context layer instead of the experts' ``K x M x D x H_expert`` layers: one step
of k = 4 beams over m = 50 candidates (with the search bookkeeping) takes ~30 us on one core
(experiments/video_rankers/search_graph.md), against 300 us with the context inside the experts' first layer (which reaches a slightly
higher true ListReward: see experiments/video_rankers).

Training sees the context the logged labels were produced under: the exposed head of each
request (``exposed`` = 1) was watched in slot order, so slot i's context is the exposed slots
before it; every other candidate is labelled at the request's moment, i.e. with an empty list.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from edgerank.models.api import TASKS, TAMMoEContextOptions, TargetAttentionMMoE, VideoSpec, mlp, register_model


@register_model("ta_mmoe_ctx", description="ta_mmoe with the partial list as context (for beam / adaptive_beam rankers)")
class ContextualTAMMoE(TargetAttentionMMoE):
    training_inputs = ("exposed",)  # batches carry it; the exported graphs do not take it

    Options = TAMMoEContextOptions

    def __init__(self, spec: VideoSpec, options: TAMMoEContextOptions | None = None, **values: Any) -> None:
        super().__init__(spec, options, **values)
        o = self.options
        self.context_dim = o.context_dim
        tasks = len(TASKS)
        self.num_experts = self.mmoe.num_experts
        self.tower_width = self.heads.towers[TASKS[0]].width
        in_dim = self.mmoe.in_dim
        self.item_projection = mlp([in_dim, *o.context_hidden, o.context_dim - 1])
        self.context_gates = nn.Linear(o.context_dim, tasks * self.num_experts, bias=False)
        width = o.context_width
        self.context_candidate = nn.Linear(in_dim, width)  # the candidate's half of the context layer
        self.context_layer = nn.Linear(o.context_dim, width, bias=False)
        self.context_towers = nn.Linear(width, tasks * self.tower_width, bias=False)

    # -- shared pieces ---------------------------------------------------------------------------
    def item_contexts(self, features: torch.Tensor) -> torch.Tensor:
        """What placing each candidate adds to the context: ``[..., M, C]`` (last column counts)."""
        learned = torch.tanh(self.item_projection(features))
        return torch.cat([learned, torch.ones_like(learned[..., :1])], dim=-1)

    def candidate_state(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything that does not depend on the partial list, for ``N`` candidates ``[N, D]``."""
        n, tasks, experts = features.shape[0], len(TASKS), self.num_experts
        outputs = torch.stack([expert(features) for expert in self.mmoe.experts], dim=1)  # [N, E, D]
        projected = _side_by_side(outputs, [self.heads.towers[t].first for t in TASKS])  # every tower's first layer
        projected = projected.reshape(n, experts, tasks, self.tower_width).permute(0, 2, 1, 3)  # [N, T, E, H]
        gate_logits = _side_by_side(features, [self.mmoe.gates[t] for t in TASKS])  # every task's gate
        return {
            "projected": projected,
            "gate_logits": _shift_down(gate_logits).reshape(n, tasks, 1, experts),
            "item_context": self.item_contexts(features),
            "context_candidate": self.context_candidate(features).reshape(n, 1, -1),
        }

    def context_logits(self, state: dict[str, torch.Tensor], context: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, K, T]`` of the N candidates of ``state`` under K contexts.

        ``context`` is ``[1, K, C]`` (every candidate under each of K partial lists: a beam step)
        or ``[N, 1, C]`` (each candidate under its own: training). The layout keeps every
        broadcast small and the mix one batched matmul; the gates' softmax is spelled out as
        exp / sum because LiteRT's SOFTMAX over a 4-wide axis costs more than the whole mix.
        """
        n, k = state["projected"].shape[0], context.shape[1]
        tasks, experts, width = len(TASKS), self.num_experts, self.tower_width
        by_task = lambda x, size: x.reshape(x.shape[0], k, tasks, size).permute(0, 2, 1, 3)  # noqa: E731
        # both parts shifted to max 0 per row: the softmax is unchanged and exp cannot overflow
        weights = torch.exp(state["gate_logits"] + by_task(_shift_down(self.context_gates(context)), experts))  # [N, T, K, E]
        mixed = torch.bmm(weights.reshape(n * tasks, k, experts), state["projected"].reshape(n * tasks, experts, width))
        total = weights.sum(-1, keepdim=True).clamp_min(1e-30)  # 0 only if every weight underflowed
        interaction = torch.relu(state["context_candidate"] + self.context_layer(context))  # [N, K, W]
        hidden = mixed.reshape(n, tasks, k, width) / total + by_task(self.context_towers(interaction), width)
        return torch.cat([self.heads.towers[t].rest(hidden[:, i]) for i, t in enumerate(TASKS)], dim=-1)  # [N, K, T]

    # -- training / point-wise -----------------------------------------------------------------
    def forward(self, **x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(x)
        batch, slots = features.shape[:2]
        state = self.candidate_state(features.reshape(batch * slots, -1))
        exposed = x.get("exposed")
        if exposed is None:  # point-wise use: every candidate at the head of an empty list
            context = features.new_zeros((batch * slots, 1, self.context_dim))
        else:  # slot i of the exposed head was watched after the exposed slots before it
            mask = exposed.unsqueeze(-1)
            placed = state["item_context"].reshape(batch, slots, -1) * mask
            context = ((torch.cumsum(placed, dim=1) - placed) * mask).reshape(batch * slots, 1, -1)
        logits = self.context_logits(state, context).reshape(batch, slots, len(TASKS))
        return {t: logits[..., i] for i, t in enumerate(TASKS)}

    def scorer(self) -> "ContextScorerOf":
        return ContextScorerOf(self)


def _side_by_side(x: torch.Tensor, layers: list[nn.Linear]) -> torch.Tensor:
    """Every layer's outputs on ``x``, concatenated, as one matmul: LiteRT runs one
    fully-connected layer faster than several and a concatenation."""
    return nn.functional.linear(x, torch.cat([layer.weight for layer in layers]), torch.cat([layer.bias for layer in layers]))


def _shift_down(logits: torch.Tensor) -> torch.Tensor:
    return logits - logits.amax(dim=-1, keepdim=True)


class ContextScorerOf(nn.Module):
    """The :class:`~edgerank.models.scorer.ContextScorer` view of a :class:`ContextualTAMMoE`,
    laid out for a beam step over K contexts at once (what each layout costs in LiteRT:
    experiments/video_rankers/search_graph.md).

    The gates' softmax factors as ``exp(request part) * exp(context part)``, so ``prepare``
    folds the request part into the experts' projections once (``mixture`` ``[T, E, M*H]``, and
    its normaliser's terms ``gates`` ``[T, E, M]``) and ``score`` mixes all K x M candidates of all
    tasks in one matmul batched over the T tasks. The step then stays task-major, ``[T, K*M, H]``,
    up to the logits, and each tower's last ``Linear(H, 1)`` is a multiply and a sum: the mix is
    neither transposed nor sliced. The context's tower input is one fully-connected layer and a
    transpose, which XNNPACK runs faster than a matmul batched over the tasks' weights
    (experiments/video_rankers/search_graph.md). The step's bookkeeping reads the probabilities
    task-major too (:func:`edgerank.rankers.search.by_task`), so their final transpose cancels.
    """

    def __init__(self, net: ContextualTAMMoE) -> None:
        super().__init__()
        self.net = net
        self.context_dim = net.context_dim

    def prepare(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = {k: v for k, v in inputs.items() if k in self.net.input_names}
        state = self.net.candidate_state(self.net.features(x)[0])  # the request's M candidates
        m, tasks, experts, width = state["projected"].shape
        gates = torch.exp(state["gate_logits"]).reshape(m, tasks, experts, 1)  # <= 1: shifted to max 0
        return {
            "mixture": (state["projected"] * gates).permute(1, 2, 0, 3).reshape(tasks, experts, m * width),
            "gates": gates.reshape(m, tasks, experts).permute(1, 2, 0),  # [T, E, M]
            "item_context": state["item_context"],
            "context_candidate": state["context_candidate"].reshape(1, m, -1),  # [1, M, W]
        }

    def item_context(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return state["item_context"]

    def score(self, state: dict[str, torch.Tensor], context: torch.Tensor) -> torch.Tensor:
        net, (k, m) = self.net, (context.shape[0], state["item_context"].shape[0])
        tasks, experts, width = len(TASKS), net.num_experts, net.tower_width
        gates = torch.exp(_shift_down(net.context_gates(context).reshape(k, tasks, experts))).permute(1, 0, 2)  # [T, K, E]
        mixed = _mix(gates, state["mixture"]).reshape(tasks, k * m, width)
        total = _mix(gates, state["gates"]).reshape(tasks, k * m, 1).clamp_min(1e-30)  # 0 only if every weight underflowed
        interaction = torch.relu(state["context_candidate"] + net.context_layer(context).unsqueeze(1))  # [K, M, W]
        towers_in = net.context_towers(interaction.reshape(k * m, -1)).reshape(k * m, tasks, width).permute(1, 0, 2)
        hidden = mixed / total + towers_in  # [T, K*M, H]
        logits = _towers_rest([net.heads.towers[t].rest for t in TASKS], hidden)
        return torch.sigmoid(logits).reshape(tasks, k, m).permute(1, 2, 0)


def _mix(gates: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """``gates @ mixture`` (``[T, K, E] @ [T, E, N]``). XNNPACK packs a matmul's right operand
    again on every call: for 4 beams that pays, for one (every width-1 expansion) a multiply and
    a sum over the E experts run in 60 % of the time (experiments/floor_in_turns)."""
    if gates.shape[1] > 1:
        return torch.bmm(gates, mixture)
    return (gates.reshape(gates.shape[0], -1, 1) * mixture).sum(1, keepdim=True)


def _towers_rest(rests: list[nn.Sequential], x: torch.Tensor) -> torch.Tensor:
    """Every task's ``Tower.rest`` on its row of ``x`` ``[T, N, H]`` at once (the towers share
    their layout): ``[T, N]`` logits. Each Linear is one matmul batched over the tasks, the last
    (one output) a multiply and a sum, which LiteRT runs faster than a one-column matmul."""
    for layers in zip(*rests):
        if isinstance(layers[0], nn.Linear):
            weight = torch.stack([layer.weight for layer in layers])  # [T, out, in]
            bias = torch.stack([layer.bias for layer in layers]).unsqueeze(1)  # [T, 1, out]
            if layers[0].out_features == 1:
                x = (x * weight).sum(-1, keepdim=True) + bias
            else:
                x = torch.matmul(x, weight.transpose(1, 2)) + bias
        elif isinstance(layers[0], nn.ReLU):
            x = torch.relu(x)
        elif not isinstance(layers[0], nn.Dropout):  # dropout is the identity in the exported graph
            raise TypeError(f"a tower layer of type {type(layers[0]).__name__} has no batched form")
    return x.reshape(x.shape[0], -1)
