"""Where the log lines go: LCA_LOG_FORMAT=json writes one JSON object a line to stderr (time,
level, logger, message, the request id in a request, and the extras), for a log shipper;
``text`` leaves Python's and Flask's own output as it is."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from lca.core.request_ids import request_id


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        found = request_id()
        if found is not None:
            record.request_id = found
        return True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is written (a test runner swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
    )


def configure_logging(log_format: str) -> None:
    """Set the root logger up for ``log_format`` ("json" or "text"); calling it again (an app
    made per test) replaces LCA's handler rather than adding another."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "lca_handler", False)]:
        root.removeHandler(handler)
    if log_format != "json":
        return
    handler = _Stderr()
    handler.lca_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(json_formatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # Flask's own handler on the app's logger would write each line a second time, as text
    logging.getLogger("lca").removeHandler(default_handler)
