"""What happened to the rows of a run, or of one batch: the one list of the ingest's counters.

The run's checkpoint row (``ingest_runs``) has a column per counter, the
command prints a line per counter and the log names them all; each is derived
from the fields below, so a new counter is one field (and its column).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields


def _counter(label: str):
    return field(default=0, metadata={"label": label})


@dataclass
class IngestCounts:
    rows_read: int = _counter("rows read")
    credited: int = _counter("credited")
    capped: int = _counter("capped")
    duplicates: int = _counter("duplicates")
    unknown_cards: int = _counter("unknown cards")
    rejected: int = _counter("rejected")
    points: int = _counter("points credited")
    grams: int = _counter("grams CO2e credited")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The counters, which are also the run record's columns of the same names."""
        return tuple(f.name for f in fields(IngestCounts))

    @classmethod
    def of(cls, record) -> "IngestCounts":
        """The counters a run record (or anything with those attributes) holds."""
        return IngestCounts(**{name: getattr(record, name) for name in cls.names()})

    def values(self) -> dict:
        """{counter: value}: what the run record stores."""
        return {name: getattr(self, name) for name in self.names()}

    def labelled(self) -> list[tuple[str, int]]:
        """(label, value) per counter, in order: the command's summary lines."""
        return [(f.metadata["label"], getattr(self, f.name)) for f in fields(IngestCounts)]

    def add(self, other: "IngestCounts") -> None:
        for name in self.names():
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        """One log line's worth: "4 rows read, 3 credited, …" (counts only, never a card or trip)."""
        return ", ".join(f"{value} {label}" for label, value in self.labelled())
