"""Structured logs: one JSON object per line (DJANGO_LOG_FORMAT=json), for log collectors; and
no secret in any log line (RedactSecrets)."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the process (several workers write to one collector), and
    the exception's traceback when there is one. Extra fields given with `extra=` are kept."""

    _standard = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
        "message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# A wallboard's token is its password, and it sits in its URLs (/wallboard/<token>/,
# /ws/wallboard/<token>/), which Django's request logger and servers' access logs write.
_WALLBOARD_URL = re.compile(r"(/wallboard/)[A-Za-z0-9_\-]{8,}")


class RedactSecrets(logging.Filter):
    """Takes wallboard tokens out of every record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _WALLBOARD_URL.sub(r"\1…", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
