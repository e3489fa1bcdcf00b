"""Published re-ranking baselines: PRM (a transformer over the list) and Seq2Slate (pointer decoding)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgerank.data.video import VideoSyntheticData
from edgerank.errors import ConfigError
from edgerank.export.convert import to_tflite
from edgerank.export.parity import check_parity
from edgerank.models.prm import PRM
from edgerank.models.ta_mmoe import TargetAttentionMMoE
from edgerank.pipeline import run
from edgerank.rankers.greedy import GreedyRanker
from edgerank.rankers.seq2slate import Seq2SlateRanker
from edgerank.metrics.list_metrics import gains, ndcg_at_k
from ranker_fixtures import ToyScorer, request, tensors
from test_video_end_to_end import SMALL_DATA


@pytest.fixture(scope="module")
def data() -> VideoSyntheticData:
    module = VideoSyntheticData(num_users=30, num_videos=300, sessions_per_user=2, candidates=(10, 30), max_candidates=30, seq_len=10)
    module.setup()
    return module


def test_prm_scores_each_candidate_in_the_context_of_the_list(data):
    """Changing one candidate changes the others' PRM scores (a point-wise ta_mmoe's stay put);
    padded slots change nothing."""
    torch.manual_seed(0)
    x = {k: torch.from_numpy(v) for k, v in data.parity_samples(1)[0].items()}
    other = {**x, "cand_pxtr": x["cand_pxtr"].clone()}
    other["cand_pxtr"][0, 0] = 1.0 - other["cand_pxtr"][0, 0]
    real = int(x["cand_mask"].sum())
    padded = {**x, "cand_id": x["cand_id"].clone()}
    padded["cand_id"][0, real:] = 7
    for net, list_aware in ((PRM(data.spec).eval(), True), (TargetAttentionMMoE(data.spec).eval(), False)):
        with torch.no_grad():
            base, changed, repadded = (net(**v)["like"][0, 1:real] for v in (x, other, padded))
        assert (not torch.allclose(base, changed, atol=1e-4)) == list_aware
        torch.testing.assert_close(base, repadded, atol=1e-5, rtol=0)


def test_prm_sorted_greedily_exports_with_parity(data, tmp_path):
    """PRM's ranking, a greedy sort of its one-pass scores, ships in one .tflite with identical lists."""
    torch.manual_seed(0)
    ranker = GreedyRanker(PRM(data.spec).eval().scorer(), list_size=5).eval()
    samples = data.parity_samples(30)
    report = check_parity(ranker, to_tflite(ranker, samples[0], tmp_path / "prm.tflite"), samples)
    assert report.passed and report.lists_identical == 1.0 and report.max_abs_err < 1e-5, report.summary()


def test_prm_options_are_checked(data):
    with pytest.raises(ConfigError, match="num_heads: must divide model_dim=30"):
        PRM(data.spec, model_dim=30, num_heads=4)


def toy_batch(seeds: range) -> dict[str, torch.Tensor]:
    """Toy requests whose logged effective view and like follow the first two features."""
    reqs = [request(s, m=12, min_valid=4) for s in seeds]
    x = np.concatenate([r["cand_x"] for r in reqs])
    mask = np.concatenate([r["cand_mask"] for r in reqs])
    labels = np.stack([np.zeros_like(x[..., 0]), x[..., 0] > 0.3, x[..., 1] > 1.0], -1).astype(np.float32) * mask[..., None]
    return {"cand_x": torch.from_numpy(x), "cand_mask": torch.from_numpy(mask), "labels": torch.from_numpy(labels)}


def test_seq2slate_learns_to_order_by_the_logged_labels_and_exports_with_parity(tmp_path, capsys):
    torch.manual_seed(0)
    ranker = Seq2SlateRanker(ToyScorer().eval(), list_size=5, epochs=8).eval()
    held_out = toy_batch(range(1000, 1100))

    def ndcg5(slots_of) -> float:
        out = []
        for row in range(100):
            sample = {k: held_out[k][row : row + 1] for k in ("cand_x", "cand_mask")}
            out.append(ndcg_at_k(slots_of(sample), gains(held_out["labels"][row].numpy(), 1.0, 1.0), held_out["cand_mask"][row].numpy() > 0, 5))
        return float(np.mean(out))

    untrained = ndcg5(lambda s: ranker.rank(s).slots)
    ranker.fit([toy_batch(range(i, i + 64)) for i in range(0, 640, 64)], ["cand_x", "cand_mask"])
    assert "ranker training" in capsys.readouterr().err  # its progress bar, on stderr
    trained = ndcg5(lambda s: ranker.rank(s).slots)
    server = ndcg5(lambda s: np.arange(5))
    assert trained > 0.88 and trained > untrained + 0.05 and trained > server + 0.25, (trained, untrained, server)

    samples = [request(seed, m=12, min_valid=3) for seed in range(40)]  # some shorter than the list
    ranking = ranker.rank(tensors(samples[0]))
    valid = int(samples[0]["cand_mask"].sum())
    filled = min(valid, 5)
    assert len(set(ranking.slots[:filled])) == filled and ranking.slots[filled:].tolist() == [-1] * (5 - filled)
    assert ranking.evaluations == valid * filled
    path = to_tflite(ranker, samples[0], tmp_path / "seq2slate.tflite")
    report = check_parity(ranker, path, samples)
    assert report.passed and report.lists_identical == 1.0 and report.max_abs_err < 1e-5, report.summary()


def test_prm_with_seq2slate_trains_exports_and_is_scored(make_cfg, tmp_path):
    """The two baselines through the main job: PRM trains, Seq2Slate learns its pointer over it,
    the pair ships in one .tflite with parity, and both kinds of ranker metrics are reported."""
    cfg = make_cfg(
        "+experiment=video_rerank", *SMALL_DATA, "model=prm", "ranker=seq2slate", "ranker.list_size=5", "ranker.epochs=2",
        "data.rank_eval_requests=20", "data.truth_rollouts=2", "trainer.max_epochs=2",
    )
    metrics = run(cfg, tmp_path)
    assert 0.0 < metrics["rerank/true_list_reward"] <= 5 * 2.0
    assert metrics["rerank/evals_per_request"] > 5  # every valid candidate at each of the 5 positions
    for key in ("ndcg@5", "ndcg@10", "map@10"):
        assert 0.0 < metrics[f"rerank/{key}"] <= 1.0
    manifest = json.loads((tmp_path / "artifact" / "manifest.json").read_text())
    assert manifest["parity"]["passed"] and manifest["parity"]["lists_identical"] == 1.0
    assert manifest["ranker"]["name"] == "seq2slate"
    assert {o["name"] for o in manifest["outputs"]} >= {"ranked", "gains"}
