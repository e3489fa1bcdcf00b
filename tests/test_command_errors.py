"""Every edgerank command fails the same way on bad input: ``<program>: error: <message>`` on
stderr, exit 2, no traceback (``edgerank.errors.reports_errors``)."""

from __future__ import annotations

import pytest

from edgerank.bench.__main__ import main as bench_main
from edgerank.modelstore.cli import main as registry_main
from edgerank.monitor.__main__ import main as monitor_main
from edgerank.runtime.__main__ import main as runtime_main
from edgerank.simulate import main as simulate_main


@pytest.mark.parametrize(
    "main, argv, program, message",
    [
        (simulate_main, ["{tmp}/log.parquet", "--set", "bogus=1"], "edgerank.simulate", "--set: expects key=value"),
        (monitor_main, ["--db", "{tmp}/none.sqlite", "summary"], "edgerank.monitor", "no event log at"),
        (runtime_main, ["rank", "--user", "u"], "edgerank.runtime", "say which model"),
        (registry_main, ["--store", "{tmp}/store", "verify", "no_such_model"], "edgerank.registry", "no_such_model"),
        (bench_main, ["{tmp}/no_run"], "edgerank.bench", "no artifact/manifest.json"),
    ],
)
def test_a_command_given_bad_input_exits_2_with_its_name_and_the_reason(main, argv, program, message, tmp_path, capsys):
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{program}: error: ") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "log.parquet").exists()  # nothing half-written
