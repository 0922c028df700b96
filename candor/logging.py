"""Log formats: one JSON object per line in production (searchable by request id, incident,
message id, provider, outcome), readable text under `make run`. Choose with CANDOR_LOG_FORMAT."""

import contextvars
import datetime as dt
import json
import logging

# Set by comms.monitoring.middleware while a request is answered.
request_id_var = contextvars.ContextVar("request_id", default="")

# Attributes passed with logger.info(..., extra={...}) that belong in the JSON line.
CONTEXT_FIELDS = (
    "incident",
    "topic",
    "message_id",
    "provider",
    "channel",
    "outcome",
    "error_code",
    "task_id",
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id when there is one."""

    def format(self, record):
        text = super().format(record)
        request_id = request_id_var.get()
        return f"{text} [request {request_id}]" if request_id else text
