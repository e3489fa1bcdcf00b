"""The three re-rankers: shapes, masks (padding has no effect), config errors, conversion + parity."""

from __future__ import annotations

import pytest
import torch

from edgerank.data.video import VideoSyntheticData
from edgerank.errors import ConfigError
from edgerank.registry import build

MODELS = ["ta_mmoe", "dnn", "edgerec"]


@pytest.fixture(scope="module")
def datamodule():
    dm = VideoSyntheticData(num_users=25, num_videos=200, sessions_per_user=2, max_candidates=50, seq_len=10)
    dm.setup()
    return dm


def batch_of(dm, n: int = 8) -> dict[str, torch.Tensor]:
    batch = next(iter(dm.test_dataloader()))
    return {k: v[:n] for k, v in batch.items() if k in dm.spec.input_names}


@pytest.mark.parametrize("name", MODELS)
def test_outputs_are_one_probability_per_task_and_slot_zero_at_padding(datamodule, name):
    torch.manual_seed(0)
    graph = build("model", {"name": name}, spec=datamodule.spec).on_device().eval()
    x = batch_of(datamodule)
    with torch.no_grad():
        out = graph(**x)
    assert sorted(out) == ["effective_view", "has_next", "like"]
    mask = x["cand_mask"]
    assert mask.min() == 0, "the test batch should contain padded candidates"
    for p in out.values():
        assert p.shape == mask.shape
        assert torch.all(p[mask == 0] == 0) and torch.all((p[mask == 1] > 0) & (p[mask == 1] < 1))


@pytest.mark.parametrize("name", MODELS)
def test_padded_positions_have_no_effect(datamodule, name):
    torch.manual_seed(0)
    graph = build("model", {"name": name}, spec=datamodule.spec).on_device().eval()
    x = batch_of(datamodule)
    assert (x["seq_mask"] == 0).any() and (x["cand_mask"] == 0).any()
    noisy = {}
    generator = torch.Generator().manual_seed(1)
    for key, value in x.items():
        if key in ("cand_mask", "seq_mask"):
            noisy[key] = value
            continue
        pad = (x["seq_mask"] if key.startswith("seq_") else x["cand_mask"]) == 0
        while pad.dim() < value.dim():
            pad = pad.unsqueeze(-1)
        if value.dtype == torch.int32:
            junk = torch.randint(0, 10, value.shape, generator=generator, dtype=torch.int32)
        else:
            junk = 5 * torch.randn(value.shape, generator=generator)
        noisy[key] = torch.where(pad, junk, value)
    assert any(not torch.equal(noisy[k], x[k]) for k in x)
    with torch.no_grad():
        clean, dirty = graph(**x), graph(**noisy)
    for task in clean:
        torch.testing.assert_close(dirty[task], clean[task], rtol=0, atol=1e-6)


def test_real_sequence_items_do_change_the_output(datamodule):
    """The converse of the padding test: the mask test above could pass on a model that ignores the sequence."""
    torch.manual_seed(0)
    graph = build("model", {"name": "ta_mmoe"}, spec=datamodule.spec).on_device().eval()
    x = batch_of(datamodule)
    changed = dict(x, seq_feedback=1.0 - x["seq_feedback"])
    with torch.no_grad():
        a, b = graph(**x)["like"], graph(**changed)["like"]
    has_seq = x["seq_mask"].sum(1) > 0
    assert (a[has_seq] - b[has_seq]).abs().max() > 1e-4


def test_unknown_or_bad_model_options_name_the_key(datamodule):
    with pytest.raises(ConfigError, match="model.experts"):
        build("model", {"name": "ta_mmoe", "experts": 3}, spec=datamodule.spec)
    with pytest.raises(ConfigError, match="model.num_experts"):
        build("model", {"name": "ta_mmoe", "num_experts": 0}, spec=datamodule.spec)
    with pytest.raises(ConfigError, match="model.hidden"):
        build("model", {"name": "dnn", "hidden": []}, spec=datamodule.spec)
    with pytest.raises(ConfigError, match="model.gru_hidden"):
        build("model", {"name": "edgerec", "gru_hidden": -1}, spec=datamodule.spec)


@pytest.fixture(scope="module")
def short_lists():
    """Shorter fixed shapes keep the unrolled GRUs (one step per slot) quick to convert."""
    dm = VideoSyntheticData(num_users=10, num_videos=100, sessions_per_user=2, candidates=[5, 20], max_candidates=20, seq_len=6)
    dm.setup()
    return dm


@pytest.mark.parametrize("name", ["dnn", "edgerec"])
def test_conversion_and_parity(short_lists, tmp_path, name):
    from edgerank.export.artifact import export_artifact

    datamodule = short_lists
    torch.manual_seed(0)
    net = build("model", {"name": name}, spec=datamodule.spec)
    manifest = export_artifact(
        net.on_device(),
        datamodule.parity_samples(12, seed=0),
        tmp_path / "artifact",
        name=name,
        version="1",
        tolerance=1e-5,
        metrics={},
        fields=datamodule.spec.manifest_fields(),
    )
    assert manifest["parity"]["passed"] and manifest["parity"]["max_abs_err"] < 1e-5
    inputs = {i["name"]: (i["dtype"], i["shape"]) for i in manifest["inputs"]}
    assert inputs["cand_id"] == ("int32", [1, 20]) and inputs["seq_feedback"] == ("float32", [1, 6, 3])
    assert set(inputs) == set(datamodule.spec.input_names)
    assert {o["name"] for o in manifest["outputs"]} == {"has_next", "effective_view", "like"}
    assert manifest["size_bytes"] < 1_000_000
