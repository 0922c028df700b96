"""The internal debrief: pre-filled from the timeline, written by the incident team, read by
everyone in the organisation, and the guard that keeps an incident open until it is complete."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from playbooks.debriefs.services import (
    debrief_action_add,
    debrief_complete,
    debrief_get_or_open,
    debrief_reopen,
    debrief_save,
)
from playbooks.incidents.services import TransitionRefused, incident_create, incident_transition
from playbooks.models import Debrief, TimelineEntry

from .conftest import T0, make_playbook, walk

TO_DEBRIEFING = {
    "outage": ["activate", "identify", ("resolve",), "start_debrief"],
    "recall": ["activate", "announce", "offer_remedy", "start_remedy", ("complete",), "start_debrief"],
    "compliance": ["activate", "notify_clients", "remediate", ("resolve",), "start_debrief"],
}


def in_debriefing(organization, alice, kind):
    with time_machine.travel(T0, tick=False):
        incident = incident_create(playbook=make_playbook(organization, kind), actor=alice, title="Lot 4711")
        for step in TO_DEBRIEFING[kind]:
            if isinstance(step, tuple):
                incident = incident_transition(incident=incident, name=step[0], actor=alice, resolution_summary="Done.")
            else:
                incident = walk(incident, alice, step)
    return incident


def write(debrief, actor):
    return debrief_save(
        debrief=debrief,
        actor=actor,
        what_happened="The API failed.",
        went_well="Fast first notice.",
        went_badly="The second update was late.",
    )


@pytest.mark.parametrize("kind", ["outage", "recall", "compliance"])
def test_an_incident_closes_only_once_its_debrief_is_complete(organization, alice, kind):
    incident = in_debriefing(organization, alice, kind)
    assert "close" not in {t.name for t in incident.transitions_for(alice)}
    with pytest.raises(TransitionRefused) as refused:
        incident_transition(incident=incident, name="close", actor=alice)
    assert refused.value.state == "debriefing"

    debrief = Debrief.objects.get(incident=incident)  # opened on entering debriefing
    with pytest.raises(ValidationError):
        debrief_complete(debrief=debrief, actor=alice)  # nothing written yet about what went well
    write(debrief, alice)
    debrief_complete(debrief=debrief, actor=alice)
    incident.refresh_from_db()
    assert "close" in {t.name for t in incident.transitions_for(alice)}
    assert incident_transition(incident=incident, name="close", actor=alice).state == "closed"


def test_reopening_the_debrief_puts_the_guard_back(organization, alice):
    incident = in_debriefing(organization, alice, "outage")
    debrief = write(Debrief.objects.get(incident=incident), alice)
    debrief_complete(debrief=debrief, actor=alice)
    debrief_reopen(debrief=debrief, actor=alice)
    with pytest.raises(TransitionRefused):
        incident_transition(incident=incident, name="close", actor=alice)
    assert list(
        TimelineEntry.objects.filter(data__event__startswith="debrief_").values_list("data__event", flat=True)
    ) == [
        "debrief_completed",
        "debrief_reopened",
    ]


def test_what_happened_is_prefilled_from_the_timeline(organization, alice):
    incident = in_debriefing(organization, alice, "outage")
    text = Debrief.objects.get(incident=incident).what_happened
    assert text.splitlines()[0].startswith("2026-11-24 10:00 CET  Created from playbook Outage plan v")
    assert "2026-11-24 10:00 CET  investigating -> identified" in text
    assert "2026-11-24 10:00 CET  identified -> resolved: Done." in text


def test_action_items_need_an_owner_of_the_organisation_and_a_due_date(organization, alice, bob, eve):
    incident = in_debriefing(organization, alice, "outage")
    debrief = debrief_get_or_open(incident=incident)
    with pytest.raises(ValidationError) as error:
        debrief_action_add(debrief=debrief, actor=bob, description="Add a status page", owner=eve, due_on=None)
    assert set(error.value.message_dict) == {"owner", "due_on"}
    item = debrief_action_add(
        debrief=debrief, actor=bob, description="Add a status page", owner=alice, due_on=dt.date(2026, 12, 15)
    )
    assert item.owner == alice


def test_leadership_reads_the_debrief_but_cannot_change_it(organization, alice, bob, carol, client):
    incident = in_debriefing(organization, alice, "outage")
    debrief = debrief_get_or_open(incident=incident)
    with pytest.raises(PermissionDenied):
        write(debrief, carol)
    with pytest.raises(PermissionDenied):
        debrief_complete(debrief=debrief, actor=carol)
    write(debrief, bob)  # communicators write it

    client.force_login(carol)
    page = client.get(f"/incidents/{incident.pk}/debrief/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "The second update was late." in body and "<textarea" not in body
    assert "Mark the debrief complete" not in body
    assert client.post(f"/incidents/{incident.pk}/debrief/", {"went_well": "x"}).status_code == 403
    assert client.post(f"/incidents/{incident.pk}/debrief/state/", {"do": "complete"}).status_code == 403
    assert (
        client.post(
            f"/incidents/{incident.pk}/debrief/actions/",
            {"description": "x", "owner": carol.pk, "due_on": "2026-12-01"},
        ).status_code
        == 403
    )
    assert Debrief.objects.get().went_well == "Fast first notice."


def test_the_team_writes_and_completes_the_debrief_on_its_page(organization, alice, frank, client):
    incident = in_debriefing(organization, alice, "outage")
    client.force_login(alice)
    page = client.get(f"/incidents/{incident.pk}/debrief/").content.decode()
    assert "Created from playbook Outage plan" in page and "Mark the debrief complete" in page
    refused = client.post(f"/incidents/{incident.pk}/debrief/state/", {"do": "complete"})
    assert refused.status_code == 400 and "Write what went well, what did not go well" in refused.content.decode()
    saved = client.post(
        f"/incidents/{incident.pk}/debrief/",
        {
            "what_happened": "The API failed for 2 hours.",
            "went_well": "First notice in 30 minutes.",
            "went_badly": "One update was 10 minutes late.",
        },
    )
    assert saved.status_code == 302
    added = client.post(
        f"/incidents/{incident.pk}/debrief/actions/",
        {"description": "Alert on error rate", "owner": frank.pk, "due_on": "2026-12-15"},
    )
    assert added.status_code == 302
    assert client.post(f"/incidents/{incident.pk}/debrief/state/", {"do": "complete"}).status_code == 302
    debrief = Debrief.objects.get()
    assert debrief.is_complete and debrief.completed_by == alice
    assert [(item.description, item.owner, item.due_on) for item in debrief.action_items.all()] == [
        ("Alert on error rate", frank, dt.date(2026, 12, 15)),
    ]


def test_another_organisations_debrief_is_not_found(organization, alice, eve, client):
    incident = in_debriefing(organization, alice, "outage")
    client.force_login(eve)
    for path in ("debrief/", "review/", "proof/", "proof.csv"):
        assert client.get(f"/incidents/{incident.pk}/{path}").status_code == 404
    assert client.post(f"/incidents/{incident.pk}/debrief/", {"went_well": "x"}).status_code == 404


def test_the_console_panel_tells_the_commander_what_closing_needs(reviewed_incident):
    from django.template.loader import render_to_string

    html = render_to_string("playbooks/debrief/_incident_panel.html", {"incident": reviewed_incident.incident})
    assert "Debrief not complete:" in html and "the incident can be closed only once it is" in html
    assert "Client survey sent" in html and "Tokyo Trading: Kenji Sato gave satisfaction 2/5" in html
