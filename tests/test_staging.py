"""Stage, check, move into place: what a reader of the destination can ever see."""

from __future__ import annotations

import os
import tempfile

import pytest

from edgerank.staging import staged_file, staged_folder


def test_a_folder_is_published_whole_or_not_at_all(tmp_path):
    destination = tmp_path / "artifact"
    with staged_folder(destination) as stage:
        assert stage.path.parent == tmp_path and stage.path.name.startswith(f".artifact.{os.getpid()}.")
        (stage.path / "model.tflite").write_bytes(b"v1")
        assert not destination.exists()  # nothing visible before the commit
        stage.commit()
    assert (destination / "model.tflite").read_bytes() == b"v1" and oct(destination.stat().st_mode & 0o777) == "0o755"
    with pytest.raises(RuntimeError), staged_folder(destination) as stage:
        (stage.path / "model.tflite").write_bytes(b"half")
        raise RuntimeError("the check failed")
    with staged_folder(destination) as stage:  # leaving without commit publishes nothing either
        (stage.path / "model.tflite").write_bytes(b"unchecked")
    assert (destination / "model.tflite").read_bytes() == b"v1"
    with staged_folder(destination) as stage:
        (stage.path / "model.tflite").write_bytes(b"v2")
        stage.commit()
    assert (destination / "model.tflite").read_bytes() == b"v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"]  # no staging or retired folder left


def test_a_file_replaces_the_old_one_in_one_rename_and_dead_writers_leftovers_go(tmp_path):
    destination = tmp_path / "metrics.json"
    destination.write_text("old")
    (tmp_path / ".metrics.json.999999999.abc").write_text("a killed writer's")
    with staged_file(destination) as stage:
        assert not (tmp_path / ".metrics.json.999999999.abc").exists()
        stage.path.write_text("new")
        assert destination.read_text() == "old"
        stage.commit()
    assert destination.read_text() == "new" and oct(destination.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


@pytest.mark.parametrize("stage", ["staged_folder", "staged_file"])
def test_a_termination_while_the_staging_path_is_made_leaves_nothing(tmp_path, monkeypatch, stage):
    """SIGTERM right after the folder (file) exists, before the caller could know its name: a loaded
    machine pauses a process exactly there, and the name would be lost with it."""
    import signal

    import edgerank.staging as staging
    from edgerank.termination import _handle

    make = {"staged_folder": tempfile.mkdtemp, "staged_file": tempfile.mkstemp}[stage]

    def terminated_right_after(*args, **kwargs):
        made = make(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return made

    monkeypatch.setattr(tempfile, make.__name__, terminated_right_after)
    previous = signal.signal(signal.SIGTERM, _handle)
    try:
        with pytest.raises(SystemExit) as exited, getattr(staging, stage)(tmp_path / "artifact"):
            pytest.fail("the block must not run after the termination")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exited.value.code == 143
    assert list(tmp_path.iterdir()) == []
