"""Regulatory deadline clocks: business days, alerts at 50% / 90% / overdue, countdown states."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from comms.models import Message
from playbooks.incidents.deadlines import deadline_status
from playbooks.incidents.services import checklist_item_complete, incident_create, incident_transition
from playbooks.models import ChecklistItem, DeadlineAlert, Playbook, PlaybookStage
from playbooks.promises.services import deadline_check, timers_sweep
from playbooks.promises.tasks import deadline_timer

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def team(alice, frank, carol):
    for user in (alice, frank, carol):
        user.email = f"{user.username}@northwind.example"
        user.save()
    return {"alice": alice, "frank": frank, "carol": carol}


def compliance_playbook(organization, *, hours=None, business_days=None):
    playbook = Playbook.objects.create(organization=organization, kind="compliance", name="Breach", slug="breach")
    PlaybookStage.objects.create(playbook=playbook, stage="assessing", cadence_minutes=240)
    ChecklistItem.objects.create(
        playbook=playbook,
        title="Notify the supervisory authority",
        due_after_hours=hours,
        due_after_business_days=business_days,
        guidance="GDPR Art. 33: within 72 h. Guidance, not legal advice.",
    )
    return playbook


def activated(playbook, team, *, detected_at=T0, now=T0):
    with time_machine.travel(now, tick=False):
        incident = incident_create(
            playbook=playbook,
            actor=team["alice"],
            title="Customer data exposed",
            backup_commander=team["frank"],
            detected_at=detected_at,
        )
        return incident_transition(incident=incident, name="activate", actor=team["alice"])


# ---------------------------------------------------------------------------------------------
# Business days


def test_business_days_skip_the_easter_weekend_in_germany(organization, team):
    organization.country, organization.timezone = "DE", "Europe/Berlin"
    organization.save()
    # Thursday before Easter 2027, 10:00 in Berlin: Good Friday and Easter Monday are holidays.
    detected = dt.datetime(2027, 3, 25, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(detected, tick=False):
        incident = incident_create(
            playbook=compliance_playbook(organization, business_days=2),
            actor=team["alice"],
            title="Breach",
            detected_at=detected,
        )
    assert incident.checklist.get().due_at == dt.datetime(2027, 3, 31, 10, 0, tzinfo=BERLIN)


def test_sec_four_business_days_from_a_friday_cross_the_weekend_and_thanksgiving(other_organization, eve):
    # Friday 20 Nov 2026, 15:00 in New York; Thursday 26 Nov is Thanksgiving.
    eve.email = "eve@globex.example"
    eve.save()
    detected = dt.datetime(2026, 11, 20, 15, 0, tzinfo=NEW_YORK)
    with time_machine.travel(detected, tick=False):
        incident = incident_create(
            playbook=compliance_playbook(other_organization, business_days=4),
            actor=eve,
            title="Material incident",
            detected_at=detected,
        )
    assert incident.checklist.get().due_at == dt.datetime(2026, 11, 27, 15, 0, tzinfo=NEW_YORK)


# ---------------------------------------------------------------------------------------------
# Alerts at 50%, 90% and overdue


def test_activation_writes_the_three_deadline_timers(organization, team):
    incident = activated(compliance_playbook(organization, hours=72), team)
    item = incident.checklist.get()
    timers = DBTaskResult.objects.filter(task_path="playbooks.promises.tasks.deadline_timer")
    assert sorted(timer.run_after for timer in timers) == [T0 + 36 * HOUR, T0 + 64.8 * HOUR, T0 + 72 * HOUR]
    assert {timer.args_kwargs["kwargs"]["item_id"] for timer in timers} == {item.pk}


def test_a_draft_incident_has_no_deadline_timers(organization, team):
    with time_machine.travel(T0, tick=False):
        incident_create(playbook=compliance_playbook(organization, hours=72), actor=team["alice"], title="Maybe")
    assert not DBTaskResult.objects.filter(task_path="playbooks.promises.tasks.deadline_timer").exists()


def test_reminders_at_half_and_ninety_percent_then_an_escalation_each_once(organization, team, run_worker):
    incident = activated(compliance_playbook(organization, hours=72), team)
    item = incident.checklist.get()
    for hours in (35.9, 36, 64.8, 72):
        with time_machine.travel(T0 + hours * HOUR, tick=False):
            run_worker()
            run_worker()
            deadline_timer.call(item_id=item.pk)  # a timer that runs again does nothing more
    alerts = list(DeadlineAlert.objects.order_by("at").values_list("kind", "at", "superseded"))
    assert alerts == [
        ("half", T0 + 36 * HOUR, False),
        ("ninety", T0 + 64.8 * HOUR, False),
        ("overdue", T0 + 72 * HOUR, False),
    ]
    entries = list(incident.timeline.filter(kind__in=["reminder", "escalation"]).values_list("kind", "note"))
    assert entries == [
        ("reminder", "36 h left until 10:00 CET, 27 Nov: Notify the supervisory authority. Reminded alice, frank."),
        (
            "reminder",
            "7 h 12 min left until 10:00 CET, 27 Nov: Notify the supervisory authority. Reminded alice, frank.",
        ),
        (
            "escalation",
            ("Overdue since 10:00 CET, 27 Nov: Notify the supervisory authority. Escalated to alice, frank, carol."),
        ),
    ]
    overdue_mail = Message.objects.get(source=f"deadline:{item.pk}:overdue", user=team["carol"])
    assert overdue_mail.content.subject == "[Northwind] Deadline missed: Notify the supervisory authority"
    assert "GDPR Art. 33" in overdue_mail.content.body


def test_an_incident_activated_late_gets_one_alert_not_a_backlog(organization, team):
    # Detected 70 h ago (97% of 72 h): only the 90% alert is sent, the 50% one is superseded.
    incident = activated(compliance_playbook(organization, hours=72), team, detected_at=T0 - 70 * HOUR)
    item = incident.checklist.get()
    with time_machine.travel(T0, tick=False):
        assert deadline_check(item=item, now=T0) == "ninety"
        assert deadline_check(item=item, now=T0) == "nothing"
    assert set(DeadlineAlert.objects.values_list("kind", "superseded")) == {("half", True), ("ninety", False)}
    assert incident.timeline.filter(kind="reminder").count() == 1


def test_each_member_reads_the_time_left_in_their_language_and_the_timeline_keeps_english(organization, team):
    team["frank"].language = "de"
    team["frank"].save()
    incident = activated(compliance_playbook(organization, hours=72), team)
    item = incident.checklist.get()
    later = T0 + 64.8 * HOUR - 7 * HOUR  # 14 h 12 min before the deadline, past half of it
    with time_machine.travel(later, tick=False), translation.override("de"):  # whatever the worker's language
        assert deadline_check(item=item, now=later) == "half"

    def subject(user):
        return Message.objects.get(source=f"deadline:{item.pk}:half", user=user, channel="email").content.subject

    assert subject(team["frank"]) == "[Northwind] Frist in 14 Std. 12 Min.: Notify the supervisory authority"
    assert subject(team["alice"]) == "[Northwind] Deadline in 14 h 12 min: Notify the supervisory authority"
    assert incident.timeline.get(kind="reminder").note.startswith("14 h 12 min left until 10:00 CET, 27 Nov:")


def test_a_completed_item_raises_no_more_alerts(organization, team):
    incident = activated(compliance_playbook(organization, hours=72), team)
    item = incident.checklist.get()
    with time_machine.travel(T0 + 10 * HOUR, tick=False):
        checklist_item_complete(item=item, actor=team["alice"], note="Filed with the BfDI, ref 2026-17.")
    with time_machine.travel(T0 + 80 * HOUR, tick=False):
        assert deadline_check(item=item, now=T0 + 80 * HOUR) == "stale"
        assert timers_sweep(now=T0 + 80 * HOUR) == {}
    assert not DeadlineAlert.objects.exists()
    item.refresh_from_db()
    assert item.completed_by == team["alice"] and item.completion_note == "Filed with the BfDI, ref 2026-17."


def test_the_sweep_sends_a_deadline_alert_whose_timer_was_lost(organization, team):
    incident = activated(compliance_playbook(organization, hours=72), team)
    DBTaskResult.objects.filter(queue_name="timers").delete()
    with time_machine.travel(T0 + 40 * HOUR, tick=False):
        assert timers_sweep(now=T0 + 40 * HOUR) == {"half": 1}
        assert timers_sweep(now=T0 + 40 * HOUR) == {}
    assert DeadlineAlert.objects.get().item == incident.checklist.get()


# ---------------------------------------------------------------------------------------------
# Countdown states for the console


@pytest.mark.parametrize(
    ("hours_after_detection", "state", "remaining_hours", "fraction"),
    [
        (0, "ok", 72, 0.0),
        (36, "ok", 36, 0.5),
        (66, "due_soon", 6, 0.9167),
        (72, "overdue", 0, 1.0),
        (75, "overdue", -3, 1.0417),
    ],
)
def test_deadline_status_counts_down_from_detection(
    organization, team, hours_after_detection, state, remaining_hours, fraction
):
    item = activated(compliance_playbook(organization, hours=72), team).checklist.get()
    status = deadline_status(item=item, now=T0 + hours_after_detection * HOUR)
    assert status.state == state
    assert status.remaining == remaining_hours * HOUR
    assert status.fraction_elapsed == fraction
    assert status.due_at == T0 + 72 * HOUR


def test_deadline_status_of_done_items_says_whether_they_were_late(organization, team):
    incident = activated(compliance_playbook(organization, hours=1), team)
    item = incident.checklist.get()
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        checklist_item_complete(item=item, actor=team["alice"])
    item.refresh_from_db()
    assert deadline_status(item=item, now=T0 + 3 * HOUR).state == "done_late"
    item.completed_at = T0 + 0.5 * HOUR
    assert deadline_status(item=item, now=T0 + 3 * HOUR).state == "done"


def test_deadline_status_without_a_deadline(organization, team):
    incident = activated(compliance_playbook(organization), team)
    status = deadline_status(item=incident.checklist.get(), now=T0)
    assert (status.state, status.remaining, status.fraction_elapsed) == ("no_deadline", None, None)
