"""The device against the service on 127.0.0.1: resolve, download, verify, rank, and survive."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import redirect_stdout

import pytest

from edgerank.monitor import Event, EventLog
from edgerank.runtime import EventUploader, FixedArtifact, ProductRuntime, ServerSource
from serve_fixtures import STATIC, USER, cloud, flip_middle_byte, run, serving  # noqa: F401 - cloud, run: fixtures


def device(url, tmp_path, **options):
    source = ServerSource(url, "product_topk", tmp_path / "cache", **{"ttl_s": 0.0, "retry_s": 0.0, "timeout_s": 2.0, **options})
    return source, ProductRuntime(source, fallback_skus=STATIC)


def test_device_resolves_downloads_verifies_and_ranks_as_the_artifact_does(cloud, run, tmp_path):
    cloud.rollout("1=100")
    with serving(cloud) as (server, _):
        source, runtime = device(server.url, tmp_path)
        ranking = runtime.rank("bob", USER)
    assert ranking.ok and (ranking.version, ranking.group) == ("v1", "v1")
    local = ProductRuntime(FixedArtifact(run.artifact)).rank("bob", USER)
    assert ranking.items == local.items and ranking.scores == pytest.approx(local.scores, abs=0)
    cached = tmp_path / "cache" / "product_topk" / "v1"
    assert (cached / "model.tflite").read_bytes() == (run.artifact / "model.tflite").read_bytes()
    assert json.loads((tmp_path / "cache" / "product_topk" / "users.json").read_text())["bob"]["version"] == 1


def test_a_rollout_change_reaches_the_device_on_its_next_resolve(cloud, tmp_path):
    cloud.rollout("1=100")
    with serving(cloud) as (server, _):
        source, runtime = device(server.url, tmp_path)
        assert runtime.rank("bob", USER).version == "v1"
        cloud.rollout("stable:1=0.001", "canary:2=100")
        after = runtime.rank("bob", USER)
        assert after.ok and (after.version, after.group) == ("v2", "canary")
        polled = ServerSource(server.url, "product_topk", tmp_path / "cache", ttl_s=3600)
        assert polled.resolve("bob").version == "v2"
        cloud.rollout("1=100")
        assert polled.resolve("bob").version == "v2"  # within its ttl the device does not ask ...
        assert polled.refresh("bob") and polled.resolve("bob").version == "v1"  # ... until the app polls
        assert runtime.rank("bob", USER).version == "v1"


def test_a_tampered_download_is_refused_and_the_cached_version_keeps_serving(cloud, tmp_path):
    cloud.rollout("1=100")
    with serving(cloud, tamper=True) as (server, proxy):
        source, runtime = device(server.url, tmp_path)
        assert runtime.rank("bob", USER).version == "v1"
        proxy.rule = lambda path: flip_middle_byte if path.endswith("/v2/model.tflite") else None
        cloud.rollout("2=100")
        for _ in range(3):
            ranking = runtime.rank("bob", USER)
            assert ranking.ok and ranking.version == "v1"
        assert "sha256" in source.last_error and "refused" in source.last_error
        assert not (tmp_path / "cache" / "product_topk" / "v2").exists()
        assert [p.name for p in (tmp_path / "cache" / "product_topk").iterdir() if p.name.startswith(".")] == []

        proxy.rule = lambda path: (lambda body: b"<html>gateway error</html>") if path.endswith("/resolve") else None
        assert runtime.rank("bob", USER).version == "v1" and "not a resolve answer" in source.last_error
        proxy.rule = lambda path: (lambda body: body.replace(b'"sha256":"', b'"sha256":"0')) if path.endswith("/resolve") else None
        assert runtime.rank("bob", USER).version == "v1" and "invalid version, sha256 or size" in source.last_error
        proxy.rule = lambda path: (lambda body: body + b"x" * 10) if path.endswith("/v2/model.tflite") else None
        assert runtime.rank("bob", USER).version == "v1" and "larger than" in source.last_error

        proxy.rule = lambda path: None  # the proxy heals: the new version arrives
        assert runtime.rank("bob", USER).version == "v2"


def test_the_server_stopped_mid_run_leaves_the_device_serving_within_its_timeout(cloud, tmp_path):
    cloud.rollout("1=100")
    with serving(cloud) as (server, _):
        source, runtime = device(server.url, tmp_path, timeout_s=0.5)
        assert runtime.rank("bob", USER).version == "v1"
        server.stop()
        for _ in range(5):
            start = time.perf_counter()
            ranking = runtime.rank("bob", USER)
            assert time.perf_counter() - start < 1.5
            assert ranking.ok and ranking.version == "v1"
        assert source.last_error
    restarted = ProductRuntime(ServerSource(server.url, "product_topk", tmp_path / "cache", timeout_s=0.5), fallback_skus=STATIC)
    assert restarted.rank("bob", USER).version == "v1"  # the app restarted offline: its cache still serves
    assert restarted.rank("alice", USER).ok  # a user never seen gets the newest cached version
    nothing = ProductRuntime(ServerSource(server.url, "product_topk", tmp_path / "empty", timeout_s=0.5), fallback_skus=STATIC)
    empty = nothing.rank("bob", USER)
    assert empty.source == "fallback" and empty.items == STATIC  # as today for an artifact that is not there
    assert empty.items == ProductRuntime(FixedArtifact(tmp_path / "nowhere"), fallback_skus=STATIC).rank("bob", USER).items


def test_unreachable_or_nonsense_servers_never_raise():
    for url in ("http://127.0.0.1:9", "not a url", "http://[::1", "ftp://127.0.0.1/"):
        source = ServerSource(url, "product_topk", "/nonexistent/cache", timeout_s=0.2)
        assert source.resolve("bob").version == "unavailable" and source.last_error
        assert source.refresh("bob") is False
    invalid = ServerSource("http://127.0.0.1:9", "../etc", "/nonexistent/cache", timeout_s=0.2)
    assert invalid.resolve("bob").version == "unavailable" and "invalid model name" in invalid.last_error
    uploader = EventUploader("http://127.0.0.1:9", timeout_s=0.2)
    assert uploader.flush() is True and uploader.sent == 0


def test_a_server_that_stalls_or_trickles_costs_the_device_one_timeout(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port, stop = listener.getsockname()[1], threading.Event()

    def answer(connection: socket.socket, trickle: bool) -> None:
        with connection:
            if not trickle:
                stop.wait(3)  # accepts, never answers
                return
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            while not stop.is_set():  # then one byte every 0.1 s: each read succeeds, the whole never ends
                connection.send(b" ")
                time.sleep(0.1)

    def serve() -> None:  # connections alternate: silence, trickle, silence, ...
        listener.settimeout(0.1)
        count = 0
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            count += 1
            threading.Thread(target=answer, args=(connection, count % 2 == 0), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        source = ServerSource(f"http://127.0.0.1:{port}", "product_topk", tmp_path / "cache", timeout_s=0.5, retry_s=0)
        for _ in ("silence", "trickle"):
            start = time.perf_counter()
            assert source.refresh("bob") is False
            assert time.perf_counter() - start < 1.5, source.last_error
            assert "not answered within 0.5 s" in source.last_error, source.last_error
        uploader = EventUploader(f"http://127.0.0.1:{port}", timeout_s=0.5)
        uploader.record(Event(time.time(), "product_topk", "v1", "", True, 1.0))
        start = time.perf_counter()
        assert uploader.flush() is False and time.perf_counter() - start < 1.5
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_uploaded_events_land_in_the_monitor_once_even_when_an_answer_is_lost(cloud, tmp_path):
    cloud.rollout("1=100")
    with serving(cloud, tamper=True) as (server, proxy):
        uploader = EventUploader(server.url, batch_size=3)
        runtime = ProductRuntime(ServerSource(server.url, "product_topk", tmp_path / "cache"), monitor=uploader)
        for i in range(7):
            runtime.rank(f"user-{i}", USER)

        def lose_answer(body: bytes) -> bytes:  # the server stores the batch, the device never hears
            raise ConnectionResetError("answer lost")

        proxy.rule = lambda path: lose_answer if path == "/events" else None
        assert uploader.flush() is False and uploader.sent == 0
        proxy.rule = lambda path: None
        runtime.close()
        assert uploader.flush() is True and (uploader.sent, uploader.dropped) == (7, 0)
    events = list(EventLog(cloud.db).events())
    assert len(events) == 7 and {e.version for e in events} == {"v1"} and all(e.ok for e in events)


def test_concurrent_flushes_post_each_batch_once_and_never_raise(monkeypatch):
    """An app's timer and the runtime's close() may flush at once: each batch is posted by one of them."""
    from edgerank.runtime import remote

    both_posting = threading.Barrier(2)
    posted: list[str] = []

    def fetch(url, timeout_s, limit, data=None, headers=None):
        batch = json.loads(data)
        posted.append(batch["batch_id"])
        try:
            both_posting.wait(timeout=1.0)  # the second flush arrives while the first is on the wire
        except threading.BrokenBarrierError:
            pass
        return 200, json.dumps({"accepted": len(batch["events"]), "rejected": 0, "duplicate": False}).encode()

    monkeypatch.setattr(remote, "_fetch", fetch)
    uploader = EventUploader("http://127.0.0.1:9", batch_size=5)
    for i in range(5):
        uploader.record(Event(float(i), "product_topk", "v1", "", True, 1.0))
    raised: list[BaseException] = []

    def flush() -> None:
        try:
            uploader.flush()
        except BaseException as exc:  # noqa: BLE001 - what the test looks for
            raised.append(exc)

    threads = [threading.Thread(target=flush) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert raised == [] and len(posted) == 1 and uploader.sent == 5
    assert uploader.flush() is True


def test_rank_from_the_shell_against_the_server(cloud, tmp_path):
    from edgerank.runtime.__main__ import main

    cloud.rollout("1=50", "2=50")
    with serving(cloud) as (server, _):
        args = ["rank", "--server", server.url, "--model", "product_topk", "--cache", str(tmp_path / "cache"), "--user", "bob",
                "city=Nanjing", "gender=male"]
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(args) == 0
        ranking = json.loads(out.getvalue())
        assert ranking["source"] == "model" and len(ranking["items"]) == 5
        assert ranking["version"] == ServerSource(server.url, "product_topk", tmp_path / "c2").resolve("bob").version
        assert main(["rank", "--server", server.url, "city=Nanjing"]) == 2
    (event,) = EventLog(cloud.db).events()
    assert (event.model, event.version, event.ok, event.fields, event.unknown) == ("product_topk", ranking["version"], True, 4, 2)


def test_rank_from_the_shell_refuses_a_model_name_that_is_a_path_as_with_the_store(tmp_path, capsys):
    from edgerank.runtime.__main__ import main

    for where in (["--server", "http://127.0.0.1:9", "--cache", str(tmp_path / "cache")], ["--store", str(tmp_path / "store")]):
        assert main(["rank", *where, "--model", "../x", "--no-monitor", "city=Nanjing"]) == 2
        assert "'../x' is not a valid model name" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_the_device_side_imports_no_torch(cloud, tmp_path):
    cloud.rollout("1=100")
    with serving(cloud) as (server, _):
        script = textwrap.dedent(
            f"""
            import json, sys
            from edgerank.runtime import EventUploader, ProductRuntime, ServerSource
            uploader = EventUploader({server.url!r})
            runtime = ProductRuntime(ServerSource({server.url!r}, "product_topk", {str(tmp_path / "cache")!r}), monitor=uploader)
            ranking = runtime.rank("bob", {USER!r})
            runtime.close()
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"torch", "lightning", "hydra", "litert_torch", "starlette", "uvicorn", "httpx"}})
            print(json.dumps({{"heavy": heavy, "ok": ranking.ok, "sent": uploader.sent}}))
            """
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"heavy": [], "ok": True, "sent": 1}
