"""Low scores open follow-ups for the client's account owner; closing one needs a note; who may
close which."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from comms.models import Message
from playbooks.debriefs.services import follow_up_close
from playbooks.incidents.links import survey_token
from playbooks.models import FollowUp, TimelineEntry
from playbooks.surveys.services import survey_answer, survey_link_open

from .conftest import DAY, T0


def answer(incident, contact, at=T0 + DAY, **answers):
    with time_machine.travel(at, tick=False):
        link = survey_link_open(token=survey_token(incident.pk, contact.pk))
        return survey_answer(invitation=link.invitation, answers=answers)


@pytest.mark.parametrize(
    ("answers", "opens"),
    [
        ({"csat": 2}, True),
        ({"csat": 3}, False),
        ({"nps": 6}, True),
        ({"nps": 7}, False),
        ({"csat": 5, "nps": 0}, True),
    ],
)
def test_a_low_score_opens_a_follow_up_and_a_fair_one_does_not(surveyed_incident, contacts, answers, opens):
    answer(surveyed_incident, contacts["anna"], **answers)
    assert FollowUp.objects.exists() is opens


def test_the_follow_up_goes_to_the_account_owner_with_a_due_date_and_a_message(surveyed_incident, contacts, frank):
    frank.email = "frank@northwind.example"
    frank.save()
    answer(surveyed_incident, contacts["anna"], csat=2, nps=3, comment="Too slow.")
    follow_up = FollowUp.objects.get()
    assert follow_up.owner == frank and follow_up.client.name == "Berliner Bank"
    assert follow_up.reason == "Anna Schmidt gave satisfaction 2/5 and recommend 3/10"
    assert follow_up.due_at == T0 + DAY + dt.timedelta(days=5)
    alert = Message.objects.get(user=frank, source=f"follow-up:{follow_up.pk}")
    assert (
        alert.content.subject == "Follow up with Berliner Bank: Anna Schmidt gave satisfaction 2/5 and recommend 3/10"
    )
    assert "Their comment: Too slow." in alert.content.body
    assert TimelineEntry.objects.filter(data__event="follow_up_opened").exists()


def test_thresholds_and_due_days_come_from_settings(surveyed_incident, contacts, settings):
    settings.CANDOR_FOLLOWUP_CSAT_MAX = 3
    settings.CANDOR_FOLLOWUP_DUE_DAYS = 2
    answer(surveyed_incident, contacts["anna"], csat=3)
    assert FollowUp.objects.get().due_at == T0 + 3 * DAY


def test_a_client_without_an_account_owner_is_followed_up_by_the_commander(surveyed_incident, contacts, alice):
    answer(surveyed_incident, contacts["kenji"], csat=1)
    assert FollowUp.objects.get().owner == alice


def test_closing_a_follow_up_needs_a_note_of_what_was_done(surveyed_incident, contacts, frank):
    answer(surveyed_incident, contacts["anna"], csat=1)
    follow_up = FollowUp.objects.get()
    with pytest.raises(ValidationError) as error:
        follow_up_close(follow_up=follow_up, actor=frank, note="  ")
    assert "note" in error.value.message_dict
    follow_up_close(follow_up=follow_up, actor=frank, note="Called Anna; walked her through the fix.")
    follow_up.refresh_from_db()
    assert follow_up.closed_by == frank and follow_up.close_note == "Called Anna; walked her through the fix."
    with pytest.raises(ValidationError):
        follow_up_close(follow_up=follow_up, actor=frank, note="Again.")


def test_leadership_closes_the_follow_ups_it_owns_and_no_other(surveyed_incident, contacts, carol, bob):
    answer(surveyed_incident, contacts["john"], nps=2)  # Boston Retail: carol's client
    answer(surveyed_incident, contacts["anna"], csat=2)  # Berliner Bank: frank's client
    carols = FollowUp.objects.get(owner=carol)
    franks = FollowUp.objects.exclude(owner=carol).get()
    with pytest.raises(PermissionDenied):
        follow_up_close(follow_up=franks, actor=carol, note="Not mine.")
    with pytest.raises(PermissionDenied):
        follow_up_close(follow_up=franks, actor=bob, note="Communicators close only their own.")
    follow_up_close(follow_up=carols, actor=carol, note="Met John's CTO.")
    assert FollowUp.objects.get(pk=carols.pk).closed_at is not None


def test_the_follow_up_pages_let_each_user_close_what_they_may(surveyed_incident, contacts, client, carol, eve):
    answer(surveyed_incident, contacts["john"], nps=2)
    answer(surveyed_incident, contacts["anna"], csat=2)
    carols = FollowUp.objects.get(owner=carol)
    franks = FollowUp.objects.exclude(owner=carol).get()
    client.force_login(carol)
    page = client.get("/follow-ups/").content.decode()
    assert page.count("Close follow-up") == 1 and f'action="/follow-ups/{carols.pk}/close/"' in page
    assert client.post(f"/follow-ups/{franks.pk}/close/", {"note": "x"}).status_code == 403
    missing = client.post(f"/follow-ups/{carols.pk}/close/", {"note": ""})
    assert missing.status_code == 400 and "Say what was done" in missing.content.decode()
    done = client.post(f"/follow-ups/{carols.pk}/close/", {"note": "Called John.", "next": "/leadership/"})
    assert done.status_code == 302 and done["Location"] == "/leadership/"
    client.force_login(eve)
    assert client.post(f"/follow-ups/{franks.pk}/close/", {"note": "x"}).status_code == 404
    assert "Berliner Bank" not in client.get("/follow-ups/").content.decode()
