"""What an update will look like before it goes out: the audience preview (who, which channels,
which languages, SMS segments and how long they take to leave) and each language filled in for a
real reader of it. Nothing here changes state.
"""

import math
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from candor.helpers import duration_words
from comms.rendering import apply_substitutions
from playbooks.models import IncidentUpdate, State
from playbooks.updates.audience import audience_clients, audience_for, unreachable_reason_words
from playbooks.updates.pipeline import READER_TOKENS, reader_values
from playbooks.updates.services import stage_texts, update_preview


@dataclass(frozen=True)
class SmsSendEstimate:
    """How long the SMS of one publish take to leave at the sender's throughput."""

    segments: int
    segments_per_second: float
    seconds: int
    queue_limit_hours: float

    @property
    def exceeds_queue_limit(self):
        return self.seconds > self.queue_limit_hours * 3600

    @property
    def duration_text(self):
        return duration_words(self.seconds)


def sms_send_estimate(*, segments):
    """Providers send SMS segments at a fixed rate per sender (about 1 per second for a long code,
    3 for toll-free, 100 for a short code); Twilio drops what waits longer than its queue limit."""
    rate = float(getattr(settings, "CANDOR_SMS_SEGMENTS_PER_SECOND", 1)) or 1.0
    limit = float(getattr(settings, "CANDOR_SMS_QUEUE_LIMIT_HOURS", 10))
    return SmsSendEstimate(
        segments=segments, segments_per_second=rate, seconds=math.ceil(segments / rate), queue_limit_hours=limit
    )


def activation_stage(incident):
    """The stage an incident enters when activated (its first update is drafted there)."""
    transition = type(incident.as_kind()).activate._django_fsm.get_transition(State.DRAFT)
    return transition.target if transition else incident.state


def audience_preview(*, incident, texts=None, stage=None):
    """Who an incident reaches and what its first (or given) update costs, before anything is sent:
    affected clients with their contacts, counts per channel and language, SMS segments and the
    time they take to leave, and the contacts that cannot be reached with the reason."""
    stage = stage or (activation_stage(incident) if incident.state == State.DRAFT else incident.state)
    draft = IncidentUpdate(incident=incident, stage=stage, texts=texts or stage_texts(incident, stage))
    preview = update_preview(update=draft) if draft.texts else None
    audience = audience_for(incident=incident)
    contacts_per_client = Counter(contact.client_id for contact in audience.contacts)
    email_per_client = Counter(contact.client_id for contact in audience.email)
    sms_per_client = Counter(contact.client_id for contact in audience.sms)
    clients = [
        {
            "id": client.pk,
            "name": client.name,
            "country": client.country,
            "language": client.default_language,
            "contacts": contacts_per_client[client.pk],
            "email": email_per_client[client.pk],
            "sms": sms_per_client[client.pk],
        }
        for client in sorted(audience_clients(incident=incident), key=lambda client: client.name)
    ]
    languages = []
    segments_total = 0
    if preview:
        for language, row in sorted(preview["languages"].items()):
            languages.append(
                {
                    "language": language,
                    "email_recipients": row["email_recipients"],
                    "sms_recipients": row["sms_recipients"],
                    "sms_segments": row["sms_segments"],
                    "sms_encoding": row["sms_encoding"],
                    "sms_messages": row["sms_messages"],
                }
            )
        segments_total = preview["sms_segments_total"]
    estimate = sms_send_estimate(segments=segments_total)
    return {
        "stage": stage,
        "clients": clients,
        "contacts": len(audience.contacts),
        "email_recipients": len(audience.email),
        "sms_recipients": len(audience.sms),
        "languages": languages,
        "sms_segments_total": segments_total,
        "sms_send": {
            "segments_per_second": estimate.segments_per_second,
            "seconds": estimate.seconds,
            "duration": estimate.duration_text,
            "queue_limit_hours": estimate.queue_limit_hours,
            "exceeds_queue_limit": estimate.exceeds_queue_limit,
        },
        "unreachable": [
            {
                "contact": contact.pk,
                "name": contact.name,
                "client": contact.client.name,
                "reason": reason,
                "reason_words": unreachable_reason_words(contact),
            }
            for contact, reason in audience.unreachable
        ],
        "has_texts": bool(preview),
        "language_fallbacks": preview["language_fallbacks"] if preview else [],
    }


def sample_previews(*, update, preview):
    """The rendered preview of each language, filled in for a real contact who reads it (or a
    made-up one when no contact does), as {language: {"contact", "email_subject", ...}}."""
    incident = update.incident
    audience = audience_for(incident=incident)
    readers = {}
    for contact in audience.contacts:
        language = contact.effective_language
        readers.setdefault(language, contact)
    samples = {}
    for language, row in preview["languages"].items():
        contact = readers.get(language)
        if contact is not None:
            values = reader_values(incident=incident, contact=contact)
            reader = f"{contact.name} ({contact.client.name})"
        else:
            values = {
                READER_TOKENS["contact_name"]: "Sam Sample",
                READER_TOKENS["client_name"]: "Sample Client Ltd",
                READER_TOKENS["status_url"]: f"{settings.CANDOR_PUBLIC_URL}/s/(private link)/",
                READER_TOKENS["preferences_url"]: f"{settings.CANDOR_PUBLIC_URL}/p/(private link)/",
            }
            reader = _("a sample reader (no contact reads this language)")  # the console's words, not the client's
        samples[language] = {
            "reader": reader,
            "email_subject": apply_substitutions(row["email_subject"], values),
            "email_body": apply_substitutions(row["email_body"], values),
            "sms_body": apply_substitutions(row["sms_body"], values),
            "sms_segments": row["sms_segments"],
            "sms_encoding": row["sms_encoding"],
            "email_recipients": row["email_recipients"],
            "sms_recipients": row["sms_recipients"],
        }
    return samples
