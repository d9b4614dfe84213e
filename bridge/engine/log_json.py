"""``serve --log-format json``: one JSON object per log line.

Each line has ``time`` (ISO 8601, UTC), ``level``, ``logger`` and ``message``, the traceback as
``exc_info`` when there is one, and the ids a log call passed in ``extra``: ``workflow_id``,
``run_id``, ``activity_id``, ``worker_id``, ``queue``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

#: ``extra`` keys copied into the JSON object when a log call sets them.
ID_FIELDS = ("workflow_id", "run_id", "activity_id", "worker_id", "queue")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ID_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)
