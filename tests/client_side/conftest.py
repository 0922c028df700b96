"""Fixtures for the client side: a recall whose "announced" stage asks clients to confirm they
quarantined the lot, and the people who read about it.

Clients of Northwind: Berliner Bank (German, Berlin; contact Anna, email and SMS), Tokyo Trading
(Japanese, Tokyo; contact Kenji, email and SMS), both using lot 4711 (tag "lot-4711"); Lisboa Lda
(English, Lisbon; not affected). Frank (a commander) is the account owner of both affected clients.
"""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from playbooks.incidents.links import status_token
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Playbook, PlaybookStage, StageAcknowledgement, StageMessage
from playbooks.updates.services import update_draft, update_publish
from tests.conftest import make_client, make_contact, words_for_stage

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

WORDS = {
    "en": {
        "subject": "{{ incident_title }}: {{ stage }}",
        "body": "Dear {{ contact_name }} at {{ client_name }}, {{ stage }}. Please quarantine lot 4711.\n"
        "Next update by {{ next_update_at }}. Status: {{ status_url }}",
        "sms": "{{ organization_name }}: {{ stage }}. Quarantine lot 4711, reply CONFIRMED. {{ status_url }}",
    },
    "de": {
        "subject": "{{ incident_title }}: {{ stage }}",
        "body": "Guten Tag {{ contact_name }}, {{ stage }}. Bitte sperren Sie Charge 4711.\n"
        "Nächste Meldung: {{ next_update_at }}. Status: {{ status_url }}",
        "sms": "{{ organization_name }}: {{ stage }}. Charge 4711 sperren, Antwort BESTAETIGT. {{ status_url }}",
    },
    "ja": {
        "subject": "{{ incident_title }}：{{ stage }}",
        "body": "{{ contact_name }}様、{{ stage }}。ロット4711を隔離してください。次回 {{ next_update_at }}。{{ status_url }}",
        "sms": "{{ organization_name }}：{{ stage }}。ロット4711を隔離し、CONFIRMEDと返信してください。{{ status_url }}",
    },
}
ACKNOWLEDGEMENT = {
    "en": {"request": "Confirm that you have quarantined lot 4711.", "keyword": "CONFIRMED"},
    "de": {"request": "Bestätigen Sie, dass Sie Charge 4711 gesperrt haben.", "keyword": "BESTAETIGT"},
    "ja": {"request": "ロット4711を隔離したことをご確認ください。", "keyword": "CONFIRMED"},
}


def make_recall_playbook(organization, *, chase_after_minutes=120):
    playbook = Playbook.objects.create(organization=organization, kind="recall", name="Recall", slug="recall")
    for stage_name in ["assessing", "announced", "remedy_available", "remedy_in_progress", "completed"]:
        stage = PlaybookStage.objects.create(playbook=playbook, stage=stage_name, cadence_minutes=60)
        for language, words in WORDS.items():
            StageMessage.objects.create(
                stage=stage,
                language=language,
                channel="email",
                subject=words["subject"],
                body=words_for_stage(stage_name, words["body"]),
            )
            StageMessage.objects.create(
                stage=stage, language=language, channel="sms", body=words_for_stage(stage_name, words["sms"])
            )
        if stage_name == "announced":
            acknowledgement = StageAcknowledgement(
                stage=stage, texts=ACKNOWLEDGEMENT, chase_after_minutes=chase_after_minutes
            )
            acknowledgement.full_clean()
            acknowledgement.save()
    return playbook


def status_path(incident, contact):
    return f"/s/{status_token(incident.pk, contact.pk)}/"


def publish(incident, actor, **extra):
    return update_publish(update=update_draft(incident=incident, author=actor, **extra), actor=actor)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty page cache (keys are versioned, but ids repeat across tests)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clients(organization, frank):
    return {
        "berlin": make_client(organization, name="Berliner Bank", tags=["lot-4711"], account_owner=frank),
        "tokyo": make_client(
            organization,
            name="Tokyo Trading",
            country="JP",
            default_language="ja",
            timezone="Asia/Tokyo",
            tags=["lot-4711"],
            account_owner=frank,
        ),
        "lisbon": make_client(
            organization,
            name="Lisboa Lda",
            country="PT",
            default_language="en",
            timezone="Europe/Lisbon",
            tags=["lot-9999"],
        ),
    }


@pytest.fixture
def anna(clients):
    return make_contact(clients["berlin"], "Anna Schmidt", phone="+4915112345678")


@pytest.fixture
def kenji(clients):
    return make_contact(clients["tokyo"], "Kenji Sato", email="kenji@example.jp", phone="+819012345678")


@pytest.fixture
def luis(clients):
    return make_contact(clients["lisbon"], "Luis Costa")


@pytest.fixture
def recall(organization, alice, anna, kenji, luis):
    """A recall announced at T0 (the stage asking for confirmation), with its first update out."""
    with time_machine.travel(T0, tick=False):
        playbook = make_recall_playbook(organization)
        incident = incident_create(
            playbook=playbook, actor=alice, title="Recall of lot 4711", affected_tags=["lot-4711"]
        )
        incident = incident_transition(incident=incident, name="activate", actor=alice)
        incident = incident_transition(incident=incident, name="announce", actor=alice)
        publish(incident, alice)
    incident.refresh_from_db()
    return incident
