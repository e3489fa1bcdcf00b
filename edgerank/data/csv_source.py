"""Bring-your-own choice data: a CSV or TSV file, one row per (user attributes..., chosen item)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.data.choice import ChoiceDataModule, ChoiceTable
from edgerank.data.choice_options import CsvOptions
from edgerank.errors import ConfigError, DataError
from edgerank.registry import register_data

SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


def read_delimited(path: str | Path, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Read ``columns`` of a CSV/TSV file (separator chosen by extension) as string arrays."""
    path = Path(path).expanduser()
    separator = SEPARATORS.get(path.suffix.lower())
    if separator is None:
        raise ConfigError("data.path", f"'{path}' must end in one of {', '.join(SEPARATORS)} (got '{path.suffix}')")
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first column's name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=separator)
            header = next(reader, None)
            if not header:
                raise DataError(f"{path}: empty file (no header row)")
            header = [h.strip() for h in header]
            twice = sorted({h for h in header if header.count(h) > 1})
            if twice:
                raise DataError(f"{path}: column name '{twice[0]}' appears {header.count(twice[0])} times in the header")
            missing = [c for c in columns if c not in header]
            if missing:
                raise DataError(f"{path}: no column '{missing[0]}' (columns: {', '.join(header)})")
            index = [header.index(c) for c in columns]
            rows = [row for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text ({_first_bad_byte(path)}); save it as UTF-8") from None
    short = [i for i, row in enumerate(rows) if len(row) < len(header)]
    if short:
        raise DataError(f"{path}: data row {short[0] + 1} has {len(rows[short[0]])} fields, the header has {len(header)}")
    return {c: np.array([row[i].strip() for row in rows], dtype=object) for c, i in zip(columns, index)}


def _first_bad_byte(path: Path) -> str:
    """Where a file stops being UTF-8 (an error path only: it reads the file once more)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return f"byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}"
    return "undecodable"


@register_data("csv", description="Choice rows from a CSV/TSV file: user attribute columns and the chosen SKU")
class CsvChoiceData(ChoiceDataModule):
    """``data=csv data.path=users.csv data.label=sku data.features=[city,device,gender]``; options: :class:`CsvOptions`."""

    Options = CsvOptions
    options: CsvOptions

    def __init__(self, options: CsvOptions | None = None, **values: Any) -> None:
        super().__init__(options, **values)
        self.path, self.label = self.options.path, self.options.label
        self.products = list(self.options.products) if self.options.products is not None else None

    def load_table(self) -> ChoiceTable:
        columns = read_delimited(self.path, [*self.features, self.label])
        labels = columns.pop(self.label)
        return ChoiceTable(columns, labels, source=self.path, label_column=self.label)
