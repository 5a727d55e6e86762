"""Partitioning a transit file by card before it is credited.

The operator's file lists trips in its own order (by time, by line, at
random), so one card's trips of a day are spread over the whole file. Taken
batch by batch in that order, a resident's trips fall into several batches,
and every one of them looks up the card, locks and updates the account and
reads the day's cap usage again; and a daily cap binds on whichever trip
comes first in the file rather than first in the day.

So the file is first split, streaming, into partitions by a hash of the card
number (in a temporary directory), sized so that one partition is about one
batch. Each partition is then read back grouped by card (a card's rows
together, in line order), and the batches are cut from the partitions in
order, never inside a card's group: a card's trips of the file are all in one
batch, whatever the batch size, where they are credited in time order. The
stream depends only on the file and the partition count, which the run keeps,
so a resumed run sees the same stream, and since every committed batch ended
at a card's last row, it resumes at a card's first row with any batch size.
"""
from __future__ import annotations

import csv
import os
import zlib
from dataclasses import dataclass
from typing import Iterator, Optional, Union

from carbon_credit.ingest.readers import ParseProblem

FIELDS = ("trip_id", "card_no", "mode", "board_time", "alight_time", "distance_km")
MAX_PARTITIONS = 500  # open files during the split; a bigger file gets bigger partitions
FILL = 0.9  # partitions a little below the batch size, so one rarely spills into a second batch


def partition_count(lines: int, batch_size: int) -> int:
    """About one partition per batch of the file's lines (counted, not parsed)."""
    wanted = -(-lines // max(1, int(batch_size * FILL)))
    return max(1, min(MAX_PARTITIONS, wanted))


def card_key(card_no: str) -> str:
    """A card number as the file writes it, spaces and hyphens ignored (as when it is checked)."""
    return card_no.replace(" ", "").replace("-", "").strip()


def partition_of(card_no: str, count: int) -> int:
    """The partition of a card number as the file writes it."""
    return zlib.crc32(card_key(card_no).encode("utf-8", "replace")) % count


def split(records: Iterator[tuple], count: int, directory: str, progress=None) -> tuple[list[str], int]:
    """Write each (line_no, record) to its card's partition file; returns the files in order and the rows.

    A row that could not be read at all (a ParseProblem) keeps its place by
    line number and its reason, so it is rejected in the second pass like any
    other bad row.
    """
    paths = [os.path.join(directory, f"part-{i:04d}.csv") for i in range(count)]
    # surrogatepass: a JSON line may carry a lone surrogate; it must reach the checks, which reject it.
    handles = [open(p, "w", newline="", encoding="utf-8", errors="surrogatepass") for p in paths]
    n = 0
    try:
        writers = [csv.writer(h) for h in handles]
        for n, (line_no, record) in enumerate(records, start=1):
            if isinstance(record, ParseProblem):
                writers[line_no % count].writerow((line_no, record.reason))
            else:
                writers[partition_of(record.get("card_no") or "", count)].writerow(
                    (line_no, "", *[record.get(name) or "" for name in FIELDS]))
            if progress is not None and n % 50_000 == 0:
                progress()
    finally:
        for handle in handles:
            handle.close()
    return paths, n


@dataclass(slots=True)
class PartitionRow:
    """A row of the file as a partition gives it back."""

    line_no: int
    record: Union[dict, ParseProblem]  # the row's fields, or why it could not be read
    partition: int
    card: Optional[str]  # the card key; None for a row that could not be read (it belongs to no card's group)


def _order(row: PartitionRow) -> tuple:
    return row.card is not None, row.card or "", row.line_no


def read_partitions(paths: list[str]) -> Iterator[PartitionRow]:
    """The partitions' rows, each partition grouped by card.

    Within a partition the rows that could not be read come first, then each
    card's rows in line order, cards in key order.
    """
    for index, path in enumerate(paths):
        rows = []
        with open(path, newline="", encoding="utf-8", errors="surrogatepass") as handle:
            for row in csv.reader(handle):
                if row[1]:
                    rows.append(PartitionRow(int(row[0]), ParseProblem(row[1]), index, None))
                else:
                    fields = dict(zip(FIELDS, row[2:]))
                    rows.append(PartitionRow(int(row[0]), fields, index, card_key(fields["card_no"])))
        rows.sort(key=_order)
        yield from rows
