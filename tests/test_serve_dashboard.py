"""GET / in a real headless browser: the published versions and the monitor summary's numbers.

Debian's ``chromium`` (``apt-get install -y chromium``) is started by the test, with a fresh
profile and everything that would reach the network switched off; the page itself loads nothing
from elsewhere.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from html.parser import HTMLParser

import httpx
import pytest

from edgerank.monitor import EventLog, summarize
from edgerank.runtime import EventUploader, ProductRuntime, ServerSource
from edgerank.serve.dashboard import ms, pct
from serve_fixtures import USER, make_cloud, run, serving  # noqa: F401 - run: a fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path, url: str, *mode: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2400"]
    return subprocess.run([CHROMIUM, *flags, *mode, url], capture_output=True, text=True, timeout=90)


class Cells(HTMLParser):
    """``{(version, key): text}`` of the summary table, and the published versions listed."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.published: list[str] = []
        self.charts: list[str] = []
        self._row = self._key = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-version" in attrs:
            self._row = attrs["data-version"]
        if tag == "tr" and "data-published" in attrs:
            self.published.append(attrs["data-published"])
        if tag == "td" and self._row and "data-key" in attrs:
            self._key = attrs["data-key"]
        if tag == "div" and "data-chart" in attrs:
            self.charts.append(attrs["data-chart"])

    def handle_data(self, data):
        if self._key:
            self.cells[(self._row, self._key)] = data.strip()
            self._key = None


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)")
def test_the_dashboard_shows_published_versions_and_the_monitor_numbers(run, tmp_path):
    cloud = make_cloud(run, tmp_path)
    cloud.rollout("stable:1=80", "canary:2=20")
    with serving(cloud) as (server, _):
        uploader = EventUploader(server.url)
        runtime = ProductRuntime(ServerSource(server.url, "product_topk", tmp_path / "cache"), monitor=uploader)
        rng = random.Random(0)
        for i in range(300):
            city = "Atlantis" if rng.random() < 0.1 else "Nanjing"
            runtime.rank(f"user-{i}", ["not", "a", "mapping"] if i % 40 == 0 else {**USER, "city": city})
        runtime.close()
        assert uploader.sent == 300

        done = chromium(tmp_path, server.url + "/", "--dump-dom")
        assert done.returncode == 0, done.stderr[-2000:]
        screenshot = chromium(tmp_path, server.url + "/", f"--screenshot={tmp_path / 'dashboard.png'}")
        assert screenshot.returncode == 0 and (tmp_path / "dashboard.png").stat().st_size > 20_000
        assert httpx.get(server.url + "/?model=..%2Fx", timeout=10).status_code == 400

    page = Cells()
    page.feed(done.stdout)
    assert page.published == ["v1", "v2"]
    assert page.charts == ["traffic", "success", "latency", "unknown"]
    summary = summarize(EventLog(cloud.db).events(model="product_topk"))
    assert [s.version for s in summary] == ["v1", "v2"] and sum(s.requests for s in summary) == 300
    for s in summary:
        shown = {key: page.cells[(s.version, key)] for key in ("requests", "success_rate", "latency_p50_ms", "latency_p95_ms",
                                                               "latency_p99_ms", "unknown_rate", "traffic_share", "failures")}
        assert shown == {"requests": str(s.requests), "success_rate": pct(s.success_rate), "latency_p50_ms": ms(s.latency_p50_ms),
                         "latency_p95_ms": ms(s.latency_p95_ms), "latency_p99_ms": ms(s.latency_p99_ms),
                         "unknown_rate": pct(s.unknown_rate), "traffic_share": pct(s.traffic_share, 1), "failures": str(s.failures)}
    assert sum(s.failures for s in summary) == 8  # the malformed requests fell back
    assert "80.0%" in done.stdout and "canary" in done.stdout  # the rollout in force
    assert re.search(r"300 events accepted", done.stdout)
