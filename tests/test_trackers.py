"""logger=tensorboard|mlflow|many record the run for real: the trackers' own files are read back."""

from __future__ import annotations

import json

import pytest

from conftest import compose_config
from edgerank.pipeline import run

TINY = [
    "+experiment=product_topk",
    "data.num_users=800",
    "trainer.max_epochs=2",
    "trainer.enable_progress_bar=false",
    "~callbacks.progress_bar",
    "export.parity_samples=8",
    "export.save_reference=false",
    "trainer.log_every_n_steps=1",
]


def test_many_loggers_record_params_metrics_and_the_artifact(tmp_path):
    run_dir = tmp_path / "runs" / "one"
    metrics = run(compose_config([*TINY, "logger=many"], run_dir), run_dir)

    # MLflow: the default SQLite store beside the run dirs, one run with params, metrics, artifacts
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "product_topk"]
    (mlrun,) = client.search_runs([experiment.experiment_id])
    assert mlrun.data.params["model/name"] == "dense_topk" and mlrun.data.params["seed"] == "0"
    assert mlrun.data.params["model/hidden"] == "[64, 128]"
    assert mlrun.data.metrics["test/top5"] == pytest.approx(metrics["test/top5"], abs=1e-6)
    assert mlrun.data.metrics["parity/max_abs_err"] == pytest.approx(metrics["parity/max_abs_err"])
    assert mlrun.data.metrics["artifact/size_bytes"] == metrics["artifact/size_bytes"]
    assert "val/loss" in mlrun.data.metrics and mlrun.data.tags["run_dir"] == str(run_dir)
    published = {f"artifact/{p.name}" for p in (run_dir / "artifact").iterdir()}
    assert {f.path for f in client.list_artifacts(mlrun.info.run_id, "artifact")} == published >= {"artifact/model.tflite", "artifact/manifest.json"}
    assert (tmp_path / "runs" / "mlartifacts").is_dir() and not (tmp_path / "mlartifacts").exists()
    stored = client.download_artifacts(mlrun.info.run_id, "artifact/manifest.json", str(tmp_path))
    assert json.loads(open(stored).read())["sha256"] == json.loads((run_dir / "artifact" / "manifest.json").read_text())["sha256"]

    # TensorBoard: the event file holds the training, test and export scalars
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()  # every event file of the run
    assert {"train/loss", "val/loss", "test/top5", "parity/max_abs_err", "artifact/size_bytes"} <= set(events.Tags()["scalars"])
    assert events.Scalars("test/top5")[-1].value == pytest.approx(metrics["test/top5"], abs=1e-6)
    assert (run_dir / "csv" / "metrics.csv").is_file()  # and the CSV logger beside them


def test_mlflow_server_uri_by_override(tmp_path):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    run_dir = tmp_path / "run"
    run(compose_config([*TINY, "logger=mlflow", f"logger.mlflow.tracking_uri={uri}", "export.enabled=false"], run_dir), run_dir)
    from mlflow import MlflowClient

    (experiment,) = [e for e in MlflowClient(uri).search_experiments() if e.name == "product_topk"]
    assert MlflowClient(uri).search_runs([experiment.experiment_id])[0].data.metrics["test/top5"] > 0
    assert not (tmp_path / "mlflow.db").exists()


def test_tensorboard_alone_writes_its_event_file(tmp_path):
    run_dir = tmp_path / "run"
    metrics = run(compose_config([*TINY, "logger=tensorboard", "export.enabled=false"], run_dir), run_dir)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    assert {"train/loss", "val/loss", "test/top5"} <= set(events.Tags()["scalars"])
    assert events.Scalars("test/top5")[-1].value == pytest.approx(metrics["test/top5"], abs=1e-6)
    assert not (run_dir / "csv").exists() and not (tmp_path / "mlflow.db").exists()  # only the tracker asked for
