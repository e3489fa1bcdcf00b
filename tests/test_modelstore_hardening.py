"""The registry cannot be escaped, raced or wedged: names, rollout weights, concurrent and dying
publishers, a corrupt index. Each test reproduces an attack that once worked."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from appside_fixtures import tiny_run
from conftest import run_cli
from edgerank.errors import ConfigError
from edgerank.modelstore import ModelStore, PublishError, Rollout, StoreError
from edgerank.modelstore.store import PUBLISH_STEPS


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def registry(args, tmp_path, store="store"):
    return run_cli(["--store", str(tmp_path / store), *args], cwd=tmp_path, timeout=120, module="edgerank.registry")


def renamed(run, tmp_path, name):
    copy = run.copy_artifact(tmp_path / "artifact")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["name"] = name
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


# -- item 1: names ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../../escaped", "a/b", "", ".hidden", "..", "Upper", "x" * 101, "a\\b", "new\nline"])
def test_a_manifest_name_outside_the_pattern_is_refused_and_nothing_is_written(run, tmp_path, name):
    copy = renamed(run, tmp_path, name)
    (tmp_path / "deep" / "er").mkdir(parents=True)
    done = registry(["publish", str(copy)], tmp_path / "deep" / "er")
    assert done.returncode == 2, done.stderr
    assert "name" in done.stderr and "[a-z0-9]" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "deep" / "escaped").exists()
    assert files_under(tmp_path / "deep" / "er" / "store" / "models") == []


def test_every_write_stays_inside_the_store_even_through_a_symlink(run, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    store = ModelStore(tmp_path / "store")
    (store.root / "models").mkdir()
    (store.root / "models" / "product_topk").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StoreError, match="outside the store"):
        store.publish(run.artifact)
    assert list(outside.iterdir()) == []
    assert store.versions() == []


def test_lookups_refuse_names_that_are_paths(tmp_path):
    store = ModelStore(tmp_path / "store")
    for name in ("../x", "a/b", ""):
        with pytest.raises(StoreError, match="not a valid model name"):
            store.get(name)
        with pytest.raises(StoreError, match="not a valid model name"):
            store.verify(name)


# -- item 2: rollout weights -----------------------------------------------------------------
@pytest.mark.parametrize("split", [["1=inf", "2=10"], ["1=nan", "2=10"], ["1=-5", "2=10"], ["1=0", "2=10"], ["1=1e308", "2=1e308"]])
def test_rollout_weights_must_be_finite_and_positive(split):
    with pytest.raises(ConfigError, match="weight"):
        Rollout.parse(split, salt="m")
    with pytest.raises(ConfigError):  # a stored config is held to the same rule
        Rollout.from_dict({"salt": "m", "groups": [{"name": "a", "version": 1, "weight": float(split[0].split("=")[1])},
                                                    {"name": "b", "version": 2, "weight": float(split[1].split("=")[1])}]})


def test_rollout_cli_refuses_inf_and_says_when_it_normalises(run, tmp_path):
    store = ModelStore(tmp_path / "store")
    store.publish(run.artifact)
    store.publish(run.int8)
    bad = registry(["rollout", "product_topk", "1=inf", "2=10"], tmp_path)
    assert bad.returncode == 2 and "finite" in bad.stderr and "Traceback" not in bad.stderr
    assert store.rollout("product_topk") is None
    done = registry(["rollout", "product_topk", "1=30", "2=20"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "weights sum to 50, not 100: normalised" in done.stdout
    assert "v1  60.0%" in done.stdout and "v2  40.0%" in done.stdout
    exact = registry(["rollout", "product_topk", "1=90", "2=10"], tmp_path)
    assert "normalised" not in exact.stdout and "v1  90.0%" in exact.stdout


@pytest.mark.parametrize("split", [["1=30", "2=20"], ["stable:1=1", "canary:2=3"], ["1=0.001", "2=999.999"], ["1=1e-300", "2=1e-300"]])
def test_displayed_shares_are_the_shares_resolve_applies(split):
    rollout = Rollout.parse(split, salt="product_topk")
    n = 40_000
    counts: dict[str, int] = {}
    for i in range(n):
        group = rollout.resolve(f"user-{i}").group
        counts[group] = counts.get(group, 0) + 1
    for group, share in rollout.shares().items():
        assert counts.get(group, 0) / n == pytest.approx(share, abs=0.01), (group, counts)


# -- item 3: concurrent publishes ------------------------------------------------------------
def test_concurrent_publishes_of_one_artifact_make_one_version(run, tmp_path):
    root, gate = tmp_path / "store", tmp_path / "go"
    ModelStore(root)
    script = (
        "import os, sys, time\n"
        "from edgerank.modelstore import ModelStore\n"
        "store = ModelStore(sys.argv[1])\n"
        "while not os.path.exists(sys.argv[3]): time.sleep(0.005)\n"
        "record, created = store.publish(sys.argv[2])\n"
        "print(record.version, created)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(root), str(run.artifact), str(gate)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    time.sleep(3.0)  # every process has imported and opened the store
    gate.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    lines = sorted(out.strip() for out, _ in results)
    assert lines == ["1 False", "1 False", "1 False", "1 True"]
    assert [r.version for r in ModelStore(root).versions()] == [1]
    assert sorted(os.listdir(root / "models" / "product_topk")) == ["v1"]


# -- item 4: a publisher that dies -----------------------------------------------------------
def test_an_orphan_left_by_a_dead_publisher_does_not_wedge_the_store(run, tmp_path):
    """A version folder that never reached the index (the publisher died after the move)."""
    store = ModelStore(tmp_path / "store")
    orphan = run.copy_artifact(store.root / "models" / "product_topk" / "v1")
    for path in orphan.iterdir():
        path.chmod(0o444)
    orphan.chmod(0o555)
    record, created = store.publish(run.artifact)
    assert created and record.version == 1
    assert store.verify("product_topk").sha256 == record.sha256
    assert sorted(os.listdir(store.root / "models" / "product_topk")) == ["v1"]


KILL_SCRIPT = (
    "import os, signal, sys\n"
    "from edgerank.modelstore import store\n"
    "def reached(step):\n"
    "    if step == sys.argv[3]:\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "store._reached = reached\n"
    "store.ModelStore(sys.argv[1]).publish(sys.argv[2])\n"
)


@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_a_publisher_killed_at_any_step_leaves_a_usable_store(run, tmp_path, step):
    root = tmp_path / "store"
    ModelStore(root).publish(run.int8)  # another model version already there must survive intact
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root), str(run.artifact), step], capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    store = ModelStore(root)
    record, created = store.publish(run.artifact)
    assert record.version == 2 and created == (step != "committed")
    assert [(r.version, r.variant) for r in store.versions()] == [(1, "int8"), (2, "float32")]
    for version in (1, 2):
        store.verify("product_topk", version)
    assert sorted(os.listdir(root / "models" / "product_topk")) == ["v1", "v2"]


def test_verify_repair_rolls_back_what_a_dead_publisher_left(run, tmp_path):
    root = tmp_path / "store"
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root), str(run.artifact), "moved"], capture_output=True, timeout=120)
    assert sorted(os.listdir(root / "models" / "product_topk")) == ["v1"]  # moved, never indexed
    plain = registry(["verify", "product_topk"], tmp_path)
    assert plain.returncode == 2 and "verify --repair" in plain.stderr
    repaired = registry(["verify", "product_topk", "--repair"], tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert "rolled back v1" in repaired.stdout
    assert os.listdir(root / "models" / "product_topk") == []
    again = registry(["verify", "product_topk", "--repair"], tmp_path)
    assert again.returncode == 2 and "no model named 'product_topk'" in again.stderr


# -- item 6: a corrupt index -----------------------------------------------------------------
def test_a_corrupt_index_is_a_clear_exit_2_everywhere(run, tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    (root / "index.sqlite").write_bytes(b"this is not an sqlite file" * 100)
    for args in (["list"], ["publish", str(run.artifact)], ["verify", "product_topk"]):
        done = registry(args, tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "index.sqlite" in done.stderr and "not a usable SQLite index" in done.stderr
        assert "Traceback" not in done.stderr
    served = run_cli(["rank", "--store", str(root), "--model", "product_topk", "--no-monitor", "city=Nanjing"],
                     tmp_path, 120, module="edgerank.runtime")
    assert served.returncode == 2 and "not a usable SQLite index" in served.stderr and "Traceback" not in served.stderr
    with pytest.raises(StoreError, match="not a usable SQLite index"):
        ModelStore(root)


def test_an_index_with_a_foreign_schema_is_a_store_error(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    with sqlite3.connect(root / "index.sqlite") as db:
        db.execute("CREATE TABLE versions (x TEXT)")
    with pytest.raises(StoreError, match="not a usable SQLite index"):
        ModelStore(root).versions()

