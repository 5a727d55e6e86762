"""数据导入 (admins): bulk runs with their counts and reject files; upload a trip file and watch it live."""
from __future__ import annotations

import os

from flask import current_app, flash, redirect, render_template, request, send_file, url_for

from ..database import db
from carbon_credit.ingest.runs import find_run, list_runs

from .. import ingest_jobs
from ..forms import IngestUploadForm
from . import console


@console.before_request
def _resume_after_restart():
    """The first console request of a process picks up runs a restart cut short."""
    app = current_app._get_current_object()
    if app.config.get("CONSOLE_INGEST_RESUME", True) and not app.extensions.get("console_ingest_resumed"):
        app.extensions["console_ingest_resumed"] = True
        try:
            ingest_jobs.resume_unfinished(app)
        except Exception:  # noqa: BLE001  (a fresh install without tables yet must still serve the sign-in)
            app.logger.exception("could not look for unfinished ingest runs")


def _page() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


@console.get("/ingest")
def ingest():
    page = _page()
    runs, has_next = list_runs(db.session, page)
    app = current_app._get_current_object()
    files = {run.id: ingest_jobs.reject_file(app, run.content_hash) is not None for run in runs}
    return render_template("console/ingest.html", runs=runs, page=page, has_next=has_next, rejects=files,
                           form=IngestUploadForm(formdata=None), watch=request.args.get("watch", ""))


@console.post("/ingest")
def ingest_upload():
    form = IngestUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        extension = os.path.splitext(upload.filename or "")[1].lower()
        if extension not in ingest_jobs.EXTENSIONS:
            form.file.errors = list(form.file.errors) + ["只接受 .csv 或 .jsonl 文件"]
        else:
            digest, path = ingest_jobs.store_upload(upload.stream, upload.filename)
            ingest_jobs.start(current_app._get_current_object(), path)
            flash("文件已上传，正在后台导入：关闭本页也会继续。")
            return redirect(url_for("console.ingest", watch=digest))
    runs, has_next = list_runs(db.session, 1)
    return render_template("console/ingest.html", runs=runs, page=1, has_next=has_next, rejects={}, form=form,
                           watch=""), 422


@console.get("/ingest/progress/<content_hash>")
def ingest_progress(content_hash):
    """The live counts of one file's run (an htmx fragment, polled while the run is going)."""
    run = find_run(db.session, ingest_jobs.SOURCE, content_hash)
    return render_template("console/_ingest_progress.html", run=run, content_hash=content_hash)


@console.get("/ingest/<content_hash>/rejects.csv")
def ingest_rejects(content_hash):
    path = ingest_jobs.reject_file(current_app._get_current_object(), content_hash) \
        if content_hash.isalnum() else None
    if path is None:
        return render_template("console/error.html", message="这次导入没有被拒绝的行，或文件已不在本服务器上。",
                               status=404), 404
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=f"rejects-{content_hash[:12]}.csv")
