"""The README's methodology section states the rules the code applies, and they hold."""
from __future__ import annotations

from pathlib import Path

from carbon_credit.ingest.trips import MAX_TRIP_HOURS, MODES
from carbon_credit.rules.defaults import DEFAULT_RULES

from .ingest_helpers import ingest, resident_with_card, setup_rules, trip, write_file

README = Path(__file__).resolve().parent.parent / "README.md"


def _methodology() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Methodology")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def test_the_methodology_section_states_the_maximum_distances_and_the_trip_duration_limit():
    section = _methodology()
    lines = section.splitlines()
    for action_type in MODES.values():
        rule = next(r for r in DEFAULT_RULES if r["action_type"] == action_type)
        km = next(f["max_quantity"] for f in rule["factors"] if f["unit"] == "km")
        assert any(action_type in line and f"{km} km" in line for line in lines), (action_type, km)
    assert f"{int(MAX_TRIP_HOURS.total_seconds() // 3600)} hours" in section
    for words in ("rounded down", "duplicate", "unknown card", "bonus points", "reject file"):
        assert words in section, words


def test_a_rerun_reports_what_the_methodology_section_says(session, tmp_path):
    setup_rules(session)
    resident_with_card(session, "310000000501")
    rows = [trip("ok", "310000000501", "bus", 8), trip("stranger", "310000000599", "bus", 9),
            trip("bad", "310000000501", "boat", 10)]
    first = ingest(session, write_file(tmp_path, rows))
    assert (first.credited, first.unknown_cards, first.rejected, first.duplicates) == (1, 1, 1, 0)
    again = ingest(session, write_file(tmp_path, rows))
    # Credited trips and kept unknown-card trips are duplicates; a bad row is rejected again, every time.
    assert (again.credited, again.unknown_cards, again.rejected, again.duplicates) == (0, 0, 1, 2)
