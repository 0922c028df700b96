"""A stage asks clients to confirm an action: by the button on their status page or by SMS
keyword; the commander sees who confirmed, when and how; silent clients are chased once."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django_tasks_db.models import DBTaskResult

from comms.models import Message
from playbooks.acknowledgements.services import acknowledgement_status, acknowledgements_chase
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import ClientAcknowledgement, StageAcknowledgement, TimelineEntry
from tests.client_side.conftest import ACKNOWLEDGEMENT, T0, publish, status_path
from tests.comms.webhook_helpers import PUBLIC_URL, TWILIO_AUTH_TOKEN, post_twilio

CHASE_AT = T0 + dt.timedelta(minutes=120)


@pytest.fixture(autouse=True)
def outbox(settings, tmp_path):
    settings.CANDOR_OUTBOX_DIR = tmp_path / "outbox"


def confirmations(incident):
    return list(TimelineEntry.objects.filter(incident=incident, kind="client_reply", data__event="acknowledged"))


def csrf_form(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False)
def test_a_contact_confirms_with_the_button_and_the_page_then_says_who_confirmed(recall, anna):
    browser = Client(enforce_csrf_checks=True)
    path = status_path(recall, anna)
    page = browser.get(path).content.decode()
    assert "Bestätigen Sie, dass Sie Charge 4711 gesperrt haben." in page
    assert "Sie können auch mit BESTAETIGT auf unsere SMS antworten." in page

    response = browser.post(path + "confirm/", {"csrfmiddlewaretoken": csrf_form(page)})
    assert response.status_code == 303
    assert response["Location"] == path + "#acknowledgement"

    page = browser.get(path).content.decode()
    assert "Bestätigt von Anna Schmidt, 24.11., 10:10 Uhr CET. Vielen Dank." in page
    assert "csrfmiddlewaretoken" not in page
    row = ClientAcknowledgement.objects.get(incident=recall, client=anna.client)
    assert (row.confirmed_by, row.confirmed_via, row.confirmed_at) == (anna, "page", T0 + dt.timedelta(minutes=10))
    [entry] = confirmations(recall)
    assert (
        entry.note
        == "Berliner Bank confirmed (Anna Schmidt, on the status page): Confirm that you have quarantined lot 4711."
    )


@time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False)
def test_the_confirm_button_needs_the_forms_csrf_token(recall, anna):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(status_path(recall, anna) + "confirm/").status_code == 403
    assert not ClientAcknowledgement.objects.filter(confirmed_at__isnull=False).exists()


@time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False)
def test_confirming_twice_or_by_a_colleague_records_the_first_confirmation_only(client, recall, anna, clients):
    from tests.conftest import make_contact

    bert = make_contact(clients["berlin"], "Bert Braun")
    client.post(status_path(recall, anna) + "confirm/")
    client.post(status_path(recall, anna) + "confirm/")
    client.post(status_path(recall, bert) + "confirm/")
    assert len(confirmations(recall)) == 1
    assert "Bestätigt von Anna Schmidt" in client.get(status_path(recall, bert)).content.decode()


@time_machine.travel(T0, tick=False)
def test_a_request_stays_open_into_later_stages_which_add_none_of_their_own(client, recall, anna, alice):
    incident_transition(incident=recall, name="offer_remedy", actor=alice)
    publish(recall, alice)
    assert ClientAcknowledgement.objects.filter(incident=recall).count() == 2  # Berlin and Tokyo, from "announced"
    page = client.get(status_path(recall, anna)).content.decode()
    assert "Eine Abhilfe ist verfügbar" in page
    assert "Bestätigen Sie, dass Sie Charge 4711 gesperrt haben." in page and 'action="confirm/"' in page


@time_machine.travel(T0, tick=False)
def test_an_incident_whose_stages_ask_nothing_shows_no_confirmation(client, organization, alice, anna):
    from playbooks.models import StageAcknowledgement as Config
    from tests.client_side.conftest import make_recall_playbook

    playbook = make_recall_playbook(organization)
    Config.objects.filter(stage__playbook=playbook).delete()
    incident = incident_create(playbook=playbook, actor=alice, title="Quiet recall", affected_tags=["lot-4711"])
    for name in ["activate", "announce"]:
        incident = incident_transition(incident=incident, name=name, actor=alice)
    publish(incident, alice)
    page = client.get(status_path(incident, anna)).content.decode()
    assert "Bitte bestätigen" not in page and "csrfmiddlewaretoken" not in page
    assert not ClientAcknowledgement.objects.filter(incident=incident).exists()


@pytest.fixture
def twilio(settings):
    settings.CANDOR_PUBLIC_URL = PUBLIC_URL
    settings.TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN
    return settings


def reply(client, contact, body, sid):
    params = {"MessageSid": sid, "From": contact.phone, "To": "+15005550006", "Body": body}
    return post_twilio(client, "/hooks/twilio/inbound/", params)


@time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False)
def test_an_sms_reply_with_the_keyword_confirms_through_the_twilio_webhook(client, recall, anna, kenji, twilio):
    assert reply(client, anna, " bestaetigt. ", "SM1").status_code == 200
    assert reply(client, kenji, "When is the replacement coming?", "SM2").status_code == 200
    assert reply(client, anna, "BESTAETIGT", "SM3").status_code == 200  # again: nothing new

    [entry] = confirmations(recall)
    assert entry.note.startswith("Berliner Bank confirmed (Anna Schmidt, by SMS)")
    berlin = ClientAcknowledgement.objects.get(client=anna.client)
    assert (berlin.confirmed_via, berlin.confirmed_by) == ("sms", anna)
    # Anything else is an ordinary reply for the commander to read.
    assert TimelineEntry.objects.filter(
        incident=recall, kind="client_reply", note="Kenji Sato (Tokyo Trading) replied: When is the replacement coming?"
    ).exists()
    assert not ClientAcknowledgement.objects.get(client=kenji.client).is_confirmed


@time_machine.travel(T0 + dt.timedelta(minutes=20), tick=False)
def test_the_commander_sees_per_client_who_confirmed_when_and_who_has_not(client, recall, anna):
    client.post(status_path(recall, anna) + "confirm/")
    tokyo, berlin = acknowledgement_status(incident=recall)
    assert (tokyo.client_name, tokyo.is_confirmed, tokyo.confirmed_by) == ("Tokyo Trading", False, "")
    assert (berlin.client_name, berlin.is_confirmed, berlin.confirmed_by, berlin.confirmed_via) == (
        "Berliner Bank",
        True,
        "Anna Schmidt",
        "page",
    )
    assert berlin.confirmed_at == T0 + dt.timedelta(minutes=20)
    assert berlin.request == ACKNOWLEDGEMENT["en"]["request"]
    assert tokyo.requested_at == T0


@pytest.mark.database_tasks_only
def test_silent_clients_are_reminded_and_escalated_to_their_account_owner_once(
    client, recall, anna, kenji, frank, run_worker
):
    frank.email = "frank@northwind.example"
    frank.save()
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        client.post(status_path(recall, anna) + "confirm/")
    # Publishing the stage's first update scheduled the chase for two hours later.
    [chase] = DBTaskResult.objects.filter(task_path="playbooks.acknowledgements.tasks.chase_acknowledgements")
    assert (chase.queue_name, chase.run_after, chase.args_kwargs["kwargs"]) == (
        "timers",
        CHASE_AT,
        {"incident_id": recall.pk},
    )
    with time_machine.travel(CHASE_AT, tick=False):
        run_worker()  # the chase task scheduled at publish time runs now

    reminders = Message.objects.filter(source=f"ack-reminder:{recall.pk}")
    assert {(m.contact, m.channel) for m in reminders} == {(kenji, "email"), (kenji, "sms")}  # Anna confirmed
    sms = reminders.get(channel="sms")
    _, body = sms.rendered
    assert body.startswith(
        "Northwind: リマインダー：まだご確認をいただいておりません。 ロット4711を隔離したことをご確認ください。"
    )
    assert "CONFIRMED と返信" in body and PUBLIC_URL not in body and "/s/" in body
    escalation = Message.objects.get(source__startswith=f"ack-escalation:{recall.pk}:", user=frank, channel="email")
    assert escalation.content.subject == "Not confirmed: Tokyo Trading (Recall of lot 4711)"
    tokyo = ClientAcknowledgement.objects.get(client=kenji.client)
    assert tokyo.reminded_at == tokyo.escalated_at == CHASE_AT
    chase_entries = TimelineEntry.objects.filter(
        incident=recall, data__event__in=["acknowledgement_reminder", "acknowledgement_escalation"]
    )
    notes = list(chase_entries.values_list("note", flat=True))
    assert notes == [
        "Reminded 1 client(s) who have not confirmed: Tokyo Trading (1 by email, 1 by SMS).",
        "No confirmation from Tokyo Trading: escalated to their account owner frank (frank@northwind.example).",
    ]

    with time_machine.travel(CHASE_AT + dt.timedelta(hours=1), tick=False):
        assert acknowledgements_chase(incident=recall, now=CHASE_AT + dt.timedelta(hours=1)) == []
    assert Message.objects.filter(source__startswith="ack-").count() == 3
    assert chase_entries.count() == 2


def test_nothing_is_chased_once_the_incident_is_no_longer_live(recall, alice):
    with time_machine.travel(T0 + dt.timedelta(minutes=10), tick=False):
        for name in ["offer_remedy", "start_remedy"]:
            incident_transition(incident=recall, name=name, actor=alice)
        incident_transition(incident=recall, name="complete", actor=alice, resolution_summary="Done.")
    assert acknowledgements_chase(incident=recall, now=CHASE_AT) == []
    assert not Message.objects.filter(source__startswith="ack-").exists()


def test_the_request_is_edited_with_the_playbook_and_frozen_into_each_incident(recall):
    stage = recall.playbook.stages.get(stage="announced")
    version = recall.playbook.version
    stage.acknowledgement.texts = {"en": {"request": "Confirm you destroyed lot 4711.", "keyword": "destroyed"}}
    stage.acknowledgement.full_clean()
    stage.acknowledgement.save()
    recall.playbook.refresh_from_db()
    assert recall.playbook.version > version
    assert recall.playbook.snapshot()["stages"]["announced"]["acknowledgement"]["texts"]["en"] == {
        "request": "Confirm you destroyed lot 4711.",
        "keyword": "DESTROYED",
    }
    recall.refresh_from_db()
    assert recall.stage_plan("announced")["acknowledgement"] == {"texts": ACKNOWLEDGEMENT, "chase_after_minutes": 120}
    assert recall.stage_plan("assessing")["acknowledgement"] is None


@pytest.mark.parametrize(
    "texts, message",
    [
        ({}, "at least one language"),
        ({"en": {"request": "Confirm.", "keyword": "STOP"}}, "already means something by SMS"),
        ({"en": {"request": "Confirm.", "keyword": "yes"}}, "already means something by SMS"),
        ({"en": {"request": "Confirm.", "keyword": "two words"}}, "one word"),
        ({"en": {"request": "", "keyword": "OK"}}, "request is empty"),
        ({"xx": {"request": "Confirm.", "keyword": "OK"}}, "Unknown language"),
    ],
)
def test_a_request_that_could_not_work_is_refused(recall, texts, message):
    stage = recall.playbook.stages.get(stage="assessing")
    with pytest.raises(ValidationError, match=message):
        StageAcknowledgement(stage=stage, texts=texts).full_clean()


def test_the_request_is_editable_as_a_form_like_the_admins(recall):
    from django.forms import modelform_factory

    stage = recall.playbook.stages.get(stage="remedy_available")
    form_class = modelform_factory(StageAcknowledgement, fields=["stage", "texts", "chase_after_minutes"])
    form = form_class(
        {
            "stage": stage.pk,
            "texts": '{"en": {"request": "Confirm you returned the units.", "keyword": " returned! "}}',
            "chase_after_minutes": "60",
        }
    )
    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.texts == {"en": {"request": "Confirm you returned the units.", "keyword": "RETURNED"}}
    refused = form_class(
        {"stage": stage.pk, "texts": '{"en": {"request": "x", "keyword": "HELP"}}', "chase_after_minutes": "60"}
    )
    assert not refused.is_valid() and "already means something by SMS" in str(refused.errors)
