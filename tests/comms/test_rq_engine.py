"""The task engine is chosen by settings alone, and whichever runs, our rows are the truth: work
whose task was lost (a wiped Redis, a dead worker) is found again by the sweeps. Each test runs
on the database backend and on RQ (skipped, saying so, when no Redis answers)."""

import datetime as dt
import io

import time_machine
from django.core.management import call_command

from comms.models import Message, MessageStatus
from playbooks.models import PromiseEvent
from tests.comms.conftest import (  # noqa: F401  # noqa: F401
    T0,
    cast_of_contacts,
    fake_providers,
    fake_providers_server,
    live_incident,
    provider_settings,
    publish_first_update,
)
from tests.playbooks.test_cadence import clients, make_playbook, start_incident, team  # noqa: F401

MINUTE = dt.timedelta(minutes=1)


def sweep(command):
    out = io.StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def test_delivery_tasks_lost_with_redis_are_requeued_by_the_outbox_sweep(
    live_incident, alice, provider_settings, fake_providers, run_worker, settings, task_backend
):
    with time_machine.travel(T0, tick=False):
        publish_first_update(live_incident, alice)
        run_worker.lose_all_tasks()  # Redis restarted empty (or the task rows were wiped)
        run_worker()
    assert Message.objects.filter(status=MessageStatus.QUEUED).count() == 5
    assert fake_providers.requests == []

    with time_machine.travel(T0 + dt.timedelta(seconds=settings.CANDOR_SWEEP_GRACE_SECONDS + 1), tick=False):
        # One delivery task per channel covers these few messages (the sweep enqueues batches).
        assert sweep("sweep_outbox") == "recovered 0 messages {}, 0 tasks; enqueued {'email': 1, 'sms': 1}\n"
        run_worker()
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 5
    assert sorted(m["To"] for m in fake_providers.twilio_messages()) == ["+4915112345678", "+819012345678"]
    emailed = [p["to"][0]["email"] for mail in fake_providers.sendgrid_mails() for p in mail["personalizations"]]
    assert sorted(emailed) == ["anna.schmidt@example.com", "fatima.kaya@example.com", "john.miller@example.com"]


def test_promise_timers_lost_with_redis_are_done_by_the_timer_sweep(
    organization, team, clients, run_worker, task_backend
):
    start_incident(make_playbook(organization), team["alice"], team["frank"])
    run_worker.lose_all_tasks()
    with time_machine.travel(T0 + 40 * MINUTE, tick=False):
        run_worker()
        assert not PromiseEvent.objects.exists()  # nothing left to remind or escalate on its own
        assert sweep("sweep_timers") == "swept: escalation 1\n"  # the reminder's moment has passed
        run_worker()
    assert list(PromiseEvent.objects.values_list("kind", flat=True)) == ["escalation"]
    escalations = Message.objects.filter(source__endswith=":escalation")
    assert escalations.count() == 4 and set(escalations.values_list("status", flat=True)) == {MessageStatus.SENT}
