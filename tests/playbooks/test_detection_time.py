"""Detection time: given on the incident form and in the API (default now, never in the future,
never before the organisation existed); regulatory clocks count from it, US rules in US federal
business days, the others in the organisation's country (Northwind: Germany)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from playbooks.incidents.services import incident_create
from playbooks.models import ChecklistItem
from playbooks.starter import starter_playbooks_load
from tests.playbooks.conftest import make_playbook

# Monday before US Thanksgiving (Thursday 26 November 2026), not a German holiday.
MONDAY_BEFORE_THANKSGIVING = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
# Tuesday before Ascension Day (Thursday 14 May 2026), a German holiday and not a US one.
TUESDAY_BEFORE_ASCENSION = dt.datetime(2026, 5, 12, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def playbook(organization):
    playbook = make_playbook(organization, "compliance")
    ChecklistItem.objects.create(playbook=playbook, title="SEC 8-K", due_after_business_days=4, business_calendar="US")
    ChecklistItem.objects.create(playbook=playbook, title="EU report", due_after_business_days=4)
    playbook.refresh_from_db()
    return playbook


def due(incident, title):
    return incident.checklist.get(title=title).due_at


@time_machine.travel(MONDAY_BEFORE_THANKSGIVING + dt.timedelta(days=30), tick=False)
def test_us_deadlines_skip_us_federal_holidays_and_the_others_the_organisations(playbook, alice):
    incident = incident_create(playbook=playbook, actor=alice, title="Breach", detected_at=MONDAY_BEFORE_THANKSGIVING)

    # Tue, Wed, (Thanksgiving), Fri, Mon.
    assert due(incident, "SEC 8-K") == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    # Germany works on Thanksgiving: Tue, Wed, Thu, Fri.
    assert due(incident, "EU report") == dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    # Hour deadlines count from detection, not from when the incident was opened.
    assert due(incident, "Notify the authority") == MONDAY_BEFORE_THANKSGIVING + dt.timedelta(hours=72)


@time_machine.travel(TUESDAY_BEFORE_ASCENSION + dt.timedelta(days=30), tick=False)
def test_a_german_holiday_delays_only_the_eu_deadline(playbook, alice):
    incident = incident_create(playbook=playbook, actor=alice, title="Breach", detected_at=TUESDAY_BEFORE_ASCENSION)

    assert due(incident, "SEC 8-K") == dt.datetime(2026, 5, 18, 9, 0, tzinfo=dt.UTC)
    assert due(incident, "EU report") == dt.datetime(2026, 5, 19, 9, 0, tzinfo=dt.UTC)


def test_the_starter_us_rules_use_the_us_calendar(organization):
    starter_playbooks_load(organization=organization)

    us = set(ChecklistItem.objects.filter(business_calendar="US").values_list("title", flat=True))

    assert us == {
        "SEC Form 8-K Item 1.05 (if material, US-listed)",
        "US market: file a CPSC Section 15(b) report",
        "US vehicles and equipment: file the NHTSA Part 573 defect report",
    }


def test_detection_cannot_be_in_the_future_or_before_the_organisation_existed(playbook, alice, organization):
    with pytest.raises(ValidationError) as future:
        incident_create(
            playbook=playbook, actor=alice, title="x", detected_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        )
    assert "future" in future.value.message_dict["detected_at"][0]

    with pytest.raises(ValidationError) as ancient:
        incident_create(
            playbook=playbook, actor=alice, title="x", detected_at=organization.created_at - dt.timedelta(days=30)
        )
    assert "before the organisation existed" in ancient.value.message_dict["detected_at"][0]


def test_detection_time_through_the_api(playbook, alice):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    detected = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)

    created = api.post(
        "/api/incidents/",
        {"playbook": playbook.pk, "title": "Breach", "detected_at": detected.isoformat()},
        format="json",
    )
    refused = api.post(
        "/api/incidents/",
        {"playbook": playbook.pk, "title": "Breach", "detected_at": "2031-01-01T00:00:00Z"},
        format="json",
    )

    assert created.status_code == 201
    assert dt.datetime.fromisoformat(created.json()["detected_at"]) == detected
    assert refused.status_code == 400
    assert "detected_at" in refused.json()


def test_detection_time_on_the_console_form_is_the_organisations_local_time(client, playbook, alice):
    client.force_login(alice)

    response = client.post(
        "/incidents/new/", {"playbook": playbook.pk, "title": "Breach", "detected_at": "2026-11-23T10:00"}
    )

    assert response.status_code == 302
    incident = playbook.incidents.get()
    assert incident.detected_at == dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
