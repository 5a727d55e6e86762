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
from dataclasses import dataclass
from typing import Callable, Iterator

READERS: dict[str, Callable] = {}
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


def register_reader(name: str):
    def wrap(fn):
        READERS[name] = fn
        return fn

    return wrap


def format_for(path: str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    for suffix, name in EXTENSIONS.items():
        if path.lower().endswith(suffix):
            return name
    raise ValueError(f"Cannot tell the format of {path!r} from its extension; pass --format.")


@register_reader("csv")
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


@register_reader("jsonl")
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


def file_identity(path: str, chunk: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 of the file's bytes (its identity for checkpoints) and its line count, in one read."""
    digest, lines = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
            lines += block.count(b"\n")
    return digest.hexdigest(), lines
