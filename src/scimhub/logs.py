"""How every scimhub process logs: plain text for a terminal, or one JSON object per line.

``--log-format json`` (or ``$SCIMHUB_LOG_FORMAT=json``) is read by every command and by the
server's workers, which inherit the environment. A JSON line carries the record's own fields
(``ts``, ``level``, ``logger``, ``message``) and whatever structured fields the code passed in
``extra=`` under :data:`FIELDS_KEY`; nothing else of the record is copied, so a value that was
never meant for the log (a token, a password) cannot slip in through an attribute.
"""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson

LogFormat = Literal["text", "json"]
FORMATS: Final[tuple[LogFormat, ...]] = ("text", "json")
ENV: Final = "SCIMHUB_LOG_FORMAT"
#: ``log.info("request", extra={FIELDS_KEY: {...}})``: the structured fields of one line.
FIELDS_KEY: Final = "scimhub_fields"
#: The id of the request being answered (``X-Request-Id``), set by the server's request
#: observer: every line logged while the request runs carries it, in its thread too
#: (contexts are copied to the threads that run a request's work).
REQUEST_ID: ContextVar[str | None] = ContextVar("scimhub_request_id", default=None)


def current_format() -> LogFormat:
    value = os.environ.get(ENV, "text").strip().lower()
    return "json" if value == "json" else "text"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        fields = getattr(record, FIELDS_KEY, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, FIELDS_KEY, None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        elif (request_id := REQUEST_ID.get()) is not None:
            text += f" request_id={request_id}"
        return text


def formatter(fmt: LogFormat | None = None) -> logging.Formatter:
    return JsonFormatter() if (fmt or current_format()) == "json" else TextFormatter()


def configure(fmt: LogFormat | None = None, level: int = logging.INFO) -> None:
    """Send scimhub's (and uvicorn's) records to stderr in ``fmt``; remembered in the
    environment so that child processes (uvicorn's workers) log the same way."""
    chosen = fmt or current_format()
    os.environ[ENV] = chosen
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(chosen))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def uvicorn_log_config(fmt: LogFormat | None = None, level: str = "INFO") -> dict[str, Any]:
    """The ``log_config`` ``scimhub serve`` hands uvicorn: applied by uvicorn in the main
    process and again in every worker it starts, before it logs a line, so that uvicorn's
    own lines ("Started server process", a traceback) and scimhub's come out in ``fmt``
    from every process. uvicorn's access log is not used: it prints the query string, and a
    filter there can hold a userName; the server's request log replaces it."""
    chosen = fmt or current_format()
    formatter_class = JsonFormatter if chosen == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"scimhub": {"()": f"{__name__}.{formatter_class.__name__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "scimhub",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False},
            "alembic": {"level": "WARNING"},
        },
    }
