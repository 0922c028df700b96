"""Each crisis kind's state machine: allowed and forbidden steps, guards and permissions."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from playbooks.incidents.services import TransitionRefused, incident_transition
from playbooks.models import PUBLISHABLE_STATES, ComplianceIncident, OutageIncident, RecallIncident, TimelineEntry
from tests.debriefs.conftest import complete_debrief


def walk(incident, actor, *steps, **kwargs):
    for step in steps:
        if step == "close":
            complete_debrief(incident, actor)  # closing is guarded by a complete internal debrief
        incident = incident_transition(incident=incident, name=step, actor=actor, **kwargs)
    return incident


def test_outage_walks_its_whole_lifecycle(outage_playbook, make_incident, alice):
    incident = make_incident(outage_playbook)
    assert isinstance(incident, OutageIncident) and incident.state == "draft"
    incident = walk(incident, alice, "activate", "identify", "monitor")
    incident = incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="Rolled back.")
    incident = walk(incident, alice, "start_debrief", "close")
    assert incident.state == "closed"
    assert incident.activated_at and incident.resolved_at and incident.closed_at
    states = list(incident.timeline.filter(kind="transition").values_list("from_state", "to_state"))
    assert states == [
        ("draft", "investigating"),
        ("investigating", "identified"),
        ("identified", "monitoring"),
        ("monitoring", "resolved"),
        ("resolved", "debriefing"),
        ("debriefing", "closed"),
    ]


def test_outage_goes_back_to_investigating_when_the_problem_returns(outage_playbook, make_incident, alice):
    incident = walk(make_incident(outage_playbook), alice, "activate", "identify", "monitor", "reopen")
    assert incident.state == "investigating"


def test_outage_draft_can_be_cancelled_but_not_identified(outage_playbook, make_incident, alice):
    incident = make_incident(outage_playbook)
    with pytest.raises(TransitionRefused) as refused:
        incident_transition(incident=incident, name="identify", actor=alice)
    assert refused.value.state == "draft"
    assert "Draft (not announced)" in str(refused.value)  # the stage by its name; its code is `state`
    assert walk(incident, alice, "cancel").state == "cancelled"


@pytest.mark.parametrize("final_steps", [["cancel"], ["activate", "identify", "monitor"]])
def test_cancelled_and_closed_incidents_accept_nothing_more(outage_playbook, make_incident, alice, final_steps):
    incident = walk(make_incident(outage_playbook), alice, *final_steps)
    if incident.state != "cancelled":
        incident = incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="Fixed.")
        incident = walk(incident, alice, "start_debrief", "close")
    assert incident.transitions_for(alice) == []
    for name in ["activate", "identify", "monitor", "reopen", "resolve", "start_debrief", "close", "cancel"]:
        with pytest.raises((TransitionRefused, ValidationError)):
            incident_transition(incident=incident, name=name, actor=alice, resolution_summary="again")


def test_resolving_needs_a_resolution_summary(outage_playbook, make_incident, alice):
    incident = walk(make_incident(outage_playbook), alice, "activate", "identify")
    with pytest.raises(ValidationError) as error:
        incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="   ")
    assert "resolution_summary" in error.value.message_dict
    incident.refresh_from_db()
    assert incident.state == "identified"
    incident = incident_transition(
        incident=incident, name="resolve", actor=alice, resolution_summary="Patched the DNS."
    )
    assert incident.state == "resolved"
    assert incident.timeline.last().note == "Patched the DNS."


def test_recall_walks_its_lifecycle_and_cancels_only_before_announcing(recall_playbook, make_incident, alice):
    incident = walk(make_incident(recall_playbook), alice, "activate")
    assert isinstance(incident, RecallIncident) and incident.state == "assessing"
    assert {t.name for t in incident.transitions_for(alice)} == {"announce", "cancel"}
    incident = walk(incident, alice, "announce", "offer_remedy", "start_remedy")
    with pytest.raises(TransitionRefused):
        incident_transition(incident=incident, name="cancel", actor=alice)
    incident = incident_transition(incident=incident, name="complete", actor=alice, resolution_summary="98% returned.")
    assert walk(incident, alice, "start_debrief", "close").state == "closed"
    assert walk(make_incident(recall_playbook), alice, "activate", "cancel").state == "cancelled"


def test_compliance_must_notify_the_authority_first_when_the_playbook_says_so(
    compliance_playbook, make_incident, alice
):
    incident = walk(make_incident(compliance_playbook), alice, "activate")
    assert isinstance(incident, ComplianceIncident)
    assert {t.name for t in incident.transitions_for(alice)} == {"notify_authority", "cancel"}
    with pytest.raises(TransitionRefused):
        incident_transition(incident=incident, name="notify_clients", actor=alice)
    incident = walk(incident, alice, "notify_authority", "notify_clients", "remediate")
    incident = incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="Keys rotated.")
    assert walk(incident, alice, "start_debrief", "close").state == "closed"


def test_compliance_may_go_straight_to_clients_when_no_authority_is_needed(organization, make_incident, alice):
    from tests.playbooks.conftest import make_playbook

    playbook = make_playbook(organization, "compliance", requires_authority_notification=False)
    incident = walk(make_incident(playbook), alice, "activate", "notify_clients")
    assert incident.state == "clients_notified"


@pytest.mark.parametrize("who", ["bob", "carol", "eve"])
def test_only_commanders_and_admins_of_the_organisation_may_transition(outage_playbook, make_incident, who, request):
    user = request.getfixturevalue(who)
    incident = make_incident(outage_playbook)
    assert incident.transitions_for(user) == []
    with pytest.raises(PermissionDenied):
        incident_transition(incident=incident, name="activate", actor=user)
    incident.refresh_from_db()
    assert incident.state == "draft"
    assert not incident.timeline.filter(kind="transition").exists()


def test_admins_and_other_commanders_of_the_organisation_may_transition(outage_playbook, make_incident, dave, frank):
    incident = walk(make_incident(outage_playbook), dave, "activate")
    assert walk(incident, frank, "identify").state == "identified"


def test_available_transitions_list_what_this_user_may_do_now(outage_playbook, make_incident, alice, bob):
    incident = make_incident(outage_playbook)
    assert {t.name for t in incident.transitions_for(alice)} == {"activate", "cancel"}
    assert incident.transitions_for(bob) == []


def test_state_cannot_be_assigned_directly(outage_playbook, make_incident):
    incident = make_incident(outage_playbook)
    with pytest.raises(AttributeError):
        incident.state = "closed"


def test_a_stale_copy_loses_the_race_with_a_clear_state(outage_playbook, make_incident, alice, frank):
    incident = walk(make_incident(outage_playbook), alice, "activate")
    stale = OutageIncident.objects.get(pk=incident.pk)
    walk(incident, frank, "identify")
    with pytest.raises(TransitionRefused) as refused:
        incident_transition(incident=stale, name="identify", actor=alice)
    assert refused.value.state == "identified"
    assert TimelineEntry.objects.filter(incident=incident, kind="transition").count() == 2


def test_publishable_states_are_the_live_states_and_each_kinds_resolution_notice():
    assert {
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "assessing",
        "announced",
        "remedy_available",
        "remedy_in_progress",
        "completed",
        "authority_notified",
        "clients_notified",
        "remediating",
    } == PUBLISHABLE_STATES
