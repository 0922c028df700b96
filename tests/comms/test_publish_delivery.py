"""Publishing an update: who gets what, in which words, through the real SDKs to the fake
providers, and what happens when providers fail. Time is travelled, never slept."""

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from accounts.models import SmsConsent
from comms.models import Message, MessageStatus
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.updates.services import update_approve, update_draft, update_edit, update_publish
from tests.comms.conftest import T0, make_outage_playbook, publish_first_update
from tests.conftest import make_client, make_contact


@time_machine.travel(T0, tick=False)
def test_publish_sends_each_contact_their_language_on_their_channels(
    live_incident, alice, cast_of_contacts, provider_settings, fake_providers, run_worker
):
    update = publish_first_update(live_incident, alice)
    run_worker()

    sms = {request["To"]: request for request in fake_providers.twilio_messages()}
    assert set(sms) == {"+4915112345678", "+819012345678"}  # Olaf opted out
    assert sms["+4915112345678"]["Body"].startswith(
        "Northwind: Wir untersuchen das Problem. Nächste Meldung 24.11., 10:30 Uhr CET."
    )
    assert sms["+819012345678"]["Body"].startswith("Northwind: 原因を調査中です。次回 11月24日 18:30 (JST)。")
    assert sms["+4915112345678"]["MessagingServiceSid"].startswith("MG")
    assert sms["+4915112345678"]["StatusCallback"] == "http://localhost:8000/hooks/twilio/status/"

    mails = fake_providers.sendgrid_mails()
    recipients = {p["to"][0]["email"]: (mail, p) for mail in mails for p in mail["personalizations"]}
    # Bianca's address bounced before; Kenji takes no email.
    assert set(recipients) == {"anna.schmidt@example.com", "john.miller@example.com", "fatima.kaya@example.com"}
    anna_mail, anna = recipients["anna.schmidt@example.com"]
    assert anna_mail["content"][0]["value"].startswith("Guten Tag -contact_name-. Wir untersuchen das Problem.")
    assert anna["substitutions"]["-contact_name-"] == "Anna Schmidt"
    assert anna["substitutions"]["-status_url-"].startswith("http://localhost:8000/s/")
    assert anna["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert anna["custom_args"]["candor_message_id"] == str(
        Message.objects.get(contact=cast_of_contacts["anna"], channel="email").pk
    )
    # Fatima reads French, which the playbook lacks: her client's German is used.
    assert recipients["fatima.kaya@example.com"][0] == anna_mail
    john_mail, _ = recipients["john.miller@example.com"]
    assert "Next update by 04:30 EST, 24 Nov" in john_mail["content"][0]["value"]
    assert len(mails) == 2  # one request per distinct content: Berlin German, Boston English

    assert Message.objects.filter(status=MessageStatus.SENT).count() == 5
    assert update.audience["unreachable"] == [
        {"contact": cast_of_contacts["olaf"].pk, "reason": "SMS consent opted_out"},
        {"contact": cast_of_contacts["bianca"].pk, "reason": "email bounced"},
    ]
    entry = live_incident.timeline.get(kind="update_published")
    assert entry.data["email"] == 3 and entry.data["sms"] == 2
    live_incident.refresh_from_db()
    assert live_incident.next_update_due_at == T0 + dt.timedelta(minutes=30)


@time_machine.travel(T0, tick=False)
def test_publishing_twice_creates_no_duplicates(live_incident, alice, provider_settings, fake_providers, run_worker):
    update = publish_first_update(live_incident, alice)
    update_publish(update=update, actor=alice)
    run_worker()
    assert Message.objects.count() == 5
    assert len(fake_providers.twilio_messages()) == 2
    assert sum(len(mail["personalizations"]) for mail in fake_providers.sendgrid_mails()) == 3


@time_machine.travel(T0, tick=False)
def test_a_rolled_back_publish_queues_nothing(live_incident, alice):
    update = update_draft(incident=live_incident, author=alice)
    tasks_before = DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        update_publish(update=update, actor=alice)
        raise RuntimeError("the request died")
    assert Message.objects.count() == 0
    assert DBTaskResult.objects.count() == tasks_before
    update.refresh_from_db()
    assert update.published_at is None


@time_machine.travel(T0, tick=False)
def test_a_committed_publish_has_its_delivery_tasks(live_incident, alice):
    publish_first_update(live_incident, alice)
    queues = set(DBTaskResult.objects.values_list("queue_name", flat=True))
    assert {"email", "sms"} <= queues


@time_machine.travel(T0, tick=False)
def test_an_sms_over_four_segments_is_refused_naming_language_and_length(organization, alice, cast_of_contacts):
    playbook = make_outage_playbook(organization, sms_text="Ä" * 30 + "日本" * 150)
    incident = incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update = update_draft(incident=incident, author=alice)
    with pytest.raises(ValidationError) as error:
        update_publish(update=update, actor=alice)
    text = " ".join(error.value.messages)
    assert "de SMS: the SMS is 330 UCS-2 characters" in text and "ja SMS: the SMS is" in text
    assert Message.objects.count() == 0


@time_machine.travel(T0, tick=False)
def test_a_stage_needing_approval_needs_a_second_person_and_fresh_approval_after_edits(
    organization, alice, frank, bob, cast_of_contacts
):
    playbook = make_outage_playbook(organization, needs_approval=True)
    incident = incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update = update_draft(incident=incident, author=alice)
    with pytest.raises(ValidationError, match="approval"):
        update_publish(update=update, actor=alice)
    with pytest.raises(PermissionDenied, match="own update"):
        update_approve(update=update, actor=alice)
    with pytest.raises(PermissionDenied):
        update_approve(update=update, actor=bob)  # communicators draft, they do not approve
    update = update_approve(update=update, actor=frank, note="Checked the facts with SRE.")
    texts = json.loads(json.dumps(update.texts))
    texts["ja"]["sms_body"] += " 詳細は後ほど。"
    update = update_edit(update=update, actor=alice, texts=texts)
    assert not update.is_approved
    with pytest.raises(ValidationError, match="approval"):
        update_publish(update=update, actor=alice)
    update = update_approve(update=update, actor=frank)
    assert update_publish(update=update, actor=alice).is_published


@time_machine.travel(T0, tick=False)
def test_communicators_draft_but_do_not_publish(live_incident, bob):
    update = update_draft(incident=live_incident, author=bob)
    with pytest.raises(PermissionDenied):
        update_publish(update=update, actor=bob)


def test_transient_errors_are_retried_with_backoff_honouring_retry_after(
    live_incident, alice, provider_settings, fake_providers, run_worker
):
    with time_machine.travel(T0, tick=False):
        fake_providers.fail_next(2, "429", channel="sms", retry_after_seconds=120)
        publish_first_update(live_incident, alice)
        run_worker()
        waiting = Message.objects.filter(channel="sms", status=MessageStatus.QUEUED)
        assert waiting.count() == 2
        assert all(m.next_attempt_at >= T0 + dt.timedelta(seconds=120) for m in waiting)
        assert {m.error_code for m in waiting} == {"20429"}
    with time_machine.travel(T0 + dt.timedelta(seconds=60), tick=False):
        run_worker()
        assert Message.objects.filter(channel="sms", status=MessageStatus.QUEUED).count() == 2
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        run_worker()
    assert Message.objects.filter(channel="sms", status=MessageStatus.SENT).count() == 2
    assert set(Message.objects.filter(channel="sms").values_list("attempts", flat=True)) == {2}


def test_a_number_opted_out_at_the_carrier_is_marked_and_falls_back_to_email(
    live_incident, alice, cast_of_contacts, provider_settings, fake_providers, run_worker
):
    anna = cast_of_contacts["anna"]
    fake_providers.twilio_error_for(anna.phone, 21610)
    with time_machine.travel(T0, tick=False):
        update = publish_first_update(live_incident, alice)
        run_worker()
    anna.refresh_from_db()
    assert anna.sms_consent == SmsConsent.OPTED_OUT
    sms = Message.objects.get(contact=anna, channel="sms")
    assert (sms.status, sms.error_code) == (MessageStatus.FAILED, "21610")
    # Anna already had the update by email, so no second email is sent.
    assert Message.objects.filter(contact=anna, channel="email").count() == 1
    notes = list(live_incident.timeline.filter(kind="delivery").values_list("note", flat=True))
    assert any("opted out of SMS" in note for note in notes)
    assert update.is_published


def test_an_sms_only_contact_whose_sms_fails_is_emailed_when_they_accept_email(
    organization, alice, provider_settings, fake_providers, run_worker
):
    client = make_client(organization, name="Lisboa Lda", country="PT", default_language="en", tags=["payments"])
    maria = make_contact(client, "Maria Silva", phone="+351912345678")
    # Maria accepts both, but her SMS fails permanently before her email is queued:
    maria.accepts_email = False
    maria.save()
    kenji_client = make_client(organization, name="Osaka KK", country="JP", default_language="ja", tags=["payments"])
    kenji = make_contact(
        kenji_client, "Kenji Sato", email="kenji@example.jp", phone="+819012345678", accepts_email=False
    )
    fake_providers.twilio_error_for(kenji.phone, 21211)
    with time_machine.travel(T0, tick=False):
        playbook = make_outage_playbook(organization)
        incident = incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"])
        incident = incident_transition(incident=incident, name="activate", actor=alice)
        publish_first_update(incident, alice)
        run_worker()
    # Kenji takes no email: he is unreachable, and the commander is told.
    assert Message.objects.get(contact=kenji).status == MessageStatus.FAILED
    notes = list(incident.timeline.filter(kind="delivery").values_list("note", flat=True))
    assert any("Kenji Sato (Osaka KK) could not be reached on any channel" in note for note in notes)


def test_an_sms_only_update_falls_back_to_email_when_the_sms_fails_for_good(
    organization, alice, provider_settings, fake_providers, run_worker
):
    client = make_client(organization, name="Osaka KK", country="JP", default_language="ja", tags=["payments"])
    kenji = make_contact(client, "Kenji Sato", email="kenji@example.jp", phone="+819012345678")
    fake_providers.twilio_error_for(kenji.phone, 21211)
    with time_machine.travel(T0, tick=False):
        playbook = make_outage_playbook(organization)
        incident = incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"])
        incident = incident_transition(incident=incident, name="activate", actor=alice)
        sms_only = {"ja": {"email_subject": "", "email_body": "", "sms_body": "{{ stage }}。{{ status_url }}"}}
        update = update_draft(incident=incident, author=alice, texts=sms_only)
        update_publish(update=update, actor=alice)
        run_worker()
    sms = Message.objects.get(contact=kenji, channel="sms")
    fallback = Message.objects.get(contact=kenji, channel="email")
    assert (sms.status, sms.error_code) == (MessageStatus.FAILED, "21211")
    assert fallback.fallback_of == sms and fallback.status == MessageStatus.SENT
    [mail] = fake_providers.sendgrid_mails()
    assert mail["subject"] == "Northwind: Down"
    assert mail["content"][0]["value"] == "原因を調査中です。-status_url-"
    assert mail["personalizations"][0]["to"][0]["email"] == "kenji@example.jp"
    notes = list(incident.timeline.filter(kind="delivery").values_list("note", flat=True))
    assert any("sending the update by email instead" in note for note in notes)
