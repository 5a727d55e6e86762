"""Bad rows of a transit file: each is rejected with its line and reason; good rows still go in."""
from __future__ import annotations

import csv

import pytest

from carbon_credit.rules.versions import compiled_in_force

from .ingest_helpers import NOW, at, balance_of, credits_of, ingest, resident_with_card, setup_rules, trip, write_file

CARD = "310000000001"


@pytest.fixture
def rules(session):
    setup_rules(session)


def _rejects(path) -> dict:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "trip_id", "reason"]
    return {int(line): (trip_id, reason) for line, trip_id, reason in rows[1:]}


def test_every_bad_row_is_rejected_with_its_line_and_reason(session, rules, tmp_path):
    resident = resident_with_card(session, CARD)
    too_far = compiled_in_force(session, NOW).rules["bus_ride"].max_for("km") + 1
    rows = [
        trip("good1", CARD, "bus", 7, distance="3"),                      # line 2
        ["r-mode", CARD, "tram", at(8), at(9), ""],                        # 3
        ["r-neg", CARD, "bus", at(8), at(9), "-2"],                        # 4
        ["r-far", CARD, "bus", at(8), at(9), str(too_far)],                # 5
        ["r-order", CARD, "bus", at(9), at(8), ""],                        # 6
        ["r-future", CARD, "bus", "2030-01-01 08:00:00", "2030-01-01 08:30:00", ""],  # 7
        ["r-missing", "", "bus", at(8), at(9), ""],                        # 8
        ["r-time", CARD, "bus", "yesterday", at(9), ""],                   # 9
        ["r-dist", CARD, "bus", at(8), at(9), "ten"],                      # 10
        ["r-card", "12AB", "bus", at(8), at(9), ""],                       # 11
        ["r-zero", CARD, "metro", at(8), at(9), "0"],                      # 12
        trip("good2", CARD, "metro", 10),                                  # 13
    ]
    path = write_file(tmp_path, rows)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("r-cols,310000000001,bus\n")                        # 14
    summary = ingest(session, path, batch_size=4)
    rejects = _rejects(summary.reject_file)
    reasons = {line: reason.split(":")[0] for line, (_trip, reason) in rejects.items()}
    assert reasons == {3: "unknown_mode", 4: "bad_distance", 5: "bad_distance", 6: "alight_before_board",
                       7: "time_in_future", 8: "missing_field", 9: "unparseable", 10: "unparseable",
                       11: "bad_card_number", 12: "bad_distance", 14: "unparseable"}
    assert rejects[3][0] == "r-mode" and "card_no" in rejects[8][1]
    assert (summary.rows_read, summary.rejected, summary.credited) == (13, 11, 2)
    assert len(credits_of(session, resident)) == 2 and balance_of(session, resident) > 0


def test_bad_json_lines_are_rejected_by_line(session, rules, tmp_path):
    resident_with_card(session, CARD)
    path = tmp_path / "trips.jsonl"
    path.write_text('{"trip_id": "a", "card_no": "310000000001", "mode": "bus", "board_time": "%s", '
                    '"alight_time": "%s"}\n\nnot json\n[1, 2]\n{"trip_id": "b"}\n' % (at(8), at(9)), encoding="utf-8")
    summary = ingest(session, str(path))
    reasons = {line: reason.split(":")[0] for line, (_t, reason) in _rejects(summary.reject_file).items()}
    assert reasons == {3: "unparseable", 4: "unparseable", 5: "missing_field"}
    assert summary.credited == 1


def test_a_trip_id_with_a_control_character_is_rejected_and_the_rest_go_in(session, rules, tmp_path):
    resident = resident_with_card(session, CARD)
    rows = [trip("ok,1", CARD, "bus", 7, distance="3"), ["bad\nid", CARD, "bus", at(8), at(9), ""],
            ["tab\tid", CARD, "metro", at(10), at(11), ""], trip("ok 2", CARD, "metro", 12)]
    summary = ingest(session, write_file(tmp_path, rows))
    reasons = {reason.split(":")[0] for _t, reason in _rejects(summary.reject_file).values()}
    assert reasons == {"bad_trip_id"} and (summary.rejected, summary.credited) == (2, 2)
    assert {c.action.external_id for c in credits_of(session, resident)} == {"ok,1", "ok 2"}
    # The same file again: the accepted ids, commas and spaces included, are found as duplicates.
    assert ingest(session, write_file(tmp_path, rows, name="again.csv")).duplicates == 2


def test_a_reject_file_path_can_be_chosen(session, rules, tmp_path):
    resident_with_card(session, CARD)
    target = tmp_path / "elsewhere.csv"
    summary = ingest(session, write_file(tmp_path, [["x", CARD, "boat", at(8), at(9), ""]]),
                     reject_file=str(target))
    assert summary.reject_file == str(target) and 2 in _rejects(target)
