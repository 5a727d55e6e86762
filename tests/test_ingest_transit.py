"""Bulk transit ingest: rules per km and per trip, caps, idempotency, resuming, formats."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.ingest import StopAfterBatches
from carbon_credit.ledger.points import earn_lot_mismatches, ledger_is_consistent
from carbon_credit.models import Account, Credit, GreenAction, LedgerEntry, Notification, TraceForm
from carbon_credit.models.cards import IngestRun
from carbon_credit.outreach.notifications import digest_payloads
from carbon_credit.rules.explain import explain_credit
from carbon_credit.rules.versions import compiled_in_force

from .ingest_helpers import (
    DAY,
    NOW,
    at,
    balance_of,
    credit_count,
    credits_of,
    expected_grams,
    ingest,
    resident_with_card,
    setup_rules,
    trip,
    write_file,
)

CARD_A, CARD_B = "310000000001", "310000000002"


@pytest.fixture
def rules(session):
    setup_rules(session)


def test_distance_is_credited_per_km_and_a_trip_without_one_per_trip(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    path = write_file(tmp_path, [trip("t1", CARD_A, "bus", 8, distance="5.5"), trip("t2", CARD_A, "metro", 18)])
    summary = ingest(session, path)
    assert (summary.credited, summary.rows_read) == (2, 2)
    by_type = {c.action_type: c for c in credits_of(session, resident)}
    assert by_type["bus_ride"].grams == expected_grams(session, "bus_ride", "km", "5.5")
    assert by_type["bus_ride"].trace["unit"] == "km" and by_type["bus_ride"].trace["evidence_weight"] in ("1", "1.0")
    assert by_type["metro_ride"].grams == expected_grams(session, "metro_ride", "trip", 1)
    assert by_type["metro_ride"].trace["unit"] == "trip"
    assert balance_of(session, resident) == sum(c.points for c in by_type.values())


def test_a_credit_is_keyed_by_its_action_on_every_path(session, rules, tmp_path):
    """The ingest and the single-action path both give a credit its action's id, and both earn into the lots."""
    bulk = resident_with_card(session, CARD_A)
    single = resident_with_card(session, CARD_B)
    record_action(session, ActionInput(resident_id=single.id, action_type="metro_ride", quantity=Decimal("3"),
                                       unit="km", occurred_at=NOW - timedelta(hours=6), source="partner_feed",
                                       evidence="partner", idem_scope="other", external_id="x1"), NOW)
    session.commit()
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "bus", 8, distance="5.5"), trip("t2", CARD_A, "metro", 9)]))
    rows = session.execute(select(Credit.id, GreenAction.id, GreenAction.external_id)
                           .join(GreenAction, GreenAction.id == Credit.id)).all()
    assert sorted(external for _, _, external in rows) == ["t1", "t2", "x1"]
    assert all(credit_id == action_id for credit_id, action_id, _ in rows)
    assert {c.resident_id for c in credits_of(session, bulk)} == {bulk.id}
    assert earn_lot_mismatches(session) == {}


def test_a_trip_keeps_its_mode_and_ride_length_in_whole_seconds(session, rules, tmp_path):
    resident_with_card(session, CARD_A)
    row = ["t1", CARD_A, "metro", "2026-06-04 08:00:00.250", "2026-06-04 08:21:40.900", ""]
    ingest(session, write_file(tmp_path, [row]))
    action = session.execute(select(GreenAction)).scalar_one()
    assert action.attributes == {"mode": "metro", "ride_s": 1300}


def test_credit_trace_has_the_shape_the_single_action_path_produces(session, rules, tmp_path):
    bulk = resident_with_card(session, CARD_A)
    single = resident_with_card(session, CARD_B)
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "metro", 8, distance="12.5")]))
    record_action(session, ActionInput(resident_id=single.id, action_type="metro_ride", quantity=Decimal("12.5"),
                                       unit="km", occurred_at=NOW - timedelta(hours=6), source="partner_feed",
                                       evidence="partner", idem_scope="other", external_id="x1"), NOW)
    session.commit()
    bulk_trace, single_trace = credits_of(session, bulk)[0].trace, credits_of(session, single)[0].trace
    assert set(bulk_trace) == set(single_trace)
    assert {k: v for k, v in bulk_trace.items() if k != "caps"} == {k: v for k, v in single_trace.items() if k != "caps"}


def test_bulk_credits_share_one_trace_form_and_keep_only_their_cap_figures(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    rows = [trip(f"t{i}", CARD_A, "bus", 7 + i, distance="5.5") for i in range(3)]
    ingest(session, write_file(tmp_path, rows), batch_size=2)
    credits = sorted(credits_of(session, resident), key=lambda c: c.action.occurred_at)
    assert len({c.trace_form_id for c in credits}) == 1 and credits[0].trace_form_id is not None
    assert session.scalar(select(func.count()).select_from(TraceForm)) == 1, "stored once across batches"
    # Each credit stores just what its caps had used before; the whole trace reads as the engine wrote it.
    assert [c.stored_trace[0] for c in credits] == ["0", "1", "2"]
    assert [c.trace["caps"][0]["used_before"] for c in credits] == ["0", "1", "2"]
    assert credits[2].trace["factor"]["source"] and credits[2].trace["quantity"] == "5.5"
    explained = explain_credit(credits[2], "公交")
    assert next(step for step in explained["steps"] if step["step"] == "cap")["used"] == "2"


def test_daily_trip_cap_applies_across_the_file_and_batches(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    limit = int(next(c.limit for c in compiled_in_force(session, NOW).caps if c.name == "transit_rides_daily"))
    rows = [trip(f"t{i}", CARD_A, "bus", 7 + i) for i in range(limit + 2)]
    summary = ingest(session, write_file(tmp_path, rows), batch_size=2)
    assert (summary.credited, summary.capped) == (limit, 2)
    statuses = [c.status for c in sorted(credits_of(session, resident), key=lambda c: c.action.occurred_at)]
    assert statuses == ["credited"] * limit + ["capped"] * 2


def test_caps_count_credits_already_committed_that_day(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    limit = int(next(c.limit for c in compiled_in_force(session, NOW).caps if c.name == "transit_rides_daily"))
    for i in range(limit - 1):
        record_action(session, ActionInput(resident_id=resident.id, action_type="bike_ride", quantity=Decimal(1),
                                           unit="trip", occurred_at=DAY + timedelta(hours=6, minutes=i),
                                           source="partner_feed", evidence="partner", idem_scope="bikes",
                                           external_id=f"b{i}"), NOW)
    session.commit()
    summary = ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "bus", 9), trip("t2", CARD_A, "bus", 10)]))
    assert (summary.credited, summary.capped) == (1, 1)
    # A trip on the next day starts a fresh day.
    next_day = DAY - timedelta(days=1)
    summary = ingest(session, write_file(tmp_path, [trip("t3", CARD_A, "bus", 9, day=next_day)], name="b.csv"))
    assert summary.credited == 1


def test_committed_credits_count_on_their_shanghai_day_across_utc_midnight(session, rules, tmp_path):
    """Cap usage is read through the actions' boarding times: the Shanghai day, not the UTC one, decides."""
    resident = resident_with_card(session, CARD_A)
    limit = int(next(c.limit for c in compiled_in_force(session, NOW).caps if c.name == "transit_rides_daily"))
    day_before = DAY - timedelta(days=1)
    # Boarding at 07:00 Shanghai time is 23:00 UTC of the day before; the day before's 23:00 is its 15:00 UTC.
    early = [trip(f"e{i}", CARD_A, "bus", 7, minutes=i + 1) for i in range(limit - 1)]
    late = [trip(f"l{i}", CARD_A, "bus", 23, minutes=i + 1, day=day_before) for i in range(limit)]
    summary = ingest(session, write_file(tmp_path, early + late))
    assert (summary.credited, summary.capped) == (2 * limit - 1, 0)
    # The day before is full; this day has room for exactly one more ride.
    summary = ingest(session, write_file(tmp_path, [trip("x1", CARD_A, "bus", 22, minutes=50, day=day_before),
                                                    trip("x2", CARD_A, "bus", 9), trip("x3", CARD_A, "bus", 10)],
                                         name="b.csv"))
    assert (summary.credited, summary.capped) == (1, 2)
    capped = {c.action.external_id for c in credits_of(session, resident) if c.status == "capped"}
    assert capped == {"x1", "x3"}


def test_total_daily_points_cap_clips_then_caps(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    compiled = compiled_in_force(session, NOW)
    points_cap = next(c for c in compiled.caps if c.name == "points_daily")
    distance = compiled.rules["metro_ride"].max_for("km")
    per_trip = expected_grams(session, "metro_ride", "km", distance)
    trips_needed = int(points_cap.limit // per_trip) + 1
    rows = [trip(f"t{i}", CARD_A, "metro", 7 + i, distance=str(distance)) for i in range(trips_needed + 1)]
    ingest(session, write_file(tmp_path, rows))
    credits = sorted(credits_of(session, resident), key=lambda c: c.action.occurred_at)
    assert sum(c.points for c in credits) == points_cap.limit
    assert credits[-1].status == "capped" and credits[-1].points == 0
    assert any(cap["name"] == "points_daily" and cap["effect"] == "clipped" for cap in credits[-2].trace["caps"])
    assert balance_of(session, resident) == points_cap.limit


def test_second_run_of_the_same_file_credits_nothing_and_reports_duplicates(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    rows = [trip("t1", CARD_A, "bus", 8, distance="3"), trip("t2", "310000000999", "metro", 9),
            trip("t3", CARD_A, "metro", 10), ["t4", CARD_A, "tram", at(11), at(12), ""]]
    path = write_file(tmp_path, rows)
    first = ingest(session, path)
    balance, credits = balance_of(session, resident), credit_count(session)
    second = ingest(session, path)
    assert (second.credited, second.capped, second.unknown_cards) == (0, 0, 0)
    assert second.duplicates == first.credited + first.capped + first.unknown_cards == 3
    assert second.rejected == first.rejected == 1
    assert (balance_of(session, resident), credit_count(session)) == (balance, credits)
    assert session.execute(select(IngestRun.passes)).scalar_one() == 2


def test_a_run_that_fails_midway_resumes_without_loss_or_doubles(session, rules, tmp_path):
    residents = [resident_with_card(session, f"3100000000{i:02d}") for i in range(5)]
    rows = [trip(f"t{n}", f"3100000000{n % 5:02d}", ("bus", "metro", "bike")[n % 3], 6 + n % 14,
                 distance=str(1 + n % 7) if n % 2 else "") for n in range(40)]
    rows.insert(7, ["bad", CARD_A, "ferry", at(9), at(10), ""])
    path = write_file(tmp_path, rows)
    with pytest.raises(StopAfterBatches):
        ingest(session, path, batch_size=6, fail_after_batches=3)
    stopped = session.execute(select(IngestRun.rows_done, IngestRun.status)).one()
    assert stopped.status == "running" and 0 < stopped.rows_done < 41
    resumed = ingest(session, path, batch_size=4)  # another batch size: the run keeps its partitions
    assert resumed.resumed_from == stopped.rows_done and resumed.rows_read == 41
    assert resumed.credited + resumed.capped == 40 and resumed.duplicates == 0 and resumed.rejected == 1
    assert session.execute(select(func.count(GreenAction.id))).scalar_one() == 40
    for resident in residents:
        credits = credits_of(session, resident)
        account = session.execute(select(Account).where(Account.resident_id == resident.id)).scalar_one()
        assert ledger_is_consistent(session, account.id)
        assert account.balance == sum(c.points for c in credits)
    with open(resumed.reject_file, encoding="utf-8") as handle:
        assert handle.read().count("unknown_mode") == 1


def _told(session, resident) -> list:
    """What each of the resident's digests says if it is sent now."""
    session.rollback()
    notes = session.execute(select(Notification).where(Notification.resident_id == resident.id)
                            .order_by(Notification.id)).scalars().all()
    payloads = digest_payloads(session, notes)
    return [payloads[note.id] for note in notes]


def test_one_credit_digest_per_resident_and_day_tells_every_trip_of_the_day(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    rows = [trip("t1", CARD_A, "bus", 8), trip("t2", CARD_A, "metro", 9, distance="6"), trip("t3", CARD_A, "bus", 10)]
    ingest(session, write_file(tmp_path, rows), batch_size=2)  # two batches: the second one's trips are told too
    session.rollback()
    note = session.execute(select(Notification).where(Notification.resident_id == resident.id)).scalar_one()
    assert (note.kind, note.digest_day, note.status) == ("credit", DAY.date(), "pending")
    assert (note.payload, note.dedupe_key, note.last_error) == (None, None, None)  # nothing more is stored
    credits = credits_of(session, resident)
    assert _told(session, resident) == [{
        "action_type": "bus_ride", "action_types": ["bus_ride", "metro_ride"], "trips": 3,
        "points": sum(c.points for c in credits), "grams": sum(c.grams for c in credits),
        "balance": balance_of(session, resident), "occurred_at": DAY.date().isoformat()}]


def test_later_files_of_a_day_add_to_its_pending_digest_and_never_queue_a_second(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "bus", 8)], name="morning.csv"))
    ingest(session, write_file(tmp_path, [trip("t2", CARD_A, "metro", 18, distance="6")], name="evening.csv"))
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "bus", 8)], name="morning-again.csv"))
    [told] = _told(session, resident)
    assert (told["trips"], told["action_types"]) == (2, ["bus_ride", "metro_ride"])
    assert told["points"] == sum(c.points for c in credits_of(session, resident)) == balance_of(session, resident)
    # Once it went out, the day's later trips are credited but queue nothing more: one message per day.
    session.execute(update(Notification).values(status="sent", sent_at=NOW))
    session.commit()
    summary = ingest(session, write_file(tmp_path, [trip("t3", CARD_A, "bike", 20)], name="late.csv"))
    assert summary.credited == 1
    session.rollback()
    assert session.execute(select(func.count(Notification.id))).scalar_one() == 1


def test_a_digest_tells_only_the_trips_of_the_operators_files(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    record_action(session, ActionInput(resident_id=resident.id, action_type="bus_ride", quantity=Decimal(5),
                                       unit="km", occurred_at=DAY + timedelta(hours=7), source="partner_feed",
                                       evidence="partner", idem_scope="partner:9", external_id="e1"), NOW)
    session.commit()
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "metro", 8, distance="6")]))
    filed = session.execute(select(Credit).join(GreenAction, GreenAction.id == Credit.action_id)
                            .where(GreenAction.external_id == "t1")).scalar_one()
    [told] = _told(session, resident)
    assert (told["trips"], told["action_types"], told["points"]) == (1, ["metro_ride"], filed.points)
    assert told["balance"] == balance_of(session, resident) > filed.points  # the balance is the whole of it


def test_a_digest_whose_day_earns_nothing_any_more_has_nothing_to_tell(session, rules, tmp_path):
    resident = resident_with_card(session, CARD_A)
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "bus", 8)]))
    session.execute(update(GreenAction).where(GreenAction.local_day.is_not(None)).values(status="capped", points=0, grams=0))
    session.commit()
    assert _told(session, resident) == [None]


def test_a_resident_without_wechat_is_credited_but_gets_no_digest(session, rules, tmp_path):
    reachable, offline = resident_with_card(session, CARD_A), resident_with_card(session, CARD_B)
    offline.openid = None  # registered by a community worker, never followed the account
    session.commit()
    ingest(session, write_file(tmp_path, [trip("t1", CARD_A, "bus", 8), trip("t2", CARD_B, "bus", 8)]))
    session.rollback()
    assert balance_of(session, offline) > 0 and balance_of(session, reachable) > 0
    notified = session.execute(select(Notification.resident_id)).scalars().all()
    assert notified == [reachable.id]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_json_lines_give_the_same_credits(session, rules, tmp_path, fmt):
    resident = resident_with_card(session, CARD_A)
    rows = [trip("t1", CARD_A, "bus", 8, distance="4.2"), trip("t2", CARD_A, "bike", 9), ["t3", "", "bus", at(9), at(10), ""]]
    name = "trips.csv" if fmt == "csv" else "trips.jsonl"
    summary = ingest(session, write_file(tmp_path, rows, name=name, fmt=fmt))
    assert (summary.credited, summary.rejected) == (2, 1)
    credits = credits_of(session, resident)
    assert sorted(c.grams for c in credits) == sorted(
        [expected_grams(session, "bus_ride", "km", "4.2"), expected_grams(session, "bike_ride", "trip", 1)])
    session.rollback()
    assert session.execute(select(func.count(LedgerEntry.id))).scalar_one() == 1  # one earn lot for both trips
    assert ledger_is_consistent(session, session.execute(select(Account.id)).scalar_one())
    assert earn_lot_mismatches(session) == {}
    assert session.execute(select(func.sum(Credit.points))).scalar_one() == balance_of(session, resident)


def test_two_concurrent_runs_sharing_trips_credit_each_trip_once(pg_only, engine, session, rules, tmp_path):
    import threading

    from sqlalchemy.orm import Session

    residents = [resident_with_card(session, f"3100000000{i:02d}") for i in range(4)]
    shared = [trip(f"s{n}", f"3100000000{n % 4:02d}", "bus", 6 + n % 12, distance=str(1 + n % 5)) for n in range(300)]
    paths = [write_file(tmp_path, shared + [trip("only-a", CARD_A, "bike", 21)], name="a.csv"),
             write_file(tmp_path, list(reversed(shared)), name="b.csv")]
    results, errors = [], []

    def run(path):
        try:
            with Session(engine) as own:
                results.append(ingest(own, path, batch_size=25))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.credited + r.capped for r in results) == 301
    assert sum(r.duplicates for r in results) == 300
    session.rollback()
    assert session.execute(select(func.count(GreenAction.id))).scalar_one() == 301
    for resident in residents:
        account = session.execute(select(Account).where(Account.resident_id == resident.id)).scalar_one()
        assert ledger_is_consistent(session, account.id)
        assert account.balance == sum(c.points for c in credits_of(session, resident))


def test_queued_digests_remember_each_resident_and_day_once():
    from datetime import date

    from carbon_credit.ingest.batch import QueuedDigests

    queued, today, tomorrow = QueuedDigests(), date(2026, 11, 23), date(2026, 11, 24)
    assert [queued.first(r, today) for r in (7, 8, 7, 3_000_001, 3_000_001)] == [True, True, False, True, False]
    assert queued.first(7, tomorrow) and not queued.first(7, tomorrow) and not queued.first(8, today)


def test_a_day_digest_names_its_types_in_the_order_the_trips_first_took_them():
    from datetime import date

    from carbon_credit.outreach.notifications import DayDigest

    digest = DayDigest(date(2026, 11, 23))
    for action_type, points, grams in (("bus_ride", 100, 3000), ("metro_ride", 15, 380), ("bus_ride", 5, 20)):
        digest.add(action_type, points, grams)
    assert digest.payload(1500) == {
        "action_type": "bus_ride", "action_types": ["bus_ride", "metro_ride"], "points": 120, "grams": 3400,
        "trips": 3, "balance": 1500, "occurred_at": "2026-11-23"}


def test_a_cards_trips_are_capped_in_time_order_whatever_order_the_file_lists_them(session, rules, tmp_path):
    """The file is split by card first, so a card's trips are credited together and in time order."""
    from carbon_credit.ingest.partition import partition_of

    resident = resident_with_card(session, CARD_A)
    limit = int(next(c.limit for c in compiled_in_force(session, NOW).caps if c.name == "transit_rides_daily"))
    # Other (unbound) cards that fall in the other of the file's two partitions, listed first.
    others = [c for c in (f"3200000{i:05d}" for i in range(200)) if partition_of(c, 2) != partition_of(CARD_A, 2)]
    rows = [trip(f"o{i}", others[i // 3], "bus", 8) for i in range(36)]
    # The resident's trips come last, latest first: read in file order, the latest would take the cap.
    rows += [trip(f"a{h}", CARD_A, "bus", h) for h in range(7 + limit + 1, 6, -1)]
    summary = ingest(session, write_file(tmp_path, rows), batch_size=40)
    assert (summary.credited, summary.capped, summary.unknown_cards) == (limit, 2, 36)
    in_time = sorted(credits_of(session, resident), key=lambda c: c.action.occurred_at)
    assert [c.status for c in in_time] == ["credited"] * limit + ["capped"] * 2


def test_partitions_keep_every_row_its_line_and_its_text(tmp_path):
    from carbon_credit.ingest.partition import partition_of, read_partitions, split
    from carbon_credit.ingest.readers import ParseProblem

    records = [(2, {"trip_id": 't,1 "x"', "card_no": "3100 0000 0001", "mode": "bus", "board_time": "b",
                    "alight_time": "a", "distance_km": ""}),
               (3, ParseProblem("unparseable: 3 columns, the header has 6")),
               (5, {"trip_id": "t2\nnext", "card_no": "310000000001", "mode": "metro", "board_time": "b2",
                    "alight_time": "a2", "distance_km": "4.5", "extra": "ignored"}),
               (6, {"trip_id": "t3", "card_no": "310000000777", "mode": "bike"}),
               (7, {"trip_id": "t4\ud800\x00", "card_no": "3", "mode": "bus"})]
    paths, total = split(iter(records), 3, str(tmp_path))
    assert total == 5 and len(paths) == 3
    rows = list(read_partitions(paths))
    assert sorted(row.line_no for row in rows) == [2, 3, 5, 6, 7]
    by_line = {row.line_no: (row.record, row.partition) for row in rows}
    assert by_line[2][0]["trip_id"] == 't,1 "x"' and by_line[5][0]["trip_id"] == "t2\nnext"
    assert by_line[2][1] == by_line[5][1] == partition_of("310000000001", 3)  # one card, however written
    assert by_line[3][0] == ParseProblem("unparseable: 3 columns, the header has 6")
    assert by_line[6][0]["distance_km"] == "" and by_line[6][1] == partition_of("310000000777", 3)
    assert by_line[7][0]["trip_id"] == "t4\ud800\x00"  # reaches the checks, which reject it
    # Within a partition a card's rows come together, in line order, keyed by the card however written.
    same_card = [index for index, row in enumerate(rows) if row.card == "310000000001"]
    assert [rows[i].line_no for i in same_card] == [2, 5] and same_card[1] == same_card[0] + 1
    assert {row.card for row in rows if row.line_no == 3} == {None}  # a row that could not be read has no card


def test_a_run_leaves_the_interpreters_process_wide_settings_alone(session, rules, tmp_path, monkeypatch):
    """Two runs in one process (or a run beside a web worker's threads) must not change each other's interpreter."""
    import gc
    import sys

    from carbon_credit.ingest import runner

    seen = []
    real_process_batch = runner.process_batch

    def process_batch(*args, **kwargs):
        seen.append((sys.getswitchinterval(), gc.isenabled()))
        return real_process_batch(*args, **kwargs)

    monkeypatch.setattr(runner, "process_batch", process_batch)
    before = (sys.getswitchinterval(), gc.isenabled())
    resident_with_card(session, CARD_A)
    session.commit()
    cards = [CARD_A, "310000009902", "310000009903"]
    for card in cards[1:]:
        resident_with_card(session, card)
    path = write_file(tmp_path, [trip(f"T{i}", cards[i % 3], "metro", hour=7 + i) for i in range(6)])
    with pytest.raises(StopAfterBatches):
        ingest(session, path, batch_size=2, fail_after_batches=1)
    session.rollback()
    resumed = ingest(session, path, batch_size=2)
    assert (resumed.resumed_from, resumed.rows_read) == (2, 6)  # a batch per card: two trips each
    assert seen == [before] * 3 and (sys.getswitchinterval(), gc.isenabled()) == before


@pytest.mark.parametrize("written, utc, local_day", [
    ("2026-06-04T23:59:59", "2026-06-04T15:59:59+00:00", "2026-06-04"),  # local time without an offset
    ("2026-06-05T00:00:00", "2026-06-04T16:00:00+00:00", "2026-06-05"),  # a local midnight starts the local day
    ("2026-06-04T20:30:00+00:00", "2026-06-04T20:30:00+00:00", "2026-06-05"),  # UTC evening, Shanghai morning
    ("2026-06-04T09:00:00-05:00", "2026-06-04T14:00:00+00:00", "2026-06-04"),
    ("1990-07-01T12:00:00", "1990-07-01T03:00:00+00:00", "1990-07-01"),  # Shanghai kept summer time until 1991
    ("1991-12-31T23:30:00", "1991-12-31T15:30:00+00:00", "1991-12-31"),
])
def test_trip_times_are_read_as_shanghai_local_time_unless_they_carry_an_offset(written, utc, local_day):
    from datetime import date, datetime

    from carbon_credit.ingest.trips import parse_trip
    from carbon_credit.timeutil import local_date

    board = datetime.fromisoformat(written)
    alight = (board + timedelta(minutes=20)).isoformat()
    parsed = parse_trip(2, {"trip_id": "t1", "card_no": CARD_A, "mode": "bus", "board_time": written,
                            "alight_time": alight}, NOW)
    assert parsed.board == datetime.fromisoformat(utc)
    assert parsed.board.utcoffset() == timedelta(0)
    assert parsed.day == date.fromisoformat(local_day) == local_date(board)
    assert parsed.alight - parsed.board == timedelta(minutes=20)


def test_on_sqlite_a_run_checkpoints_its_wal_and_leaves_the_connection_as_it_found_it(db_url, session, rules,
                                                                                     tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's own settings")
    from carbon_credit.ingest.writers import SQLiteWriter

    resident_with_card(session, CARD_A)
    session.commit()
    raw = session.connection().connection.driver_connection
    defaults = tuple((name, raw.execute(f"PRAGMA {name}").fetchone()[0]) for name, _ in SQLiteWriter.BULK_PRAGMAS)
    assert defaults == SQLiteWriter.DEFAULT_PRAGMAS
    session.commit()
    rows = [trip(f"T{i}", CARD_A, "bus", hour=7 + i % 12, distance="3.5") for i in range(40)]
    summary = ingest(session, write_file(tmp_path, rows), batch_size=10)
    assert summary.credited + summary.capped == 40
    raw = session.connection().connection.driver_connection
    assert tuple((name, raw.execute(f"PRAGMA {name}").fetchone()[0]) for name, _ in defaults) == defaults
    busy, log, checkpointed = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and log == checkpointed  # the run's frames were already in the database file

