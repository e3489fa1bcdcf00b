"""Fixed-shape encoding of requests, the datamodule, feature-group switches, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from edgerank.data.video import VideoSyntheticData, VideoSyntheticOptions
from edgerank.core.video_features import encode_requests, input_names, check_groups
from edgerank.data.video_simulator import simulate
from edgerank.errors import ConfigError, DataError

SMALL = dict(num_users=30, num_videos=200, sessions_per_user=2)


def request(m: int = 4, n: int = 3, **changes):
    rng = np.random.default_rng(0)
    r = {
        "network_speed": 3.0,
        "cand_id": np.arange(m),
        "cand_cat": np.arange(m) % 5,
        "cand_duration": np.full(m, 20.0),
        "preload_time": np.full(m, 1.0),
        "cand_pxtr": rng.random((m, 3)),
        "labels": (rng.random((m, 3)) > 0.5).astype(float),
        "seq_id": np.arange(n) + 100,
        "seq_cat": np.arange(n) % 5,
        "seq_duration": np.full(n, 15.0),
        "seq_feedback": np.ones((n, 3)),
        "seq_pxtr": rng.random((n, 3)),
        "seq_time_gap": np.arange(n, 0, -1) * 30.0,
        "seq_pos_gap": np.arange(n, 0, -1).astype(float),
    }
    r.update(changes)
    return r


def encode(*requests, m: int = 6, seq_len: int = 5):
    return encode_requests(list(requests), m, seq_len, num_videos=1000, num_categories=5)


def test_padding_masks_and_dtypes():
    out = encode(request(m=4, n=3))
    assert out["cand_id"].dtype == np.int32 and out["seq_cat"].dtype == np.int32
    assert out["cand_pxtr"].dtype == np.float32 and out["cand_pxtr"].shape == (1, 6, 3)
    assert out["cand_mask"][0].tolist() == [1, 1, 1, 1, 0, 0]
    assert out["seq_mask"][0].tolist() == [1, 1, 1, 0, 0]
    assert out["seq_id"][0].tolist() == [100, 101, 102, 0, 0]
    assert out["network_speed"][0, :4] == pytest.approx(np.log(3.0)) and out["network_speed"][0, 4] == 0


def test_too_long_sequence_keeps_the_most_recent_items():
    out = encode(request(n=8), seq_len=5)
    assert out["seq_mask"][0].tolist() == [1] * 5
    assert out["seq_id"][0].tolist() == [103, 104, 105, 106, 107]  # oldest first, the last 5
    assert out["seq_time_gap"][0] == pytest.approx(np.log1p([150.0, 120.0, 90.0, 60.0, 30.0]))


def test_zero_candidates_is_an_error():
    with pytest.raises(DataError, match="request 1: zero candidates"):
        encode(request(), request(m=0))


def test_more_candidates_than_the_fixed_shape_is_an_error():
    with pytest.raises(DataError, match="7 candidates, more than data.max_candidates=6"):
        encode(request(m=7))


@pytest.mark.parametrize("field", ["preload_time", "cand_duration", "seq_time_gap"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_feature_is_an_error_naming_the_field(field, bad):
    r = request()
    r[field] = r[field].copy()
    r[field][1] = bad
    with pytest.raises(DataError, match=f"field '{field}' has NaN/inf"):
        encode(r)


def test_nan_pxtr_and_network_speed_are_errors():
    pxtr = np.full((4, 3), 0.5)
    pxtr[2, 1] = np.nan
    with pytest.raises(DataError, match="'cand_pxtr'"):
        encode(request(cand_pxtr=pxtr))
    with pytest.raises(DataError, match="'network_speed'"):
        encode(request(network_speed=float("nan")))


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"cand_cat": np.arange(3)}, "cand_cat"),
        ({"cand_pxtr": np.zeros((4, 2))}, "cand_pxtr"),
        ({"labels": np.zeros(4)}, "labels"),
        ({"seq_feedback": np.ones((2, 3))}, "seq_feedback"),
        ({"network_speed": np.ones(4)}, "network_speed"),
    ],
)
def test_mismatched_shapes_are_errors_naming_the_field(changes, field):
    with pytest.raises(DataError, match=f"field '{field}'"):
        encode(request(**changes))


def test_ids_outside_the_vocabulary_are_errors():
    with pytest.raises(DataError, match="'cand_cat' has id 9"):
        encode(request(cand_cat=np.array([0, 1, 9, 2])))
    with pytest.raises(DataError, match="'seq_id' has id -1"):
        encode(request(seq_id=np.array([1, -1, 2])))


def test_simulated_requests_encode_and_split_by_session():
    dm = VideoSyntheticData(**SMALL, max_candidates=50, seq_len=8)
    dm.setup()
    sizes = {k: len(v) for k, v in dm._splits.items()}
    assert sizes["train"] > sizes["test"] > 0
    batch = next(iter(dm.train_dataloader()))
    assert batch["cand_id"].shape == (128, 50) and str(batch["cand_id"].dtype) == "torch.int32"
    assert batch["seq_feedback"].shape == (128, 8, 3)
    # sessions do not leak across splits: the same simulated log, regenerated, maps back to sessions
    requests, _ = simulate(dm.sim)
    assert sum(sizes.values()) == len(requests)


def test_feature_groups_switch_inputs_and_parity_samples():
    on = check_groups(None)
    assert input_names(on)[:2] == ["cand_mask", "cand_pxtr"] and "seq_pos_gap" in input_names(on)
    no_csf = input_names(check_groups({"csf": False}))
    assert "network_speed" not in no_csf and "preload_time" not in no_csf
    only_pxtr = input_names(check_groups({"static": False, "csf": False, "rts": False, "fe": False}))
    assert only_pxtr == ["cand_mask", "cand_pxtr"]
    fe_needs_pxtr = input_names(check_groups({"pxtr": False, "rts": False}))
    assert "cand_pxtr" in fe_needs_pxtr and "seq_mask" in fe_needs_pxtr and "seq_id" not in fe_needs_pxtr
    dm = VideoSyntheticData(**SMALL, features={"rts": False})
    dm.setup()
    sample = dm.parity_samples(3, seed=1)[0]
    assert set(sample) == set(dm.spec.input_names) and "seq_id" not in sample
    assert all(v.shape[0] == 1 for v in sample.values())


def test_bad_feature_config_names_the_key():
    with pytest.raises(ConfigError, match="features.client"):
        check_groups({"client": False})
    with pytest.raises(ConfigError, match="features.csf"):
        check_groups({"csf": "no"})
    with pytest.raises(ConfigError, match="candidates"):
        VideoSyntheticData(candidates=[20, 60], max_candidates=50)


def test_features_override_reaches_the_data_config(make_cfg):
    cfg = make_cfg("+experiment=video_rerank", "features.csf=false")
    assert cfg.data.features.csf is False and cfg.data.features.rts is True
    assert cfg.model.name == "ta_mmoe" and cfg.data.name == "video_synthetic"


def test_every_option_is_declared_once_and_composed(make_cfg):
    """The composed config (what ``--cfg job`` prints) lists every option of the dataclass at its
    default; the YAML file adds only the job's overrides (name, feature groups, seed)."""
    from dataclasses import asdict, fields
    from pathlib import Path

    import yaml
    from omegaconf import OmegaConf

    import edgerank.conf
    from edgerank.registry import get

    assert get("data", "video_synthetic").options is VideoSyntheticOptions
    cfg = make_cfg("+experiment=video_rerank", "seed=7", small=False)
    composed = OmegaConf.to_container(cfg.data, resolve=True)
    assert set(composed) == {"name"} | {f.name for f in fields(VideoSyntheticOptions)}
    defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(VideoSyntheticOptions()).items()}
    overridden = ("name", "seed", "features")
    assert {k: v for k, v in composed.items() if k not in overridden} == {k: v for k, v in defaults.items() if k not in overridden}
    assert composed["seed"] == 7 and composed["name"] == "video_synthetic" and composed["features"]["csf"] is True
    conf = yaml.safe_load((Path(edgerank.conf.__file__).parent / "data" / "video_synthetic.yaml").read_text())
    assert set(conf) == {"defaults", "name", "features", "seed"}


def test_options_are_checked_once_under_the_key_the_user_wrote():
    from edgerank.registry import build

    for values, message in [
        ({"num_users": True}, r"^data\.num_users: must be an integer, got True$"),
        ({"drift": float("nan")}, r"^data\.drift: must be >= 0, got nan$"),
        ({"candidates": [30, 20]}, r"^data\.candidates: must be \[min, max\] with 1 <= min <= max, got \[30, 20\]$"),
        ({"candidates": [20, 60]}, r"^data\.candidates: max 60 exceeds max_candidates=50$"),
        ({"test_fraction": 1.0}, r"^data\.test_fraction: must be in \(0, 1\), got 1\.0$"),
        ({"batch_size": 0}, r"^data\.batch_size: must be a positive integer, got 0$"),
        ({"num_user": 5}, r"^data\.num_user: not an option of data plugin 'video_synthetic'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            build("data", {"name": "video_synthetic", **values})
    options = VideoSyntheticOptions(candidates=[5, 9], max_candidates=10, drift=0)
    assert options.candidates == (5, 9) and options.drift == 0.0 and isinstance(options.drift, float)
    assert VideoSyntheticData(options).sim == options.simulator() == VideoSyntheticData(candidates=[5, 9], max_candidates=10, drift=0).sim
