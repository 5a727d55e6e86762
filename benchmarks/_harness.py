"""Shared pieces of the HTTP benchmarks: a database, a gunicorn server, and wrk runs.

Load goes only to 127.0.0.1 and every run is bounded in time. Figures are
printed; nothing here asserts a wall-clock time.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def reset_pg_database(url: str) -> str:
    """Create the benchmark database if needed and empty its public schema."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str  # http://127.0.0.1:<port>
    pid: int  # gunicorn's master process
    log: str  # where the server's output goes


@contextmanager
def gunicorn(env: dict, workers: int):
    """Serve wsgi:app with gunicorn on a free local port until the block ends; yields the base URL."""
    with serve(env, workers) as server:
        yield server.base


@contextmanager
def serve(env: dict, workers: int):
    """Serve wsgi:app with gunicorn on a free local port until the block ends; yields a Server."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
           "warning", "wsgi:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(base + "/ping", timeout=1).ok:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start; see {log.name}")
        yield Server(base, proc.pid, log.name)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class LoadResult:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * _UNITS[unit]


def wrk(name: str, url: str, *, duration: int, connections: int, threads: int = 2, script: str | None = None,
        ) -> LoadResult:
    """One bounded wrk run (needs the `wrk` binary: apt-get install wrk)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", "--timeout", "5s"]
    script_file = None
    if script:
        script_file = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script_file.write(script)
        script_file.close()
        cmd += ["-s", script_file.name]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return LoadResult(name, rps, p50, p99, int(bad.group(1)) if bad else 0)


def print_results(results: list[LoadResult], baseline: LoadResult) -> None:
    print(f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'req/s ÷ ping':>14}"
          f"{'p99 ÷ ping':>12}")
    for r in results:
        print(f"{r.name:<28}{r.requests_per_s:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.non_2xx:>9}"
              f"{r.requests_per_s / baseline.requests_per_s:>14.2f}{r.p99_ms / baseline.p99_ms:>12.2f}")


# --- where the CPU went ---------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class CpuMeter:
    """CPU seconds spent by the app (gunicorn masters and workers) and by the PostgreSQL backends
    serving one database, between ``start()`` and ``stop()``; other work on the machine is not counted."""

    def __init__(self, gunicorn_pids, database: str):
        self.masters, self.database = set(gunicorn_pids), database

    def _sample(self) -> tuple[dict, dict]:
        app, db = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            stat = _stat(pid)
            if stat is None:
                continue
            parent, seconds = stat
            if pid in self.masters or parent in self.masters:
                app[pid] = seconds
            elif f" {self.database} " in _cmdline(pid) and _cmdline(pid).startswith("postgres:"):
                db[pid] = seconds
        return app, db

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> tuple[float, float]:
        """(app CPU seconds, database CPU seconds) since start()."""
        after = self._sample()
        return tuple(sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())
                     for before, now in zip(self.before, after))
