"""The demo's history: months of crises played through the services, one live now, loadable twice."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Contact, EmailStatus, JargonTerm, SmsConsent
from comms.models import Message, MessageStatus
from playbooks.models import (
    ClientAcknowledgement,
    Debrief,
    FollowUp,
    Incident,
    PromiseEvent,
    SurveyResponse,
    TimelineEntry,
)


@pytest.fixture
def load(db, monkeypatch):
    """manage.py load_demo; the task worker keeps the test's database connection (see run_worker)."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def load(*args):
        out = io.StringIO()
        call_command("load_demo", *args, stdout=out)
        return out.getvalue()

    return load


def history():
    return (
        sorted(Incident.objects.values_list("pk", "state", "title")),
        Message.objects.count(),
        TimelineEntry.objects.count(),
        SurveyResponse.objects.count(),
        sorted(Contact.objects.values_list("pk", "sms_consent", "email_status", "updated_at")),
    )


def test_the_demo_tells_months_of_crises_and_one_live_now(load):
    started = timezone.now()
    output = load()

    assert "8 incidents" in output
    closed = Incident.objects.filter(state="closed")
    assert {kind: closed.filter(kind=kind).count() >= 2 for kind in ("outage", "recall", "compliance")} == {
        "outage": True,
        "recall": True,
        "compliance": True,
    }
    assert closed.order_by("detected_at").first().detected_at < started - dt.timedelta(days=120)
    live = Incident.objects.get(state="identified")
    assert live.severity == 1
    assert started < live.next_update_due_at < started + dt.timedelta(minutes=15)
    assert live.updates.filter(published_at=None).exists()  # a draft waits for the commander

    # Delivered through the provider, with a hard bounce and a carrier's refusal among them.
    statuses = set(Message.objects.values_list("status", flat=True))
    assert statuses == {MessageStatus.DELIVERED, MessageStatus.BOUNCED, MessageStatus.UNDELIVERED}
    assert Contact.objects.filter(email_status=EmailStatus.BOUNCED).count() == 2
    opted_out = set(Contact.objects.filter(sms_consent=SmsConsent.OPTED_OUT).values_list("name", flat=True))
    assert {"Lucía Navarro", "Thiago Oliveira"} <= opted_out
    assert PromiseEvent.objects.filter(kind="holding").exists()
    assert ClientAcknowledgement.objects.exclude(confirmed_at=None).values("confirmed_via").distinct().count() == 2

    # Clients answered: promoters and detractors, comments in several languages; follow-ups open and closed.
    responses = SurveyResponse.objects.all()
    assert responses.filter(nps__gte=9).exists() and responses.filter(nps__lte=6).exists()
    languages = set(responses.exclude(comment="").values_list("invitation__language", flat=True))
    assert {"de", "ja", "es"} <= languages
    assert FollowUp.objects.filter(closed_at=None).exists() and FollowUp.objects.exclude(closed_at=None).exists()
    assert Debrief.objects.exclude(completed_at=None).filter(action_items__isnull=False).exists()
    assert JargonTerm.objects.count() >= 5

    first = history()
    assert "already there" in load()
    assert history() == first

    load("--reset")
    again = history()
    assert len(again[0]) == len(first[0]) and again[0] != first[0]  # new incidents, the same story
    assert Incident.objects.filter(state="closed").count() == 7
