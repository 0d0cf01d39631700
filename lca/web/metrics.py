"""/metrics for Prometheus: what the app servers count (requests, their latency, refused
sign-ins, database connections in use) and what the database holds at scrape time (the outbox,
failed deliveries, certificates), so that every server answers the same figures.

Under gunicorn each worker counts on its own; with PROMETHEUS_MULTIPROC_DIR set (a folder
emptied at each start: deploy/gunicorn.conf.py does it) they write their counts there and a
scrape adds them up, whichever worker answers it.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, request
from flask.wrappers import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError

from lca.core.db import db
from lca.models import Certificate, EmailStatus, Message

ENDPOINT = "home.metrics"  #: the scrape itself, counted nowhere

REQUESTS = Counter(
    "lca_http_requests",
    "Requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "lca_http_request_duration_seconds",
    "Time from the request's start to its response, by endpoint.",
    ["endpoint"],
    registry=None,
)
SIGN_IN_FAILURES = Counter(
    "lca_sign_in_failures",
    "Sign-ins refused for a wrong e-mail address or password.",
    registry=None,
)
POOL_CHECKED_OUT = Gauge(
    "lca_db_pool_checked_out",
    "Database connections checked out of the pool (summed over live processes).",
    multiprocess_mode="livesum",
    registry=None,
)
_OWN = (REQUESTS, LATENCY, SIGN_IN_FAILURES, POOL_CHECKED_OUT)


class DatabaseFigures(Collector):
    """Figures read from the database at scrape time: the same from every server."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        def count(statement: Any) -> int:
            return db.session.scalar(statement) or 0

        try:
            rows = db.session.execute(
                select(Message.email_status, func.count())
                .where(Message.email_status.in_((EmailStatus.WAITING, EmailStatus.FAILED)))
                .group_by(Message.email_status)
            ).all()
            by_status: dict[EmailStatus, int] = {status: number for status, number in rows}
            certificates = count(select(func.count()).select_from(Certificate))
        except SQLAlchemyError:  # the database is down: the servers' own figures still answer
            db.session.rollback()
            return
        yield GaugeMetricFamily(
            "lca_outbox_waiting_messages",
            "Messages in the outbox waiting to be sent.",
            value=by_status.get(EmailStatus.WAITING, 0),
        )
        yield GaugeMetricFamily(
            "lca_outbox_failed_messages",
            "Messages whose delivery failed for good (shown to administrators).",
            value=by_status.get(EmailStatus.FAILED, 0),
        )
        yield GaugeMetricFamily(
            "lca_certificates_issued",
            "Certificates issued, revoked and superseded ones included.",
            value=certificates,
        )


def exposition() -> Response:
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in _OWN:
            registry.register(metric)
    registry.register(DatabaseFigures())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _address_allowed(allowed: tuple[Any, ...]) -> bool:
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in allowed)


def _token_given(token: str) -> bool:
    given = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {token}".encode())


def operator_may_read() -> bool:
    """LCA_METRICS_TOKEN and LCA_METRICS_ALLOW, each one that is set must hold; neither set:
    no one may."""
    token = current_app.config["LCA_METRICS_TOKEN"]
    allowed = current_app.config["LCA_METRICS_ALLOW"]
    if not token and not allowed:
        return False
    return (not token or _token_given(token)) and (not allowed or _address_allowed(allowed))


View = TypeVar("View", bound=Callable[..., Any])


def operator_only(view: View) -> View:
    """Only the operator's scraper (operator_may_read); to anyone else the page is not there."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not operator_may_read():
            abort(404)
        return view(*args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    vars(wrapped)["lca_access"] = "operator"  # read by the permission-matrix test
    return wrapped  # type: ignore[return-value]


def count_sign_in_failure() -> None:
    SIGN_IN_FAILURES.inc()


def init_app(app: Flask) -> None:
    """Time and count every request but the scrape; follow the pool's connections."""

    def start_clock() -> None:
        g.metrics_started = time.perf_counter()

    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)  # before the others

    @app.after_request
    def count_request(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"  # one label for every unknown address
        if endpoint != ENDPOINT:
            REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
            started = g.get("metrics_started")
            if started is not None:
                LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response

    with app.app_context():
        event.listen(db.engine, "checkout", lambda *_args: POOL_CHECKED_OUT.inc())
        event.listen(db.engine, "checkin", lambda *_args: POOL_CHECKED_OUT.dec())
