"""The worker: ``flask --app wsgi lca worker`` delivers the outbox and, once a day per person,
writes the digests and reminders that are due (lca.notifications.schedule). Several workers
may run at once."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import date
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from lca.core.config import ROOT
from lca.core.dates import local_today
from lca.core.db import db
from lca.notifications.channels import Channel, mail_channel
from lca.notifications.delivery import deliver_due

log = logging.getLogger(__name__)


def configured_channel() -> Channel:
    """The mail channel LCA_MAIL_URL names, or a clear refusal when none is set."""
    url = current_app.config["LCA_MAIL_URL"]
    if not url:
        raise click.ClickException(
            "LCA_MAIL_URL is not set: set it to smtp://host:port (or smtps://…, with "
            "user:password@ where the server needs them) for the worker to deliver mail."
        )
    try:
        return mail_channel(url, current_app.config["LCA_MAIL_FROM"], ROOT)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


def run_once(channel: Channel, stopping: Callable[[], bool] = lambda: False) -> int:
    """One round: the day's notices that are due, the log-form drafts that expired, once a day
    the evidence retention rule, then every message that is due."""
    from lca.hours.drafts import purge_expired_drafts
    from lca.notifications.schedule import record_due_notices

    record_due_notices()
    purge_expired_drafts()
    db.session.commit()
    _retention_once_a_day()
    return deliver_due(channel, stopping=stopping)


#: the last day (in the programme's timezone) this worker applied the retention rule
_retention_done_on: date | None = None


def _retention_once_a_day() -> None:
    """The evidence retention rule (lca.privacy.retention), once a day per worker."""
    global _retention_done_on
    from lca.privacy.retention import apply_retention

    today = local_today()
    if _retention_done_on == today:
        return
    apply_retention(today)
    db.session.commit()
    _retention_done_on = today


@click.command("worker")
@click.option("--once", is_flag=True, help="One round, then stop (for cron or a test).")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05, 3600),
    help="Seconds between rounds when nothing is due.",
)
@with_appcontext
def worker_command(once: bool, interval: float) -> None:
    """Deliver waiting messages and write the daily digests and reminders."""
    channel = configured_channel()
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            sent = run_once(channel, lambda: stopping)
        except SQLAlchemyError as error:
            # the database restarting or unreachable: nothing was lost (the outbox is in it);
            # try again next round instead of leaving the queue without a worker
            db.session.rollback()
            log.warning("worker round failed, trying again: %s", error)
            sent = 0
            if once:
                raise click.ClickException(f"the database could not be reached: {error}") from error
        finally:
            db.session.remove()
        if once:
            click.echo(f"{sent} messages delivered")
            return
        if stopping:
            return
        time.sleep(interval)
