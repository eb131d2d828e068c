"""Reading the carrier's usage export (SPEC §3 ``import_usage``): a CSV file, checked
as it is read."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import TextIO

COLUMNS = ("household", "username", "started_at", "bytes", "zone", "ref")


class ImportRefused(Exception):
    """The file has bad rows: nothing was imported. ``problems`` lists each of them as
    ``line N: field: reason (value)``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing imported")
        self.problems = problems


@dataclass(slots=True)
class Row:
    line: int
    household: str
    username: str
    started_at: str
    bytes: str
    zone: str
    ref: str


class CsvRows:
    """The rows of a usage CSV, read lazily. The header is checked at once (a bad one
    raises ``ImportRefused``); malformed rows are skipped while reading and listed in
    ``problems``."""

    def __init__(self, stream: TextIO) -> None:
        self.reader = csv.reader(stream)
        self.problems: list[str] = []
        try:
            header = next(self.reader)
        except StopIteration:
            raise ImportRefused(["line 1: header: is missing (empty file)"]) from None
        except csv.Error as error:
            raise ImportRefused([f"line 1: header: is not valid CSV ({error})"]) from None
        names = [name.strip().lstrip("\ufeff") for name in header]
        problems = [
            f"line 1: header: unknown column ({name})" for name in names if name not in COLUMNS
        ]
        problems += [
            f"line 1: header: column missing ({name})" for name in COLUMNS if name not in names
        ]
        problems += [
            f"line 1: header: column repeated ({name})"
            for name in sorted(set(names))
            if names.count(name) > 1
        ]
        if problems:
            raise ImportRefused(problems)
        self.width = len(names)
        self.index = [names.index(name) for name in COLUMNS]
        self._rows = self._read()

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        return next(self._rows)

    def _read(self) -> Iterator[Row]:
        reader, width, pick = self.reader, self.width, itemgetter(*self.index)
        try:
            for values in reader:
                if len(values) != width:
                    if any(value.strip() for value in values):  # blank lines carry nothing
                        self.problems.append(
                            f"line {reader.line_num}: row: has {len(values)} fields, the "
                            f"header has {width} ({','.join(values)[:60]})"
                        )
                    continue
                if "\x00" in "".join(values):
                    text = ",".join(values).replace("\x00", "\\0")[:60]
                    self.problems.append(
                        f"line {reader.line_num}: row: contains a NUL character ({text})"
                    )
                    continue
                values = [value.strip() for value in values]
                if any(values):
                    yield Row(reader.line_num, *pick(values))
        except csv.Error as error:
            self.problems.append(f"line {reader.line_num}: row: is not valid CSV ({error})")


def read_rows(stream: TextIO) -> CsvRows:
    """The rows of a usage CSV, read as they are needed (see ``CsvRows``)."""
    return CsvRows(stream)
