"""What the core of an incident hands up to the features built on it, through one setting-named
handler (settings.CANDOR_INCIDENT_EVENT_HANDLER), as comms does: incidents/ and updates/ know
nothing of promises, acknowledgements or debriefs, which keeps the imports pointing one way.

The handler runs inside the caller's transaction: what it writes commits or rolls back with it.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

CREATED = "created"  # a draft incident was opened
TRANSITIONED = "transitioned"  # any step of the lifecycle; data: transition, from_state, to_state
ACTIVATED = "activated"  # the incident left draft: its deadline clocks start
DEBRIEFING = "debriefing"  # the incident entered debriefing: the debrief and the survey
UPDATE_PUBLISHED = "update_published"  # an update went out: its promise, its acknowledgement request


@dataclass(frozen=True)
class IncidentEvent:
    kind: str
    incident: Any
    update: Any = None
    at: dt.datetime | None = None
    data: dict = field(default_factory=dict)


def incident_event_emit(event):
    handler_path = getattr(settings, "CANDOR_INCIDENT_EVENT_HANDLER", "")
    if handler_path:
        import_string(handler_path)(event)
