"""Stage 4 of ``data=video_log``: a partition encoded in blocks of whole sessions, on threads,
written in place, gives exactly the bytes ``np.save`` writes for the whole partition at once."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from edgerank.data import video_log_encode
from edgerank.data.video_log import VideoLogData
from edgerank.data.video_log_encode import session_blocks
from edgerank.simulate import main as simulate_main


def test_blocks_cover_every_row_in_order_and_never_cut_a_session():
    sizes = [1, 3, 30, 2, 2, 9, 1, 1, 16]  # a session (30, 16) longer than a block stays whole
    session = np.repeat(np.arange(len(sizes)), sizes)
    blocks = session_blocks(session, block_rows=7)
    assert blocks[0][0] == 0 and blocks[-1][1] == len(session)
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))  # contiguous
    starts = set(np.cumsum([0, *sizes])[:-1].tolist())
    assert all(r0 in starts for r0, _ in blocks) and len(blocks) > 3
    assert (0, 4) in blocks and (4, 34) in blocks  # the 30-row session is one block of its own
    assert session_blocks(session, block_rows=1000) == [(0, len(session))]


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("simlog") / "sim_log.parquet"
    assert simulate_main([str(path), "--sessions", "40", "--seed", "5", "--set", "num_videos=200"]) == 0
    return path


def _shards(path, cache):
    data = VideoLogData(path=str(path), cache_dir=str(cache), max_candidates=50, seq_len=8, partitions=2)
    data.setup()
    return {p.relative_to(data.shards.folder): p.read_bytes() for p in data.shards.folder.rglob("*.npy")}


def test_blocks_on_threads_write_the_bytes_np_save_writes(sim_log, tmp_path, monkeypatch):
    counts = []
    split = video_log_encode.session_blocks
    monkeypatch.setattr(video_log_encode, "session_blocks", lambda *a: counts.append(len(split(*a))) or split(*a))
    whole = _shards(sim_log, tmp_path / "whole")
    assert counts == [1, 1]  # one block per partition
    monkeypatch.setattr(video_log_encode, "BLOCK_ROWS", 40)  # dozens of blocks, written out of order by threads
    blocks = _shards(sim_log, tmp_path / "blocks")
    assert min(counts[2:]) > 10
    assert set(blocks) == set(whole) and len({p.parent for p in whole}) == 2
    for name, data in whole.items():
        assert blocks[name] == data, name
        buffer = io.BytesIO()
        np.save(buffer, np.load(io.BytesIO(data)))
        assert buffer.getvalue() == data, name  # header and body as np.save writes them


FORKED_CHILD = """
import os
from edgerank.data import video_log_encode
assert video_log_encode.encoders(2).submit(int, 1).result() == 1  # the parent's pool exists
pid = os.fork()
if pid == 0:  # the child: the parent's threads are not here; a pool that waited on them would hang
    ok = False
    try:
        ok = video_log_encode.encoders(2).submit(int, 7).result(timeout=10) == 7
    finally:
        os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_encodes_on_threads_of_its_own():
    # in a fresh interpreter: this one may hold other libraries' threads, which fork does not mix with
    assert subprocess.run([sys.executable, "-c", FORKED_CHILD], timeout=120).returncode == 0
