"""What a default run shows on the terminal: a few lines of its own, third-party output in run.log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli
from edgerank.console import round_metric

TINY = ["+experiment=product_topk", "data.num_users=1500", "trainer.max_epochs=2", "export.parity_samples=16"]
NOISE = ["[START]", "[ DONE]", "torchao", "triton", "absl", "oneDNN", "FutureWarning", "LeafSpec", "litlogger", "KernelPreference"]
PROGRESS = re.compile(r"\r|it/s|\x1b\[A")  # tqdm redraws: one terminal line, many in a pipe


def console_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not PROGRESS.search(line)]


def test_default_run_prints_one_line_per_phase_and_keeps_third_party_output_in_the_log(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli([*TINY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)  # progress bar on, as by default
    assert result.returncode == 0, result.stderr[-3000:]
    lines = console_lines(result.stdout + result.stderr)
    assert len(lines) <= 20, "\n".join(lines)
    assert not [line for line in lines if any(word in line for word in NOISE)], "\n".join(lines)
    own = console_lines(result.stderr)
    experiment = f"product_topk: data=product_synthetic model=dense_topk seed=0 epochs=2 -> {run_dir}"
    assert own[0] == experiment and own[1].split()[0] == "data", own
    for name in ("data", "train", "test", "conversion", "parity", "publish"):
        assert any(re.match(rf"{name}\s+\d+\.\d s", line) for line in lines), (name, lines)
    assert any(re.match(rf"run dir\s+{re.escape(str(run_dir))}$", line) for line in lines)
    parity = json.loads((run_dir / "parity_report.json").read_text())
    verdict = next(line for line in lines if line.startswith("parity ") and "passed" in line)
    assert f"max abs err {parity['max_abs_err']:.2g}, lists identical 100.0%, 16 requests" in verdict
    log = (run_dir / "run.log").read_text()
    assert "[START] LiteRT-Torch Convert" in log and "GPU available" in log
    assert "intra-op threads: 1 (threads=auto, 1 parallel job(s)" in log  # not on the terminal
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    produced = readme.split("## What a run produces", 1)[1].split("### ", 1)[0]
    assert [p.name for p in run_dir.iterdir() if f"`{p.name}{'/' if p.is_dir() else ''}" not in produced] == []

    metrics = json.loads((run_dir / "metrics.json").read_text())
    manifest = json.loads((run_dir / "artifact" / "manifest.json").read_text())
    assert metrics["artifact/size_bytes"] == manifest["size_bytes"]  # the table's figures, under its keys
    assert metrics["parity/max_abs_err"] == pytest.approx(parity["max_abs_err"], rel=1e-5)
    assert metrics["parity/lists_identical"] == 1.0
    for key, value in metrics.items():
        assert float(f"{value:.6g}") == value, (key, value)  # no float32 noise
        assert f"{key}  " in result.stdout


def test_verbose_switch_brings_third_party_output_back(tmp_path):
    quiet = run_cli([*TINY, "export.enabled=false", f"hydra.run.dir={tmp_path / 'quiet'}"], cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "GPU available" not in quiet.stdout + quiet.stderr
    for name, switch in (("dash_v", ["-v"]), ("hydra_verbose", ["hydra.verbose=true"])):
        loud = run_cli([*switch, *TINY, "export.enabled=false", f"hydra.run.dir={tmp_path / name}"], cwd=tmp_path)
        assert loud.returncode == 0, loud.stderr[-3000:]
        assert "GPU available" in loud.stdout + loud.stderr and "train  " in loud.stdout + loud.stderr, switch
        assert "GPU available" in (tmp_path / name / "run.log").read_text()


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(0.11924999952316284, 0.11925), (3.5762786865234375e-07, 3.57628e-07), (355.0999755859375, 355.1), (0.0, 0.0), (65064, 65064)],
)
def test_metrics_keep_six_significant_digits(value, rounded):
    assert round_metric(value) == rounded


def test_native_output_outside_a_run_goes_to_the_debug_log(capfd, tmp_path):
    """What a C++ library writes to the descriptors while the runtime loads a model (LiteRT's
    XNNPACK notice) reaches edgerank's log at debug level and not the terminal; inside a run's
    session the phases decide, so the block is left alone there."""
    import logging
    import os

    from edgerank.console import native_output_logged, session

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # on the logger itself: a run configured earlier may stop propagation
    logger = logging.getLogger("edgerank")
    level, disabled = logger.level, logger.disabled  # or disable it (logging.config's default)
    logger.setLevel(logging.DEBUG)
    logger.disabled = False
    logger.addHandler(handler)
    try:
        with native_output_logged():
            os.write(2, b"INFO: a native notice\n")
            os.write(1, b"another on stdout\n\n")
        assert capfd.readouterr() == ("", "")
        assert [(r.levelno, r.getMessage()) for r in records] == [
            (logging.DEBUG, "INFO: a native notice"), (logging.DEBUG, "another on stdout")]
        records.clear()
        with session(tmp_path / "run.log", verbose=True), native_output_logged():
            os.write(2, b"shown under -v\n")
        assert "shown under -v" in capfd.readouterr().err and not records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled


def test_threads_loading_at_once_leave_the_descriptors_as_they_found_them(capfd):
    """Models loaded from several threads redirect one after the other: every thread's notice
    is logged and the terminal gets its descriptors back."""
    import os
    import threading
    import time

    from edgerank.console import native_output_logged

    start = threading.Barrier(4)

    def load(i: int) -> None:
        start.wait()
        with native_output_logged():
            os.write(2, f"notice {i}\n".encode())
            time.sleep(0.05)  # the blocks would overlap

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
