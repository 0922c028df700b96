"""Fixtures for the debrief tests: an outage told to three clients, the fake providers, and the
one incident whose figures were worked out by hand (see `reviewed_incident`).

Clients of Northwind: Berliner Bank (German; contacts Anna, email and SMS, and Olaf, who opted
out of SMS and has no email; account owner frank), Tokyo Trading (Japanese; Kenji, SMS only; no
account owner), Boston Retail (English; John, email only; account owner carol, in leadership).
"""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine

from accounts.models import SmsConsent
from comms.models import Message
from comms.services import message_record_event
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Playbook, PlaybookStage, StageMessage
from playbooks.updates.services import update_draft, update_publish
from tests.comms.conftest import (  # noqa: F401
    fake_providers,
    fake_providers_server,
    provider_settings,
)
from tests.conftest import make_client, make_contact, words_for_stage

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)

WORDS = {
    "en": (
        "{{ incident_title }}: {{ stage }}",
        "{{ stage }}. Next update by {{ next_update_at }}. {{ status_url }}",
        "{{ organization_name }}: {{ stage }}. Next {{ next_update_at }}. {{ status_url }}",
    ),
    "de": (
        "{{ incident_title }}: {{ stage }}",
        "{{ stage }}. Nächste Meldung: {{ next_update_at }}. {{ status_url }}",
        "{{ organization_name }}: {{ stage }}. Nächste Meldung {{ next_update_at }}. {{ status_url }}",
    ),
    "ja": (
        "{{ incident_title }}：{{ stage }}",
        "{{ stage }}。次回 {{ next_update_at }}。{{ status_url }}",
        "{{ organization_name }}：{{ stage }}。次回 {{ next_update_at }}。{{ status_url }}",
    ),
}
STAGES = {
    "outage": ["investigating", "identified", "monitoring", "resolved"],
    "recall": ["assessing", "announced", "remedy_available", "remedy_in_progress", "completed"],
    "compliance": ["assessing", "authority_notified", "clients_notified", "remediating", "resolved"],
}


def make_playbook(organization, kind="outage", cadence=30):
    playbook = Playbook.objects.create(
        organization=organization,
        kind=kind,
        name=f"{kind.title()} plan",
        slug=f"{kind}-plan",
        requires_authority_notification=False,
    )
    for name in STAGES[kind]:
        stage = PlaybookStage.objects.create(playbook=playbook, stage=name, cadence_minutes=cadence)
        for language, (subject, body, sms) in WORDS.items():
            StageMessage.objects.create(
                stage=stage, language=language, channel="email", subject=subject, body=words_for_stage(name, body)
            )
            StageMessage.objects.create(stage=stage, language=language, channel="sms", body=words_for_stage(name, sms))
    playbook.refresh_from_db()
    return playbook


def publish(incident, actor):
    return update_publish(update=update_draft(incident=incident, author=actor), actor=actor)


def walk(incident, actor, *steps, **kwargs):
    for step in steps:
        incident = incident_transition(incident=incident, name=step, actor=actor, **kwargs)
    return incident


def complete_debrief(incident, actor):
    """Write and complete an incident's debrief, so that it may close (for tests about closing)."""
    from playbooks.debriefs.services import debrief_complete, debrief_get_or_open, debrief_save

    debrief = debrief_save(
        debrief=debrief_get_or_open(incident=incident),
        actor=actor,
        what_happened="It broke.",
        went_well="We told clients fast.",
        went_badly="One update was late.",
    )
    return debrief_complete(debrief=debrief, actor=actor)


def record(message, status, at):
    """A provider's report, through the service the webhooks call."""
    return message_record_event(
        message=message,
        status=status,
        at=at,
        provider=message.provider or "fake",
        event=status,
        dedup_key=f"test:{message.pk}:{status}",
    )


def message_to(contact, channel, source):
    return Message.objects.get(contact=contact, channel=channel, source=source)


@pytest.fixture
def playbook(organization):
    return make_playbook(organization)


@pytest.fixture
def clients(organization, frank, carol):
    return {
        "berlin": make_client(organization, name="Berliner Bank", tags=["payments"], account_owner=frank),
        "tokyo": make_client(
            organization,
            name="Tokyo Trading",
            country="JP",
            default_language="ja",
            timezone="Asia/Tokyo",
            tags=["payments"],
        ),
        "boston": make_client(
            organization,
            name="Boston Retail",
            country="US",
            default_language="en",
            timezone="America/New_York",
            tags=["payments"],
            account_owner=carol,
        ),
    }


@pytest.fixture
def contacts(clients):
    return {
        "anna": make_contact(clients["berlin"], "Anna Schmidt", phone="+4915112345678"),
        "olaf": make_contact(
            clients["berlin"],
            "Olaf Opted",
            email="",
            phone="+4915198765432",
            sms_consent=SmsConsent.OPTED_OUT,
            accepts_email=False,
        ),
        "kenji": make_contact(clients["tokyo"], "Kenji Sato", email="", phone="+819012345678", accepts_email=False),
        "john": make_contact(clients["boston"], "John Miller"),
    }


@pytest.fixture
def resolved_incident(organization, alice, playbook, contacts, provider_settings, run_worker):
    """An outage told once to everyone, delivered, then resolved: ready to enter debriefing at T0 + 1 h."""
    with time_machine.travel(T0, tick=False):
        incident = incident_create(
            playbook=playbook, actor=alice, title="Payments API errors", affected_tags=["payments"]
        )
        incident = walk(incident, alice, "activate")
        publish(incident, alice)
        run_worker()
    with time_machine.travel(T0 + 30 * MINUTE, tick=False):
        incident = walk(incident, alice, "identify")
        incident = incident_transition(
            incident=incident, name="resolve", actor=alice, resolution_summary="Rolled back."
        )
        publish(incident, alice)  # the final notice
        run_worker()
    return incident


@pytest.fixture
def surveyed_incident(resolved_incident, alice, run_worker):
    """The outage in debriefing at T0 + 1 h, its survey sent by the timer."""
    with time_machine.travel(T0 + 60 * MINUTE, tick=False):
        incident = walk(resolved_incident, alice, "start_debrief")
        run_worker()
    return incident


@pytest.fixture
def reviewed_incident(organization, alice, playbook, contacts, provider_settings, run_worker):
    """The incident whose figures were worked out by hand.

    08:40 detected. 09:00 created and activated. Cadence 30 min.
    09:10 update 1 (promises 09:40); sent 09:12 to Anna (email, SMS), Kenji (SMS), John (email);
          Olaf unreachable. 09:13 Anna's email delivered, Kenji's SMS delivered; 09:14 John's email
          bounced.
    09:35 update 2 (kept; promises 10:05), sent 09:36 to the same four addresses.
    10:15 update 3 (10 min late; promises 10:45), sent 10:16. 10:40 resolved, and the final notice
          (update 4, promising nothing) published, keeping update 3's promise. 10:50 debriefing: the
          final notice is sent to the same four addresses, the survey to Anna, Kenji and John.
    10:55 Anna answers on the page: satisfaction 4, kept informed 5, clarity 4, recommend 9,
          "Clear and on time." 11:00 Kenji replies "2" by SMS. John does not answer.
    """
    from comms.services import inbound_sms_receive
    from playbooks.incidents.links import survey_token
    from playbooks.surveys.services import survey_answer, survey_link_open

    detected = T0 - 20 * MINUTE
    with time_machine.travel(T0, tick=False):
        incident = incident_create(
            playbook=playbook,
            actor=alice,
            title="Payments API errors",
            affected_tags=["payments"],
            detected_at=detected,
        )
        incident = walk(incident, alice, "activate")
    with time_machine.travel(T0 + 10 * MINUTE, tick=False):
        first = publish(incident, alice)
    with time_machine.travel(T0 + 12 * MINUTE, tick=False):
        run_worker()
    source = f"update:{first.pk}"
    record(message_to(contacts["anna"], "email", source), "delivered", T0 + 13 * MINUTE)
    record(message_to(contacts["kenji"], "sms", source), "delivered", T0 + 13 * MINUTE)
    with time_machine.travel(T0 + 14 * MINUTE, tick=False):
        record(message_to(contacts["john"], "email", source), "bounced", T0 + 14 * MINUTE)
    with time_machine.travel(T0 + 35 * MINUTE, tick=False):
        publish(incident, alice)
    with time_machine.travel(T0 + 36 * MINUTE, tick=False):
        run_worker()
    with time_machine.travel(T0 + 75 * MINUTE, tick=False):
        publish(incident, alice)
    with time_machine.travel(T0 + 76 * MINUTE, tick=False):
        run_worker()
    with time_machine.travel(T0 + 100 * MINUTE, tick=False):
        incident = walk(incident, alice, "identify")
        incident = incident_transition(
            incident=incident, name="resolve", actor=alice, resolution_summary="Rolled back."
        )
        publish(incident, alice)  # the final notice
    with time_machine.travel(T0 + 110 * MINUTE, tick=False):
        incident = walk(incident, alice, "start_debrief")
        run_worker()
    with time_machine.travel(T0 + 115 * MINUTE, tick=False):
        link = survey_link_open(token=survey_token(incident.pk, contacts["anna"].pk))
        survey_answer(
            invitation=link.invitation,
            answers={
                "csat": 4,
                "kept_informed": 5,
                "clarity": 4,
                "nps": 9,
                "comment": "Clear and on time.",
            },
        )
    with time_machine.travel(T0 + 120 * MINUTE, tick=False):
        inbound_sms_receive(
            provider_message_id="SMkenji2", from_number=contacts["kenji"].phone, to_number="+15005550006", body="2"
        )
    incident.refresh_from_db()
    return SimpleNamespace(incident=incident, detected=detected, **contacts)
