"""Rankers: ListReward, greedy, beam and adaptive beam search, cost accounting, export with parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgerank.errors import ConfigError
from edgerank.export.convert import to_tflite
from edgerank.export.parity import check_parity
from edgerank.registry.defaults import defaults_of
from edgerank.rankers.adaptive_beam import AdaptiveBeamRanker
from edgerank.rankers.base import Ranker, SearchResult
from edgerank.rankers.beam import BeamSearchRanker
from edgerank.rankers.greedy import GreedyRanker
from edgerank.core.list_reward import list_reward
from edgerank.core.app_loop import NO_TIE
from edgerank.rankers.options import AdaptiveBeamOptions, BeamOptions, GreedyOptions, Seq2SlateOptions
from edgerank.models.scorer import PointwiseScorer
from ranker_fixtures import ToyPointwise, ToyScorer, request, tensors


@pytest.fixture(scope="module")
def scorer() -> ToyScorer:
    torch.manual_seed(0)
    return ToyScorer().eval()


def test_list_reward_by_hand():
    probs = np.array([[0.5, 0.4, 0.1], [0.9, 0.2, 0.3], [0.1, 1.0, 1.0]])
    # s = 1, 0.5, 0.45
    expected = 1 * (2 * 0.4 + 0.1) + 0.5 * (2 * 0.2 + 0.3) + 0.45 * (2 * 1.0 + 1.0)
    assert list_reward(probs, alpha=2.0, beta=1.0) == pytest.approx(expected)


def test_beam_width_one_over_a_pointwise_model_is_greedy():
    torch.manual_seed(1)
    scorer = PointwiseScorer(ToyPointwise()).eval()
    greedy = GreedyRanker(scorer, list_size=6, alpha=1.0, beta=2.0).eval()
    beam = BeamSearchRanker(scorer, list_size=6, alpha=1.0, beta=2.0, beam_size=1).eval()
    for seed in range(20):
        sample = tensors(request(seed))
        assert greedy.rank(sample).slots.tolist() == beam.rank(sample).slots.tolist()


def test_lists_are_valid_and_padded_with_minus_one(scorer):
    beam = BeamSearchRanker(scorer, list_size=8, beam_size=3).eval()
    for seed in range(20):
        sample = request(seed, m=12, min_valid=2)
        valid = int(sample["cand_mask"].sum())
        slots = beam.rank(tensors(sample)).slots.tolist()
        filled = min(valid, 8)
        assert len(set(slots[:filled])) == filled and all(0 <= s < valid for s in slots[:filled])
        assert slots[filled:] == [-1] * (8 - filled)


def test_wider_beams_find_better_lists_under_the_model(scorer):
    narrow = BeamSearchRanker(scorer, list_size=6, beam_size=1).eval()
    wide = BeamSearchRanker(scorer, list_size=6, beam_size=6).eval()
    gains = np.array(
        [[r.rank(tensors(request(seed))).gains.sum() for r in (narrow, wide)] for seed in range(40)]
    )
    assert gains[:, 1].mean() > gains[:, 0].mean()
    assert (gains[:, 1] > gains[:, 0] + 1e-6).sum() >= 3


def test_evaluation_counts(scorer):
    sample = tensors(request(3, m=12, min_valid=12))  # 12 valid candidates
    assert GreedyRanker(scorer, list_size=5).rank(sample).evaluations == 12
    assert BeamSearchRanker(scorer, list_size=5, beam_size=4).rank(sample).evaluations == 12 * (1 + 4 * 4)
    # threshold 0: narrows right after the first expansion -> width 1 for the 4 later positions
    assert AdaptiveBeamRanker(scorer, list_size=5, beam_size=4, threshold=0.0).rank(sample).evaluations == 12 * 5


def test_adaptive_beam_never_narrowing_is_beam_search(scorer):
    beam = BeamSearchRanker(scorer, list_size=6, beam_size=4).eval()
    never = AdaptiveBeamRanker(scorer, list_size=6, beam_size=4, threshold=2.0).eval()
    sometimes = AdaptiveBeamRanker(scorer, list_size=6, beam_size=4, threshold=0.5).eval()
    saved = 0
    for seed in range(30):
        sample = tensors(request(seed))
        b, n, s = beam.rank(sample), never.rank(sample), sometimes.rank(sample)
        assert n.slots.tolist() == b.slots.tolist() and n.evaluations == b.evaluations
        assert s.evaluations <= b.evaluations
        saved += b.evaluations - s.evaluations
    assert saved > 0


def test_adaptive_beam_narrowing_at_once_is_beam_width_one(scorer):
    """threshold 0 narrows right after the first expansion, whose best beam is beam k=1's first
    item; ``finish`` then completes it with width 1 in one call - beam k=1's list, item for item,
    including requests with fewer valid candidates than positions."""
    single = BeamSearchRanker(scorer, list_size=6, beam_size=1).eval()
    at_once = AdaptiveBeamRanker(scorer, list_size=6, beam_size=4, threshold=0.0).eval()
    for seed in range(30):
        sample = tensors(request(seed, m=12, min_valid=2))
        b, a = single.rank(sample), at_once.rank(sample)
        assert a.slots.tolist() == b.slots.tolist() and a.evaluations == b.evaluations
        np.testing.assert_allclose(a.gains, b.gains, atol=1e-6)


def test_a_step_carries_the_completion_finish_would_compute(scorer):
    """After a step the loop completes the list from the step's own ``rest_*`` outputs, not by
    calling ``finish``: the lists, gains, margins and evaluations equal those of the loop driven
    through ``finish`` (the step's completion removed, as in files exported before it had one)."""
    from edgerank.core.app_loop import drive
    from edgerank.graph import eager_runners

    ranker = AdaptiveBeamRanker(scorer, list_size=6, beam_size=4, threshold=0.9).eval()
    runners = eager_runners(ranker.on_device())
    calls: list[str] = []

    def counted(name):
        def call(**inputs):
            calls.append(name)
            out = dict(runners[name](**inputs))
            return out if keep_rest else {k: v for k, v in out.items() if not k.startswith("rest_")}
        return call

    stepped = 0
    for seed in range(30):
        request_ = request(seed)
        results = {}
        for keep_rest in (True, False):
            calls.clear()
            results[keep_rest] = drive({n: counted(n) for n in runners}, request_, ranker.list_size, ranker.threshold), list(calls)
        (with_rest, with_calls), (through_finish, finish_calls) = results[True], results[False]
        assert with_rest.slots.tolist() == through_finish.slots.tolist() and with_rest.evaluations == through_finish.evaluations
        np.testing.assert_array_equal(with_rest.gains, through_finish.gains)
        assert with_rest.margin == through_finish.margin
        if "step" in with_calls:
            stepped += 1
            assert "finish" not in with_calls and finish_calls[-1] == "finish"
    assert stepped >= 5  # the threshold makes some requests step


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda s: BeamSearchRanker(s, beam_size=0), r"beam_size: must be a positive integer"),
        (lambda s: AdaptiveBeamRanker(s, threshold=-1.0), r"threshold: must be >= 0"),
        (lambda s: GreedyRanker(s, score_weights=[1.0, 2.0]), r"score_weights: needs one weight per task"),
        (lambda s: GreedyRanker(s, list_size=0), r"list_size: must be a positive integer"),
    ],
)
def test_bad_ranker_options(scorer, factory, message):
    with pytest.raises(ConfigError, match=message):
        factory(scorer)


def test_a_ranker_that_implements_nothing_fails_at_instantiation_naming_what_is_missing(scorer):
    """The base class declares ``search`` and ``evaluations`` abstract: forgetting them is a
    clear TypeError when the ranker is built, not an endless recursion when it first ranks."""

    class Lazy(Ranker):
        pass

    with pytest.raises(TypeError, match=r"Can't instantiate abstract class Lazy.*evaluations.*search"):
        Lazy(scorer)


def test_a_ranker_implementing_search_alone_gets_the_graph_outputs_and_the_eager_rank(scorer):
    class FirstSlots(Ranker):
        def search(self, inputs: dict[str, torch.Tensor]) -> SearchResult:
            slots = torch.arange(self.list_size, dtype=torch.float32)
            return SearchResult(slots, torch.full_like(slots, 0.5), outputs={"score": slots + 1.0})

        def evaluations(self, num_valid: int) -> int:
            return 0

    ranker = FirstSlots(scorer, list_size=3).eval()
    sample = tensors(request(0))
    out = ranker(**sample)
    assert sorted(out) == ["gains", "list_reward", "ranked", "score"]  # no margin: the search cannot tell
    assert out["ranked"].tolist() == [[0, 1, 2]] and out["ranked"].dtype == torch.int32
    assert out["list_reward"].tolist() == [1.5] and out["score"].tolist() == [[1.0, 2.0, 3.0]]
    ranking = ranker.rank(sample)
    assert ranking.slots.tolist() == [0, 1, 2] and ranking.margin == NO_TIE and ranking.evaluations == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda s: GreedyRanker(s, list_size=5),
        lambda s: BeamSearchRanker(s, list_size=5, beam_size=3),
        lambda s: BeamSearchRanker(s, list_size=5, beam_size=1),  # size-1 beam dims broke XNNPACK in a probe
        lambda s: AdaptiveBeamRanker(s, list_size=5, beam_size=3, threshold=0.7),
    ],
    ids=["greedy", "beam", "beam_k1", "adaptive_beam"],
)
def test_exported_ranker_returns_the_same_lists(scorer, make, tmp_path):
    graph = make(scorer).eval().on_device()
    samples = [request(seed, m=12, min_valid=3) for seed in range(40)]
    path = to_tflite(graph, samples[0], tmp_path / "ranker.tflite")
    report = check_parity(graph, path, samples)
    assert report.passed, report.summary()
    assert report.lists_identical == 1.0 and report.max_abs_err < 1e-5


def test_rankers_are_scored_against_ground_truth(scorer):
    """With a ground truth that pays for candidate slot order, a ranker that ignores the truth
    lands between a perfect order and the worst one; the cost is reported per request."""
    from edgerank.data.ranking import RankingRequest
    from edgerank.training.rerank_eval import evaluate_ranker

    def truth(slots: np.ndarray, alpha: float = 1.0, beta: float = 1.0) -> float:  # 1/(1+slot), discounted
        return float(sum(1.0 / (1 + s) / (1 + i) for i, s in enumerate(slots) if s >= 0))

    requests = [RankingRequest(tensors(request(seed, min_valid=12)), truth, np.arange(12)) for seed in range(10)]
    metrics = evaluate_ranker(BeamSearchRanker(scorer, list_size=5, beam_size=2), requests)
    best = truth(np.arange(5))
    assert metrics["rerank/pxtr_true_list_reward"] == pytest.approx(best)  # server order is slot order here
    assert metrics["rerank/random_true_list_reward"] < best
    assert metrics["rerank/true_list_reward"] < best
    assert metrics["rerank/evals_per_request"] == 12 * (1 + 2 * 4)


def test_beam_width_one_takes_the_largest_list_reward_gain_at_each_position(scorer):
    """k = 1 is the context-aware greedy: at each position, the unplaced candidate whose
    survival-weighted gain under the current context is largest (computed here by hand)."""
    beam = BeamSearchRanker(scorer, list_size=6, alpha=1.0, beta=2.0, beam_size=1).eval()
    for seed in range(10):
        sample = tensors(request(seed, min_valid=12))
        with torch.no_grad():
            state = scorer.prepare(sample)
            item_context = scorer.item_context(state)
            context, survive, placed = torch.zeros(1, scorer.context_dim), 1.0, []
            for _ in range(6):
                probs = scorer.score(state, context)[0]
                gain = survive * (probs[:, 1] + 2.0 * probs[:, 2])
                gain[placed] = -1.0
                best = int(torch.argmax(gain))
                placed.append(best)
                survive *= float(probs[best, 0])
                context = context + item_context[best]
        assert beam.rank(sample).slots.tolist() == placed


RANKER_OPTIONS = {"greedy": GreedyOptions, "beam": BeamOptions, "adaptive_beam": AdaptiveBeamOptions, "seq2slate": Seq2SlateOptions}


@pytest.mark.parametrize("name", sorted(RANKER_OPTIONS))
def test_ranker_options_are_declared_once_and_the_yaml_only_overrides(make_cfg, name):
    """The composed config (what ``--cfg job`` prints and the manifest records) lists every
    field of the ranker's options dataclass with its default; the YAML file repeats none."""
    from omegaconf import OmegaConf

    from edgerank.registry import get

    options = RANKER_OPTIONS[name]
    assert get("ranker", name).options is options
    composed = OmegaConf.to_container(make_cfg(f"ranker={name}").ranker, resolve=True)
    expected = {"name": name, **defaults_of(options), **({"seed": 0} if name == "seq2slate" else {})}
    assert composed == expected
    own = OmegaConf.load(Path(__file__).parents[1] / "conf" / "ranker" / f"{name}.yaml")
    assert set(own) - {"defaults", "name"} <= ({"seed"} if name == "seq2slate" else set())  # seed: ${seed}


def test_a_preset_overrides_one_option_of_its_base(make_cfg):
    assert dict(make_cfg("ranker=adaptive_t08").ranker) == {"name": "adaptive_beam", **defaults_of(AdaptiveBeamOptions), "threshold": 0.8}


def test_a_ranker_built_from_keywords_or_from_its_options_is_the_same(scorer):
    by_keywords = AdaptiveBeamRanker(scorer, list_size=5, threshold=0.5)
    by_options = AdaptiveBeamRanker(scorer, AdaptiveBeamOptions(list_size=5, threshold=0.5))
    assert by_keywords.options == by_options.options and by_options.threshold == 0.5 and by_options.beam_size == 4
    with pytest.raises(TypeError, match="takes either a AdaptiveBeamOptions or option keywords, not both"):
        AdaptiveBeamRanker(scorer, AdaptiveBeamOptions(), list_size=3)


def test_cfg_job_shows_every_ranker_option(tmp_path):
    """The documented command, through the installed CLI (``pkg://edgerank.conf``)."""
    from omegaconf import OmegaConf

    from conftest import run_cli

    result = run_cli(["+experiment=video_rerank", "ranker=adaptive_t08", "--cfg", "job"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    shown = OmegaConf.create(result.stdout).ranker
    assert dict(shown) == {**defaults_of(AdaptiveBeamOptions), "threshold": 0.8, "name": "adaptive_beam"}
