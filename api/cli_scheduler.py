"""``flask scheduler run | run-job NAME | list``: the one scheduler process and its jobs by hand."""
from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from carbon_credit.timeutil import ensure_aware

from .scheduler import UnknownJob, build_scheduler, jobs_of, run_job

scheduler_cli = AppGroup("scheduler", help="Run the scheduled jobs (expiry, reminders, campaigns, outbox, statistics).")


@scheduler_cli.command("run")
def run_scheduler():
    """Run the scheduler in this process until stopped (Ctrl-C). One per app instance is fine: each due
    time of each job runs once, on whichever instance claims it first (job_runs.due_at)."""
    scheduler = build_scheduler(current_app._get_current_object())
    click.echo(f"scheduler started with {len(jobs_of(current_app))} jobs; Ctrl-C stops it")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopped")


@scheduler_cli.command("run-job")
@click.argument("name")
@click.option("--now", "now_text", default=None, metavar="ISO-TIME",
              help="Run as if it were this time (ISO 8601; without an offset: Shanghai time).")
def run_one(name, now_text):
    """Run the job NAME once, now, under its lock (for operators and tests)."""
    now = _parse_now(now_text)
    try:
        outcome = run_job(current_app._get_current_object(), name, now)
    except UnknownJob:
        known = ", ".join(sorted(jobs_of(current_app)))
        raise click.ClickException(f"Unknown job {name!r}. Jobs: {known}.") from None
    if outcome.status == "skipped":
        click.echo(f"{name}: skipped, another process is running it")
        return
    if outcome.status == "failed":
        counts = {k: v for k, v in outcome.result.items() if k != "error"}
        detail = f" {counts}" if counts else ""
        raise click.ClickException(f"{name} failed: {outcome.error}{detail}")
    click.echo(f"{name}: ok {outcome.result}")


def _parse_now(text):
    if text is None:
        return None
    try:
        return ensure_aware(datetime.fromisoformat(text))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--now") from None


@scheduler_cli.command("list")
def list_jobs():
    """The registered jobs and their triggers (Shanghai time)."""
    for name, spec in sorted(jobs_of(current_app).items()):
        args = ", ".join(f"{k}={v}" for k, v in spec.trigger_args.items())
        click.echo(f"{name:28} {spec.trigger}({args})  {spec.description}")
