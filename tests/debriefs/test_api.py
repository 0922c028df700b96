"""The after-the-crisis resources through the REST API: survey answers per incident, follow-ups
(list, hand over, close with a note), with the console's rules: who may do what, and another
organisation's rows are a 404."""

import pytest

from playbooks.models import FollowUp, TimelineEntry
from tests.api.conftest import api  # noqa: F401

from .test_follow_ups import answer


@pytest.fixture
def low_score(surveyed_incident, contacts):
    answer(surveyed_incident, contacts["anna"], csat=2, nps=3, comment="Too slow.")
    return FollowUp.objects.get()


def test_survey_answers_are_read_per_incident(api, surveyed_incident, contacts, carol, eve):
    answer(surveyed_incident, contacts["anna"], csat=4, nps=9, comment="Clear updates.")
    response = api(carol).get(f"/api/incidents/{surveyed_incident.pk}/survey-responses/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["contact_name"], row["client_name"], row["csat"], row["nps"], row["comment"]) == (
        "Anna Schmidt",
        "Berliner Bank",
        4,
        9,
        "Clear updates.",
    )
    assert api(eve).get(f"/api/incidents/{surveyed_incident.pk}/survey-responses/").status_code == 404


def test_follow_ups_are_listed_handed_over_and_closed_with_a_note(api, low_score, alice, frank, carol, bob, eve):
    listed = api(carol).get("/api/follow-ups/?is_open=true").json()["results"]
    assert [row["id"] for row in listed] == [low_score.pk]
    assert listed[0]["owner"] == frank.pk and listed[0]["is_open"] is True
    assert api(carol).get("/api/follow-ups/?mine=true").json()["results"] == []

    assert api(bob).post(f"/api/follow-ups/{low_score.pk}/assign/", {"owner": carol.pk}).status_code == 403
    assert api(eve).post(f"/api/follow-ups/{low_score.pk}/assign/", {"owner": carol.pk}).status_code == 404
    handed = api(alice).post(f"/api/follow-ups/{low_score.pk}/assign/", {"owner": carol.pk}, format="json")
    assert handed.status_code == 200 and handed.json()["owner"] == carol.pk
    assert TimelineEntry.objects.filter(data__event="follow_up_assigned").exists()

    assert api(bob).post(f"/api/follow-ups/{low_score.pk}/close/", {"note": "Called."}).status_code == 403
    empty = api(carol).post(f"/api/follow-ups/{low_score.pk}/close/", {"note": ""}, format="json")
    assert empty.status_code == 400 and "note" in empty.json()
    closed = api(carol).post(f"/api/follow-ups/{low_score.pk}/close/", {"note": "Called Anna."}, format="json")
    assert closed.status_code == 200
    assert closed.json()["is_open"] is False and closed.json()["close_note"] == "Called Anna."
    again = api(alice).post(f"/api/follow-ups/{low_score.pk}/close/", {"note": "Again."}, format="json")
    assert again.status_code == 400


def test_another_organisations_debrief_checklist_and_proof_are_404(api, resolved_incident, eve):
    incident = resolved_incident
    item = incident.checklist.first()
    client = api(eve)
    assert client.get(f"/api/incidents/{incident.pk}/debrief/").status_code == 404
    assert client.patch(f"/api/incidents/{incident.pk}/debrief/", {"went_well": "x"}).status_code == 404
    assert client.get(f"/api/incidents/{incident.pk}/proof/").status_code == 404
    assert client.get(f"/api/incidents/{incident.pk}/proof/csv/").status_code == 404
    assert client.patch(f"/api/incidents/{incident.pk}/", {"title": "x"}, format="json").status_code == 404
    if item is not None:
        assert client.post(f"/api/incidents/{incident.pk}/checklist/{item.pk}/complete/").status_code == 404


def test_leadership_reads_the_debrief_but_does_not_write_it(api, resolved_incident, carol):
    client = api(carol)
    assert client.get(f"/api/incidents/{resolved_incident.pk}/debrief/").status_code == 200
    assert client.patch(f"/api/incidents/{resolved_incident.pk}/debrief/", {"went_well": "x"}).status_code == 403
    assert client.post(f"/api/incidents/{resolved_incident.pk}/debrief/complete/").status_code == 403
