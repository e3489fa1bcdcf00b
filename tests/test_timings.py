"""README timings stay measurable: every README command is timed by experiments/timings/timings.py,
or listed there as not timed with the reason, and every timed command has its row in the figures."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ROOT / "experiments" / "timings"


def timings_module():
    spec = importlib.util.spec_from_file_location("timings", TIMINGS / "timings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_commands() -> list[str]:
    """Each command of the README's bash blocks: continuations joined, comments cut, ``&&`` split."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            for command in re.split(r"\s+#", line, maxsplit=1)[0].split(" && "):
                if command.strip():
                    commands.append(" ".join(command.split()))
    return commands


def test_every_readme_command_is_timed_or_says_why_not():
    timings = timings_module()
    readme = readme_commands()
    timed = {command for _, command in [*timings.COMMANDS, timings.SUITE]}
    assert len(readme) > 30 and "pip install -e ." in readme and "python -m pytest" in readme
    assert [c for c in readme if c not in timed and c not in timings.NOT_TIMED] == []
    assert [c for c in timings.NOT_TIMED if c not in readme] == []  # no reason kept for a command the README dropped
    assert not timed & set(timings.NOT_TIMED)


def test_every_timed_command_has_its_measured_row():
    timings = timings_module()
    figures = (TIMINGS / "README.md").read_text()
    assert [label for label, _ in timings.COMMANDS if f"\n| {label} | " not in figures] == []


def test_commands_run_with_this_interpreter_checkout_and_newest_runs(tmp_path):
    timings = timings_module()
    for task, name in (("product_topk", "2026-01-02_03-04-05"), ("video_rerank", "2026-01-02_03-04-06")):
        (tmp_path / "outputs" / task / "runs" / name).mkdir(parents=True)
    py, repo = timings.PY, timings.REPO
    assert timings.runnable('pip install -e ".[test]"', tmp_path) == f"{py} -m pip install -q -e '{repo}[test]'"
    assert timings.runnable("pip install -e .", tmp_path) == f"{py} -m pip install -q -e '{repo}'"
    assert timings.runnable("python -m edgerank.bench outputs/product_topk/runs/<run>", tmp_path) == (
        f"{py} -m edgerank.bench outputs/product_topk/runs/2026-01-02_03-04-05")
    assert timings.runnable("python -m edgerank.runtime video --artifact outputs/video_rerank/runs/<date>_<time>/artifact", tmp_path) == (
        f"{py} -m edgerank.runtime video --artifact outputs/video_rerank/runs/2026-01-02_03-04-06/artifact")
