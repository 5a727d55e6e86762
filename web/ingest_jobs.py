"""Transit files uploaded in the console, ingested in a background thread of the web process.

The upload is stored in the instance folder under its SHA-256 (the run's
identity), so the run's checkpoint row leads back to its file and its reject
file. The thread calls the same runner as ``flask ingest transit``: batches are
committed with their checkpoint, and a run cut short (the process restarted)
is picked up by the first request after the restart and resumes where its last
committed batch ended. This suits a city install with one console host; with
several, run the CLI on one of them instead.
"""
from __future__ import annotations

import hashlib
import os
import threading

from flask import Flask, current_app
from werkzeug.utils import secure_filename

from .database import db
from carbon_credit.errors import DomainError
from carbon_credit.ingest import IngestOptions, ingest_transit_file
from carbon_credit.ingest.runs import unfinished_runs
from carbon_credit.timeutil import utcnow

SOURCE = "transit"
EXTENSIONS = (".csv", ".jsonl")
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def upload_dir(app: Flask) -> str:
    path = app.config.get("CONSOLE_INGEST_DIR") or os.path.join(app.instance_path, "ingest")
    os.makedirs(path, exist_ok=True)
    return path


def store_upload(stream, filename: str) -> tuple[str, str]:
    """Save an uploaded file in a folder named after its SHA-256; returns (digest, path)."""
    extension = os.path.splitext(filename or "")[1].lower()
    folder = upload_dir(current_app)
    partial = os.path.join(folder, f"upload-{threading.get_ident()}-{os.getpid()}.part")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        while block := stream.read(1 << 20):
            digest.update(block)
            out.write(block)
    home = os.path.join(folder, digest.hexdigest())
    os.makedirs(home, exist_ok=True)
    name = secure_filename(os.path.basename(filename or "")) or "trips"
    path = os.path.join(home, name if name.lower().endswith(extension) else name + extension)
    os.replace(partial, path)
    return digest.hexdigest(), path


def stored_file(app: Flask, content_hash: str) -> str | None:
    """The uploaded file of a run: kept in a folder named after its SHA-256, under its own name."""
    home = os.path.join(upload_dir(app), content_hash)
    if not content_hash.isalnum() or not os.path.isdir(home):
        return None
    names = sorted(n for n in os.listdir(home) if n.lower().endswith(EXTENSIONS) and not n.endswith(".rejects.csv"))
    return os.path.join(home, names[0]) if names else None


def reject_file(app: Flask, content_hash: str) -> str | None:
    path = stored_file(app, content_hash)
    return path + ".rejects.csv" if path and os.path.exists(path + ".rejects.csv") else None


def _work(app: Flask, path: str) -> None:
    with app.app_context():
        try:
            ingest_transit_file(db.session, path, utcnow(), key=app.config.get("CARD_HASH_KEY"),
                                options=IngestOptions(source=SOURCE))
        except (DomainError, ValueError) as exc:
            app.logger.warning("console ingest of %s stopped: %s", os.path.basename(path), exc)
        except Exception:  # noqa: BLE001  (a background thread has no one else to tell)
            app.logger.exception("console ingest of %s failed", os.path.basename(path))
        finally:
            db.session.remove()


def start(app: Flask, path: str) -> threading.Thread:
    """Ingest ``path`` in the background, once at a time per file."""
    with _lock:
        running = _threads.get(path)
        if running is not None and running.is_alive():
            return running
        thread = threading.Thread(target=_work, args=(app, path), name=f"ingest-{os.path.basename(path)[:12]}",
                                  daemon=True)
        _threads[path] = thread
        thread.start()
        return thread


def resume_unfinished(app: Flask) -> list[threading.Thread]:
    """Start a thread for every unfinished run whose uploaded file is here (after a restart)."""
    with app.app_context():
        runs = [(run.content_hash, run.source) for run in unfinished_runs(db.session)]
        db.session.remove()
    started = []
    for content_hash, source in runs:
        path = stored_file(app, content_hash) if source == SOURCE else None
        if path is not None:
            started.append(start(app, path))
    return started


def wait_all(timeout: float = 60) -> None:
    """Wait for the background runs (tests, and a clean shutdown)."""
    for thread in list(_threads.values()):
        thread.join(timeout)
