"""Fast insertion of many outbox rows: PostgreSQL's COPY where available, bulk_create elsewhere.

Publishing to 100,000 contacts spends most of its time creating Message rows; COPY does it
several times faster than INSERT. The caller guarantees the rows are new (it holds the lock of
the thing being published); the unique constraint still refuses any duplicate.
"""

import json

from django.db import connection

from .models import Message

COLUMNS = [
    "organization_id",
    "contact_id",
    "channel",
    "topic",
    "source",
    "content_id",
    "substitutions",
    "fallback_content_id",
    "to_address",
    "consent_at_send",
    "segments",
    "status",
    "provider",
    "provider_message_id",
    "attempts",
    "error_code",
    "last_error",
    "next_attempt_at",
    "claim",
    "queued_at",
    "status_changed_at",
]


def insert_new_messages(rows):
    """Insert Message rows given as dicts of the columns above (without their defaults)."""
    if connection.vendor != "postgresql":
        Message.objects.bulk_create([Message(**row) for row in rows], batch_size=2000, ignore_conflicts=True)
        return
    defaults = {
        "status": "queued",
        "provider": "",
        "provider_message_id": "",
        "attempts": 0,
        "error_code": "",
        "last_error": "",
        "claim": "",
    }
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Message._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = {**defaults, **row}
            values["substitutions"] = json.dumps(values["substitutions"])
            copy.write_row([values.get(column) for column in COLUMNS])
