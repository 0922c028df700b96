"""Recovery in seconds: leases with heartbeats, retries that wait for nobody, and no second SMS
for a message Twilio already has. A killed worker is played by work claimed and never renewed;
the clock is travelled, never slept."""

import datetime as dt

import time_machine
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from comms.leases import lease_acquire, leases_renew
from comms.models import Message, MessageStatus
from comms.providers.base import get_sms_provider
from comms.services import _claim, _outgoing, outbox_sweep
from tests.comms.conftest import T0, publish_first_update


def at(seconds):
    return time_machine.travel(T0 + dt.timedelta(seconds=seconds), tick=False)


def worker_dies_holding_the_sms_batch():
    """A worker takes the SMS task and claims its batch (the task's lease is what the worker
    signals write); then it is killed: nothing renews either lease again."""
    task_row = DBTaskResult.objects.filter(queue_name="sms").first()
    task_row.claim("worker-killed")
    lease_acquire(task_result_id=str(task_row.id))
    return task_row, _claim("sms", 100, T0)


def test_a_batch_whose_worker_died_is_sent_again_within_the_lease_time(
    live_incident, alice, provider_settings, fake_providers, run_worker, settings
):
    lease = settings.CANDOR_LEASE_SECONDS
    with at(0):
        publish_first_update(live_incident, alice)
        task_row, claimed = worker_dies_holding_the_sms_batch()
        assert len(claimed) == 2
    with at(lease - 1):
        assert outbox_sweep()["recovered"] == 0
        assert Message.objects.filter(status=MessageStatus.SENDING).count() == 2
    with at(lease + 1):
        result = outbox_sweep()
        assert result["recovered_by_channel"] == {"sms": 2}
        assert result["recovered_tasks"] == 1
        task_row.refresh_from_db()
        assert task_row.status == TaskResultStatus.FAILED
        assert task_row.exception_class_path == "comms.leases.LeaseExpired"
        assert "stopped renewing its lease" in task_row.traceback
        run_worker()
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 5
    assert len(fake_providers.twilio_messages()) == 2


def test_any_worker_takes_back_an_expired_batch_before_claiming(
    live_incident, alice, provider_settings, fake_providers, run_worker, settings
):
    with at(0):
        publish_first_update(live_incident, alice)
        worker_dies_holding_the_sms_batch()
        # The worker is restarted and a second SMS task was already waiting: no sweep runs.
        from comms.tasks import deliver_sms_batch

        deliver_sms_batch.enqueue()
    with at(settings.CANDOR_LEASE_SECONDS + 1):
        run_worker()
    assert Message.objects.filter(channel="sms", status=MessageStatus.SENT).count() == 2


def test_a_live_worker_renewing_its_lease_keeps_its_slow_batch(
    live_incident, alice, provider_settings, fake_providers, settings
):
    lease = settings.CANDOR_LEASE_SECONDS
    renew_every = 3
    with at(0):
        publish_first_update(live_incident, alice)
        claimed = _claim("sms", 100, T0)
    token = claimed[0].claim
    # The heartbeat renews every few seconds while the provider takes its time.
    for second in range(renew_every, 4 * int(lease), renew_every):
        last_renewal = second
        with at(second):
            assert leases_renew(tokens={token}) == 1
            assert outbox_sweep()["recovered"] == 0
    assert set(Message.objects.filter(channel="sms").values_list("status", "claim")) == {(MessageStatus.SENDING, token)}
    # It stops renewing (killed): the batch is taken back one lease later.
    with at(last_renewal + lease - 1):
        assert outbox_sweep()["recovered"] == 0
    with at(last_renewal + lease + 1):
        assert outbox_sweep()["recovered"] == 2


def test_a_retry_is_sent_at_its_due_time_with_no_sweep(
    live_incident, alice, provider_settings, fake_providers, run_worker
):
    with at(0):
        fake_providers.fail_next(2, "500", channel="sms")
        publish_first_update(live_incident, alice)
        run_worker()
    waiting = list(Message.objects.filter(channel="sms", status=MessageStatus.QUEUED))
    assert len(waiting) == 2
    due_at = max(message.next_attempt_at for message in waiting)
    assert due_at > T0
    # Every retry moment has a task waiting for it, written with the retry itself.
    task_times = set(
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, queue_name="sms").values_list("run_after", flat=True)
    )
    assert {message.next_attempt_at for message in waiting} <= task_times
    with time_machine.travel(min(m.next_attempt_at for m in waiting) - dt.timedelta(seconds=1), tick=False):
        run_worker()
        assert Message.objects.filter(channel="sms", status=MessageStatus.SENT).count() == 0
    with time_machine.travel(due_at, tick=False):
        run_worker()
    assert Message.objects.filter(channel="sms", status=MessageStatus.SENT).count() == 2


def test_a_recovered_sms_that_twilio_already_has_is_not_sent_twice(
    live_incident, alice, provider_settings, fake_providers, run_worker, settings
):
    with at(0):
        publish_first_update(live_incident, alice)
        _, claimed = worker_dies_holding_the_sms_batch()
        # Twilio accepted the batch; the worker was killed before it could record that.
        accepted = get_sms_provider().send_sms([_outgoing(message) for message in claimed])
        assert all(result.is_accepted for result in accepted)
    with at(settings.CANDOR_LEASE_SECONDS + 1):
        outbox_sweep()
        run_worker()
    assert len(fake_providers.twilio_messages()) == 2
    looked_up = [r for r in fake_providers.requests if r.method == "GET" and r.path.endswith("/Messages.json")]
    assert len(looked_up) == 2
    sent = Message.objects.filter(channel="sms")
    assert {m.status for m in sent} == {MessageStatus.SENT}
    assert {m.provider_message_id for m in sent} == {r.provider_message_id for r in accepted}


def test_a_recovered_sms_twilio_never_got_is_sent(
    live_incident, alice, provider_settings, fake_providers, run_worker, settings
):
    with at(0):
        publish_first_update(live_incident, alice)
        worker_dies_holding_the_sms_batch()  # killed before any request left
    with at(settings.CANDOR_LEASE_SECONDS + 1):
        outbox_sweep()
        run_worker()
    assert len(fake_providers.twilio_messages()) == 2
    assert Message.objects.filter(channel="sms", status=MessageStatus.SENT).count() == 2


def test_the_sweep_enqueues_only_for_due_messages_no_task_waits_for(
    live_incident, alice, provider_settings, fake_providers, run_worker
):
    with at(0):
        publish_first_update(live_incident, alice)
        assert outbox_sweep()["enqueued"] == {}
        DBTaskResult.objects.all().delete()  # tasks lost (a backend that sends after commit, a crash)
        assert outbox_sweep()["enqueued"] == {"email": 1, "sms": 1}
        assert outbox_sweep()["enqueued"] == {}
        run_worker()
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 5


def test_emails_are_handed_over_and_recorded_slice_by_slice(
    live_incident, alice, provider_settings, fake_providers, run_worker, settings
):
    settings.CANDOR_EMAIL_SLICE_SIZE = 1
    with at(0):
        fake_providers.fail_next(1, "500", channel="email")
        publish_first_update(live_incident, alice)
        run_worker()
    emails = Message.objects.filter(channel="email")
    # Three slices, three requests: the failed one waits for its retry, the others are recorded.
    assert len([r for r in fake_providers.requests if r.channel == "email"]) == 3
    assert emails.filter(status=MessageStatus.QUEUED).count() == 1
    assert emails.filter(status=MessageStatus.SENT).count() == 2


def test_a_timer_whose_worker_died_runs_again_after_the_lease(live_incident, alice, settings):
    with at(0):
        update = publish_first_update(live_incident, alice)
    timer, *later_timers = DBTaskResult.objects.filter(queue_name="timers").order_by("run_after")
    reminder_at = timer.run_after
    with time_machine.travel(reminder_at, tick=False):
        timer.claim("worker-killed")  # taken by a worker that is then killed: RUNNING, no lease
    with time_machine.travel(reminder_at + dt.timedelta(seconds=settings.CANDOR_LEASE_SECONDS - 1), tick=False):
        assert outbox_sweep()["recovered_tasks"] == 0
    with time_machine.travel(reminder_at + dt.timedelta(seconds=settings.CANDOR_LEASE_SECONDS + 1), tick=False):
        assert outbox_sweep()["recovered_tasks"] == 1
    timer.refresh_from_db()
    assert timer.status == TaskResultStatus.FAILED
    # Enqueued again with its arguments (beside the later timers, still waiting).
    again = (
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=timer.task_path)
        .exclude(pk__in=[other.pk for other in later_timers])
        .get()
    )
    assert again.args_kwargs["kwargs"] == {"update_id": update.pk}
    assert again.queue_name == "timers"
