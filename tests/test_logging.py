"""Logs: the ingest reports each batch and its run, every job its result, all at LOG_LEVEL and
configured once by create_app; no openid, phone or card number is ever written."""
from __future__ import annotations

import logging
from contextlib import contextmanager

from api import LOGGERS, create_app
from api.config import SETTINGS
from api.scheduler import run_job

from .factories import make_resident
from .ingest_helpers import ingest, resident_with_card, setup_rules, trip, write_file

CARD = "310000000001"
UNKNOWN_CARD = "310000000999"


def test_an_ingest_run_logs_each_batch_and_its_summary_without_card_numbers(session, tmp_path, caplog):
    setup_rules(session)
    resident_with_card(session, CARD)
    rows = [trip(f"T{i}", CARD, "metro", hour=7 + i) for i in range(3)] + [trip("T9", UNKNOWN_CARD, "bus", 20)]
    path = write_file(tmp_path, rows)
    with caplog.at_level(logging.INFO, logger="carbon_credit"):
        summary = ingest(session, path, batch_size=2)
    lines = [r.getMessage() for r in caplog.records if r.name == "carbon_credit.ingest.runner"]
    batches = [line for line in lines if " batch " in line]
    assert len(batches) >= 2 and all(line.startswith(f"ingest run {summary.run_id} batch ") for line in batches)
    assert lines[-1] == (f"ingest run {summary.run_id} done: 4 rows read, {summary.credited} credited, "
                         f"{summary.capped} capped, 0 duplicates, 1 unknown cards, 0 rejected, {summary.points} "
                         f"points credited, {summary.grams} grams CO2e credited")
    assert summary.credited + summary.capped == 3
    assert CARD not in caplog.text and UNKNOWN_CARD not in caplog.text


def test_a_job_logs_its_result_without_personal_data(app, session, caplog):
    resident = make_resident(session, "o-job-logs")
    session.commit()
    with caplog.at_level(logging.INFO, logger="api"):
        outcome = run_job(app, "prune_job_runs")
    assert outcome.status == "ok"
    assert "job prune_job_runs done: {'removed': 0}" in [r.getMessage() for r in caplog.records]
    assert resident.openid not in caplog.text


@contextmanager
def bare_root_logger():
    """A process whose logging nobody has configured (as under gunicorn), put back afterwards."""
    root = logging.getLogger()
    handlers, levels = root.handlers[:], {name: logging.getLogger(name).level for name in LOGGERS}
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers = handlers
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_create_app_sets_the_log_level_and_adds_one_handler_however_many_apps_it_builds(monkeypatch, capsys):
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    with bare_root_logger() as root:
        create_app({"TESTING": True})
        create_app({"TESTING": True})
        assert len(root.handlers) == 1
        assert {logging.getLogger(name).getEffectiveLevel() for name in LOGGERS} == {logging.WARNING}
        logging.getLogger("carbon_credit.ingest.runner").info("not at this level")
        logging.getLogger("carbon_credit.ingest.runner").warning("a warning")
    assert capsys.readouterr().err.count("carbon_credit.ingest.runner") == 1


def test_a_host_that_configured_logging_keeps_its_handlers(monkeypatch):
    root = logging.getLogger()
    before = root.handlers[:]
    assert before  # pytest's own capture handlers
    create_app({"TESTING": True})
    assert root.handlers == before
