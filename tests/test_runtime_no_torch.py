"""The runtime is what a phone runs: importing and serving with it must not import torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from appside_fixtures import tiny_run


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def test_runtime_store_and_monitor_do_not_import_torch(run, tmp_path):
    script = textwrap.dedent(
        f"""
        import json, sys
        from edgerank.runtime import FixedArtifact, ProductRuntime, StoreSource
        from edgerank.modelstore import ModelStore
        from edgerank.monitor import EventLog, summarize
        log = EventLog({str(tmp_path / "events.sqlite")!r})
        store = ModelStore({str(tmp_path / "store")!r})
        store.publish({str(run.artifact)!r})
        for source in (FixedArtifact({str(run.artifact)!r}), StoreSource(store, "product_topk")):
            runtime = ProductRuntime(source, monitor=log)
            ranking = runtime.rank("user-1", {{"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"}})
            assert ranking.ok, ranking.error
        log.flush()
        from edgerank.runtime.__main__ import main  # the shell entry point too
        assert main(["rank", "--artifact", {str(run.artifact)!r}, "--db", {str(tmp_path / "events.sqlite")!r}, "city=Nanjing"]) == 0
        rows = summarize(log.events())
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"torch", "lightning", "hydra", "litert_torch"}})
        print(json.dumps({{"heavy": heavy, "items": ranking.items, "requests": sum(r.requests for r in rows)}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"the runtime imported {result['heavy']}"
    assert len(result["items"]) == 5 and result["requests"] == 3
