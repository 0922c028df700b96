"""A streamed publish: the publish commits the audience and a first chunk of messages, workers
write the rest chunk by chunk. Chunks of two contacts here, so the cast of six takes several."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from comms.models import FanOut, Message
from comms.services import outbox_sweep
from playbooks.updates.services import update_draft, update_publish
from tests.comms.conftest import T0, publish_first_update


@pytest.fixture
def small_chunks(settings):
    settings.CANDOR_FAN_OUT_FIRST_CHUNK_SIZE = 2
    settings.CANDOR_FAN_OUT_CHUNK_SIZE = 2
    return settings


def sent_to(fake_providers):
    sms = sorted(request["To"] for request in fake_providers.twilio_messages())
    emails = sorted(p["to"][0]["email"] for mail in fake_providers.sendgrid_mails() for p in mail["personalizations"])
    return sms, emails


@time_machine.travel(T0, tick=False)
def test_a_streamed_publish_sends_what_a_publish_in_one_go_sends(
    live_incident, alice, provider_settings, fake_providers, run_worker, small_chunks
):
    update = publish_first_update(live_incident, alice)
    fan_out = FanOut.objects.get(source=f"update:{update.pk}")
    assert not fan_out.is_complete and fan_out.position == 2
    assert update.audience["fan_out"] == "writing"
    assert Message.objects.count() < 5
    entry = live_incident.timeline.get(kind="update_published")
    assert entry.data["streamed"] and entry.data["contacts"] == 6

    run_worker()

    assert sent_to(fake_providers) == (
        ["+4915112345678", "+819012345678"],
        ["anna.schmidt@example.com", "fatima.kaya@example.com", "john.miller@example.com"],
    )
    fan_out.refresh_from_db()
    assert fan_out.is_complete and fan_out.messages_written == 5
    update.refresh_from_db()
    assert "fan_out" not in update.audience
    assert (update.audience["contacts"], update.audience["email"], update.audience["sms"]) == (6, 3, 2)
    assert sorted(entry["reason"] for entry in update.audience["unreachable"]) == [
        "SMS consent opted_out",
        "email bounced",
    ]
    assert sum(update.audience["languages"].values()) == 5


@time_machine.travel(T0, tick=False)
def test_the_first_chunk_holds_every_language_and_channel(live_incident, alice, small_chunks, settings):
    settings.CANDOR_FAN_OUT_FIRST_CHUNK_SIZE = 4
    update = publish_first_update(live_incident, alice)
    written = Message.objects.filter(source=f"update:{update.pk}")
    # German (Anna: email and SMS), Japanese (Kenji: SMS), English (John: email) before French.
    assert {(m.channel, m.content.language) for m in written} >= {
        ("email", "de"),
        ("sms", "de"),
        ("sms", "ja"),
        ("email", "en"),
    }


@time_machine.travel(T0, tick=False)
def test_a_fan_out_whose_worker_died_is_resumed_by_the_sweep_without_doubles(
    live_incident, alice, provider_settings, fake_providers, run_worker, small_chunks
):
    update = publish_first_update(live_incident, alice)
    # The worker that took the fan-out task died: its task is gone, the record stays.
    DBTaskResult.objects.filter(queue_name="fanout").delete()
    run_worker()  # sends the first chunk only
    assert Message.objects.count() < 5

    with time_machine.travel(T0 + dt.timedelta(minutes=1), tick=False):
        assert outbox_sweep()["fan_outs_resumed"] == 1
        run_worker()
        assert outbox_sweep()["fan_outs_resumed"] == 0

    sms, emails = sent_to(fake_providers)
    assert len(sms) == len(set(sms)) == 2
    assert len(emails) == len(set(emails)) == 3
    assert FanOut.objects.get(source=f"update:{update.pk}").is_complete


@time_machine.travel(T0, tick=False)
def test_a_rolled_back_streamed_publish_leaves_no_fan_out(live_incident, alice, small_chunks):
    update = update_draft(incident=live_incident, author=alice)
    tasks_before = DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        update_publish(update=update, actor=alice)
        raise RuntimeError("the request died")
    assert not FanOut.objects.exists()
    assert Message.objects.count() == 0
    assert DBTaskResult.objects.count() == tasks_before
