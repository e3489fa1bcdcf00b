"""Stage 4 of preparing a feed log: one partition's rows encoded by the contract into ``.npy`` shards.

The contract (:func:`edgerank.core.video_contract.encode_rows`) only looks inside a session, so
a partition is encoded in blocks of whole sessions (about :data:`BLOCK_ROWS` rows each) and the
blocks' tensors are written in place, at their requests' offsets, into ``.npy`` files whose
header already holds the partition's shape: the same bytes ``np.save`` of the whole partition
writes. Blocks keep numpy's temporaries small (the allocator reuses them instead of faulting in
fresh pages for every partition-sized array) and are independent, so a thread pool encodes them
on every core Polars uses (numpy releases the GIL inside its array loops, ``os.pwrite`` inside
its system call).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from edgerank.core.video_contract import check_rows, encode_rows
from edgerank.data.video_log_schema import rows_from_columns
from edgerank.errors import DataError

BLOCK_ROWS = 1 << 16  # rows per encoded block: temporaries of a few MB, a few dozen blocks per partition
SCRATCH_BYTES = 24 << 20  # above every temporary of a block, below glibc's 32 MB cap on its dynamic threshold


class NpyFiles:
    """``.npy`` files of ``requests`` rows each, filled block by block at any request offset."""

    def __init__(self, out: Path, requests: int) -> None:
        self.out, self.requests = out, requests
        self.files: dict[str, tuple[int, int, np.dtype, tuple[int, ...]]] = {}
        self.row_bytes: dict[str, int] = {}

    def create(self, arrays: Mapping[str, np.ndarray]) -> None:
        """One file per array, its header giving the full shape (the first block's dtype and trailing dims)."""
        for name, values in arrays.items():
            fd = os.open(self.out / f"{name}.npy", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            shape = (self.requests, *values.shape[1:])
            with os.fdopen(os.dup(fd), "wb") as handle:
                np.lib.format.write_array_header_1_0(
                    handle, {"descr": np.lib.format.dtype_to_descr(values.dtype), "fortran_order": False, "shape": shape})
                offset = handle.tell()
            os.ftruncate(fd, offset + int(np.prod(shape)) * values.dtype.itemsize)
            self.files[name] = (fd, offset, values.dtype, values.shape[1:])
            self.row_bytes[name] = values.dtype.itemsize * int(np.prod(values.shape[1:]))

    def write(self, first_request: int, arrays: Mapping[str, np.ndarray]) -> None:
        for name, values in arrays.items():
            fd, offset, dtype, trailing = self.files[name]
            if values.dtype != dtype or values.shape[1:] != trailing:
                raise ValueError(f"block of '{name}' is {values.dtype}{values.shape}, the file holds {dtype}{trailing}")
            data = memoryview(np.ascontiguousarray(values)).cast("B")
            position = offset + first_request * self.row_bytes[name]
            while data:
                written = os.pwrite(fd, data, position)
                data, position = data[written:], position + written

    def close(self) -> None:
        for fd, *_ in self.files.values():
            os.close(fd)
        self.files = {}


def session_blocks(session: np.ndarray, block_rows: int) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` of about ``block_rows`` rows that never cut a session (rows sorted by session)."""
    n = len(session)
    targets = np.arange(block_rows, n, block_rows)
    cuts = np.unique(np.searchsorted(session, session[targets], side="left"))  # each target's session start
    bounds = [0, *[int(c) for c in cuts if 0 < c < n], n]
    return list(zip(bounds[:-1], bounds[1:]))


def reuse_freed_memory() -> None:
    """Let the allocator keep the blocks' freed temporaries for the next block.

    glibc serves a large allocation from a fresh ``mmap`` and gives the heap's free top back to
    the kernel beyond a trim threshold, so without this every block's temporaries are page-faulted
    (and zeroed by the kernel) afresh: ~0.1-0.2 CPU-s per 1M rows. Freeing one mmapped block
    raises both thresholds to its size (the dynamic adjustment ``mallopt(3)`` documents, which any
    numpy program triggers sooner or later); elsewhere this is one untouched, freed allocation."""
    scratch = np.empty(SCRATCH_BYTES, np.uint8)
    del scratch


@cache
def encoders(threads: int) -> ThreadPoolExecutor:
    """The process's encoding threads: the same ones for every partition, so the memory a block
    frees stays in their two malloc arenas for the next block (fresh threads would take fresh
    arenas, each keeping its own freed memory: the resident set would grow with the partitions)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="edgerank-encode")


if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads: it makes its own pool
    os.register_at_fork(after_in_child=encoders.cache_clear)


def map_ids(frame: pl.DataFrame, columns: dict[str, np.ndarray], id_map: Callable[[str], Any], where: Callable[[int], str]) -> None:
    """``video_id``/``category`` replaced by the model's ids; an id the map has no row for is a DataError."""
    for name in ("video_id", "category"):
        if name not in columns:
            continue
        ids = id_map(name)
        columns[name] = ids.apply(columns[name])
        bad = np.flatnonzero(~ids.known(columns[name]))
        if len(bad):
            raise DataError(f"{where(int(bad[0]))}: column '{name}' id {frame[name][int(bad[0])]} is outside 0..{ids.size - 1} "
                            f"(data.ids=identity; use data.ids=hash for ids of any type)")


def encode_blocks(columns: Mapping[str, np.ndarray], max_candidates: int, seq_len: int, out: Path,
                  where: Callable[[int], str], threads: int | None = None) -> np.ndarray:
    """Every request of ``columns`` (a partition's sorted log columns, ids mapped) encoded and
    written as ``out/<input>.npy``; returns each request's first row."""
    request = np.asarray(columns["request"])
    starts = np.flatnonzero(np.r_[True, request[1:] != request[:-1]]) if len(request) else np.zeros(0, np.int64)
    files = NpyFiles(out, len(starts))

    def encode(block: tuple[int, int]) -> dict[str, np.ndarray]:
        r0, r1 = block
        rows = rows_from_columns({k: v[r0:r1] for k, v in columns.items()})
        check_rows(rows, lambda i: where(r0 + i))
        arrays = encode_rows(rows, max_candidates, seq_len)
        del arrays["request_row"]
        return arrays

    def write(block: tuple[int, int]) -> None:
        files.write(int(np.searchsorted(starts, block[0])), encode(block))

    blocks = session_blocks(np.asarray(columns["session"]), BLOCK_ROWS)
    reuse_freed_memory()
    try:
        first = encode(blocks[0])  # its dtypes and shapes make the files' headers
        files.create(first)
        files.write(0, first)
        del first
        pending = [encoders(threads or pl.thread_pool_size()).submit(write, b) for b in blocks[1:]]
        try:
            for future in pending:  # in block order: the first error is the first bad row's
                future.result()
        finally:
            for future in pending:
                future.cancel()
            wait(pending)  # no block still writes when the files close
    finally:
        files.close()
    return starts
