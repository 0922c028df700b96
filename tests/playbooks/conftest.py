"""Playbook and incident factories for the playbooks tests."""

import pytest

from playbooks.incidents.services import incident_create
from playbooks.models import ChecklistItem, Playbook, PlaybookStage, StageMessage
from tests.conftest import words_for_stage

STAGES = {
    "outage": ["investigating", "identified", "monitoring", "resolved"],
    "recall": ["assessing", "announced", "remedy_available", "remedy_in_progress", "completed"],
    "compliance": ["assessing", "authority_notified", "clients_notified", "remediating", "resolved"],
}


def make_playbook(organization, kind="outage", **extra):
    playbook = Playbook.objects.create(
        organization=organization, kind=kind, name=f"{kind.title()} plan", slug=f"{kind}-plan", **extra
    )
    for stage_name in STAGES[kind]:
        stage = PlaybookStage.objects.create(playbook=playbook, stage=stage_name, cadence_minutes=30)
        StageMessage.objects.create(
            stage=stage,
            language="en",
            channel="email",
            subject="{{ incident_title }}",
            body=words_for_stage(stage_name, "{{ stage }}. Next update by {{ next_update_at }}. {{ status_url }}"),
        )
    ChecklistItem.objects.create(playbook=playbook, title="Notify the authority", due_after_hours=72)
    playbook.refresh_from_db()
    return playbook


@pytest.fixture
def outage_playbook(organization):
    return make_playbook(organization, "outage")


@pytest.fixture
def recall_playbook(organization):
    return make_playbook(organization, "recall")


@pytest.fixture
def compliance_playbook(organization):
    return make_playbook(organization, "compliance")


@pytest.fixture
def make_incident(alice):
    def make(playbook, **extra):
        extra.setdefault("title", "Payments API errors")
        extra.setdefault("actor", alice)
        return incident_create(playbook=playbook, **extra)

    return make
