"""Bulk ingestion of partner files: the transit operator's nightly trips.

Streamed in batches; each batch is checked row by row (bad rows go to a reject
file with their line and reason), deduplicated by (source, trip id), matched to
residents by the keyed card hash, credited with the one rules engine, written
set-based (COPY on PostgreSQL, executemany on SQLite) and committed together
with its checkpoint, so a run can be killed and resumed at any point.
"""
from carbon_credit.ingest.counts import IngestCounts
from carbon_credit.ingest.readers import READERS
from carbon_credit.ingest.runner import (
    DEFAULT_BATCH,
    DEFAULT_STATEMENT_TIMEOUT,
    BatchTimedOut,
    IngestOptions,
    IngestSummary,
    StopAfterBatches,
    ingest_transit_file,
)
from carbon_credit.ingest.trips import MODES

__all__ = [
    "DEFAULT_BATCH", "DEFAULT_STATEMENT_TIMEOUT", "BatchTimedOut", "IngestCounts", "IngestOptions", "IngestSummary",
    "MODES", "READERS", "StopAfterBatches",
    "ingest_transit_file",
]
