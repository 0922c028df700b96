"""Kept promises: reminders, holding statements, escalations and adherence, with time travelled.

The cast: alice commands, frank is her backup, carol is in leadership. Clients read the updates.
"""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_tasks_db.models import DBTaskResult

from accounts.models import Role
from comms.models import Message, MessageStatus
from comms.notifications import team_notify
from comms.services import inbound_sms_receive, message_fail
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.leadership.metrics import incident_metrics
from playbooks.models import Playbook, PlaybookStage, PromiseEvent, StageMessage, TimelineEntry
from playbooks.promises.services import (
    Outcome,
    cadence_adherence,
    promise_check,
    timers_sweep,
)
from playbooks.promises.tasks import promise_timer
from playbooks.starter import starter_playbooks_load
from playbooks.updates.services import update_draft, update_publish
from tests.comms.conftest import fake_providers, fake_providers_server, provider_settings  # noqa: F401
from tests.conftest import make_client, make_contact, make_user, words_for_stage

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def team(organization, alice, frank, carol):
    """Everyone reachable by email and SMS."""
    for user, phone in ((alice, "+4915100000001"), (frank, "+4915100000002"), (carol, "+4915100000003")):
        user.email = f"{user.username}@northwind.example"
        user.phone = phone
        user.save()
    return {"alice": alice, "frank": frank, "carol": carol}


@pytest.fixture
def clients(organization):
    bank = make_client(organization, name="Berliner Bank", tags=["payments"], default_language="en")
    return {
        "anna": make_contact(bank, "Anna Schmidt", phone="+4915112345678"),
        "john": make_contact(bank, "John Miller"),
    }


def make_playbook(organization, *, holding=False, cadence=30):
    playbook = Playbook.objects.create(organization=organization, kind="outage", name="Outage", slug="outage")
    for name in ["investigating", "identified", "monitoring", "resolved"]:
        stage = PlaybookStage.objects.create(
            playbook=playbook, stage=name, cadence_minutes=cadence, auto_holding_statement=holding
        )
        StageMessage.objects.create(
            stage=stage,
            language="en",
            channel="email",
            subject="{{ incident_title }}",
            body=words_for_stage(name, "{{ stage }}. Next update by {{ next_update_at }}. {{ status_url }}"),
        )
        StageMessage.objects.create(
            stage=stage,
            language="en",
            channel="sms",
            body=words_for_stage(
                name, "{{ incident_title }}: {{ stage }}. Next {{ next_update_at }}. {{ status_url }}"
            ),
        )
        StageMessage.objects.create(
            stage=stage,
            purpose="holding",
            language="en",
            channel="email",
            subject="Still working on it: {{ incident_title }}",
            body="We are still working on it. Next update by {{ next_update_at }}. {{ status_url }}",
        )
        StageMessage.objects.create(
            stage=stage,
            purpose="holding",
            language="en",
            channel="sms",
            body="Still working on {{ incident_title }}. Next update {{ next_update_at }}. {{ status_url }}",
        )
    return playbook


def start_incident(playbook, alice, frank, **extra):
    with time_machine.travel(T0, tick=False):
        incident = incident_create(
            playbook=playbook,
            actor=alice,
            title="Payments API errors",
            backup_commander=frank,
            affected_tags=["payments"],
            **extra,
        )
        incident = incident_transition(incident=incident, name="activate", actor=alice)
        update = update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    return incident, update


def team_messages(source_suffix):
    return Message.objects.filter(user__isnull=False, source__endswith=source_suffix)


def at(minutes):
    return time_machine.travel(T0 + minutes * MINUTE, tick=False)


def test_publishing_an_update_writes_its_reminder_and_due_timers(organization, team, clients):
    _incident, update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    timers = DBTaskResult.objects.filter(queue_name="timers", task_path="playbooks.promises.tasks.promise_timer")
    assert sorted(timer.run_after for timer in timers) == [T0 + 20 * MINUTE, T0 + 30 * MINUTE]
    assert all(timer.args_kwargs["kwargs"] == {"update_id": update.pk} for timer in timers)


def test_commander_and_backup_are_reminded_before_the_promised_time(organization, team, clients, run_worker):
    incident, update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(19):
        run_worker()
    assert not PromiseEvent.objects.exists()
    with at(20):
        run_worker()
    reminder = PromiseEvent.objects.get()
    assert reminder.kind == "reminder" and reminder.update == update
    messages = team_messages(":reminder")
    assert {(m.user.username, m.channel) for m in messages} == {
        ("alice", "email"),
        ("alice", "sms"),
        ("frank", "email"),
        ("frank", "sms"),
    }
    email = messages.get(user=team["alice"], channel="email")
    assert email.content.subject == "[Northwind] Update due in 10 min: Payments API errors"
    assert "10:30 CET, 24 Nov" in email.content.body
    assert "/incidents/" in email.content.body
    assert email.status == MessageStatus.SENT  # the worker delivered it through the console provider
    entry = incident.timeline.get(kind="reminder")
    assert "alice, frank" in entry.note and entry.data["update"] == update.pk


@pytest.mark.database_tasks_only
def test_holding_statement_goes_out_at_the_promised_time_when_the_stage_allows_it(
    organization, team, clients, run_worker
):
    incident, update = start_incident(make_playbook(organization, holding=True), team["alice"], team["frank"])
    with at(30):
        run_worker()
    holding = incident.updates.get(is_holding_statement=True)
    assert holding.published_at == T0 + 30 * MINUTE and holding.published_by is None and holding.author is None
    assert holding.next_update_due_at == T0 + 60 * MINUTE  # the stage cadence, from now
    client_messages = Message.objects.filter(source=f"update:{holding.pk}")
    assert {(m.contact.name, m.channel) for m in client_messages} == {
        ("Anna Schmidt", "email"),
        ("Anna Schmidt", "sms"),
        ("John Miller", "email"),
    }
    assert (
        "We are still working on it. Next update by 11:00 CET"
        in client_messages.filter(channel="email")[0].content.body
    )
    published = incident.timeline.filter(kind="update_published").last()
    assert published.note.startswith(f"Holding statement #{holding.pk} published")
    assert PromiseEvent.objects.get(update=update).kind == "holding"
    assert not incident.timeline.filter(kind="escalation").exists()
    assert team_messages(":holding").filter(user=team["alice"]).exists()
    # The holding statement's own timers carry the chain on.
    assert (
        DBTaskResult.objects.filter(
            task_path="playbooks.promises.tasks.promise_timer", args_kwargs__kwargs__update_id=holding.pk
        ).count()
        == 2
    )


def test_starter_playbook_holding_statement_reaches_clients_in_their_words(
    organization,
    team,
    clients,
    provider_settings,
    fake_providers,
    run_worker,
):
    starter_playbooks_load(organization=organization)
    playbook = Playbook.objects.get(organization=organization, slug="outage-standard")
    incident, _update = start_incident(playbook, team["alice"], team["frank"])
    with at(30):
        run_worker()
    sms = [(request["To"], request["Body"]) for request in fake_providers.twilio_messages()]
    holding_sms = [body for to, body in sms if to == "+4915112345678" and "still looking" in body]
    assert len(holding_sms) == 1
    assert "we are still looking for the cause" in holding_sms[0]
    assert "Next update by 11:00 CET, 24 Nov" in holding_sms[0]  # investigating: every 30 min, from 10:30 CET
    alice_sms = [body for to, body in sms if to == "+4915100000001"]
    assert any(body.startswith("[Northwind] Holding statement sent: Payments API errors.") for body in alice_sms)
    assert all(body.endswith(f"/incidents/{incident.pk}/") for body in alice_sms)


def test_escalation_goes_to_commander_then_backup_and_leadership_after_the_grace(
    organization, team, clients, run_worker, task_backend
):
    incident, _update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(30):
        run_worker()
    escalation = PromiseEvent.objects.get(kind="escalation")
    assert sorted(escalation.notified) == sorted([team["alice"].pk, team["frank"].pk])
    assert team_messages(":escalation").filter(user=team["alice"], channel="sms").exists()
    with at(44):
        run_worker()
    assert not PromiseEvent.objects.filter(kind="second_escalation").exists()
    with at(45):
        run_worker()
    second = PromiseEvent.objects.get(kind="second_escalation")
    assert sorted(second.notified) == sorted([team["frank"].pk, team["carol"].pk])
    assert set(team_messages(":second_escalation").values_list("user__username", flat=True)) == {"frank", "carol"}
    notes = list(incident.timeline.filter(kind="escalation").values_list("note", flat=True))
    assert len(notes) == 2
    assert notes[0].startswith("No update by the promised 10:30 CET, 24 Nov: escalated to alice, frank.")
    assert notes[1].startswith("Still no update 15 min after the escalation")
    assert cadence_adherence(incident=incident, now=T0 + 50 * MINUTE).counts[Outcome.MISSED] == 1


def test_a_holding_statement_that_cannot_be_published_becomes_an_escalation(organization, team, clients):
    playbook = make_playbook(organization, holding=True)
    StageMessage.objects.filter(stage__playbook=playbook, purpose="holding").delete()
    _incident, update = start_incident(playbook, team["alice"], team["frank"])
    with at(30):
        assert promise_check(update=update, now=T0 + 30 * MINUTE) == "escalation"
    event = PromiseEvent.objects.get()
    assert "holding statement could not be published" in event.note


def test_a_timer_that_fires_after_a_newer_update_does_nothing(organization, team, clients, run_worker):
    incident, first = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(25):
        second = update_publish(update=update_draft(incident=incident, author=team["alice"]), actor=team["alice"])
    with at(30):
        run_worker()
        assert promise_check(update=first, now=T0 + 30 * MINUTE) == "stale"
    assert not PromiseEvent.objects.filter(update=first).exists()
    assert PromiseEvent.objects.filter(update=second).count() == 0  # its reminder is at 45
    assert not incident.timeline.filter(kind="escalation").exists()


def test_resolving_the_incident_stops_its_cadence(organization, team, clients, run_worker):
    incident, _update = start_incident(make_playbook(organization, holding=True), team["alice"], team["frank"])
    with at(5):
        incident = incident_transition(incident=incident, name="identify", actor=team["alice"])
        incident = incident_transition(
            incident=incident, name="resolve", actor=team["alice"], resolution_summary="Rolled back the release."
        )
        resolution = update_publish(update=update_draft(incident=incident, author=team["alice"]), actor=team["alice"])
    assert resolution.next_update_due_at is None  # a resolution notice promises nothing
    with at(60):
        run_worker()
    assert not PromiseEvent.objects.exists()
    assert not incident.updates.filter(is_holding_statement=True).exists()
    adherence = cadence_adherence(incident=incident, now=T0 + 60 * MINUTE)
    assert adherence.promises == 1 and adherence.counts[Outcome.KEPT] == 1


def test_resolving_without_a_notice_leaves_the_promise_stopped_not_missed(organization, team, clients, run_worker):
    incident, _update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(5):
        incident = incident_transition(incident=incident, name="identify", actor=team["alice"])
        incident_transition(incident=incident, name="resolve", actor=team["alice"], resolution_summary="Fixed.")
    with at(60):
        run_worker()
    assert not PromiseEvent.objects.exists()
    assert cadence_adherence(incident=incident, now=T0 + 60 * MINUTE).counts[Outcome.STOPPED] == 1


def test_a_timer_that_runs_twice_acts_once(organization, team, clients):
    incident, update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(30):
        assert promise_timer.call(update_id=update.pk) == "escalation"
        assert promise_timer.call(update_id=update.pk) == "nothing"
    assert PromiseEvent.objects.count() == 1
    assert incident.timeline.filter(kind="escalation").count() == 1
    assert team_messages(":escalation").count() == 4


def test_the_sweep_does_what_a_lost_timer_left_undone(organization, team, clients):
    _incident, _update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    DBTaskResult.objects.filter(queue_name="timers").delete()  # a worker died with them
    with at(20.5):
        assert timers_sweep(now=T0 + 20.5 * MINUTE) == {}  # not late yet: the timer's job
    with at(25):
        assert timers_sweep(now=T0 + 25 * MINUTE) == {"reminder": 1}
    with at(30):
        assert timers_sweep(now=T0 + 30 * MINUTE) == {}
    with at(32):
        assert timers_sweep(now=T0 + 32 * MINUTE) == {"escalation": 1}
        assert timers_sweep(now=T0 + 32 * MINUTE) == {}
    with at(48):
        assert timers_sweep(now=T0 + 48 * MINUTE) == {"second_escalation": 1}
    assert list(PromiseEvent.objects.values_list("kind", flat=True)) == ["reminder", "escalation", "second_escalation"]


def test_leadership_hears_when_holding_statements_follow_each_other(organization, team, clients, run_worker):
    _incident, _update = start_incident(make_playbook(organization, holding=True), team["alice"], team["frank"])
    with at(30):
        run_worker()
    with at(60):
        run_worker()
    holdings = list(PromiseEvent.objects.filter(kind="holding").order_by("at"))
    assert len(holdings) == 2
    assert team["carol"].pk not in holdings[0].notified
    assert team["carol"].pk in holdings[1].notified
    assert "2 holding statements in a row" in holdings[1].note


def test_adherence_counts_each_promise_of_a_hand_built_incident(organization, team, clients):
    """Investigating has holding statements, identified has none."""
    alice = team["alice"]
    playbook = make_playbook(organization, holding=True)
    PlaybookStage.objects.filter(playbook=playbook, stage="identified").update(auto_holding_statement=False)
    incident, first = start_incident(playbook, alice, team["frank"])
    with at(20):  # first was due at 30: kept
        kept = update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    with at(50):  # kept was due at 50: covered by a holding statement
        assert promise_check(update=kept, now=T0 + 50 * MINUTE) == "holding"
    holding = incident.updates.get(is_holding_statement=True)
    with at(85):  # the holding statement promised 80: kept 5 minutes late
        late = update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
        incident = incident_transition(incident=incident, name="identify", actor=alice)
    with at(115):  # late promised 115; identified has no holding statement: escalated
        assert promise_check(update=late, now=T0 + 115 * MINUTE) == "escalation"
    with at(120):
        newest = update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    with at(150):
        assert promise_check(update=newest, now=T0 + 150 * MINUTE) == "escalation"

    adherence = cadence_adherence(incident=incident, now=T0 + 151 * MINUTE)
    assert [(row.update_id, row.outcome) for row in adherence.rows] == [
        (first.pk, "kept"),
        (kept.pk, "holding"),
        (holding.pk, "kept_late"),
        (late.pk, "kept_late"),
        (newest.pk, "missed"),
    ]
    assert adherence.counts == {
        "kept": 1,
        "kept_late": 2,
        "holding": 1,
        "missed": 1,
        "open": 0,
        "stopped": 0,
        "silent": 0,
    }
    after_holding, after_escalation = adherence.rows[2], adherence.rows[3]
    assert after_holding.late_by_seconds == 5 * 60 and not after_holding.escalated
    assert after_escalation.late_by_seconds == 5 * 60 and after_escalation.escalated
    assert incident_metrics(incident=incident, now=T0 + 151 * MINUTE).kept_on_time_share == pytest.approx(1 / 5)
    assert cadence_adherence(incident=incident, now=T0 + 125 * MINUTE).counts["open"] == 1


def test_adherence_shows_a_promise_nobody_acted_on_as_silent(organization, team, clients):
    incident, _update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    DBTaskResult.objects.filter(queue_name="timers").delete()
    adherence = cadence_adherence(incident=incident, now=T0 + 40 * MINUTE)
    assert adherence.counts[Outcome.SILENT] == 1


# ---------------------------------------------------------------------------------------------
# Internal notifications and the team's alerts from comms


def test_team_notify_queues_one_email_and_one_sms_per_user_once(organization, team, bob):
    bob.email = "bob@northwind.example"
    bob.save()
    source = "test:notice"
    kwargs = {
        "organization": organization,
        "users": [team["alice"], bob, team["alice"]],
        "topic": "incident:1",
        "source": source,
        "subject": "Heads up",
        "body": "Something needs you.",
    }
    assert team_notify(**kwargs) == 3  # bob has no phone
    assert team_notify(**kwargs) == 0
    sms = Message.objects.get(user=team["alice"], channel="sms")
    assert sms.to_address == "+4915100000001" and sms.content.body == "Heads up. Something needs you."
    assert sms.contact is None


def test_team_notify_skips_people_of_another_organisation(organization, team, eve):
    eve.email = "eve@globex.example"
    eve.save()
    team_notify(organization=organization, users=[eve], topic="x", source="x", subject="s", body="b")
    assert not Message.objects.exists()


def test_a_message_needs_a_contact_or_a_user_but_not_both(organization, team, clients):
    from django.db import IntegrityError, transaction

    team_notify(organization=organization, users=[team["alice"]], topic="t", source="s", subject="s", body="b")
    message = Message.objects.filter(user=team["alice"]).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(contact=clients["anna"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(user=None)


def test_internal_messages_reach_the_fake_providers_and_their_failures_are_harmless(
    organization,
    team,
    clients,  # an update needs someone in scope to be published
    provider_settings,
    fake_providers,
    run_worker,
):
    playbook = make_playbook(organization)
    incident, _update = start_incident(playbook, team["alice"], team["frank"])
    with at(20):
        run_worker()
    to = {request["To"] for request in fake_providers.twilio_messages()}
    assert {"+4915100000001", "+4915100000002"} <= to
    mails = [p["to"][0]["email"] for mail in fake_providers.sendgrid_mails() for p in mail["personalizations"]]
    assert "alice@northwind.example" in mails
    sms = Message.objects.get(user=team["alice"], channel="sms")
    with at(21):
        message_fail(message=sms, status=MessageStatus.FAILED, error_code="30003", error="Unreachable handset")
    entry = incident.timeline.filter(kind="delivery").last()
    assert entry.note == "Internal alert by SMS to alice failed: Unreachable handset"


def test_a_client_reply_reaches_the_commander_and_backup(organization, team, clients, run_worker):
    incident, _update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(2):
        inbound_sms_receive(
            provider_message_id="SM1",
            from_number="+4915112345678",
            to_number="+1500",
            body="Is our EU traffic affected?",
        )
    notices = Message.objects.filter(user__isnull=False, source__startswith="team:reply:")
    assert set(notices.values_list("user__username", flat=True)) == {"alice", "frank"}
    assert "Is our EU traffic affected?" in notices.filter(channel="email")[0].content.body
    assert incident.timeline.filter(kind="client_reply").exists()


def test_a_commanders_own_sms_reply_is_not_taken_for_a_client_reply(organization, team, clients, run_worker):
    incident, _update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(20):
        run_worker()  # alice gets the reminder by SMS
    with at(21):
        inbound_sms_receive(provider_message_id="SM2", from_number="+4915100000001", to_number="+1500", body="ok")
    assert not incident.timeline.filter(kind="client_reply").exists()


def test_an_unreachable_contact_and_a_failure_burst_alert_the_team(organization, team, settings):
    settings.CANDOR_FAILURE_BURST_COUNT = 3
    bank = make_client(organization, name="Berliner Bank", tags=["payments"], default_language="en")
    contacts = [make_contact(bank, f"Contact {n}") for n in range(4)]
    _incident, update = start_incident(make_playbook(organization), team["alice"], team["frank"])
    with at(1):
        for contact in contacts:
            message = Message.objects.get(source=f"update:{update.pk}", contact=contact)
            message_fail(message=message, status=MessageStatus.BOUNCED, error_code="bounce", error="No such user")
    unreachable = Message.objects.filter(user=team["alice"], channel="email", source__startswith="team:unreachable:")
    assert unreachable.count() == 4
    assert "Contact 0 (Berliner Bank) could not be reached" in unreachable.first().content.body
    burst = Message.objects.filter(user=team["alice"], channel="email", source__startswith="team:failures:")
    assert burst.count() == 1  # once per update, however many more fail
    assert burst.get().content.subject == "[Northwind] Messages failing: Payments API errors"


def test_holding_statement_needs_no_approval_even_where_updates_do(organization, team, clients):
    playbook = make_playbook(organization, holding=True)
    PlaybookStage.objects.filter(playbook=playbook).update(needs_approval=True)
    with time_machine.travel(T0, tick=False):
        incident = incident_create(
            playbook=playbook,
            actor=team["alice"],
            title="Payments API errors",
            backup_commander=team["frank"],
            affected_tags=["payments"],
        )
        incident = incident_transition(incident=incident, name="activate", actor=team["alice"])
        update = update_draft(incident=incident, author=team["alice"])
        with pytest.raises(ValidationError):
            update_publish(update=update, actor=team["alice"])
        from playbooks.updates.services import update_approve

        update_approve(update=update, actor=team["frank"])
        update = update_publish(update=update, actor=team["alice"])
    with at(30):
        assert promise_check(update=update, now=T0 + 30 * MINUTE) == "holding"


def test_second_escalation_falls_back_to_admins_without_backup_or_leadership(organization, alice, dave, clients):
    alice.email = "alice@northwind.example"
    alice.save()
    with time_machine.travel(T0, tick=False):
        incident = incident_create(
            playbook=make_playbook(organization), actor=alice, title="Payments API errors", affected_tags=["payments"]
        )
        incident = incident_transition(incident=incident, name="activate", actor=alice)
        update = update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    with at(30):
        promise_check(update=update, now=T0 + 30 * MINUTE)
    with at(45):
        assert promise_check(update=update, now=T0 + 45 * MINUTE) == "second_escalation"
    assert PromiseEvent.objects.get(kind="second_escalation").notified == [dave.pk]
    assert dave.role == Role.ADMIN
    assert TimelineEntry.objects.filter(incident=incident, kind="escalation").count() == 2


def test_an_update_promising_less_than_the_reminder_time_gets_no_reminder(organization, team, clients):
    playbook = make_playbook(organization, cadence=5)
    _incident, _update = start_incident(playbook, team["alice"], team["frank"])
    timers = DBTaskResult.objects.filter(task_path="playbooks.promises.tasks.promise_timer")
    assert [timer.run_after for timer in timers] == [T0 + 5 * MINUTE]


def test_a_new_member_without_phone_only_gets_email(organization, team, clients):
    backup = make_user("grace", organization, Role.COMMANDER, email="grace@northwind.example")
    with time_machine.travel(T0, tick=False):
        incident = incident_create(
            playbook=make_playbook(organization),
            actor=team["alice"],
            title="Payments API errors",
            backup_commander=backup,
            affected_tags=["payments"],
        )
        incident = incident_transition(incident=incident, name="activate", actor=team["alice"])
        update = update_publish(update=update_draft(incident=incident, author=team["alice"]), actor=team["alice"])
    with at(20):
        promise_check(update=update, now=T0 + 20 * MINUTE)
    assert list(Message.objects.filter(user=backup).values_list("channel", flat=True)) == ["email"]


def test_the_sweep_command_runs_once_and_reports(organization, team, clients):
    import io

    from django.core.management import call_command

    start_incident(make_playbook(organization), team["alice"], team["frank"])
    DBTaskResult.objects.filter(queue_name="timers").delete()
    out = io.StringIO()
    with at(35):
        call_command("sweep_timers", stdout=out)
    assert out.getvalue().strip() == "swept: escalation 1"
