"""Playbooks as versioned data; incidents keep the version they started with; checklist deadlines."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from playbooks.incidents.deadlines import add_business_days
from playbooks.incidents.services import incident_create
from playbooks.models import PlaybookStage, StageMessage


def test_editing_a_playbook_bumps_its_version_and_leaves_running_incidents_alone(outage_playbook, make_incident):
    incident = make_incident(outage_playbook)
    version = outage_playbook.version
    stage = outage_playbook.stages.get(stage="investigating")
    stage.cadence_minutes = 240
    stage.save()
    message = StageMessage.objects.get(stage=stage)
    message.body = "New words."
    message.save()
    outage_playbook.refresh_from_db()
    assert outage_playbook.version > version
    incident.refresh_from_db()
    assert incident.playbook_version == version
    assert incident.stage_plan("investigating")["cadence_minutes"] == 30
    assert incident.stage_plan("investigating")["messages"]["update"]["en"]["email"]["body"].startswith("{{ stage }}")
    newer = make_incident(outage_playbook)
    assert newer.stage_plan("investigating")["cadence_minutes"] == 240


def test_a_stage_must_belong_to_the_playbooks_kind(outage_playbook):
    with pytest.raises(ValidationError, match=r"not a stage"):
        PlaybookStage(playbook=outage_playbook, stage="announced").full_clean()


def test_checklist_deadlines_count_from_detection(outage_playbook, make_incident):
    detected = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    incident = make_incident(outage_playbook, detected_at=detected)
    item = incident.checklist.get()
    assert item.due_at == detected + dt.timedelta(hours=72)


def test_business_days_skip_weekends_and_public_holidays_in_the_organisations_country():
    # Wednesday 23 Dec 2026, 15:00 in Berlin: 25 and 26 Dec are holidays, 27 a Sunday.
    start = dt.datetime(2026, 12, 23, 14, 0, tzinfo=dt.UTC)
    due = add_business_days(start=start, business_days=4, country="DE", timezone_name="Europe/Berlin")
    # Thu 24, Mon 28, Tue 29, Wed 30 -> Wednesday 30 Dec at 15:00 Berlin time.
    assert due == dt.datetime(2026, 12, 30, 14, 0, tzinfo=dt.UTC)
    # Friday 6 Mar 2026, 11:00 in New York; clocks go forward on Sunday 8 Mar: still 11:00 local.
    friday = dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC)
    assert add_business_days(start=friday, business_days=1, country="US", timezone_name="America/New_York") == (
        dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC)
    )


def test_incident_creation_checks_people_and_scope(outage_playbook, alice, bob, eve, other_organization):
    from tests.conftest import make_client

    foreign_client = make_client(other_organization, name="Globex client")
    with pytest.raises(ValidationError) as error:
        incident_create(
            playbook=outage_playbook,
            actor=alice,
            title=" ",
            commander=bob,
            backup_commander=eve,
            affected_clients=[foreign_client],
        )
    assert set(error.value.message_dict) == {"title", "commander", "backup_commander", "affected_clients"}


def test_only_the_organisations_commanders_open_incidents(outage_playbook, bob, eve):
    from django.core.exceptions import PermissionDenied

    for user in (bob, eve):
        with pytest.raises(PermissionDenied):
            incident_create(playbook=outage_playbook, actor=user, title="Down")
