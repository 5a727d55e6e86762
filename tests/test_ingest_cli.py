"""``flask ingest transit``: the summary, and a process killed with SIGKILL resumed exactly."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.ledger.points import ledger_is_consistent
from carbon_credit.models import Account, Credit, GreenAction
from carbon_credit.models.cards import IngestRun, UnmatchedTrip

from .factories import make_resident
from .ingest_helpers import CLAIM_WINDOW, KEY, NOW, at, setup_rules, trip, write_file

ROOT = Path(__file__).resolve().parent.parent


def test_command_prints_the_summary_and_writes_rejects(app, runner, session, tmp_path):
    setup_rules(session)
    resident = make_resident(session)
    bind_card(session, resident.id, "310000000001", NOW, key=app.config["CARD_HASH_KEY"], claim_window=CLAIM_WINDOW)
    session.commit()
    rows = [trip("t1", "310000000001", "bus", 8, distance="3"), trip("t1", "310000000001", "bus", 8, distance="3"),
            trip("t2", "310000000555", "metro", 9), ["t3", "310000000001", "ship", at(9), at(10), ""]]
    path = write_file(tmp_path, rows)
    result = runner.invoke(args=["ingest", "transit", path, "--batch-size", "2", "--reject-file",
                                 str(tmp_path / "rej.csv")])
    assert result.exit_code == 0, result.output
    lines = {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in result.output.splitlines()}
    assert (lines["rows read"], lines["credited"], lines["duplicates"]) == ("4", "1", "1")
    assert (lines["unknown cards"], lines["rejected"], lines["capped"]) == ("1", "1", "0")
    assert "5,t3,unknown_mode" in (tmp_path / "rej.csv").read_text(encoding="utf-8").replace('"', "")


def test_the_command_tunes_its_process_for_the_run_and_puts_the_settings_back_even_when_it_fails():
    import gc
    import weakref

    from api.cli_ingest import COLLECT_EVERY, SWITCH_INTERVAL, tuned_for_a_bulk_run

    class Node:
        pass

    before = (sys.getswitchinterval(), gc.isenabled())
    assert before == (sys.getswitchinterval(), True) and before[0] != SWITCH_INTERVAL
    with pytest.raises(RuntimeError), tuned_for_a_bulk_run() as after_report:
        assert (sys.getswitchinterval(), gc.isenabled()) == (SWITCH_INTERVAL, False)
        node = Node()
        node.me = node  # a reference cycle: only the collector frees it
        alive = weakref.ref(node)
        del node
        for _ in range(COLLECT_EVERY - 1):
            after_report()
        assert alive() is not None
        after_report()
        assert alive() is None
        raise RuntimeError("the run failed")
    assert (sys.getswitchinterval(), gc.isenabled()) == before


def test_command_refuses_an_unknown_format(runner, tmp_path):
    path = tmp_path / "trips.txt"
    path.write_text("x", encoding="utf-8")
    result = runner.invoke(args=["ingest", "transit", str(path)])
    assert result.exit_code != 0 and "--format" in result.output


def _no_trace_of_a_run(session, path) -> bool:
    session.rollback()
    written = [session.execute(select(func.count()).select_from(model)).scalar_one()
               for model in (IngestRun, GreenAction, Credit, UnmatchedTrip)]
    return written == [0, 0, 0, 0] and not Path(f"{path}.rejects.csv").exists()


def test_a_file_without_its_header_row_is_refused_with_line_1_and_the_columns(runner, session, tmp_path):
    setup_rules(session)
    rows = [",".join(trip("t1", "310000000001", "bus", 8, distance="3")),
            ",".join(trip("t2", "310000000002", "metro", 9))]
    for lines in (rows, rows[:1]):  # a single trip used to read as a header and "0 rows"
        path = tmp_path / f"trips-{len(lines)}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = runner.invoke(args=["ingest", "transit", str(path)])
        assert result.exit_code == 1, result.output
        assert f"Line 1 of {path.name}: the header row is missing or wrong" in result.output
        assert "Expected the columns: trip_id, card_no, mode, board_time, alight_time (and optionally distance_km)" \
            in result.output
        assert "found: t1, …0001, bus," in result.output and "310000000001" not in result.output
        assert "rows read" not in result.output and _no_trace_of_a_run(session, path)


def test_a_wrong_or_empty_header_names_the_missing_columns(runner, session, tmp_path):
    setup_rules(session)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,card,mode,board_time,alight_time,distance_km\n"
                     + ",".join(trip("t1", "310000000001", "bus", 8)) + "\n", encoding="utf-8")
    result = runner.invoke(args=["ingest", "transit", str(wrong)])
    assert result.exit_code == 1 and "no column trip_id, card_no." in result.output
    assert "found: id, card, mode, board_time, alight_time, distance_km." in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(args=["ingest", "transit", str(empty)])
    assert result.exit_code == 1 and "the header row is missing (the file starts empty)" in result.output
    assert _no_trace_of_a_run(session, wrong) and _no_trace_of_a_run(session, empty)


def test_a_header_in_another_order_case_or_with_extra_columns_is_read(app, runner, session, tmp_path):
    setup_rules(session)
    path = tmp_path / "trips.csv"
    path.write_text("\ufeffLine, Card_No ,trip_id,MODE,board_time,alight_time\n"
                    f"7,310000000001,t1,bus,{at(8)},{at(9)}\n", encoding="utf-8")
    result = runner.invoke(args=["ingest", "transit", str(path)])
    assert result.exit_code == 0, result.output
    assert "rows read: 1" in result.output and "unknown cards: 1" in result.output


def _wait_for_progress(session, at_least: int, timeout: float = 240.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.rollback()
        done = session.execute(select(IngestRun.rows_done)).scalar()
        if done and done >= at_least:
            return done
        time.sleep(0.01)
    raise AssertionError("the ingest made no progress")


def test_a_run_killed_with_sigkill_resumes_with_nothing_lost_or_doubled(pg_only, db_url, session, tmp_path):
    setup_rules(session)
    cards = [f"3100000{i:05d}" for i in range(60)]
    for card in cards[:50]:  # ten cards stay unknown
        bind_card(session, make_resident(session).id, card, NOW, key=KEY, claim_window=CLAIM_WINDOW)
    session.commit()
    rows = [trip(f"k{n}", cards[n % 60], ("bus", "metro", "bike")[n % 3], 6 + n % 15, minutes=10,
                 distance=str(1 + n % 9) if n % 4 else "") for n in range(30_000)]
    path = write_file(tmp_path, rows)
    env = dict(os.environ, DATABASE_URL=db_url, CARD_HASH_KEY=KEY, PHONE_HASH_KEY=KEY, OPENID_HASH_KEY=KEY, SECRET_KEY="test")
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "ingest", "transit", path, "--batch-size", "500",
               "--work-dir", str(tmp_path)]
    # The child's log goes to a file: an unread pipe fills up and stalls a run that logs each batch.
    with open(tmp_path / "killed-run.log", "wb") as log:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    done_at_kill = _wait_for_progress(session, 2000)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert done_at_kill < len(rows), "the run finished before it could be killed"
    session.rollback()
    run_id = session.execute(select(IngestRun.id)).scalar_one()
    scratch = glob.glob(os.path.join(tmp_path, f"carbon-ingest-run-{run_id}-*"))
    assert len(scratch) == 1 and os.path.isdir(scratch[0])  # a killed run cannot remove its partitions
    finished = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "resumed after row" in finished.stdout
    assert not os.path.exists(scratch[0])  # the resumed run cleared what the killed one left
    session.rollback()
    actions = session.execute(select(func.count(GreenAction.id))).scalar_one()
    unknown = session.execute(select(func.count(UnmatchedTrip.id))).scalar_one()
    assert actions + unknown == len(rows)
    assert session.execute(select(func.count(Credit.id))).scalar_one() == actions
    for account_id in session.execute(select(Account.id)).scalars():
        assert ledger_is_consistent(session, account_id)
    assert session.execute(select(func.sum(Account.balance))).scalar_one() == session.execute(
        select(func.sum(Credit.points))).scalar_one()
    assert session.execute(select(IngestRun.status, IngestRun.rows_done)).one() == ("done", len(rows))


def test_runs_of_one_id_on_two_databases_keep_their_own_scratch_and_a_dead_runs_is_cleared(tmp_path):
    """Run ids are per database: the partitions of two runs numbered 1 on one machine must not meet."""
    import fcntl

    from carbon_credit.ingest.runner import scratch_dir

    with scratch_dir(str(tmp_path), 1) as first, scratch_dir(str(tmp_path), 1) as second:
        assert first != second and os.path.isdir(first) and os.path.isdir(second)
        (tmp_path / os.path.basename(first) / "part-0000.csv").write_text("kept", encoding="utf-8")
        with scratch_dir(str(tmp_path), 1) as third:
            assert os.path.isdir(third)
        assert (tmp_path / os.path.basename(first) / "part-0000.csv").read_text(encoding="utf-8") == "kept"
    assert os.listdir(tmp_path) == []
    # A run killed outright leaves its directory, with a lock nobody holds any more.
    dead = tmp_path / "carbon-ingest-run-7-abandoned"
    dead.mkdir()
    (dead / ".lock").write_text("", encoding="utf-8")
    other = tmp_path / "carbon-ingest-run-77-alive"
    other.mkdir()
    with open(other / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with scratch_dir(str(tmp_path), 7) as resumed:
            assert not dead.exists() and other.exists() and os.path.isdir(resumed)
    assert os.listdir(tmp_path) == ["carbon-ingest-run-77-alive"]
