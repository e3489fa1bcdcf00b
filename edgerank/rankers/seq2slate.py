"""``seq2slate``: pointer-network decoding (Bello et al., "Seq2Slate", 2018), a published baseline.

An autoregressive ranker with parameters of its own, learned after the model on the same
training requests and their logged labels:

- encoder: each candidate as the model sees it - its probabilities at the head of an empty list
  and its ``item_context`` (what the model's context vector would gain by placing it) - plus its
  position in the server's list, through a layer of width ``hidden``; the decoder starts from
  the masked mean of the encodings;
- decoder: a GRU cell fed the encoding of the item placed last (a learned "go" vector first);
  at each position a pointer ``v . tanh(W_e e_j + W_d h)`` scores every candidate not yet placed,
  and the list takes the best one (greedy decoding, ``list_size`` positions, static loop);
- training: Seq2Slate's supervised loss: at each position the pointer's softmax over the
  candidates not yet placed is pulled towards their logged gains ``alpha * effective_view +
  beta * like`` (cross-entropy against the normalised gains of those remaining). The decoder is
  fed its own greedy choices, as when it decodes; teacher forcing along the ideal order (by gain)
  left it decoding partial lists it never saw in training, and it drifted (NDCG@10 0.65 against
  0.73 for its own choices on the default data, the further the longer it trained).

The model stays frozen while the pointer learns: the decoder replaces the ListReward search, so a
comparison with beam search over the same model is about the decoding, not the model. The
pointer's parameters are fitted at every run (a checkpoint holds the model's alone); its
``gains`` output is the pointer's probability of each placed item (the parity check compares
it), not a ListReward gain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from edgerank.console import progress
from edgerank.errors import ConfigError
from edgerank.models.scorer import ContextScorer, State
from edgerank.models.video_blocks import GRUCell
from edgerank.rankers.base import Ranker, SearchResult
from edgerank.rankers.beam import best_list
from edgerank.core.list_reward import EFFECTIVE_VIEW, LIKE
from edgerank.rankers.options import Seq2SlateOptions
from edgerank.rankers.search import BLOCKED, tie_margin
from edgerank.registry import register_ranker


class PointerDecoder(nn.Module):
    """Encoder, GRU decoder and pointer over ``[B, M, F]`` candidate features."""

    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.encode = nn.Linear(features + 1, hidden)  # + the server position
        self.start = nn.Linear(hidden, hidden)
        self.go = nn.Parameter(torch.zeros(1, hidden))
        self.cell = GRUCell(hidden, hidden)
        self.pointer_key = nn.Linear(hidden, hidden, bias=False)
        self.pointer_query = nn.Linear(hidden, hidden)
        self.pointer = nn.Linear(hidden, 1, bias=False)

    def begin(self, features: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encodings ``[B, M, H]``, their pointer keys and the decoder's first state ``[B, H]``."""
        b, m, _ = features.shape
        position = (torch.arange(m, dtype=features.dtype) / m).reshape(1, m, 1) + torch.zeros_like(features[..., :1])
        encoded = torch.relu(self.encode(torch.cat([features, position], dim=-1)))
        pooled = (encoded * valid.unsqueeze(-1)).sum(1) / valid.sum(1, keepdim=True).clamp_min(1.0)
        return encoded, self.pointer_key(encoded), torch.tanh(self.start(pooled))

    def point(self, keys: torch.Tensor, state: torch.Tensor, last: torch.Tensor, blocked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoding position: the new state and the pointer logits ``[B, M]`` (BLOCKED where
        a candidate is placed or padding), after feeding the last placed encoding ``last``."""
        state = state + self.cell.update(self.cell.x_gates(last), state)
        logits = self.pointer(torch.tanh(keys + self.pointer_query(state).unsqueeze(1))).sum(-1)
        return state, torch.where(blocked, torch.full_like(logits, BLOCKED), logits)


@register_ranker("seq2slate", description="Seq2Slate (Bello et al. 2018): pointer-network decoding, trained on the logged labels")
class Seq2SlateRanker(Ranker):
    Options = Seq2SlateOptions

    def __init__(self, scorer: ContextScorer, options: Seq2SlateOptions | None = None, **values: Any) -> None:
        super().__init__(scorer, options, **values)
        with torch.random.fork_rng():  # the model's training sees the same random numbers with any ranker
            torch.manual_seed(self.seed)
            self.decoder = PointerDecoder(3 + scorer.context_dim, self.hidden)

    def candidate_features(self, state: State) -> torch.Tensor:
        """``[M, 3 + C]``: each candidate's probabilities at an empty list and its item context."""
        empty = self.scorer.score(state, torch.zeros(1, self.scorer.context_dim))[0]
        return torch.cat([empty, self.scorer.item_context(state)], dim=-1)

    # -- inference (the exported graph) ---------------------------------------------------------
    def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
        features = self.candidate_features(self.scorer.prepare(inputs)).unsqueeze(0)  # [1, M, F]
        valid = self.valid(inputs).unsqueeze(0)
        encoded, keys, state = self.decoder.begin(features, valid)
        slots = torch.arange(valid.shape[1])
        placed, last = torch.zeros_like(valid), self.decoder.go
        items, scores, margins = [], [], []
        for _ in range(self.list_size):
            state, logits = self.decoder.point(keys, state, last, (placed > 0.5) | (valid < 0.5))
            top, best = torch.topk(logits, min(2, logits.shape[1]), dim=1)
            chosen = (slots.unsqueeze(0) == best[:, :1]).to(valid.dtype)  # one-hot without F.one_hot
            placed = placed + chosen
            last = (chosen.unsqueeze(-1) * encoded).sum(1)
            # scores in [0, 1] (the pointer's probability), so the parity tolerance means what it says
            probability = torch.where(top > BLOCKED / 2, torch.exp(top - torch.logsumexp(logits, dim=1, keepdim=True)), top)
            items.append(best[0, :1])
            scores.append(probability[0, :1])
            margins.append(tie_margin(probability[0]))
        return SearchResult(*best_list(torch.cat(items), torch.cat(scores)), margin=torch.cat(margins).min().reshape(1))

    def evaluations(self, num_valid: int) -> int:
        """The model scores every valid candidate once; the pointer scores them at each position."""
        return num_valid * min(self.list_size, num_valid) if num_valid else 0

    # -- training -------------------------------------------------------------------------------
    def fit(self, batches: Iterable[dict[str, torch.Tensor]], input_names: Sequence[str]) -> None:
        """Learn the pointer on training batches (``labels`` ``[B, M, 3]``); the model is frozen."""
        features, gains, valid = [], [], []
        self.eval()
        with torch.no_grad():
            for batch in batches:
                for row in range(len(batch[self.mask_input])):
                    state = self.scorer.prepare({k: batch[k][row : row + 1] for k in input_names})
                    features.append(self.candidate_features(state))
                labels = batch["labels"]
                gains.append(self.alpha * labels[..., EFFECTIVE_VIEW] + self.beta * labels[..., LIKE])
                valid.append(batch[self.mask_input])
        if not features:
            raise ConfigError("ranker", "seq2slate needs training requests to learn its pointer network")
        data = (torch.stack(features), torch.cat(gains).float(), torch.cat(valid))
        optimizer = torch.optim.Adam(self.decoder.parameters(), lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed)
        self.decoder.train()
        for _ in progress(range(self.epochs), "ranker training"):  # the pipeline's phase is otherwise silent
            for rows in torch.randperm(len(data[0]), generator=generator).split(self.batch_size):
                loss = self.loss(*(d[rows] for d in data))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self.eval()

    def loss(self, features: torch.Tensor, gains: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Seq2Slate's supervised loss along the decoder's own greedy choices (as it decodes)."""
        gains = gains * valid
        encoded, keys, state = self.decoder.begin(features, valid)
        m = valid.shape[1]
        placed, last = torch.zeros_like(valid), self.decoder.go.expand(len(valid), -1)
        total, counted = gains.new_zeros(()), gains.new_zeros(())
        for _ in range(min(self.list_size, m)):
            state, logits = self.decoder.point(keys, state, last, (placed > 0.5) | (valid < 0.5))
            remaining = gains * (1.0 - placed)
            mass = remaining.sum(1)
            has_target = (mass > 0).to(gains.dtype)
            target = remaining / mass.clamp_min(1e-12).unsqueeze(1)
            log_p = torch.log_softmax(logits, dim=1)
            total = total - (has_target * (target * torch.where(target > 0, log_p, torch.zeros_like(log_p))).sum(1)).sum()
            counted = counted + has_target.sum()
            chosen = nn.functional.one_hot(logits.detach().argmax(1), m).to(gains.dtype) * valid  # training only: never exported
            placed = placed + chosen
            last = (chosen.unsqueeze(-1) * encoded).sum(1)
        return total / counted.clamp_min(1.0)
