"""``python -m edgerank.bench.data``: prepares each generated log in a fresh process and reports
wall and CPU throughput, memory and the machine's load."""

from __future__ import annotations

import json

import pytest

from edgerank.bench.data import main


def test_the_data_benchmark_reports_throughput_cpu_memory_and_load(tmp_path, capsys):
    assert main(["--sizes", "20000", "40000", "--workdir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["load_average"]["cores"] >= 1 and len(report["load_average"]["before"]) == 3
    small, large = report["sizes"]
    assert (small["rows"], large["rows"], small["requests"]) == (20000, 40000, 2000)
    for r in (small, large):
        # the rates come from unrounded times, the times are printed to 0.01 s
        assert r["rows_per_s"] == pytest.approx(r["rows"] / r["seconds"], rel=0.1)
        assert r["rows_per_cpu_s"] == pytest.approx(r["rows"] / r["cpu_seconds"], rel=0.1)
        assert 0 < r["cpu_seconds"] and r["peak_rss_mb"] > 50
        # every stage is timed, and the stages are (within rounding) part of the process's CPU time
        stages = r["cpu_s_per_1m_rows"]
        assert set(stages) == {"content_hash", "read_check_partition", "sessions_and_requests", "encode", "split"}
        assert all(v > 0 for v in stages.values())
        assert sum(stages.values()) * r["rows"] / 1e6 <= r["cpu_seconds"] + 0.05
    assert large["rss_ratio_vs_smallest"] == round(large["peak_rss_mb"] / small["peak_rss_mb"], 2)
