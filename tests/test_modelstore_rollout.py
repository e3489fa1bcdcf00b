"""Rollout: deterministic by a hash of the user id, matching the configured split."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from appside_fixtures import tiny_run
from conftest import run_cli
from edgerank.errors import ConfigError
from edgerank.modelstore import ModelStore, Rollout, StoreError, bucket
from edgerank.monitor import EventLog, summarize
from edgerank.runtime import ProductRuntime, StoreSource


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def test_split_matches_the_configuration_over_many_ids():
    rollout = Rollout.parse(["stable:3=90", "canary:4=10"], salt="product_topk")
    counts = {3: 0, 4: 0}
    n = 40_000
    for i in range(n):
        counts[rollout.resolve(f"user-{i}").version] += 1
    assert abs(counts[4] / n - 0.10) < 0.01  # binomial sd is 0.0015
    three = Rollout.parse(["1=50", "2=30", "3=20"], salt="x")
    shares = [sum(three.resolve(i).version == v for i in range(n)) / n for v in (1, 2, 3)]
    assert shares == pytest.approx([0.5, 0.3, 0.2], abs=0.015)


def test_resolution_is_deterministic_across_processes_and_objects():
    rollout = Rollout.parse(["3=90", "4=10"], salt="product_topk")
    ids = [f"user-{i}" for i in range(200)]
    here = [rollout.resolve(u).version for u in ids]
    assert here == [Rollout.from_dict(rollout.to_dict()).resolve(u).version for u in ids]
    code = (
        "import json; from edgerank.modelstore import Rollout; "
        f"r = Rollout.parse(['3=90', '4=10'], salt='product_topk'); print(json.dumps([r.resolve(u).version for u in {ids!r}]))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={"PYTHONHASHSEED": "123"})
    assert json.loads(other.stdout) == here
    assert bucket("user-1", "a") != bucket("user-1", "b")  # the salt decorrelates models


def test_growing_the_canary_only_adds_users():
    small = Rollout.parse(["3=90", "4=10"], salt="s")
    large = Rollout.parse(["3=80", "4=20"], salt="s")
    ids = range(5000)
    canary_before = {i for i in ids if small.resolve(i).version == 4}
    canary_after = {i for i in ids if large.resolve(i).version == 4}
    assert canary_before < canary_after


def test_pins_and_bad_specs():
    rollout = Rollout.parse(["3=100"], salt="s", pins=["tester-1=4"])
    assert rollout.resolve("tester-1").version == 4 and rollout.resolve("tester-1").group == "pinned"
    for bad in (["3"], ["x=10"], ["3=abc"], ["3=0"]):
        with pytest.raises(ConfigError):
            Rollout.parse(bad, salt="s")


def test_runtime_resolves_the_store_rollout_and_monitoring_sees_the_split(run, tmp_path):
    store = ModelStore(tmp_path / "store")
    store.publish(run.artifact)
    store.publish(run.int8)
    with pytest.raises(StoreError, match="v9"):
        store.set_rollout("product_topk", Rollout.parse(["1=90", "9=10"], "s"))
    store.set_rollout("product_topk", Rollout.parse(["stable:1=90", "canary:2=10"], "product_topk"))
    log = EventLog(tmp_path / "events.sqlite")
    runtime = ProductRuntime(StoreSource(store, "product_topk"), monitor=log)
    user = {"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"}
    n = 2000
    for i in range(n):
        ranking = runtime.rank(f"user-{i}", user)
        assert ranking.ok and ranking.version == ("v2" if ranking.group == "canary" else "v1")
    log.flush()
    rows = {r.version: r for r in summarize(log.events())}
    assert rows["v2"].traffic_share == pytest.approx(0.10, abs=0.025)
    assert rows["v1"].requests + rows["v2"].requests == n and rows["v1"].success_rate == 1.0

    shown = run_cli(["--store", str(tmp_path / "store"), "rollout", "product_topk"], tmp_path, 60, module="edgerank.registry")
    assert "canary" in shown.stdout and "10.0%" in shown.stdout, shown.stderr
    resolved = run_cli(["--store", str(tmp_path / "store"), "resolve", "product_topk", "user-0"], tmp_path, 60, module="edgerank.registry")
    expected = StoreSource(store, "product_topk").resolve("user-0").version
    assert json.loads(resolved.stdout)["version"] == expected


def test_rollout_cli_sets_and_refuses_unpublished_versions(run, tmp_path):
    store_args = ["--store", str(tmp_path / "store")]
    assert run_cli([*store_args, "publish", str(run.artifact)], tmp_path, 60, module="edgerank.registry").returncode == 0
    bad = run_cli([*store_args, "rollout", "product_topk", "1=90", "2=10"], tmp_path, 60, module="edgerank.registry")
    assert bad.returncode == 2 and "v2" in bad.stderr and "not published" in bad.stderr
    good = run_cli([*store_args, "rollout", "product_topk", "1=100", "--pin", "qa-7=1"], tmp_path, 60, module="edgerank.registry")
    assert good.returncode == 0 and "pinned" in good.stdout, good.stderr
