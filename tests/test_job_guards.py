"""The main job's guarantees: every user error exits 2 with a message naming the key, file or
column, before any training; a run's files never disagree with each other."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import run_cli
from edgerank.errors import ConfigError, DataError, ParityError
from edgerank.pipeline import run

PRODUCT = ["+experiment=product_topk", "+debug=product"]
VIDEO = ["+experiment=video_rerank", "+debug=video"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def csv_overrides(path: Path, features: str = "[city]", label: str = "sku") -> list[str]:
    return ["+experiment=product_topk", "data=csv", f"data.path={path}", f"data.label={label}", f"data.features={features}"]


def expect_before_training(make_cfg, tmp_path, overrides, error, message):
    """``run`` raises ``error`` matching ``message`` and leaves nothing behind: no checkpoint, no metrics."""
    cfg = make_cfg(*overrides)
    with pytest.raises(error, match=message):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "artifact").exists()
    assert not list(tmp_path.glob("checkpoints/*.ckpt")), "it trained before failing"


# -- 7: Hydra's own composition errors --------------------------------------------------------
@pytest.mark.parametrize(
    "override, message",
    [
        ("model=dense_topkk", "edgerank: error: model: no config option 'dense_topkk'. Did you mean: dense_topk? Options: dense_topk, dnn"),
        ("model.hiddn=[32]", "edgerank: error: model.hiddn: not a key of 'model'. Did you mean: hidden? Keys: dropout, hidden, name, top_k"),
        ("+experiment=product_topkk", "edgerank: error: experiment: no config option 'product_topkk'. Did you mean: product_topk?"),
        ("seeed=1", "edgerank: error: seeed: not a key of the config. Did you mean: seed?"),
    ],
)
def test_hydra_composition_errors_exit_2_with_a_did_you_mean(tmp_path, override, message):
    result = run_cli([override, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "HYDRA_FULL_ERROR" not in result.stderr
    assert not (tmp_path / "run").exists()


# -- 8, 9: config values ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides, message",
    [
        (["trainer.max_epochs=-1"], r"^trainer\.max_epochs: must be a positive integer, got -1 \(-1 would train until killed"),
        (["trainer.max_epochs=0"], r"^trainer\.max_epochs: must be a positive integer, got 0 .*train=false ckpt_path="),
        (["trainer.max_epochs=abc"], r"^trainer\.max_epochs: must be a positive integer, got 'abc'"),
        (["+trainer.max_steps=0"], r"^trainer\.max_steps: must be a positive integer or -1 \(no limit\), got 0"),
        (["optimizer.lr=-1"], r"^optimizer\.lr: must be a positive number, got -1"),
        (["optimizer.lr=abc"], r"^optimizer\.lr: must be a positive number, got 'abc'"),
        (["+optimizer.alpha=-0.5"], r"^optimizer: cannot be built: ValueError: Invalid alpha value: -0\.5"),
        (["seed=abc"], r"^seed: must be an integer in 0\.\.4294967295, got 'abc'"),
        (["export.parity_samples=0"], r"^export\.parity_samples: must be a positive integer, got 0"),
        (["export.quantize=int4"], r"^export\.quantize: unknown mode 'int4'\. Did you mean: int8\? \(choose from: int8, int8_weight_only, fp16, int8_static, or null\)"),
        (["export.quantize=int8", "export.quantization.max_abs_err=null"], r"^export\.quantization\.max_abs_err: is required"),
        (["export.tolerance=abc"], r"^export\.tolerance: must be a positive number, got 'abc'"),
        (["export.enabled=maybe"], r"^export\.enabled: must be true or false, got 'maybe'"),
        (["data.num_users=abc"], r"^data\.num_users: must be an integer, got 'abc'"),  # a plugin's own hints
        (["data.test_fraction=abc"], r"^data\.test_fraction: must be a number, got 'abc'"),
        (["model.top_k=2.5"], r"^model\.top_k: must be an integer, got 2\.5"),
    ],
)
def test_bad_values_exit_before_training(make_cfg, tmp_path, overrides, message):
    expect_before_training(make_cfg, tmp_path, [*PRODUCT, *overrides], ConfigError, message)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["ranker=beam", "ranker.list_size=80"], r"^ranker\.list_size: is 80, but a request has at most 50 candidates \(data\.max_candidates\)"),
        (["ranker=beam", "ranker.beam_size=64"], r"^ranker\.beam_size: is 64, but a request has at most 50 candidates"),
        (["ranker=adaptive_beam", "ranker.threshold=high"], r"^ranker\.threshold: must be a number, got 'high'"),
        (["ranker=beam", "+ranker.beam_width=3"], r"^ranker\.beam_width: not an option of ranker plugin 'beam' \(options: alpha, beam_size, beta, list_size\)"),
        (["ranker=beam_k2", "ranker.beam_size=0"], r"^ranker\.beam_size: must be a positive integer, got 0"),
    ],
)
def test_ranker_options_are_checked_against_the_data_before_training(make_cfg, tmp_path, overrides, message):
    expect_before_training(make_cfg, tmp_path, [*VIDEO, *overrides], ConfigError, message)


def test_a_checkpoint_of_another_model_or_a_corrupt_one_is_rejected_before_training(make_cfg, tmp_path):
    run(make_cfg(*PRODUCT, "model.hidden=[8]", "trainer.max_epochs=1", "export.enabled=false"), tmp_path / "a")
    (checkpoint,) = tmp_path.glob("checkpoints/*.ckpt")
    other = tmp_path / "other.ckpt"
    checkpoint.rename(other)
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint at all")
    for path, message in (
        (other, r"^ckpt_path: .*other\.ckpt is a checkpoint of another model: .* has shape \[8, \d+\] there, \[64, \d+\] here"),
        (corrupt, r"^ckpt_path: .*corrupt\.ckpt is not a readable Lightning checkpoint \(UnpicklingError"),
    ):
        for train in ("true", "false"):
            expect_before_training(make_cfg, tmp_path, [*PRODUCT, f"ckpt_path={path}", f"train={train}"], ConfigError, message)


def test_bad_config_exits_2_from_the_command_line(tmp_path):
    result = run_cli([*PRODUCT, "trainer.max_epochs=-1", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "edgerank: error: trainer.max_epochs: must be a positive integer, got -1" in result.stderr
    assert "Traceback" not in result.stderr


# -- 9, 11: CSV files ----------------------------------------------------------------------------
def test_csv_traps_are_errors_naming_the_file_and_column(make_cfg, tmp_path):
    rows = [[f"c{i % 5}", f"d{i % 3}", str(100 + i % 4)] for i in range(200)]
    cases = [
        (write_csv(tmp_path / "one.csv", ["city", "device", "sku"], [[c, d, "7"] for c, d, _ in rows]), {},
         r"one\.csv: the label column 'sku' has a single value \('7'\); ranking needs at least 2 products"),
        (write_csv(tmp_path / "latin.csv", ["city", "device", "sku"], [["Zürich", d, s] for _, d, s in rows], encoding="latin-1"), {},
         r"latin\.csv: not UTF-8 text \(byte 0xfc at offset \d+, line 2\); save it as UTF-8"),
        (write_csv(tmp_path / "dup.csv", ["city", "device", "city", "sku"], [[c, d, c, s] for c, d, s in rows]), {},
         r"dup\.csv: column name 'city' appears 2 times in the header"),
        (write_csv(tmp_path / "mixed.csv", ["city", "device", "sku"], [*rows, ["c1", "d1", "oops"]]), {},
         r"mixed\.csv: the label column 'sku' mixes integer SKU ids with text \('oops', data row 201\)"),
        (write_csv(tmp_path / "nan.csv", ["city", "device", "sku"], [*rows[:10], ["c1", "d1", "NaN"]]), {},
         r"nan\.csv: column 'sku' has 1 missing/NaN values \(first at data row 11\)"),
    ]
    for path, _, message in cases:
        expect_before_training(make_cfg, tmp_path, csv_overrides(path, "[city,device]"), DataError, message)


def test_a_utf8_bom_does_not_hide_the_first_column(make_cfg, tmp_path):
    rows = [[f"c{i % 5}", str(100 + i % 4)] for i in range(300)]
    path = write_csv(tmp_path / "bom.csv", ["city", "sku"], rows, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    metrics = run(make_cfg(*csv_overrides(path), "model.top_k=2", "trainer.max_epochs=1", "export.enabled=false"), tmp_path / "run")
    assert metrics["test/top1"] > 0


# -- 12: a run's files stay consistent ------------------------------------------------------------
def test_a_rerun_that_dies_keeps_metrics_consistent_with_the_artifact_and_no_staging_left(make_cfg, tmp_path):
    run_dir = tmp_path / "run"
    any_int8 = ["export.quantize=int8", "export.quantization.max_abs_err=1", "export.quantization.min_overlap_at_k=0",
                "export.quantization.max_metric_drop=1", "export.quantization.max_size_ratio=1"]
    run(make_cfg(*PRODUCT, "trainer.max_epochs=1", *any_int8), run_dir)
    manifest = json.loads((run_dir / "artifact" / "manifest.json").read_text())
    first = json.loads((run_dir / "metrics.json").read_text())
    assert manifest["metrics"].items() <= first.items()  # the figures of the model in artifact/
    # a run killed while staging left this behind (its process is gone)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = run_dir / f".artifact.{dead.stdout.strip()}.x1y2z3"
    stale.mkdir()
    (stale / "model.tflite").write_bytes(b"half")
    legacy = run_dir / ".artifact.k2j4h5"  # staging name of earlier versions, no process id
    legacy.mkdir()
    with pytest.raises(ParityError):  # the rerun trains with other settings, then dies in export
        run(make_cfg(*PRODUCT, "trainer.max_epochs=2", "seed=1", "export.tolerance=1e-12"), run_dir)
    assert json.loads((run_dir / "artifact" / "manifest.json").read_text())["sha256"] == manifest["sha256"]
    assert json.loads((run_dir / "metrics.json").read_text()) == first  # still the published model's figures
    assert (run_dir / "artifact_int8").is_dir()  # still the quantization of that model
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]
    # a rerun that publishes another float model without int8 takes the old int8 artifact away
    run(make_cfg(*PRODUCT, "trainer.max_epochs=2", "seed=1"), run_dir)
    second = json.loads((run_dir / "metrics.json").read_text())
    assert second["test/top1"] != first["test/top1"] or second["test/top5"] != first["test/top5"]
    assert json.loads((run_dir / "artifact" / "manifest.json").read_text())["metrics"].items() <= second.items()
    assert not (run_dir / "artifact_int8").exists()


def test_a_run_terminated_during_export_removes_its_staging_folder(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [*PRODUCT, f"hydra.run.dir={run_dir}"]
    process = subprocess.Popen([sys.executable, "-m", "edgerank", *args], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (run_dir.is_dir() and any(p.name.startswith(".artifact.") for p in run_dir.iterdir())):
            assert process.poll() is None and time.monotonic() < deadline, "the run never staged an artifact"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        process.kill()
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".artifact")]
    assert not (run_dir / "artifact").exists() and not (run_dir / "metrics.json").exists()


def test_a_termination_during_conversion_waits_for_the_converter_then_exits_143(tmp_path, monkeypatch):
    """A SystemExit raised inside a C++ extension's initialisation (jaxlib's MLIR bindings, which the
    converter imports) aborts the process before any cleanup: the converter runs to its end first."""
    import litert_torch

    from edgerank.export.convert import to_tflite
    from edgerank.termination import _handle

    monkeypatch.setattr(signal, "getsignal", lambda signum: signal.SIG_DFL)
    previous = signal.signal(signal.SIGTERM, _handle)
    convert = litert_torch.convert

    def terminated_while_converting(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return convert(*args, **kwargs)

    monkeypatch.setattr(litert_torch, "convert", terminated_while_converting)
    try:
        with pytest.raises(SystemExit) as exited:
            to_tflite(torch.nn.Linear(3, 2), {"input": np.zeros((1, 3), np.float32)}, tmp_path / "model.tflite")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exited.value.code == 128 + signal.SIGTERM
    assert (tmp_path / "model.tflite").stat().st_size > 0  # the conversion finished first


def test_outside_native_code_a_termination_exits_at_once(monkeypatch):
    from edgerank.termination import _handle, deferred

    previous = signal.signal(signal.SIGTERM, _handle)
    reached = []
    try:
        with pytest.raises(SystemExit) as exited:
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("after the signal")
        assert exited.value.code == 143 and not reached
        with pytest.raises(SystemExit), deferred(), deferred():  # nested: exits when the outer one ends
            os.kill(os.getpid(), signal.SIGTERM)
            with deferred():
                pass
            reached.append("inside")
        assert reached == ["inside"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_live_runs_staging_folder_is_left_alone(tmp_path):
    from edgerank.staging import remove_stale_staging

    live = tmp_path / f".artifact.{os.getpid()}.abc"
    live.mkdir()
    dead = tmp_path / ".artifact.999999999.abc"
    dead.mkdir()
    remove_stale_staging(tmp_path / "artifact")
    assert live.exists() and not dead.exists()


def test_the_checkpoint_check_needs_no_training(tmp_path):
    """The check reads the file alone: a state dict of the right keys and shapes passes."""
    from edgerank.job_checks import check_checkpoint

    module = torch.nn.Linear(3, 2)
    path = tmp_path / "ok.ckpt"
    torch.save({"state_dict": module.state_dict()}, path)
    check_checkpoint(str(path), module)
    torch.save({"state_dict": torch.nn.Linear(4, 2).state_dict()}, path)
    with pytest.raises(ConfigError, match=r"parameter 'weight' has shape \[2, 4\] there, \[2, 3\] here"):
        check_checkpoint(str(path), module)
