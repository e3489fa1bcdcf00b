"""Distribution over HTTP: the CLI's assignment, strong ETags, only verified versions, no escape."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import httpx
import pytest

from edgerank.runtime import StoreSource
from serve_fixtures import cloud, run, serving  # noqa: F401 - cloud, run: fixtures


def test_resolve_is_the_cli_assignment_and_files_carry_their_sha256_as_strong_etag(cloud):
    cloud.rollout("stable:1=70", "canary:2=30")
    cli = StoreSource(cloud.store, "product_topk")
    with serving(cloud) as (server, _), httpx.Client(base_url=server.url, timeout=10) as http:
        groups = {}
        for i in range(200):
            answer = http.get("/models/product_topk/resolve", params={"user": f"user-{i}"})
            assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
            body = answer.json()
            expected = cli.resolve(f"user-{i}")
            assert (body["label"], body["group"]) == (expected.version, expected.group)
            assert body["sha256"] == cloud.store.get("product_topk", body["version"]).sha256
            groups[body["group"]] = groups.get(body["group"], 0) + 1
        assert set(groups) == {"stable", "canary"} and 110 < groups["stable"] < 170

        record = cloud.store.get("product_topk", 2)
        model = http.get(body["model_url"] if body["version"] == 2 else "/models/product_topk/v2/model.tflite")
        assert model.status_code == 200 and hashlib.sha256(model.content).hexdigest() == record.sha256
        assert model.headers["etag"] == f'"{record.sha256}"' and "immutable" in model.headers["cache-control"]
        assert len(model.content) == record.size_bytes
        again = http.get("/models/product_topk/v2/model.tflite", headers={"If-None-Match": model.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        manifest = http.get("/models/product_topk/v2/manifest.json")
        assert manifest.headers["etag"] == f'"{record.manifest_sha256}"' and manifest.json()["sha256"] == record.sha256
        assert http.get("/models/product_topk/v1/model.tflite", headers={"If-None-Match": model.headers["etag"]}).status_code == 200

        listing = http.get("/models").json()["models"]
        assert [m["name"] for m in listing] == ["product_topk"]
        assert [(v["version"], v["served"]) for v in listing[0]["versions"]] == [(1, True), (2, True)]
        assert listing[0]["rollout"]["shares"] == {"stable": 0.7, "canary": 0.3}


def test_a_version_whose_stored_file_changed_is_not_served(cloud):
    cloud.rollout("2=100")
    record = cloud.store.get("product_topk", 2)
    with serving(cloud) as (server, _), httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/models/product_topk/resolve", params={"user": "bob"}).json()["version"] == 2
        path = record.path / "model.tflite"
        record.path.chmod(0o755)
        path.chmod(0o644)
        data = bytearray(path.read_bytes())
        data[100] ^= 0x01
        path.write_bytes(bytes(data))
        refused = http.get("/models/product_topk/resolve", params={"user": "bob"})
        assert refused.status_code == 503 and "sha256" in refused.json()["error"]
        assert http.get("/models/product_topk/v2/model.tflite").status_code == 503
        assert http.get("/models/product_topk/v1/model.tflite").status_code == 200
        versions = http.get("/models/product_topk").json()["versions"]
        assert [(v["version"], v["served"]) for v in versions] == [(1, True), (2, False)]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/models/..%2F..%2Findex.sqlite/resolve", 404),
        ("/models/a..b/resolve", 400),
        ("/models/../index.sqlite", 404),
        ("/models/product_topk/v1/..%2F..%2F..%2Findex.sqlite", 404),
        ("/models/product_topk/v1/index.sqlite", 404),
        ("/models/product_topk/v1/%2e%2e", 404),
        ("/models/product_topk/..%2Fv1/model.tflite", 404),
        ("/models/product_topk/v0/model.tflite", 404),
        ("/models/product_topk/v99/model.tflite", 404),
        ("/models/product_topk/1/model.tflite", 404),
        ("/models/.hidden/resolve", 400),
        ("/models/nope/resolve", 404),
        ("/index.sqlite", 404),
    ],
)
def test_path_parameters_cannot_reach_outside_the_published_files(cloud, path, status):
    with serving(cloud) as (server, _):
        answer = httpx.get(server.url + path, timeout=10)
    assert answer.status_code == status, answer.text
    assert b"SQLite format" not in answer.content
    assert "error" in answer.json()


def test_there_are_no_write_endpoints_and_bad_queries_are_refused(cloud):
    with serving(cloud) as (server, _), httpx.Client(base_url=server.url, timeout=10) as http:
        for method, path in (("POST", "/models/product_topk"), ("PUT", "/models/product_topk/v3/model.tflite"),
                             ("DELETE", "/models/product_topk/v1/model.tflite"), ("POST", "/models/product_topk/resolve")):
            assert http.request(method, path).status_code == 405
        long_user = http.get("/models/product_topk/resolve", params={"user": "x" * 300})
        assert long_user.status_code == 400 and "user" in long_user.json()["error"]
        assert http.get("/models/nope/resolve").json()["error"].endswith("(models: product_topk)")
    assert [r.version for r in cloud.store.versions()] == [1, 2]


def test_the_cli_prints_where_it_listens_and_serves(cloud, tmp_path):
    command = [sys.executable, "-m", "edgerank.serve", "--store", str(cloud.store.root), "--db", str(cloud.db), "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("edgerank.serve: http://127.0.0.1:"), process.stderr.read()
        url = line.split()[1]
        health = httpx.get(url + "/healthz", timeout=10).json()
        assert health["ok"] and health["models"] == ["product_topk"]
    finally:
        process.terminate()
        process.wait(timeout=20)
    bad = subprocess.run([*command[:-4], "--port", "70000"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--port" in bad.stderr
    (tmp_path / "corrupt.sqlite").write_bytes(b"this is not a database" * 100)
    corrupt = subprocess.run([*command[:5], "--db", str(tmp_path / "corrupt.sqlite"), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert corrupt.returncode == 2 and "corrupt.sqlite: cannot be the monitoring store" in corrupt.stderr, corrupt.stderr


def test_downloads_can_point_at_a_cdn_holding_the_store_layout(cloud):
    from edgerank.serve import BackgroundServer, create_app

    with BackgroundServer(create_app(cloud.store.root, cloud.db, files_url="https://cdn.example/models/")) as server:
        answer = httpx.get(server.url + "/models/product_topk/resolve", params={"user": "bob"}, timeout=10).json()
        assert answer["model_url"] == "https://cdn.example/models/product_topk/v2/model.tflite"
        path = answer["model_url"].removeprefix("https://cdn.example/")  # the store's own layout under STORE/
        assert (cloud.store.root / path).read_bytes() == httpx.get(f"{server.url}/{path}", timeout=10).content


def test_the_dashboard_keeps_a_bounded_number_of_rendered_pages(tmp_path):
    """Each distinct ``?hours=`` / ``?model=`` is a page of its own; anyone may ask for thousands."""
    from edgerank.modelstore import ModelStore
    from edgerank.serve import BackgroundServer, create_app
    from edgerank.serve.app import DASHBOARD_PAGES

    ModelStore(tmp_path / "store")
    app = create_app(tmp_path / "store", tmp_path / "monitor.sqlite")
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        for i in range(DASHBOARD_PAGES + 20):
            assert http.get("/", params={"hours": 1 + i / 1000}).status_code == 200
        assert http.get("/", params={"model": "product_topk"}).status_code == 200
    assert 0 < len(app.state.dashboard_pages) <= DASHBOARD_PAGES
    assert ("product_topk", 24.0) in app.state.dashboard_pages  # the newest page is kept


def test_the_service_says_it_serves_the_registrys_default_store(capsys):
    from edgerank.serve.__main__ import main

    with pytest.raises(SystemExit):
        main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "$EDGERANK_STORE or ~/.edgerank/registry" in shown and "~/.edgerank/models" not in shown
