"""数据导入: an uploaded trip file is ingested in the background with live counts, its bad rows can be
downloaded, and a run cut short by a restart resumes where its last batch ended."""
from __future__ import annotations

import csv
import io
import shutil

import pytest

from carbon_credit.errors import DomainError
from carbon_credit.ingest import IngestOptions, StopAfterBatches, ingest_transit_file
from carbon_credit.ingest.readers import file_identity
from carbon_credit.ingest.runs import find_run
from carbon_credit.timeutil import utcnow
from web import ingest_jobs

from .console_support import csrf_token, sign_in
from .factories import make_staff
from .ingest_helpers import KEY, resident_with_card, setup_rules, trip, write_file

CARD = "310000000001"


@pytest.fixture
def admin(app, client, session, tmp_path):
    app.config.update(CARD_HASH_KEY=KEY, CONSOLE_INGEST_DIR=str(tmp_path / "uploads"))
    setup_rules(session)
    resident_with_card(session, CARD)
    make_staff(session, "admin", "admin")
    session.commit()
    sign_in(client, "admin")
    return client


def _upload(client, name: str, content: bytes):
    token = csrf_token(client.get("/console/ingest").get_data(as_text=True))
    return client.post("/console/ingest", data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_only_csv_or_jsonl_files_are_taken(admin, session):
    response = _upload(admin, "trips.xlsx", b"not a trip file")
    assert response.status_code == 422 and "只接受 .csv 或 .jsonl 文件" in response.get_data(as_text=True)


def test_an_upload_runs_in_the_background_and_its_rejected_rows_download(admin, session, tmp_path):
    path = write_file(tmp_path, [trip("t1", CARD, "bus", 7, distance="3"), ["t2", CARD, "tram", "x", "y", ""]])
    digest = file_identity(path)[0]
    response = _upload(admin, "trips.csv", open(path, "rb").read())
    assert response.status_code == 302 and f"watch={digest}" in response.headers["Location"]
    ingest_jobs.wait_all()
    progress = admin.get(f"/console/ingest/progress/{digest}").get_data(as_text=True)
    assert "已完成" in progress and "hx-get" not in progress  # finished: the page stops polling
    assert '"rows_read">2 行' in progress and '"credited">1 条' in progress and '"rejected">1 行' in progress
    rejects = admin.get(f"/console/ingest/{digest}/rejects.csv")
    rows = list(csv.reader(io.StringIO(rejects.get_data(as_text=True))))
    assert rows[0] == ["line", "trip_id", "reason"] and rows[1][:2] == ["3", "t2"]
    assert "trips.csv" in admin.get("/console/ingest").get_data(as_text=True)


def test_a_run_cut_short_resumes_after_a_restart_exactly_as_the_cli_does(app, admin, session, tmp_path):
    source = write_file(tmp_path, [trip(f"t{i}", CARD, "bus", 6 + i, distance="2") for i in range(3)])
    digest = file_identity(source)[0]
    (tmp_path / "uploads" / digest).mkdir(parents=True)
    stored = str(tmp_path / "uploads" / digest / "trips.csv")
    shutil.copy(source, stored)
    with pytest.raises((StopAfterBatches, DomainError)):
        ingest_transit_file(session, stored, utcnow(), key=KEY,
                            options=IngestOptions(batch_size=1, fail_after_batches=1))
    session.rollback()
    assert find_run(session, "transit", digest).status == "running"
    started = ingest_jobs.resume_unfinished(app)
    assert len(started) == 1
    ingest_jobs.wait_all()
    session.rollback()
    run = find_run(session, "transit", digest)
    assert run.status == "done" and run.rows_read == 3 and run.credited == 3
