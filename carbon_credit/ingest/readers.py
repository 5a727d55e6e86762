"""Streaming readers of partner files: one record at a time with its line number.

A reader yields ``(line_no, fields)`` where ``fields`` is a dict of strings,
or ``(line_no, ParseProblem)`` for a line that cannot be read at all; it never
holds more than one record in memory. Formats live in a registry so a new
partner format is one function.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Callable, Iterator

from carbon_credit.errors import InvalidInput

EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass(frozen=True)
class ParseProblem:
    reason: str


class ByteCounter:
    """Wraps a binary file's line iterator and counts bytes read, for a progress bar."""

    def __init__(self, handle):
        self.handle = handle
        self.bytes_read = 0

    def lines(self) -> Iterator[str]:
        for raw in self.handle:
            self.bytes_read += len(raw)
            yield raw.decode("utf-8-sig" if self.bytes_read == len(raw) else "utf-8", errors="replace")


def format_for(path: str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    for suffix, name in EXTENSIONS.items():
        if path.lower().endswith(suffix):
            return name
    raise ValueError(f"Cannot tell the format of {path!r} from its extension; pass --format.")


def read_csv(lines: Iterator[str]) -> Iterator[tuple]:
    """A header row, then one record per row; quoted fields may span lines (line_no is the first)."""
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    width = len(header)
    line_no = reader.line_num
    for row in reader:
        start, line_no = line_no + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            yield start, ParseProblem(f"unparseable: {len(row)} columns, the header has {width}")
            continue
        yield start, dict(zip(header, row))


def read_jsonl(lines: Iterator[str]) -> Iterator[tuple]:
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            yield line_no, ParseProblem("unparseable: not a JSON object")
            continue
        if not isinstance(record, dict):
            yield line_no, ParseProblem("unparseable: not a JSON object")
            continue
        yield line_no, {str(k).lower(): ("" if v is None else str(v)) for k, v in record.items()}


def check_columns(path: str, fmt: str, required: tuple, optional: tuple = ()) -> None:
    """Refuse a file whose header row is missing or wrong, before anything of it is read or written.

    Without this, a file without its header reads its first trip as the header:
    the run reports "0 rows", or rejects every row for fields it cannot find.
    """
    check = HEADER_CHECKS.get(fmt)
    problem = check(path, required, optional) if check else None
    if problem:
        raise InvalidInput(f"Line 1 of {os.path.basename(path)}: {problem} Nothing was read or written.",
                           code="bad_header", errors={"line 1": [problem]})


def _shown(cell: str) -> str:
    """A header cell as the message shows it; a long number (perhaps a card number) only by its end."""
    cell = cell.strip()
    if cell.isdigit() and len(cell) > 6:
        return f"…{cell[-4:]}"
    return cell if len(cell) <= 24 else cell[:23] + "…"


def _csv_header_problem(path: str, required: tuple, optional: tuple) -> str | None:
    expected = ", ".join(required) + (f" (and optionally {', '.join(optional)})" if optional else "")
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = next(csv.reader(handle), None)
    if first is None or not any(cell.strip() for cell in first):
        return f"the header row is missing (the file starts empty). Expected the columns: {expected}."
    found = [cell.strip().lower() for cell in first]
    missing = [name for name in required if name not in found]
    if not missing:
        return None
    shown = ", ".join(_shown(cell) for cell in first) or "nothing"
    return (f"the header row is missing or wrong: no column {', '.join(missing)}. Expected the columns: "
            f"{expected}; found: {shown}.")


# Every file format the ingest reads, by the name ``--format`` takes.
READERS: dict[str, Callable] = {"csv": read_csv, "jsonl": read_jsonl}
# format -> fn(path, required, optional) -> problem text or None; JSON lines name their fields on every line.
HEADER_CHECKS: dict[str, Callable] = {"csv": _csv_header_problem}


def file_identity(path: str, chunk: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 of the file's bytes (its identity for checkpoints) and its line count, in one read."""
    digest, lines = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
            lines += block.count(b"\n")
    return digest.hexdigest(), lines
