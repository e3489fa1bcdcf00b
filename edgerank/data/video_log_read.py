"""Reading a feed log (a file or a folder of .csv/.tsv/.parquet shards) lazily with Polars.

Everything here is a lazy Polars plan, executed by Polars' streaming engine, so a log larger
than memory is read in batches: one pass writes it partitioned by user and checks every row on
the way (cheap reductions); only a bad log gets a second pass that reports the first bad row
(file, column, row number, value). Only the column *names* are read before that, which is when
a missing required column, or a column that a switched-on feature group needs, is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from edgerank.core.video_features import TASKS
from edgerank.data.video_log_schema import BY_NAME, GROUP_NEEDS, PXTR, REQUIRED, TRUTH
from edgerank.errors import ConfigError, DataError

SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None}
FLOATS = ("ts", "duration", "watch_seconds", "network_speed", "preload", "position", *PXTR, *TRUTH)
LABELS = TASKS


@dataclass(frozen=True)
class LogFile:
    path: Path
    columns: dict[str, str]  # fixed name -> column in this file

    def scan(self) -> pl.LazyFrame:
        separator = SUFFIXES[self.path.suffix.lower()]
        if separator is None:
            frame = pl.scan_parquet(self.path)
        else:  # every column as text: the casts below report what does not parse
            frame = pl.scan_csv(self.path, separator=separator, infer_schema=False)
        return frame.select([pl.col(source).alias(name) for name, source in self.columns.items()])


def log_files(path: str | Path) -> list[Path]:
    """The log's files: ``path`` itself, or the .csv/.tsv/.parquet files under a folder (sorted)."""
    path = Path(path).expanduser()
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise ConfigError("data.path", f"'{path}' must end in one of {', '.join(SUFFIXES)}")
        return [path]
    if not path.is_dir():
        raise DataError(f"data.path: no file or folder at {path}")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise DataError(f"data.path: {path} holds no {', '.join(SUFFIXES)} files")
    return files


def header(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        return list(pl.read_parquet_schema(path))
    with path.open(encoding="utf-8") as handle:
        line = handle.readline().rstrip("\r\n")
    if not line:
        raise DataError(f"{path}: empty file (no header row)")
    return [c.strip() for c in line.split(SUFFIXES[path.suffix.lower()])]


def resolve_columns(
    files: Sequence[Path], renames: Mapping[str, str], groups: Mapping[str, bool], pxtr: str
) -> list[LogFile]:
    """Which column of each file holds each fixed name; errors for missing required or needed ones."""
    unknown = sorted(set(renames) - set(BY_NAME) - set(TRUTH))
    if unknown:
        raise ConfigError(f"data.columns.{unknown[0]}", f"is not a log column (columns: {', '.join(BY_NAME)})")
    out = []
    for path in files:
        names = header(path)
        present = {}
        for name in [*BY_NAME, *TRUTH]:
            source = renames.get(name, name)
            if source in names:
                present[name] = source
        missing = [n for n in REQUIRED if n not in present and not (n == "effective_view" and _derives_view(present))]
        if missing:
            name = missing[0]
            hint = f" (data.columns.{name}={renames[name]!r} is not among them)" if name in renames else \
                f"; rename yours with data.columns.{name}=<column>"
            raise DataError(f"{path}: no column '{name}'{hint} (columns: {', '.join(names)})")
        for group, needs in GROUP_NEEDS.items():
            if not groups.get(group, False) or (needs == PXTR and pxtr == "estimate"):
                continue
            lacking = [n for n in needs if n not in present]
            if lacking:
                also = "; or data.pxtr=estimate" if needs == PXTR else ""
                raise DataError(f"{path}: features.{group} needs column '{lacking[0]}'; switch the group off with "
                                f"features.{group}=false{also}")
        out.append(LogFile(path, present))
    kinds = {frozenset(f.columns) for f in out}
    if len(kinds) > 1:
        first, other = out[0], next(f for f in out if set(f.columns) != set(out[0].columns))
        raise DataError(f"{other.path}: columns {sorted(other.columns)} differ from {first.path}'s {sorted(first.columns)}")
    return out


def _derives_view(present: Mapping[str, str]) -> bool:
    return "watch_seconds" in present and "duration" in present


def typed(files: Sequence[LogFile], ts_unit: str, effective_view_ratio: float, id_types: Mapping[str, pl.DataType]) -> pl.LazyFrame:
    """All files as one lazy frame of the fixed columns in their types, plus ``_file``/``_row``
    (0-based file index, 1-based data row). Values that do not parse become null (checked by
    :func:`log_checks`)."""
    if ts_unit not in ("s", "ms"):
        raise ConfigError("data.ts_unit", f"must be 's' or 'ms', got {ts_unit!r}")
    frames = []
    for index, f in enumerate(files):
        frame = f.scan().with_row_index("_row", offset=1).with_columns(pl.lit(index, pl.Int32).alias("_file"))
        casts = []
        for name in f.columns:
            if name in FLOATS or name in LABELS or name == "exposed":
                casts.append(pl.col(name).cast(pl.Float64, strict=False).alias(name))
            else:  # ids: integers where every file's values are integers, else text
                casts.append(pl.col(name).cast(id_types.get(name, pl.String), strict=False).alias(name))
        frames.append(frame.with_columns(casts))
    frame = pl.concat(frames, how="vertical_relaxed")
    if ts_unit == "ms":
        frame = frame.with_columns(pl.col("ts") / 1000.0)
    names = set(files[0].columns)
    if "effective_view" not in names:
        frame = frame.with_columns(
            (pl.col("watch_seconds") >= effective_view_ratio * pl.col("duration")).cast(pl.Float64).alias("effective_view"))
    if "exposed" not in names:
        frame = frame.with_columns(pl.lit(1.0).alias("exposed"))
    return frame


def id_types(files: Sequence[LogFile]) -> dict[str, pl.DataType]:
    """Int64 for id columns whose every value is an integer (in every file), else String."""
    out = {}
    for name in ("user_id", "video_id", "category", "session_id", "request_id"):
        if name not in files[0].columns:
            continue
        numeric = True
        for f in files:
            frame = f.scan().select(pl.col(name))
            dtype = frame.collect_schema()[name]
            if dtype.is_integer():
                continue
            bad = frame.select((pl.col(name).cast(pl.String).cast(pl.Int64, strict=False).is_null()
                                & pl.col(name).is_not_null()).any()).collect(engine="streaming").item()
            numeric = numeric and not bad
        out[name] = pl.Int64 if numeric else pl.String
    return out


def log_checks(names: Sequence[str]) -> list[tuple[pl.Expr, str, str]]:
    """Every row check as ``(bad-row expression, column, message)``, in the order they are reported."""
    checks = []
    for name in ("user_id", "video_id", "ts"):
        checks.append((pl.col(name).is_null(), name, "is empty or does not parse as a number" if name == "ts" else "is empty"))
    checks.append((~pl.col("ts").is_finite(), "ts", "is not a finite number"))
    shown = pl.col("exposed") > 0.5
    for name in LABELS:
        if name in names or name == "effective_view":
            checks.append((shown & (pl.col(name).is_null() | pl.col(name).is_nan()), name, "is NaN/empty on a shown row"))
            checks.append((shown & ~pl.col(name).is_in([0.0, 1.0]) & pl.col(name).is_not_null(), name, "must be 0 or 1"))
    checks.append((~pl.col("exposed").is_in([0.0, 1.0]), "exposed", "must be 0 or 1"))
    for name in FLOATS:
        if name in names and name != "ts":
            checks.append((pl.col(name).is_null() | ~pl.col(name).is_finite(), name, "is empty, NaN/inf or not a number"))
    for name in ("duration", "preload", "watch_seconds"):
        if name in names:
            checks.append((pl.col(name) < 0, name, "must be >= 0"))
    if "network_speed" in names:
        checks.append((pl.col("network_speed") <= 0, "network_speed", "must be positive (Mbit/s)"))
    for name in PXTR:
        if name in names:
            checks.append(((pl.col(name) < 0) | (pl.col(name) > 1), name, "must be a probability in [0, 1]"))
    return checks


def log_summary(frame: pl.LazyFrame, names: Sequence[str]) -> pl.LazyFrame:
    """One row: ``rows``, ``shown`` and ``bad`` (whether any row fails a check): cheap reductions
    that run in the same streaming pass as the partitioned write (:func:`first_problem` only runs
    when ``bad``)."""
    bad = pl.any_horizontal([expr.fill_null(True) for expr, _, _ in log_checks(names)])
    return frame.select(pl.len().alias("rows"), (pl.col("exposed") > 0.5).sum().alias("shown"), bad.any().alias("bad"))


def first_problem(frame: pl.LazyFrame, names: Sequence[str], files: Sequence[LogFile]) -> str:
    """The first bad row (``file row N: column 'c' ... (value v)``): a second pass, on bad logs only."""
    checks = log_checks(names)
    code = pl.lit(None, pl.Int32)
    for i, (bad, _, _) in reversed(list(enumerate(checks))):
        code = pl.when(bad.fill_null(True)).then(pl.lit(i, pl.Int32)).otherwise(code)
    found = code.is_not_null()
    first = frame.select(
        pl.col("_file").filter(found).first().alias("file"), pl.col("_row").filter(found).first().alias("row"),
        code.filter(found).first().alias("code"),
    ).collect(engine="streaming").row(0, named=True)
    _, name, message = checks[first["code"]]
    f = files[first["file"]]
    column = f.columns.get(name, name)
    value = (f.scan().select(pl.col(name).cast(pl.String)).slice(first["row"] - 1, 1).collect().item()
             if name in f.columns else "derived")
    return (f"{f.path} row {first['row']}: column '{column}'{'' if column == name else f' ({name})'} {message} "
            f"(value {value!r})")


def count_rows(frame: pl.LazyFrame) -> int:
    """The log's row count (Parquet: from the footers; text: a scan of the line breaks)."""
    return int(frame.select(pl.len()).collect(engine="streaming").item())
